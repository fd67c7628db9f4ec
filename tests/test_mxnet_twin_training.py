"""Contract tests of containers/mxnet-1.9-training, the LEGACY local twin of AWS's MXNet 1.9 training DLC
(mxnet-training:1.9-cpu-py38), run against the built image.

Sources of the rules (each test names the one it follows):
- [tk]  https://github.com/aws/sagemaker-training-toolkit v4.3.1 (the version in AWS's MXNet 1.9 DLC, see the
        container README; the sdist the image installs): src/sagemaker_training/trainer.py (success/failure
        files, exit codes), environment.py (SM_* variables), mapping.py (hyperparameters -> command-line
        arguments), process.py (capture_error=False: `subprocess.Popen(cmd)`, no shell), errors.py
        (ExecuteUserScriptError)
- [mtk] https://github.com/aws/sagemaker-mxnet-training-toolkit v4.3.0: src/sagemaker_mxnet_container/training.py
        (plain process runner unless sagemaker_parameter_server_enabled / sagemaker_mpi_enabled; runs the
        script without capturing its stderr), training_utils.py (model-symbol.json, model-0000.params,
        model-shapes.json)
- [dlc] https://github.com/aws/deep-learning-containers tag v1.5-mx-sagemaker-1.9.0-tr-cpu-py38 (2022-11-18):
        mxnet/training/docker/1.9/py3/Dockerfile.cpu (ENV SAGEMAKER_TRAINING_MODULE=
        sagemaker_mxnet_container.training:main; pandas==1.3.0, scikit-learn, scipy==1.7.0 at lines 109-136;
        `pip install --upgrade sagemaker-mxnet-training` unpinned at line 208)
- [sdk] https://github.com/aws/sagemaker-python-sdk (v3, sagemaker 3.27): sagemaker-train/src/sagemaker/train/
        constants.py, templates.py, container_drivers/scripts/environment.py (ModelTrainer with SourceCode runs
        `/bin/bash -c ... sm_train.sh`, which needs python3 and pip3, and writes its own SM_* set)
- [lab] labs/03c_mxnet_legacy/code/train.py: one `epoch=N train_loss=X validation_loss=Y validation_accuracy=Z` line per epoch
Expected values come from those sources, never from the twin's files.
"""
import json
import os
import re
import subprocess

import numpy as np
import pytest

from smworkshop import images, opt_ml, session
from smworkshop.paths import LABS
import training_twins
from training_twins import (  # noqa: F401 (the toolkit's tests run here too)
    test_a_missing_script_is_reported_as_such, test_hyperparameters_become_sorted_command_line_arguments,
    test_job_succeeds_and_writes_the_success_file,
    test_the_logged_command_is_the_interpreter_then_the_script_without_an_end_of_options_marker,
    test_without_the_shell_every_value_reaches_the_script_whole)
from training_twins import prepare, run_train

pytestmark = pytest.mark.docker
PARENT = "mxnet-1.9-base"
CONTAINER = "mxnet-1.9-training"
# What sagemaker.core.image_uris.retrieve returns in the pinned SDK (sagemaker-core image_uri_config/mxnet.json).
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.9-cpu-py38"
RETRIEVE = dict(py_version="py38", image_scope="training", instance_type="ml.m5.xlarge")
LAB_CODE = LABS / "03c_mxnet_legacy" / "code"
EPOCH_LINE = re.compile(r"\bepoch=(\d+) train_loss=([\d.]+) validation_loss=([\d.]+) validation_accuracy=([\d.]+)$", re.MULTILINE)


# A small Gluon script: records what it was given, reads its channel, fits y = 2a + 3b + 1, saves the model.
RECORDING_SCRIPT = '''
import json, os, sys
import mxnet as mx
from mxnet import autograd, gluon

seen = {"argv": sys.argv[1:], "cwd": os.getcwd(), "mxnet": mx.__version__,
        "env": {k: v for k, v in os.environ.items() if k.startswith("SM_") or k in ("PYTHONPATH", "DMLC_ROLE")}}
rows = [[float(v) for v in row.split(",")] for row in
        open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read().split()]
data = mx.nd.array(rows)
x, y = data[:, 1:], data[:, :1]
net = gluon.nn.HybridSequential()
net.add(gluon.nn.Dense(1))
net.initialize()
net.hybridize()
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
for _ in range(300):
    with autograd.record():
        loss = gluon.loss.L2Loss()(net(x), y)
    loss.backward()
    trainer.step(x.shape[0])
seen["rows"], seen["loss"] = len(rows), float(loss.mean().asscalar())
seen["weight"] = net[0].weight.data().asnumpy().tolist()
net.export(os.path.join(os.environ["SM_MODEL_DIR"], "model"), epoch=0)
json.dump(seen, open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w"))
print("training done, loss", seen["loss"])
'''


def build_twin(say=lambda message: None):
    """The training twin, tagged with the real image's URI; images.build builds its parent (named in the
    Dockerfile's ARG PARENT_IMAGE) first."""
    return images.build_twin("mxnet", "1.9", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


def iris_channels(folder):
    """Iris (bundled with scikit-learn, no network) as label-first CSV: train and validation channels."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=7, stratify=y)
    channels = {}
    for name, features, labels in (("train", x_train, y_train), ("validation", x_val, y_val)):
        path = folder / name / f"iris_{name}.csv"
        path.parent.mkdir(parents=True)
        np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%g")
        channels[name] = path.parent
    return channels


# ---- the image ------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("mxnet", "us-east-1", "1.9", **RETRIEVE) == URI


def test_the_image_says_it_is_a_legacy_twin_and_has_what_the_sdk_driver_needs(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert description.startswith("LEGACY.") and "LOCAL TWIN" in description and "not AWS's image" in description
    assert "1.9.1" in description and "Python 3.11" in description
    # [sdk] sm_train.sh runs under /bin/bash and calls python3 and pip3 by name; [tk] the `train` command;
    # [dlc] SAGEMAKER_TRAINING_MODULE as in the DLC.
    probe = subprocess.run(["docker", "run", "--rm", twin, "bash", "-c",
                            "command -v train python3 pip3 && pip3 --version && echo MODULE=$SAGEMAKER_TRAINING_MODULE"
                            " && echo IMDS=$AWS_EC2_METADATA_DISABLED"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert "MODULE=sagemaker_mxnet_container.training:main" in probe.stdout
    assert "IMDS=true" in probe.stdout
    # [dlc] the toolkits of the DLC's last build: sagemaker-mxnet-training 4.3.0 (its last release, 2020) and,
    # unpinned below it, sagemaker-training 4.3.1 (tag v4.3.1 2022-10-27; v4.3.2 2022-11-29, after the build)
    versions = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c",
                               "import importlib.metadata as m, mxnet, numpy, sys; print(m.version('sagemaker-training'),"
                               " m.version('sagemaker-mxnet-training'), mxnet.__version__, numpy.__version__,"
                               " '%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
    assert versions.stdout.split() == ["4.3.1", "4.3.0", "1.9.1", "1.23.5", "3.11"], versions.stderr


def test_a_training_script_can_import_pandas_and_scikit_learn_as_in_the_dlc(twin):
    """[dlc] Dockerfile.cpu:109-136: pandas==1.3.0, scikit-learn, scipy==1.7.0 beside mxnet. Neither pandas 1.3.0
    nor scipy 1.7.0 has a Python 3.11 wheel: the twin has the closest that do (README's difference table)."""
    probe = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c",
                            "import pandas, sklearn, scipy, mxnet; from sklearn.linear_model import LogisticRegression;"
                            " print(pandas.__version__, sklearn.__version__, scipy.__version__,"
                            " LogisticRegression().fit([[0], [1], [2], [3]], [0, 0, 1, 1]).predict([[2.5]])[0])"],
                           capture_output=True, text=True, timeout=300)
    assert probe.stdout.split() == ["1.5.3", "1.1.3", "1.9.3", "1"], probe.stderr[-3000:]


# ---- a DLC-style job: `train` with sagemaker_program and sagemaker_submit_directory ---------------------

@pytest.fixture(scope="module")
def dlc_job(twin, tmp_path_factory):
    return training_twins.dlc_job(twin, tmp_path_factory.mktemp("dlc_job"), RECORDING_SCRIPT)


def test_the_environment_is_the_toolkits(dlc_job):
    env = dlc_job["seen"]["env"]
    # [tk] hyperparameters without the sagemaker_* keys, as JSON and one variable each
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "flag": True, "lr": 0.01, "nested": {"a": 1}, "optimizer": "adam"}
    assert (env["SM_HP_EPOCHS"], env["SM_HP_FLAG"], env["SM_HP_LR"], env["SM_HP_OPTIMIZER"]) == ("3", "true", "0.01",
                                                                                              "adam")
    assert json.loads(env["SM_USER_ARGS"]) == dlc_job["seen"]["argv"]
    # [tk] the script and its folder; [dlc] the framework module
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"], env["SM_MODULE_DIR"]) == ("train.py", "train",
                                                                                      "/opt/ml/code")
    assert env["SM_FRAMEWORK_MODULE"] == "sagemaker_mxnet_container.training:main"
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {} and env["SM_LOG_LEVEL"] == "20"
    # [tk] hosts, channels and paths
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/opt/ml/input/data/validation"
    assert (env["SM_MODEL_DIR"], env["SM_OUTPUT_DATA_DIR"], env["SM_OUTPUT_DIR"], env["SM_INPUT_DIR"],
            env["SM_INPUT_CONFIG_DIR"]) == ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/output", "/opt/ml/input",
                                            "/opt/ml/input/config")
    assert int(env["SM_NUM_CPUS"]) >= 1 and env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"] == json.loads(env["SM_HPS"])
    assert env["PYTHONPATH"].split(":")[0] == "/opt/ml/code"
    # [mtk] no parameter server asked for: no DMLC role is set, the script runs as one plain process
    assert "DMLC_ROLE" not in env


def test_the_gluon_model_is_saved_under_opt_ml_model(dlc_job):
    model = dlc_job["root"] / "model"
    assert (model / "model-symbol.json").exists() and (model / "model-0000.params").exists()
    assert json.loads((model / "model-symbol.json").read_text())["nodes"][0]["name"] == "data"
    # y = 2a + 3b + 1: the script read all 20 rows of its channel and learnt them
    assert dlc_job["seen"]["rows"] == 20 and dlc_job["seen"]["loss"] < 0.05
    assert np.allclose(dlc_job["seen"]["weight"], [[2.0, 3.0]], atol=0.2)
    assert dlc_job["seen"]["mxnet"] == "1.9.1"


def test_a_failing_script_writes_the_failure_file_and_exits_non_zero(twin, tmp_path):
    script = "import sys\nprint('starting')\nraise ValueError('learning rate must be positive')\n"
    root = prepare(tmp_path, script)
    code, logs = run_train(twin, root)
    assert code == 1, logs[-3000:]  # [tk] ClientError -> DEFAULT_FAILURE_CODE
    failure = (root / "output" / "failure").read_text()
    # [tk] errors.ExecuteUserScriptError names the exit code and the command; [mtk] the MXNet toolkit does not
    # capture the script's stderr, so the reason is in the job's log rather than in the failure file
    assert "ExecuteUserScriptError" in failure and "ExitCode 1" in failure and "train.py" in failure
    assert "learning rate must be positive" in logs
    assert not (root / "output" / "success").exists()


# ---- the lab's script, DLC style ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_job(twin, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lab_job")
    hyperparameters = {"epochs": "25", "learning-rate": "0.05", "sagemaker_program": '"train.py"',
                       "sagemaker_submit_directory": '"/opt/ml/code"', "sagemaker_region": '"us-east-1"'}
    root = opt_ml.prepare(tmp_path / "opt_ml", hyperparameters=hyperparameters,
                          channels=iris_channels(tmp_path / "data"))
    (root / "code").mkdir()
    (root / "code" / "train.py").write_text((LAB_CODE / "train.py").read_text())
    code, logs = run_train(twin, root)
    return {"code": code, "logs": logs, "root": root}


def test_the_lab_script_reports_every_epoch_and_learns(lab_job):
    assert lab_job["code"] == 0, lab_job["logs"][-3000:]
    assert "--epochs 25 --learning-rate 0.05" in lab_job["logs"]  # [tk] hyperparameters as arguments
    epochs = [(int(n), float(t), float(v), float(a)) for n, t, v, a in EPOCH_LINE.findall(lab_job["logs"])]
    assert [e[0] for e in epochs] == list(range(1, 26))  # [lab] one line per epoch
    assert epochs[-1][2] < epochs[0][2] and epochs[-1][3] >= 0.85  # iris: a small net separates the species


def test_the_lab_model_is_what_the_mxnet_inference_toolkit_loads_by_default(lab_job):
    model = lab_job["root"] / "model"
    # [mtk] training_utils.save's three files: the serving toolkit's default model_fn reads exactly these
    assert sorted(p.name for p in model.iterdir()) == ["model-0000.params", "model-shapes.json", "model-symbol.json"]
    assert json.loads((model / "model-shapes.json").read_text()) == [{"name": "data", "shape": [1, 4]}]


# ---- SDK v3: ModelTrainer with a SourceCode, in local mode -------------------------------------------------

def test_sdk_v3_model_trainer_with_source_code_runs_the_lab_script_in_local_mode(twin, tmp_path, monkeypatch):
    from sagemaker.core.training.configs import SourceCode

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("mxnet-twin-test", mode="local", say=lambda message: None)
    channels = iris_channels(tmp_path / "data")
    trainer = lab.model_trainer(twin, hyperparameters={"epochs": 5, "learning-rate": 0.05},
                                base_job_name="mxnet-twin",
                                source_code=SourceCode(source_dir=str(LAB_CODE), entry_script="train.py"))
    try:
        model_data = lab.fit(trainer, [lab.train_input(name, path) for name, path in channels.items()])
    finally:
        lab.cleanup.run(quiet=True)  # local mode leaves the job's stopped containers behind
    assert not lab.cleanup.local_containers()
    log = lab.training_log(trainer)
    # [sdk] the hyperparameters reach the script as arguments; [lab] its per-epoch lines are in the job's log
    assert [int(n) for n, *_ in EPOCH_LINE.findall(log)] == [1, 2, 3, 4, 5], log[-3000:]
    assert "mxnet=1.9.1" in log
    model_folder = model_data.removeprefix("file://")
    assert sorted(os.listdir(model_folder)) == ["model-0000.params", "model-shapes.json", "model-symbol.json"]
