"""Contract tests of containers/xgboost-1.7-1, the local twin of AWS's built-in XGBoost image
sagemaker-xgboost:1.7-1, run against the built image (`docker run IMAGE train` / `serve`).

Sources of the rules (each test names the one it follows):
- [tr]  github.com/aws/sagemaker-xgboost-container @1.7-1 src/sagemaker_xgboost_container/algorithm_mode/train.py
- [hpv] same repository, src/sagemaker_algorithm_toolkit/hyperparameter_validation.py and
        algorithm_mode/hyperparameter_validation.py
- [chv] same repository, src/sagemaker_algorithm_toolkit/channel_validation.py, algorithm_mode/channel_validation.py
- [du]  same repository, src/sagemaker_xgboost_container/data_utils.py
- [met] same repository, src/sagemaker_xgboost_container/algorithm_mode/metrics.py (the metric regexes)
- [sv]  same repository, src/sagemaker_xgboost_container/algorithm_mode/serve.py, serve_utils.py, encoder.py
- [df]  same repository, docker/1.7-1/final/Dockerfile.cpu and docker/1.7-1/base/Dockerfile.cpu
- [sc]  github.com/aws/sagemaker-containers @v2.8.6.post2 src/sagemaker_containers/_trainer.py, _encoders.py,
        _env.py, _modules.py, _transformer.py, _worker.py, _server.py (installed in the twin, AWS's own code)
- [trn] same xgboost repository, src/sagemaker_xgboost_container/training.py, serving.py
- [cb]  xgboost 1.7 python-package/xgboost/callback.py (EvaluationMonitor, EarlyStopping)
Expected values come from those sources or from XGBoost 1.7.4 itself (the host has the same version as
the real image), never from the twin's code.
"""
import json
import os
import pickle
import re
import shutil
import subprocess
import tarfile
import time

import numpy as np
import pytest
import requests
import xgboost as xgb

from smworkshop import docker_run, images, opt_ml
from test_xgboost_twin_units import parse_recordio_labels, recordio_protobuf

pytestmark = pytest.mark.docker
CONTAINER = "xgboost-1.7-1"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def xgb_image(image):
    return image(CONTAINER)


# ---- data and /opt/ml trees ------------------------------------------------------------------------

def binary_rows(rows, seed, flipped=0.0):
    """(labels, features) with 4 features rounded to 4 decimals, label = x0 + x1 + noise > 0; a FLIPPED
    share of the labels inverted."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(rows, 4)), 4)
    y = (x[:, 0] + x[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    return np.where(rng.random(rows) < flipped, 1 - y, y), x


def write_csv(path, labels, features, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [delimiter.join([str(label)] + [str(v) for v in row]) for label, row in zip(labels, features)]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_body(features, delimiter=","):
    return "\n".join(delimiter.join(str(v) for v in row) for row in features)


def prepare(root, hyperparameters, channels, content_type="text/csv"):
    """opt_ml.prepare, then every channel's ContentType set to CONTENT_TYPE (None: no ContentType key)."""
    root = opt_ml.prepare(root, hyperparameters=hyperparameters, channels=channels)
    path = root / "input" / "config" / "inputdataconfig.json"
    config = json.loads(path.read_text())
    for value in config.values():
        value.pop("ContentType")
        if content_type is not None:
            value["ContentType"] = content_type
    path.write_text(json.dumps(config))
    return root


def train(image, root):
    code, logs = docker_run.train(image, root)
    failure = root / "output" / "failure"
    return code, logs, failure.read_text() if failure.exists() else None


def round_lines(logs):
    return [line for line in logs.splitlines() if re.match(r"^\[\d+\]\t", line)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xgb_data")
    train_y, train_x = binary_rows(300, seed=0)
    val_y, val_x = binary_rows(100, seed=1)
    write_csv(folder / "train" / "train.csv", train_y, train_x)
    write_csv(folder / "validation" / "validation.csv", val_y, val_x)
    test_y, test_x = binary_rows(50, seed=2)
    return {"folder": folder, "train": (train_y, train_x), "validation": (val_y, val_x), "test": (test_y, test_x)}


HYPERPARAMETERS = {"num_round": "5", "objective": "binary:logistic", "eval_metric": "auc", "max_depth": "3"}


@pytest.fixture(scope="module")
def trained(xgb_image, data, tmp_path_factory):
    """One training job with train + validation CSV channels; its model is served for the HTTP tests."""
    root = prepare(tmp_path_factory.mktemp("trained") / "opt_ml", HYPERPARAMETERS,
                   {"train": data["folder"] / "train", "validation": data["folder"] / "validation"})
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    return {"root": root, "logs": logs, "model": root / "model" / "xgboost-model"}


@pytest.fixture(scope="module")
def host_booster(trained):
    """The trained model read by XGBoost 1.7.4 on the host: the oracle for predictions."""
    booster = xgb.Booster()
    booster.load_model(str(trained["model"]))
    return booster


def expected_csv(predictions):
    """[sc] array_to_csv: one str(float) per line, trailing newline."""
    return "".join(f"{float(p)}\n" for p in predictions)


# ---- image -----------------------------------------------------------------------------------------

def test_image_says_it_is_a_twin_and_defaults_to_train(xgb_image):
    """DESIGN 'Twins say what they contain'; [df] accept-bind-to-port label; SageMaker runs `train` when a
    job passes no command (ModelTrainer without source code), so CMD is train."""
    description = images.image_label(xgb_image, "org.opencontainers.image.description")
    assert "LOCAL TWIN of sagemaker-xgboost:1.7-1" in description
    assert images.image_label(xgb_image, "org.opencontainers.image.source") == \
        "https://github.com/aws/sagemaker-xgboost-container/tree/1.7-1"
    assert images.image_label(xgb_image, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"
    cmd = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Cmd}}", xgb_image],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(cmd) == ["train"]


def test_image_has_the_real_images_xgboost_version(xgb_image, tmp_path):
    """[df] base/Dockerfile.cpu ARG XGBOOST_VERSION=1.7.4."""
    root = prepare(tmp_path / "opt_ml", {"num_round": "1"}, {})
    code, logs = docker_run.train(xgb_image, root)  # no train channel: fails, but after logging the versions
    assert "XGBoost 1.7.4" in logs


# ---- training ----------------------------------------------------------------------------------------

def test_training_prints_xgboosts_evaluation_lines_with_the_same_values_as_xgboost(trained, data):
    """[tr] watchlist [(train, 'train'), (validation, 'validation')], EvaluationMonitor ([cb]
    "[{epoch}]" + "\\t{data}-{metric}:{score:.5f}"); the values are XGBoost 1.7.4's own on the same files."""
    folder = data["folder"]
    dtrain = xgb.DMatrix(f"{folder / 'train'}?format=csv&label_column=0")
    dval = xgb.DMatrix(f"{folder / 'validation'}?format=csv&label_column=0")
    history = {}
    xgb.train({"objective": "binary:logistic", "eval_metric": ["auc"], "max_depth": 3}, dtrain, num_boost_round=5,
              evals=[(dtrain, "train"), (dval, "validation")], evals_result=history, verbose_eval=False)
    train_auc, validation_auc = history["train"]["auc"], history["validation"]["auc"]
    expected = [f"[{i}]\ttrain-auc:{train_auc[i]:.5f}\tvalidation-auc:{validation_auc[i]:.5f}" for i in range(5)]
    assert round_lines(trained["logs"]) == expected


def test_metric_lines_match_the_tuning_regex_once_cloudwatch_renders_the_tab(trained):
    """[met] regex ".*\\[[0-9]+\\].*#011validation-{}:(\\S+)": CloudWatch shows TAB as #011. Locally the TAB is
    real, so a lab's regex 'validation-auc:([0-9.eE+-]+)' reads the same values from docker logs."""
    lines = round_lines(trained["logs"])
    cloud = [re.match(r".*\[[0-9]+\].*#011validation-auc:(\S+)", line.replace("\t", "#011")).group(1) for line in lines]
    local = [re.search(r"validation-auc:([0-9.eE+-]+)", line).group(1) for line in lines]
    assert cloud == local and len(local) == 5


def test_model_is_saved_as_xgboost_model_in_the_legacy_binary_format(trained, host_booster):
    """[tr] bst.save_model(os.path.join(model_dir, MODEL_NAME)), MODEL_NAME = "xgboost-model" (no extension:
    XGBoost 1.7 writes its binary format, which starts with b'binf')."""
    root = trained["root"]
    assert sorted(p.name for p in (root / "model").iterdir()) == ["xgboost-model"]
    assert trained["model"].read_bytes()[:4] == b"binf"
    assert host_booster.num_boosted_rounds() == 5


def test_a_successful_job_writes_no_success_file_like_the_real_image(trained):
    """[trn] main(): train(...); sys.exit(0). SystemExit is no Exception, so [sc] _trainer.train (lines 84,
    99-101, 123-127) skips logger.info("Reporting training SUCCESS") and write_success_file() and goes to
    finally: os._exit(0). The job succeeds by its exit code; output/ stays empty."""
    assert list((trained["root"] / "output").iterdir()) == []
    assert "Reporting training SUCCESS" not in trained["logs"]


def test_local_mode_channel_config_without_s3_distribution_type_trains(trained):
    """SDK local mode writes no S3DistributionType (sagemaker/core/local/image.py); the real image fails on it
    (aws/sagemaker-xgboost-container#155), the twin trains (documented difference)."""
    config = json.loads((trained["root"] / "input/config/inputdataconfig.json").read_text())
    assert all("S3DistributionType" not in value for value in config.values())
    assert (trained["root"] / "model" / "xgboost-model").exists()


def test_libsvm_is_the_default_content_type(xgb_image, data, tmp_path):
    """[chv] set_default_content_type("text/libsvm"); [du] get_libsvm_dmatrix. LIBSVM here: label then
    index:value pairs; the same rows as CSV give the same first-round metric."""
    labels, features = data["train"]
    lines = [" ".join([str(label)] + [f"{i}:{v}" for i, v in enumerate(row)]) for label, row in zip(labels, features)]
    (tmp_path / "libsvm").mkdir()
    (tmp_path / "libsvm" / "train.libsvm").write_text("\n".join(lines) + "\n")
    root = prepare(tmp_path / "opt_ml", {"num_round": "2", "objective": "binary:logistic"},
                   {"train": tmp_path / "libsvm"}, content_type=None)
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    dtrain = xgb.DMatrix(f"{tmp_path / 'libsvm'}?format=libsvm")
    history = {}
    xgb.train({"objective": "binary:logistic"}, dtrain, 2, evals=[(dtrain, "train")], evals_result=history,
              verbose_eval=False)
    assert round_lines(logs)[1] == f"[1]\ttrain-logloss:{history['train']['logloss'][1]:.5f}"


def test_parquet_training_label_in_column_zero(xgb_image, data, tmp_path):
    """[du] _get_parquet_dmatrix_file_mode: DMatrix(data[:, 1:], label=data[:, 0])."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels, features = data["train"]
    (tmp_path / "pq").mkdir()
    pq.write_table(pa.table({"label": labels.astype(float), **{f"f{i}": features[:, i] for i in range(4)}}),
                   tmp_path / "pq" / "part-0.parquet")
    root = prepare(tmp_path / "opt_ml", {"num_round": "2", "objective": "binary:logistic"}, {"train": tmp_path / "pq"},
                   content_type="application/x-parquet")
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    dtrain = xgb.DMatrix(features, label=labels)
    history = {}
    xgb.train({"objective": "binary:logistic"}, dtrain, 2, evals=[(dtrain, "train")], evals_result=history,
              verbose_eval=False)
    assert "Train matrix has 300 rows and 4 columns" in logs
    assert round_lines(logs)[1] == f"[1]\ttrain-logloss:{history['train']['logloss'][1]:.5f}"


def test_recordio_protobuf_training(xgb_image, data, tmp_path):
    """[du] get_recordio_protobuf_dmatrix: features['values'] and label['values'] of each record
    (records written with Google's protobuf runtime from sagemaker-containers' record.proto)."""
    labels, features = data["train"]
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "train.pbr").write_bytes(b"".join(
        recordio_protobuf(row.tolist(), label=float(label)) for label, row in zip(labels, features)))
    root = prepare(tmp_path / "opt_ml", {"num_round": "2", "objective": "binary:logistic"}, {"train": tmp_path / "pb"},
                   content_type="application/x-recordio-protobuf")
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    assert "Train matrix has 300 rows and 4 columns" in logs


def test_csv_weights_in_column_one_weight_the_metric(xgb_image, data, tmp_path):
    """[du] csv_weights=1 -> weight_column=1: XGBoost's train-rmse is then the weighted one."""
    labels, features = data["train"]
    weights = np.where(np.arange(len(labels)) % 3 == 0, 5.0, 0.5)
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "weighted.csv").write_text("".join(
        ",".join([str(label), str(weight)] + [str(v) for v in row]) + "\n"
        for label, weight, row in zip(labels, weights, features)))
    root = prepare(tmp_path / "opt_ml", {"num_round": "2", "csv_weights": "1"}, {"train": tmp_path / "w"})
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    dtrain = xgb.DMatrix(f"{tmp_path / 'w'}?format=csv&label_column=0&weight_column=1")
    history = {}
    xgb.train({}, dtrain, 2, evals=[(dtrain, "train")], evals_result=history, verbose_eval=False)
    assert round_lines(logs) == [f"[{i}]\ttrain-rmse:{history['train']['rmse'][i]:.5f}" for i in range(2)]
    assert "Train matrix has 300 rows and 4 columns" in logs


def test_files_in_subfolders_and_underscore_files_are_read(xgb_image, data, tmp_path):
    """[du] _get_file_mode_files_path: links to every file of the channel and two levels of subfolders; XGBoost
    reads them all, '_'-prefixed ones included (only the first-line check skips them)."""
    labels, features = data["train"]
    write_csv(tmp_path / "nested" / "part-a.csv", labels[:100], features[:100])
    write_csv(tmp_path / "nested" / "day=1" / "part-b.csv", labels[100:200], features[100:200])
    write_csv(tmp_path / "nested" / "day=1" / "hour=2" / "_part-c.csv", labels[200:250], features[200:250])
    write_csv(tmp_path / "nested" / "a" / "b" / "c" / "too-deep.csv", labels[250:], features[250:])
    root = prepare(tmp_path / "opt_ml", {"num_round": "1"}, {"train": tmp_path / "nested"})
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    assert "Train matrix has 250 rows and 4 columns" in logs


def test_hidden_file_in_a_channel_fails_the_job(xgb_image, data, tmp_path):
    """[du] get_size: "Hidden file found in the data path! Remove that before training."."""
    labels, features = data["train"]
    write_csv(tmp_path / "t" / "train.csv", labels, features)
    (tmp_path / "t" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "t" / ".ipynb_checkpoints" / ".keep").write_text("")
    root = prepare(tmp_path / "opt_ml", {"num_round": "1"}, {"train": tmp_path / "t"})
    code, logs, failure = train(xgb_image, root)
    assert code == 1 and "Hidden file found in the data path! Remove that before training." in failure


@pytest.mark.parametrize("hyperparameters, channels, content_type, reason", [
    ({"objective": "binary:logistic"}, ("train",), "text/csv", "Missing required hyperparameter: num_round"),
    ({"num_round": "5", "max_depht": "3"}, ("train",), "text/csv", "Extraneous hyperparameter found: max_depht"),
    ({"num_round": "5", "learning_rate": "1.5"}, ("train",), "text/csv", "Hyperparameter eta: 1.5 is not in [0, 1]"),
    ({"num_round": "10.0"}, ("train",), "text/csv",
     "Hyperparameter num_round: could not parse value (caused by ValueError)"),
    ({"num_round": "5", "objective": "multi:softprob"}, ("train",), "text/csv",
     "Require input for parameter 'num_class' for multi-classification"),
    # [trn] run_algorithm_mode reads os.environ["SM_CHANNEL_TRAIN"] before any validation ([sc] _env sets
    # SM_CHANNEL_<NAME> only for configured channels): a missing or misnamed train channel is a KeyError,
    # even when a hyperparameter is wrong too; "Missing required channel: train" is never reached.
    ({"num_round": "5"}, ("validation",), "text/csv", "KeyError: 'SM_CHANNEL_TRAIN'\n\n'SM_CHANNEL_TRAIN'"),
    ({"num_round": "5", "max_depht": "3"}, ("training",), "text/csv", "KeyError: 'SM_CHANNEL_TRAIN'"),
    ({"num_round": "5"}, ("train", "test"), "text/csv", "Extraneous channel found: test"),
    ({"num_round": "5"}, ("train",), "application/json",
     "Channel configuration for 'train' channel is not supported: {"),
    ({"num_round": "5"}, ("train",), None, "is not 'LIBSVM' format"),  # CSV data in a libsvm (default) channel
])
def test_bad_configuration_fails_with_framework_error_and_exit_1(xgb_image, data, tmp_path, hyperparameters,
                                                                 channels, content_type, reason):
    """[hpv] [chv] [du] messages; [sc] _trainer: failure file "framework error: \\n<traceback>\\n<message>",
    exit code 1, and no model."""
    root = prepare(tmp_path / "opt_ml", hyperparameters, {name: data["folder"] / "train" for name in channels},
                   content_type=content_type)
    code, logs, failure = train(xgb_image, root)
    assert code == 1
    assert failure.startswith("framework error: \n") and reason in failure, failure
    assert not (root / "model" / "xgboost-model").exists()


# Lab 04's hyperparameters with its misspelt max_depth (labs/04_builtin_xgboost).
LAB04_TYPO = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "300", "max_depth": "5", "eta": "0.2",
              "subsample": "0.8", "min_child_weight": "2", "early_stopping_rounds": "20", "seed": "7", "max_dept": "5"}
FAILURE_REASON_LENGTH = 1024  # DescribeTrainingJob returns the first 1024 characters of output/failure


def test_failure_file_holds_the_whole_chained_traceback_as_the_toolkit_writes_it(xgb_image, data, tmp_path):
    """[sc] _trainer.train: failure_msg = "framework error: \\n%s\\n%s" % (traceback.format_exc(), str(e)),
    written whole, logged whole (logger.error(failure_msg)), exit code 1. [hpv] raises the UserError while
    handling the lookup's KeyError, so format_exc() shows the KeyError, "During handling of the above
    exception, another exception occurred:", and every frame from the toolkit down. With Lab 04's
    hyperparameters the message starts after character 1024: SageMaker's FailureReason (the first 1024
    characters, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html)
    holds only traceback, on AWS (amazon-sagemaker-examples#1740 shows such a cut reason) and here."""
    root = prepare(tmp_path / "opt_ml", LAB04_TYPO, {"train": data["folder"] / "train"})
    code, logs, failure = train(xgb_image, root)
    assert code == 1
    assert failure.startswith("framework error: \nTraceback (most recent call last):\n")
    assert "KeyError: 'max_dept'\n\nDuring handling of the above exception, another exception occurred:" in failure
    assert "sagemaker_containers/_trainer.py" in failure
    assert failure.endswith("UserError: Extraneous hyperparameter found: max_dept\n\n"
                            "Extraneous hyperparameter found: max_dept")
    assert failure.index("Extraneous hyperparameter found") > FAILURE_REASON_LENGTH
    assert "Reporting training FAILURE" in logs and "Extraneous hyperparameter found: max_dept" in logs


def test_labels_outside_0_1_for_logistic_are_the_users_error(xgb_image, data, tmp_path):
    """[tr] XGBoost's 'label must be in [0,1] for logistic regression' is one of CUSTOMER_ERRORS -> UserError."""
    labels, features = data["train"]
    write_csv(tmp_path / "t" / "train.csv", labels * 2, features)
    root = prepare(tmp_path / "opt_ml", {"num_round": "2", "objective": "binary:logistic"}, {"train": tmp_path / "t"})
    code, logs, failure = train(xgb_image, root)
    assert code == 1 and "label must be in [0,1] for logistic regression" in failure


@pytest.fixture(scope="module")
def overfitting_data(tmp_path_factory):
    """A fifth of the validation labels inverted: the validation metric improves for a few rounds, then not."""
    folder = tmp_path_factory.mktemp("overfit")
    write_csv(folder / "train" / "t.csv", *binary_rows(300, seed=3))
    write_csv(folder / "validation" / "v.csv", *binary_rows(200, seed=4, flipped=0.2))
    return {"train": folder / "train", "validation": folder / "validation"}


def test_early_stopping_keeps_the_best_model(xgb_image, overfitting_data, tmp_path):
    """[tr] EarlyStopping(rounds, data_name="validation", metric_name=eval_metric[-1], save_best=True) and [cb]:
    training stops `rounds` rounds after the best one, and the saved model has best + 1 rounds. (XGBoost 1.7's
    CallbackContainer keeps its callbacks in a set, so the line of the stopping round itself may or may not
    be printed, in the real image as here.)"""
    root = prepare(tmp_path / "opt_ml", {"num_round": "60", "objective": "binary:logistic", "eval_metric": "logloss",
                                         "early_stopping_rounds": "3", "eta": "0.1"}, overfitting_data)
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    validation = [float(re.search(r"validation-logloss:(\S+)", line).group(1)) for line in round_lines(logs)]
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))
    best = booster.num_boosted_rounds() - 1
    assert best == int(np.argmin(validation)) and best > 0
    assert len(validation) in (best + 3, best + 4) and len(validation) < 60


def test_early_stopping_rounds_without_a_metric_does_not_stop_like_the_real_image(xgb_image, overfitting_data,
                                                                                   tmp_path):
    """[tr] train_job: early_stopping_metric comes from _tuning_objective_metric or eval_metric only; without them
    no EarlyStopping callback is added ([sagemaker_xgboost_container/callback.py] get_callbacks)."""
    root = prepare(tmp_path / "opt_ml", {"num_round": "20", "objective": "binary:logistic",
                                         "early_stopping_rounds": "2", "eta": "0.5"}, overfitting_data)
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    assert len(round_lines(logs)) == 20


# ---- serving -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(xgb_image, trained):
    with docker_run.serving(xgb_image, trained["root"] / "model") as container:
        yield container


def post(container, body, content_type="text/csv", accept=None):
    headers = {} if content_type is None else {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    return requests.post(f"{container.url}/invocations", data=body, headers=headers, timeout=60)


def test_ping_answers_200_with_an_empty_body(server):
    """[sv] ping(): flask.Response(status=http.client.OK)."""
    response = requests.get(f"{server.url}/ping", timeout=5)
    assert response.status_code == 200 and response.content == b""


def test_execution_parameters(server):
    """[sv] execution_parameters: MaxConcurrentTransforms = cpu_count(), "MULTI_RECORD", MaxPayloadInMB 6."""
    response = requests.get(f"{server.url}/execution-parameters", timeout=5)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"MaxConcurrentTransforms": os.cpu_count(), "BatchStrategy": "MULTI_RECORD",
                               "MaxPayloadInMB": 6}


@pytest.mark.parametrize("accept", [None, "*/*", "text/csv", "text/csv; charset=utf-8"])
def test_csv_in_csv_out_one_prediction_per_line(server, data, host_booster, accept):
    """[sv] missing or */* Accept -> text/csv; [sc] array_to_csv -> one prediction per line + trailing newline."""
    features = data["test"][1]
    response = post(server, csv_body(features), accept=accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.text == expected_csv(host_booster.predict(xgb.DMatrix(features)))


@pytest.mark.parametrize("accept", ["application/json", "application/json; verbose=True", "Application/JSON"])
def test_json_answer_is_predictions_of_scores(server, data, host_booster, accept):
    """[sv] encode_predictions_as_json: {"predictions": [{"score": p}, ...]}; Accept parameters dropped."""
    features = data["test"][1][:3]
    response = post(server, csv_body(features), accept=accept)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    expected = [float(p) for p in host_booster.predict(xgb.DMatrix(features))]
    assert response.text == json.dumps({"predictions": [{"score": p} for p in expected]})


@pytest.mark.parametrize("delimiter", ["\t", ";", " "])
def test_csv_delimiter_is_sniffed(server, data, host_booster, delimiter):
    """[sv] encoder.csv_to_dmatrix: csv.Sniffer on the first line."""
    features = data["test"][1][:5]
    response = post(server, csv_body(features, delimiter))
    assert response.text == expected_csv(host_booster.predict(xgb.DMatrix(features)))


def test_empty_csv_fields_are_missing_values(server, host_booster):
    """[sv] encoder._clean_csv_string: "" -> "nan"; XGBoost's DMatrix treats NaN as missing."""
    response = post(server, "0.5,,1.0,\n,,,-2")
    expected = host_booster.predict(xgb.DMatrix(np.array([[0.5, np.nan, 1.0, np.nan], [np.nan] * 3 + [-2.0]])))
    assert response.text == expected_csv(expected)


def test_csv_body_is_stripped(server, data, host_booster):
    """[sv] parse_content_data: payload.strip() before parsing, so a trailing newline is fine."""
    features = data["test"][1][:2]
    assert post(server, "\n" + csv_body(features) + "\n\n").text == expected_csv(
        host_booster.predict(xgb.DMatrix(features)))


@pytest.mark.parametrize("content_type", ["text/libsvm", "text/x-libsvm", None])
def test_libsvm_requests(server, data, host_booster, content_type):
    """[sv] text/libsvm, text/x-libsvm, and no Content-Type at all ([du] get_content_type(None) -> libsvm);
    index:value pairs, labels ignored."""
    features = data["test"][1][:4]
    body = "\n".join("0 " + " ".join(f"{i}:{v}" for i, v in enumerate(row)) for row in features)
    response = post(server, body, content_type=content_type)
    assert response.status_code == 200
    assert response.text == expected_csv(host_booster.predict(xgb.DMatrix(features)))


def test_recordio_protobuf_requests(server, data, host_booster):
    """[sv] application/x-recordio-protobuf: features['values'] of each record."""
    features = data["test"][1][:4]
    body = b"".join(recordio_protobuf(row.tolist()) for row in features)
    response = post(server, body, content_type="application/x-recordio-protobuf")
    assert response.status_code == 200
    expected = host_booster.predict(xgb.DMatrix(features.astype(np.float32)))
    assert response.text == expected_csv(expected)


def test_fewer_columns_than_the_model_are_missing_values_like_the_real_image(server, data, host_booster):
    """[sv] serve_utils.predict checks the column count only for pickled models; a saved booster gets
    predict(..., validate_features=False), and XGBoost 1.7 treats absent columns as missing."""
    features = data["test"][1][:3, :3]
    response = post(server, csv_body(features))
    assert response.status_code == 200
    assert response.text == expected_csv(host_booster.predict(xgb.DMatrix(features), validate_features=False))


def test_label_size_1_content_type_is_accepted_in_requests(server, data, host_booster):
    """[du] get_content_type("text/csv; label_size=1") -> csv (test_serve_utils.test_parse_csv_data)."""
    features = data["test"][1][:2]
    assert post(server, csv_body(features), content_type="text/csv; label_size=1").status_code == 200


GOOD_ROW = "0.1,0.2,0.3,0.4"


@pytest.mark.parametrize("body, content_type, accept, status, message", [
    ("", "text/csv", None, 204, ""),
    (GOOD_ROW, "application/json", None, 415, "application/json is not an accepted ContentType: csv, libsvm"),
    (GOOD_ROW, "text/csv; label_size=2", None, 415, "Optional parameter label_size must be equal to 1"),
    (b"PAR1", "application/x-parquet", None, 415, "Content-type application/x-parquet is not supported."),
    ("0.1,abc,0.3,0.4", "text/csv", None, 415, "Loading csv data failed with Exception, please ensure data is in csv"),
    ("0.1,0.2,0.3,0.4\n0.1,0.2", "text/csv", None, 415, "Loading csv data failed"),
    ("0:x 1:2", "text/libsvm", None, 415, "Loading libsvm data failed with Exception"),
    (GOOD_ROW, "application/x-recordio-protobuf", None, 415, "Loading recordio-protobuf data failed"),
    ("0.1,0.2,0.3,0.4,0.5", "text/csv", None, 400, "Unable to evaluate payload provided"),
    (GOOD_ROW, "text/csv", "application/xml", 406, "Accept type application/xml is not supported."),
    (GOOD_ROW, "text/csv", "text/csv, application/json", 406, "is not supported"),
    # [sc] _encoders.encode knows NPY, CSV, JSON only: UnsupportedFormatError, uncaught in the view -> 500
    (GOOD_ROW, "text/csv", "application/jsonlines", 500, "Content type application/jsonlines is not supported"),
    (GOOD_ROW, "text/csv", "application/x-recordio-protobuf", 500, "is not supported by this framework"),
    # [sv] request.data: Werkzeug parses a form body into request.form, so data is empty -> 204 (curl -d)
    ("a=1&b=2", "application/x-www-form-urlencoded", None, 204, ""),
])
def test_bad_requests_get_the_real_status_and_the_server_keeps_serving(server, host_booster, body, content_type,
                                                                       accept, status, message):
    """[sv] invocations(): empty -> 204; unparsable content type or body -> 415; predict error -> 400
    "Unable to evaluate payload provided: ..."; Accept not supported -> 406; an answer type the encoder
    cannot write -> 500 (error bodies are one line of text instead of Flask's HTML: documented)."""
    response = post(server, body, content_type=content_type, accept=accept)
    assert response.status_code == status, response.text
    assert message in response.text
    good = post(server, GOOD_ROW)
    assert good.status_code == 200
    assert good.text == expected_csv(host_booster.predict(xgb.DMatrix(np.array([[0.1, 0.2, 0.3, 0.4]]))))


def send_whole_body_then_read_status(container, body, content_type="text/csv"):
    """POST BODY with http.client: it sends every byte before it reads the answer, as a client behind
    SageMaker's front end does; a server that closes early shows up as a reset (ConnectionError)."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(container.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request("POST", "/invocations", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_payload_over_6_mib_gets_413_not_a_reset_and_just_under_is_served(server):
    """[sv] app.config["MAX_CONTENT_LENGTH"] = 6291456: Werkzeug's form parser refuses a larger body with
    413 (Flask's request.data). In the real image nginx has buffered the whole body by then (proxy to
    gunicorn), so a client sending 7 MB reads the 413; the twin reads the rest of the body first."""
    row = GOOD_ROW + "\n"
    status, body = send_whole_body_then_read_status(server, (row * (7 * MIB // len(row))).encode())
    assert status == 413 and b"MAX_CONTENT_LENGTH" in body
    fits = row * (6 * MIB // len(row) - 10)
    response = post(server, fits)
    assert response.status_code == 200 and response.text.count("\n") == fits.count("\n")
    assert post(server, GOOD_ROW).status_code == 200  # still serving


def test_head_ping_is_200_as_werkzeug_adds_head_to_get_routes(server):
    """[sv] @app.route("/ping", methods=["GET"]): Werkzeug's routing adds HEAD to every GET rule."""
    response = requests.head(f"{server.url}/ping", timeout=5)
    assert response.status_code == 200 and response.content == b""


def test_unknown_route_is_nginxs_404_with_an_empty_json_body(server):
    """sagemaker-containers' etc/nginx.conf.template: location / { return 404 "{}"; }; a known route with
    another method reaches Flask: 405."""
    response = requests.get(f"{server.url}/models", timeout=5)
    assert response.status_code == 404 and response.text == "{}"
    assert requests.get(f"{server.url}/invocations", timeout=5).status_code == 405


def container_commands(container):
    return subprocess.run(["docker", "top", container.name, "-eo", "pid,args"], capture_output=True, text=True,
                          check=True).stdout


def test_serving_is_nginx_in_front_of_gunicorn_sync_workers_on_a_unix_socket(server):
    """[trn] serving.py serving_entrypoint (line 169) -> server.start; [sc] _server.py start (lines 72-119):
    with use_nginx, `nginx -c /etc/sagemaker-nginx.conf` (its etc/nginx.conf.template proxies to
    unix:/tmp/gunicorn.sock) and gunicorn bound there; [df] the base image installs nginx (line 60). The
    worker class is the twin's documented difference (sync, not gevent); gunicorn names the class it runs
    (more than one thread would silently make it gthread)."""
    commands = container_commands(server)
    assert "nginx: master process nginx -c /etc/sagemaker-nginx.conf" in commands
    logs = server.logs()
    assert "Listening at: unix:/tmp/gunicorn.sock" in logs
    assert "Using worker: sync" in logs


def test_sagemaker_use_nginx_false_puts_gunicorn_on_the_port(xgb_image, trained):
    """[sc] _env.py ServingEnv (line 899): SAGEMAKER_USE_NGINX, default true; _server.start binds gunicorn to
    0.0.0.0:SAGEMAKER_BIND_TO_PORT and starts no nginx when it is false."""
    with docker_run.serving(xgb_image, trained["root"] / "model", env={"SAGEMAKER_USE_NGINX": "false"}) as container:
        answer = post(container, GOOD_ROW)
        commands = container_commands(container)
        logs = container.logs()
    assert answer.status_code == 200 and "nginx" not in commands
    assert re.search(r"Listening at: http://0\.0\.0\.0:\d+", logs)


def test_difference_nginx_access_log_is_off_unless_server_access_log_is_1(server, xgb_image, trained):
    """[sc] etc/nginx.conf.template (line 15): `access_log /dev/stdout combined;`, one line per request.
    The twin's difference: off by default, because local mode prints a container's output into the
    notebook; SERVER_ACCESS_LOG=1 gives AWS's line."""
    assert post(server, GOOD_ROW).status_code == 200
    assert '"POST /invocations HTTP/1.1" 200' not in server.logs()
    with docker_run.serving(xgb_image, trained["root"] / "model", env={"SERVER_ACCESS_LOG": "1"}) as container:
        assert post(container, GOOD_ROW).status_code == 200
        time.sleep(0.5)  # nginx writes the line after the answer
        assert '"POST /invocations HTTP/1.1" 200' in container.logs()


# ---- serving variants (one container each) ----------------------------------------------------------------

def test_selectable_inference_output(xgb_image, trained, data, host_booster):
    """[sv] SAGEMAKER_INFERENCE_OUTPUT: keys per objective (binary:logistic: predicted_label, labels,
    probability, probabilities, raw_score, raw_scores); others NaN; json, jsonlines, csv, recordio-protobuf."""
    features = data["test"][1][:3]
    p = [float(v) for v in host_booster.predict(xgb.DMatrix(features))]
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label, probability,probabilities,labels,predicted_score"}
    with docker_run.serving(xgb_image, trained["root"] / "model", env=env) as container:
        as_json = post(container, csv_body(features), accept="application/json")
        lines = post(container, csv_body(features), accept="application/jsonlines")
        as_csv = post(container, csv_body(features), accept="text/csv")
        as_recordio = post(container, csv_body(features), accept="application/x-recordio-protobuf")
    predictions = json.loads(as_json.text)["predictions"]
    assert [row["predicted_label"] for row in predictions] == [int(v > 0.5) for v in p]
    assert [row["probability"] for row in predictions] == p
    assert [row["probabilities"] for row in predictions] == [[1.0 - v, v] for v in p]
    assert all(row["labels"] == [0, 1] for row in predictions)
    assert all(np.isnan(row["predicted_score"]) for row in predictions)  # not a binary:logistic key
    assert lines.headers["Content-Type"].startswith("application/jsonlines")
    assert lines.text == "".join(json.dumps(row) + "\n" for row in predictions)  # one object per line
    assert as_csv.text == "\n".join(f'{int(v > 0.5)},{v},"{[1.0 - v, v]}","[0, 1]",nan' for v in p)
    labels = parse_recordio_labels(as_recordio.content)
    assert [row["predicted_label"] for row in labels] == [[float(v > 0.5)] for v in p]
    assert [row["probabilities"] for row in labels] == [pytest.approx([1.0 - v, v]) for v in p]


def test_batch_mode_answers_str_of_each_prediction_per_line(xgb_image, trained, data, host_booster):
    """[sv] if SAGEMAKER_BATCH: "\\n".join(map(str, preds_list)) + "\\n", whatever the Accept."""
    features = data["test"][1][:4]
    expected = "".join(f"{float(p)}\n" for p in host_booster.predict(xgb.DMatrix(features)))
    with docker_run.serving(xgb_image, trained["root"] / "model", env={"SAGEMAKER_BATCH": "True"}) as container:
        for accept in ("text/csv", "application/json", "application/jsonlines"):
            assert post(container, csv_body(features), accept=accept).text == expected


def test_multiclass_probabilities_csv_rows_and_json_lists(xgb_image, tmp_path):
    """[sc] array_to_csv writes 2-D predictions one comma-joined row per record; [sv] JSON 'score' is the list."""
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=(90, 3)), 3)
    labels = rng.integers(0, 3, 90)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(x, label=labels), 3)
    (tmp_path / "model").mkdir()
    booster.save_model(str(tmp_path / "model" / "xgboost-model"))
    expected = booster.predict(xgb.DMatrix(x[:3]))
    with docker_run.serving(xgb_image, tmp_path / "model") as container:
        as_csv = post(container, csv_body(x[:3]))
        as_json = post(container, csv_body(x[:3]), accept="application/json")
    assert as_csv.text == "".join(",".join(str(float(v)) for v in row) + "\n" for row in expected)
    assert json.loads(as_json.text) == {"predictions": [{"score": [float(v) for v in row]} for row in expected]}


def test_ensemble_averages_every_model_file(xgb_image, data, tmp_path):
    """[sv] get_loaded_booster(ensemble=SAGEMAKER_INFERENCE_ENSEMBLE default 'true'): every non-dot file, pickled
    or saved; predictions averaged. The model.tar.gz SDK local mode leaves in the folder is skipped (the twin's
    documented difference)."""
    labels, features = data["train"]
    first = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(features, label=labels), 3)
    second = xgb.train({"objective": "binary:logistic", "max_depth": 4}, xgb.DMatrix(features, label=labels), 6)
    (tmp_path / "model").mkdir()
    first.save_model(str(tmp_path / "model" / "xgboost-model"))
    (tmp_path / "model" / "another-model.pkl").write_bytes(pickle.dumps(second))
    (tmp_path / "model" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    with tarfile.open(tmp_path / "model" / "model.tar.gz", "w:gz") as archive:  # as SDK local mode leaves it
        archive.add(tmp_path / "model" / "xgboost-model", arcname="xgboost-model")
    test = data["test"][1][:5]
    expected = (first.predict(xgb.DMatrix(test)) + second.predict(xgb.DMatrix(test))) / 2
    with docker_run.serving(xgb_image, tmp_path / "model") as container:
        got = [float(v) for v in post(container, csv_body(test)).text.split()]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_npy_default_accept_answers_npy_bytes(xgb_image, trained, data, host_booster):
    """[sv] _parse_accept returns SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT unchecked when no Accept is sent, and
    encoders.encode(preds_list, "application/x-npy") is [sc] array_to_npy (np.save): 200 with NPY bytes."""
    import io

    features = data["test"][1][:3]
    env = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-npy"}
    with docker_run.serving(xgb_image, trained["root"] / "model", env=env) as container:
        response = post(container, csv_body(features))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/x-npy")
    np.testing.assert_array_equal(np.load(io.BytesIO(response.content)),
                                  np.array(host_booster.predict(xgb.DMatrix(features)).tolist()))


def test_port_payload_limit_and_default_accept_come_from_the_environment(xgb_image, trained):
    """[sv] ScoringService.PORT = SAGEMAKER_BIND_TO_PORT, the MAX_CONTENT_LENGTH variable,
    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT."""
    env = {"SAGEMAKER_BIND_TO_PORT": "9090", "MAX_CONTENT_LENGTH": str(MIB),
           "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"}
    with docker_run.serving(xgb_image, trained["root"] / "model", env=env, container_port=9090) as container:
        parameters = requests.get(f"{container.url}/execution-parameters", timeout=5).json()
        answer = post(container, GOOD_ROW)
        too_big = post(container, (GOOD_ROW + "\n") * (MIB // len(GOOD_ROW)))
    assert parameters["MaxPayloadInMB"] == 1
    assert answer.headers["Content-Type"].startswith("application/json") and "predictions" in answer.json()
    assert too_big.status_code == 413


def test_model_that_cannot_load_fails_ping_with_the_reason(xgb_image, tmp_path):
    """[sv] ping() loads the model; a load error is a 500 (the server stays up, /ping never turns 200)."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "xgboost-model").write_text("not a model")
    container = docker_run.ServingContainer(xgb_image, tmp_path / "model")
    try:
        with pytest.raises(TimeoutError):
            container.start(ready_seconds=8)
        response = requests.get(f"{container.url}/ping", timeout=5)
        assert response.status_code == 500 and "Unable to load model" in response.text
        assert "cannot be loaded" in response.text
    finally:
        container.stop()


# ---- XGBoost as a framework: the user's script and hooks ([trn] [sc]) ----------------------------------------

TRAIN_SCRIPT = '''
import argparse, json, os, pickle, sys

import pandas, sklearn
import xgboost as xgb
from sagemaker_containers import entry_point  # noqa: F401 - AWS's abalone example imports it
from sagemaker_xgboost_container import distributed
from sagemaker_xgboost_container.data_utils import get_dmatrix


def fit(params, dtrain, num_boost_round, model_dir, is_master):
    booster = xgb.train(params, dtrain, num_boost_round=num_boost_round, evals=[(dtrain, "train")])
    if is_master:
        with open(os.path.join(model_dir, "xgboost-model"), "wb") as handle:
            pickle.dump(booster, handle)


parser = argparse.ArgumentParser()
parser.add_argument("--num_round", type=int)
parser.add_argument("--max_depth", type=int)
parser.add_argument("--my_flag")
args = parser.parse_args()
seen = {"argv": sys.argv[1:], "train": os.environ["SM_CHANNEL_TRAIN"], "hosts": os.environ["SM_HOSTS"],
        "pandas": pandas.__version__, "sklearn": sklearn.__version__}
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as handle:
    json.dump(seen, handle)
distributed.rabit_run(fit, {"params": {"max_depth": args.max_depth, "objective": "binary:logistic"},
                            "dtrain": get_dmatrix(os.environ["SM_CHANNEL_TRAIN"], "csv"),
                            "num_boost_round": args.num_round, "model_dir": os.environ["SM_MODEL_DIR"]},
                      include_in_training=True, hosts=json.loads(os.environ["SM_HOSTS"]),
                      current_host=os.environ["SM_CURRENT_HOST"], update_rabit_args=True)
'''


def v2_hyperparameters(submit_directory):
    """What SDK v2's XGBoost estimator writes (Framework: every value json.dumps'ed, sagemaker_* added); its
    local mode mounts a file:// source folder at /opt/ml/code and rewrites sagemaker_submit_directory to
    "/opt/ml/code" (sagemaker/core/local/image.py, _update_local_src_path)."""
    return {"num_round": "3", "max_depth": "2", "my_flag": json.dumps("yes"),
            "sagemaker_program": json.dumps("train.py"), "sagemaker_submit_directory": json.dumps(submit_directory),
            "sagemaker_container_log_level": "20", "sagemaker_region": json.dumps("us-east-1")}


@pytest.mark.parametrize("submit_directory", ["/opt/ml/code", "/opt/ml/input/data/code"])
def test_framework_mode_runs_the_users_script_with_its_hyperparameters_as_arguments(xgb_image, data, tmp_path,
                                                                                    submit_directory):
    """[trn] train(): user_entry_point set -> framework.modules.run_module(module_dir, to_cmd_args(),
    to_env_vars(), module_name); [sc] _modules.run_module copies the submit directory to /opt/ml/code,
    pip-installs it and runs `python -m train --max_depth 2 --my_flag yes --num_round 3` (sagemaker_*
    hyperparameters left out, values JSON-decoded) with SM_CHANNEL_TRAIN, SM_HOSTS, ... set. The script
    imports what AWS's abalone example imports, and the real image's pandas/scikit-learn lines are there."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(TRAIN_SCRIPT)
    channels = {"train": data["folder"] / "train"}
    if submit_directory == "/opt/ml/input/data/code":
        channels["code"] = tmp_path / "code"
    root = prepare(tmp_path / "opt_ml", v2_hyperparameters(submit_directory), channels)
    (root / "output" / "data").mkdir()  # SageMaker and SDK local mode make it (sagemaker/core/local/image.py)
    if submit_directory == "/opt/ml/code":
        shutil.copytree(tmp_path / "code", root / "code")  # what local mode's volume mount puts there
    code, logs, failure = train(xgb_image, root)
    assert code == 0, logs
    seen = json.loads((root / "output" / "data" / "seen.json").read_text())
    assert seen["argv"] == ["--max_depth", "2", "--my_flag", "yes", "--num_round", "3"]
    assert seen["train"] == "/opt/ml/input/data/train" and json.loads(seen["hosts"]) == ["algo-1"]
    assert (seen["pandas"], seen["sklearn"]) == ("1.5.3", "1.1.3")
    booster = pickle.loads((root / "model" / "xgboost-model").read_bytes())
    assert booster.num_boosted_rounds() == 3
    assert sorted(p.name for p in (root / "output").iterdir()) == ["data"]  # sys.exit(0) again: no success file


def test_framework_mode_submit_directory_as_file_url_fails_as_in_the_toolkit(xgb_image, data, tmp_path):
    """[sc] _files.download_and_extract knows s3://, a folder and a tar file: a file:// URL (which SDK local
    mode never passes on, it mounts the folder instead) is no path, so the job fails with FileNotFoundError,
    and _trainer exits with the exception's errno (2): exit_code = getattr(e, "errno", 1)."""
    root = prepare(tmp_path / "opt_ml", v2_hyperparameters(f"file://{tmp_path}/code"), {"train": data["folder"] / "train"})
    code, logs, failure = train(xgb_image, root)
    assert code == 2 and failure.startswith("framework error: \n") and "FileNotFoundError" in failure


def test_a_failing_user_script_is_the_toolkits_execute_user_script_error(xgb_image, data, tmp_path):
    """[sc] _modules.run -> _process.check_error raises ExecuteUserScriptError, a ClientError: _trainer writes
    str(e) (no traceback) to the failure file and exits 1."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("raise SystemExit(3)\n")
    root = prepare(tmp_path / "opt_ml", v2_hyperparameters("/opt/ml/input/data/code"),
                   {"train": data["folder"] / "train", "code": tmp_path / "code"})
    code, logs, failure = train(xgb_image, root)
    assert code == 1 and failure.startswith("ExecuteUserScriptError:\nCommand ")


INFERENCE_SCRIPT = '''
import json, os, pickle


def model_fn(model_dir):
    with open(os.path.join(model_dir, "xgboost-model"), "rb") as handle:
        return pickle.load(handle)


def output_fn(prediction, accept):
    return json.dumps({"scores": prediction.tolist(), "accept": accept}), "application/json"
'''


def test_framework_mode_serves_an_archive_with_code_through_the_users_hooks(xgb_image, data, tmp_path):
    """[trn] serving.main: with SAGEMAKER_PROGRAM the module is imported and wrapped by
    _user_module_transformer: the user's model_fn and output_fn, the default input_fn (encoder.decode:
    text/csv -> DMatrix) and predict_fn (model.predict(data, validate_features=False)); [sc] _server.start
    first copies SAGEMAKER_SUBMIT_DIRECTORY (here the archive's code/) to /opt/ml/code and pip-installs it;
    _transformer wraps every hook in ClientError, so an unsupported request type is a 500 (the
    UnsupportedFormatError no longer matches the 415 branch)."""
    labels, features = data["train"]
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=labels), 3)
    (tmp_path / "model" / "code").mkdir(parents=True)
    (tmp_path / "model" / "xgboost-model").write_bytes(pickle.dumps(booster))
    (tmp_path / "model" / "code" / "inference.py").write_text(INFERENCE_SCRIPT)
    env = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    test = data["test"][1][:3]
    with docker_run.serving(xgb_image, tmp_path / "model", env=env) as container:
        answer = post(container, csv_body(test), accept="text/csv")
        wrong_type = post(container, csv_body(test), content_type="application/json")
        still = post(container, csv_body(test))
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"scores": [float(p) for p in booster.predict(xgb.DMatrix(test))], "accept": "text/csv"}
    assert wrong_type.status_code == 500
    assert still.status_code == 200


def test_the_image_has_the_real_toolkit_and_what_users_scripts_import(xgb_image):
    """requirements.txt @1.7-1: sagemaker-containers==2.8.6.post2, Flask 1.1.1, Werkzeug 0.15.6; scripts import
    sagemaker_xgboost_container.{data_utils, distributed, checkpointing} (AWS's abalone example); pandas and
    scikit-learn at the closest versions with Python 3.11 wheels (the real 1.2.4 and 0.24.1 have none)."""
    code, out = docker_run.run(xgb_image, "python3", "-c", (
        "from importlib.metadata import version as v; import sagemaker_containers.beta.framework; "
        "from sagemaker_xgboost_container import data_utils, distributed, checkpointing, encoder; "
        "print([v(p) for p in ('sagemaker-containers', 'flask', 'werkzeug', 'pandas', 'scikit-learn', 'xgboost')])"))
    assert code == 0, out
    assert "['2.8.6.post2', '1.1.1', '0.15.6', '1.5.3', '1.1.3', '1.7.4']" in out


def test_multi_model_endpoints_are_refused_with_a_reason(xgb_image, trained):
    """[trn] serving_entrypoint: SAGEMAKER_MULTI_MODEL starts Multi Model Server in the real image; the twin
    has none and stops with a sentence instead of serving something else."""
    code, out = docker_run.run(xgb_image, "serve", env={"SAGEMAKER_MULTI_MODEL": "true"}, timeout=60)
    assert code == 1 and "multi-model endpoints (Multi Model Server) are not implemented" in out
