"""Contract tests of containers/tensorflow-2.18-training, the local twin of AWS's TensorFlow 2.18 training DLC
(tensorflow-training:2.18-cpu-py310), run against the built image.

Sources of the rules (each test names the one it follows):
- [tk]  https://github.com/aws/sagemaker-training-toolkit v4.8.4 (the version the DLC pins, and the sdist the
        image installs): src/sagemaker_training/trainer.py (success/failure files, exit codes), environment.py
        (SM_* variables, SAGEMAKER_REGION), mapping.py (hyperparameters -> command-line arguments), process.py
        (the command through /bin/sh with capture_error=True), errors.py (ExecuteUserScriptError)
- [ttk] https://github.com/aws/sagemaker-tensorflow-training-toolkit v20.4.1:
        src/sagemaker_tensorflow_container/training.py (TF_CONFIG for MultiWorkerMirroredStrategy on port 8890,
        the script run with capture_error=True, the model-layout warnings after training), s3_utils.py
        (TF_CPP_MIN_LOG_LEVEL, S3_REGION, S3_USE_HTTPS)
- [dlc] https://github.com/aws/deep-learning-containers tag v1.19-tf-sagemaker-2.18.0-tr-py310 (2025-10-23, a full
        build): tensorflow/training/docker/2.18/py3/Dockerfile.cpu (ENV SAGEMAKER_TRAINING_MODULE
        sagemaker_tensorflow_container.training:main; line 284 sagemaker-training==4.8.4 "because of protobuf
        dependency with tensorflow-metadata"; sagemaker-tensorflow-training==20.4.1) and
        Dockerfile.sagemaker.cpu.core_packages.json beside it
- [tfs] https://github.com/aws/sagemaker-tensorflow-serving-container docker/build_artifacts/sagemaker/tfs_utils.py
        find_models: a saved_model.pb in an all-digits folder is a version of the model named after the folder
        above it
- [sdk] https://github.com/aws/sagemaker-python-sdk (v3, sagemaker 3.27): sagemaker-train/src/sagemaker/train/
        constants.py, templates.py, container_drivers/scripts/environment.py (ModelTrainer with SourceCode runs
        `/bin/bash -c ... sm_train.sh`, which needs python3 and pip3, and writes its own SM_* set)
- [uri] the pinned SDK's sagemaker-core image_uri_config/tensorflow.json (what image_uris.retrieve returns)
Expected values come from those sources, never from the twin's files.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from smworkshop import images, metrics, session
from smworkshop.paths import REPO
import training_twins
from training_twins import (  # noqa: F401 (the toolkit's tests run here too)
    test_a_missing_script_is_reported_as_such, test_hyperparameters_become_sorted_command_line_arguments,
    test_job_succeeds_and_writes_the_success_file,
    test_the_logged_command_is_the_interpreter_then_the_script_without_an_end_of_options_marker,
    test_through_the_shell_a_value_with_shell_syntax_fails_the_job_before_the_script_runs,
    test_through_the_shell_a_value_with_spaces_becomes_several_arguments)
from training_twins import HYPERPARAMETERS, prepare, run_train

pytestmark = pytest.mark.docker
CONTAINER = "tensorflow-2.18-training"
# [uri] what sagemaker.core.image_uris.retrieve returns in the pinned SDK (TF 2.18 DLCs are py310).
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.18-cpu-py310"
RETRIEVE = dict(py_version="py310", image_scope="training", instance_type="ml.m5.xlarge")
LAB_CODE = REPO / "labs" / "03b_tensorflow_script_mode" / "code"

RECORDED = ("SM_", "TF_", "S3_", "PYTHONPATH", "SAGEMAKER_REGION")

# The user's script: records what it was given, reads its channel, fits y = 2a + 3b + 1 with Keras 3 and exports
# a SavedModel as version 1 of a model named "regressor".
RECORDING_SCRIPT = '''
import json, os, sys
import numpy as np
import keras

seen = {"argv": sys.argv[1:], "cwd": os.getcwd(), "keras": keras.__version__,
        "env": {k: v for k, v in os.environ.items() if k.startswith(%r)}}
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", dtype="float32")
x, y = data[:, 1:], data[:, :1]
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(keras.optimizers.Adam(0.1), "mse")
history = model.fit(x, y, epochs=400, batch_size=len(x), verbose=0)
seen["rows"], seen["loss"] = len(x), float(history.history["loss"][-1])
model.export(os.path.join(os.environ["SM_MODEL_DIR"], "regressor", "1"), verbose=False)
json.dump(seen, open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w"))
print("training done, loss", seen["loss"])
''' % (RECORDED,)


def build_twin(say=lambda message: None):
    """The training twin, tagged with the real image's URI; images.build builds its shared parent first."""
    return images.build_twin("tensorflow", "2.18", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


def served_models(model_dir):
    """[tfs] find_models, for a model archive unpacked at /opt/ml/model: {model name: [versions]}."""
    found = {}
    for pb in sorted(Path(model_dir).rglob("saved_model.pb")):
        in_container = Path("/opt/ml/model") / pb.relative_to(model_dir)
        version = in_container.parent.name
        if re.match(r"^\d+$", version):
            found.setdefault(in_container.parent.parent.name, []).append(str(int(version)))
    return found


def predict_in_twin(image, model_dir, version_dir, rows):
    """Load the SavedModel as TensorFlow Serving does (its serving_default signature) and predict ROWS."""
    code = ("import json, sys, tensorflow as tf; "
            f"f = tf.saved_model.load({str(version_dir)!r}).signatures['serving_default']; "
            "out = f(tf.constant(json.loads(sys.argv[1]), dtype=tf.float32)); "
            "print('PREDICTIONS ' + json.dumps(list(out.values())[0].numpy().tolist()))")
    result = subprocess.run(["docker", "run", "--rm", "-v", f"{Path(model_dir).resolve()}:/opt/ml/model:ro", image,
                             "python3", "-c", code, json.dumps(rows)], capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("PREDICTIONS ")]
    assert lines, result.stderr[-3000:]
    return json.loads(lines[-1].split(" ", 1)[1])


# ---- the image ------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    """[uri] image_uris.retrieve("tensorflow", region, "2.18", py_version="py310", image_scope="training", ...)."""
    assert images.aws_image_uri("tensorflow", "us-east-1", "2.18", **RETRIEVE) == URI


def test_the_image_says_it_is_a_twin_and_has_what_the_sdk_driver_needs(twin):
    """[dlc] the training module and toolkit version, [tk] `train`, [sdk] bash/python3/pip3; DESIGN.md: twins say
    what they contain."""
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description
    assert "Python 3.11" in description and "tensorflow-cpu 2.18.1" in description
    # [sdk] sm_train.sh runs under /bin/bash and calls python3 and pip3 by name; [tk] the `train` command;
    # [dlc] SAGEMAKER_TRAINING_MODULE as in the DLC.
    probe = subprocess.run(["docker", "run", "--rm", twin, "bash", "-c",
                            "command -v train python3 pip3 && pip3 --version && echo MODULE=$SAGEMAKER_TRAINING_MODULE"
                            " && echo IMDS=$AWS_EC2_METADATA_DISABLED"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert "MODULE=sagemaker_tensorflow_container.training:main" in probe.stdout
    assert "IMDS=true" in probe.stdout
    versions = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c",
                               "import importlib.metadata as m, sys; print(m.version('sagemaker-training'),"
                               " m.version('sagemaker-tensorflow-training'), m.version('tensorflow-cpu'),"
                               " m.version('keras'), sys.version_info[:2])"],
                              capture_output=True, text=True)
    found = versions.stdout.split()
    # [dlc] Dockerfile.cpu:284 sagemaker-training==4.8.4, core_packages: sagemaker-tensorflow-training==20.4.1;
    # tensorflow 2.18; Keras 3 (TF >= 2.16)
    assert found[:2] == ["4.8.4", "20.4.1"], versions.stderr
    assert found[2].startswith("2.18.") and found[3].startswith("3."), found
    assert "(3, 11)" in versions.stdout


def test_a_training_script_can_import_the_packages_the_dlc_has_for_it(twin):
    """[dlc] Dockerfile.cpu: sagemaker-tensorflow-training's declared dependencies (numpy, scipy, scikit-learn,
    pandas, Pillow, h5py; unpinned: the twin takes the releases of the DLC's October 2025 build) and protobuf
    3.20.3, the newest that sagemaker-training 4.8.4 accepts (its setup.py: protobuf>=3.9.2,<=3.20.3), under
    which TensorFlow must still load. numpy stays the parent's 2.0.2 (the DLC's is <2: a difference row)."""
    probe = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", "; ".join([
        "import json, google.protobuf, numpy, pandas, sklearn, scipy, PIL, h5py, tensorflow as tf",
        "print('VERSIONS ' + json.dumps({'protobuf': google.protobuf.__version__, 'pandas': pandas.__version__, "
        "'sklearn': sklearn.__version__, 'scipy': scipy.__version__, 'numpy': numpy.__version__, "
        "'sum': float(tf.reduce_sum(tf.ones(3)))}))"])], capture_output=True, text=True, timeout=300)
    lines = [line for line in probe.stdout.splitlines() if line.startswith("VERSIONS ")]
    assert lines, probe.stderr[-3000:]
    found = json.loads(lines[-1].split(" ", 1)[1])
    assert found["protobuf"] == "3.20.3" and found["sum"] == 3.0
    assert (found["pandas"], found["sklearn"], found["scipy"], found["numpy"]) == ("2.3.3", "1.7.2", "1.16.2", "2.0.2")


# ---- a DLC-style job: `train` with sagemaker_program and sagemaker_submit_directory ---------------------

@pytest.fixture(scope="module")
def dlc_job(twin, tmp_path_factory):
    return training_twins.dlc_job(twin, tmp_path_factory.mktemp("dlc_job"), RECORDING_SCRIPT,
                                  seen_file="output/data/seen.json")


def test_the_environment_is_the_toolkits(dlc_job):
    """[tk] https://github.com/aws/sagemaker-training-toolkit/blob/v4.8.4/src/sagemaker_training/environment.py;
    [ttk] https://github.com/aws/sagemaker-tensorflow-training-toolkit s3_utils.py"""
    env = dlc_job["seen"]["env"]
    # [tk] hyperparameters without the sagemaker_* keys, as JSON and one variable each
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "flag": True, "lr": 0.01, "nested": {"a": 1}, "optimizer": "adam"}
    assert (env["SM_HP_EPOCHS"], env["SM_HP_FLAG"], env["SM_HP_LR"], env["SM_HP_OPTIMIZER"]) == ("3", "true", "0.01",
                                                                                              "adam")
    assert json.loads(env["SM_HP_NESTED"]) == {"a": 1}
    assert json.loads(env["SM_USER_ARGS"]) == dlc_job["seen"]["argv"]
    # [tk] the script, the submit directory; [dlc] the framework module; no distribution parameters
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"], env["SM_MODULE_DIR"]) == ("train.py", "train",
                                                                                      "/opt/ml/code")
    assert env["SM_FRAMEWORK_MODULE"] == "sagemaker_tensorflow_container.training:main"
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {} and env["SM_LOG_LEVEL"] == "20"
    # [tk] hosts and paths
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0" and env["SM_IS_HETERO"] == "false"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/opt/ml/input/data/validation"
    assert (env["SM_MODEL_DIR"], env["SM_OUTPUT_DATA_DIR"], env["SM_OUTPUT_DIR"], env["SM_INPUT_DIR"],
            env["SM_INPUT_CONFIG_DIR"]) == ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/output", "/opt/ml/input",
                                            "/opt/ml/input/config")
    assert int(env["SM_NUM_CPUS"]) >= 1 and env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"] == json.loads(env["SM_HPS"])
    assert env["PYTHONPATH"].split(":")[0] == "/opt/ml/code"
    # [tk] environment.py: the region from sagemaker_region; [ttk] s3_utils.configure: what TensorFlow reads
    assert env["SAGEMAKER_REGION"] == "us-east-1"
    assert (env["S3_REGION"], env["S3_USE_HTTPS"], env["TF_CPP_MIN_LOG_LEVEL"]) == ("us-east-1", "1", "1")
    # [ttk] train(): TF_CONFIG only when a distribution strategy is asked for
    assert "TF_CONFIG" not in env


def test_the_savedmodel_is_where_tensorflow_serving_finds_it(dlc_job, twin):
    """[tfs] https://github.com/aws/sagemaker-tensorflow-serving-container (tfs_utils.find_models);
    [ttk] https://github.com/aws/sagemaker-tensorflow-training-toolkit training.py"""
    model_dir = dlc_job["root"] / "model"
    # [tfs] <model_dir>/regressor/1/saved_model.pb: model "regressor", version 1
    assert served_models(model_dir) == {"regressor": ["1"]}
    assert (model_dir / "regressor" / "1" / "variables").is_dir()
    # [ttk] _log_model_missing_warning stays quiet for a servable layout
    assert "NOT be servable" not in dlc_job["logs"] and "No model artifact" not in dlc_job["logs"]
    # y = 2a + 3b + 1: the script read all 20 rows of its channel and learnt them; the served signature agrees
    assert dlc_job["seen"]["rows"] == 20 and dlc_job["seen"]["loss"] < 0.05
    predictions = predict_in_twin(twin, model_dir, "/opt/ml/model/regressor/1", [[0, 0], [4, 3], [2, 1]])
    assert [round(p[0]) for p in predictions] == [1, 18, 8]


def test_a_distribution_strategy_gets_its_tf_config_and_a_missing_model_is_reported(twin, tmp_path):
    """[ttk] https://github.com/aws/sagemaker-tensorflow-training-toolkit training.py
    _build_tf_config_for_mwms: every host a worker on port 8890, this host's index; after the script, 'No model
    artifact is saved'. [tk] environment.py: a sagemaker_* key is a framework parameter, not an argument."""
    script = ("import json, os, sys\nprint('SEEN ' + json.dumps({'argv': sys.argv[1:], "
              "'tf_config': os.environ.get('TF_CONFIG'), 'params': os.environ['SM_FRAMEWORK_PARAMS']}))\n")
    hyperparameters = dict(HYPERPARAMETERS, sagemaker_multi_worker_mirrored_strategy_enabled="true")
    root = prepare(tmp_path, script, hyperparameters)
    code, logs = run_train(twin, root)
    assert code == 0, logs[-3000:]
    seen = json.loads([line for line in logs.splitlines() if line.startswith("SEEN ")][-1][5:])
    assert json.loads(seen["tf_config"]) == {"cluster": {"worker": ["algo-1:8890"]}, "environment": "cloud",
                                             "task": {"index": 0, "type": "worker"}}
    assert json.loads(seen["params"]) == {"sagemaker_multi_worker_mirrored_strategy_enabled": True}
    assert not any("multi_worker" in arg for arg in seen["argv"])
    assert "No model artifact is saved under path /opt/ml/model" in logs


def test_a_savedmodel_outside_a_version_folder_is_warned_about(twin, tmp_path):
    """[ttk] https://github.com/aws/sagemaker-tensorflow-training-toolkit training.py
    _log_model_missing_warning: a saved_model.pb whose folder is not a number is not servable [tfs]."""
    script = ("import os\nfolder = os.path.join(os.environ['SM_MODEL_DIR'], 'export')\nos.makedirs(folder)\n"
              "open(os.path.join(folder, 'saved_model.pb'), 'wb').close()\n")
    root = prepare(tmp_path, script)
    code, logs = run_train(twin, root)
    assert code == 0, logs[-3000:]
    assert 'NOT be servable with SageMaker TensorFlow Serving containers' in logs and '"export"' in logs
    assert served_models(root / "model") == {}


def test_a_failing_script_writes_the_failure_file_and_exits_non_zero(twin, tmp_path):
    """[tk] https://github.com/aws/sagemaker-training-toolkit/blob/v4.8.4/src/sagemaker_training/trainer.py, errors.py;
    the script's stderr is in the failure file because [ttk] training.py runs it with capture_error=True."""
    script = "import sys\nprint('starting')\nraise ValueError('learning rate must be positive')\n"
    root = prepare(tmp_path, script)
    code, logs = run_train(twin, root)
    assert code == 1, logs[-3000:]  # [tk] ClientError -> DEFAULT_FAILURE_CODE
    failure = (root / "output" / "failure").read_text()
    # [tk] errors.ExecuteUserScriptError carries the command and the script's stderr
    assert "ExecuteUserScriptError" in failure and "learning rate must be positive" in failure
    assert not (root / "output" / "success").exists()


# ---- SDK v3: ModelTrainer with a SourceCode, in local mode, running the lab's script --------------------

def iris_channels(folder):
    """Iris (bundled with scikit-learn, no network) as the lab script reads it: CSV, no header, label first."""
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    parts = train_test_split(x, y, test_size=0.3, random_state=7, stratify=y)
    channels = {}
    for name, (features, labels) in {"train": parts[0::2], "validation": parts[1::2]}.items():
        channels[name] = Path(folder) / name
        channels[name].mkdir(parents=True)
        np.savetxt(channels[name] / f"iris_{name}.csv", np.column_stack([labels, features]), delimiter=",",
                   fmt="%g")
    return channels, parts[1], parts[3]


def test_sdk_v3_model_trainer_runs_the_lab_script_in_local_mode(twin, tmp_path, monkeypatch):
    """[sdk] https://github.com/aws/sagemaker-python-sdk sagemaker-train/src/sagemaker/train/templates.py and
    container_drivers/scripts/environment.py: ModelTrainer + SourceCode runs the lab's train.py through the SDK's
    own driver with its SM_* set; the script's per-epoch lines are what smworkshop.metrics reads, and its
    SavedModel is [tfs] model "model" (https://github.com/aws/sagemaker-tensorflow-serving-container)."""
    from sagemaker.core.training.configs import SourceCode

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("tensorflow-twin-test", mode="local", say=lambda message: None)
    channels, held_out_x, held_out_y = iris_channels(tmp_path / "data")
    trainer = lab.model_trainer(twin, hyperparameters={"epochs": 40, "learning-rate": 0.02},
                                base_job_name="tensorflow-twin",
                                source_code=SourceCode(source_dir=str(LAB_CODE), entry_script="train.py"))
    try:
        model_data = lab.fit(trainer, [lab.train_input(name, path) for name, path in channels.items()])
    finally:
        lab.cleanup.run(quiet=True)  # local mode leaves the job's stopped containers behind
    assert not lab.cleanup.local_containers()
    log = lab.training_log(trainer)
    # the script found both channels through SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION
    assert "train rows=105 validation rows=45 features=4 classes=3" in log, log[-3000:]
    curve = metrics.per_epoch(log)
    assert list(curve.index) == list(range(1, 41))
    assert set(curve.columns) == {"train_loss", "validation_loss", "validation_accuracy"}
    assert curve["validation_loss"].iloc[-1] < curve["validation_loss"].iloc[0] and curve["validation_accuracy"].iloc[-1] >= 0.9
    # [tfs] SM_MODEL_DIR/1/saved_model.pb, unpacked at /opt/ml/model: model "model", version 1
    model_folder = model_data.removeprefix("file://")
    assert served_models(model_folder) == {"model": ["1"]}
    probabilities = predict_in_twin(twin, model_folder, "/opt/ml/model/1", held_out_x.tolist())
    accuracy = sum(max(range(3), key=p.__getitem__) == label for p, label in zip(probabilities, held_out_y)) / 45
    assert accuracy >= 0.9 and all(abs(sum(p) - 1) < 1e-4 for p in probabilities)
