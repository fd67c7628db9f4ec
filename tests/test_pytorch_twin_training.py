"""Contract tests of containers/pytorch-2.5-training, the local twin of AWS's PyTorch 2.5 training DLC
(pytorch-training:2.5-cpu-py311), run against the built image.

Sources of the rules (each test names the one it follows):
- [tk]  github.com/aws/sagemaker-training-toolkit v5.1.4 (the sdist the image installs):
        src/sagemaker_training/trainer.py (success/failure files, exit codes), environment.py (SM_* variables),
        mapping.py (hyperparameters -> command-line arguments), process.py (the `python -- script` command),
        entry_point.py (submit directory, PYTHONPATH, host name resolution), errors.py
- [ptk] github.com/aws/sagemaker-pytorch-training-toolkit v3.0.0: src/sagemaker_pytorch_container/training.py
        (MASTER_ADDR, MASTER_PORT=7777, SM_DLC_TORCH_VERSION)
- [dlc] github.com/aws/deep-learning-containers pytorch/training/docker/2.5/py3/Dockerfile.cpu
        (ENV SAGEMAKER_TRAINING_MODULE=sagemaker_pytorch_container.training:main)
- [sdk] github.com/aws/sagemaker-python-sdk (v3, sagemaker 3.27): sagemaker-train/src/sagemaker/train/
        constants.py, templates.py, container_drivers/scripts/environment.py (ModelTrainer with SourceCode runs
        `/bin/bash -c ... sm_train.sh`, which needs python3 and pip3, and writes its own SM_* set)
- [b1]  the observed run of the real `train` in ../shared/contracts/NEXT_LABS.md section B1
Expected values come from those sources, never from the twin's files.
"""
import json
import os
import subprocess

import pytest

from smworkshop import images, session
import training_twins
from training_twins import (  # noqa: F401 (the toolkit's tests run here too)
    test_a_missing_script_is_reported_as_such, test_hyperparameters_become_sorted_command_line_arguments,
    test_job_succeeds_and_writes_the_success_file)
from training_twins import TRAIN_CSV, prepare, run_train

pytestmark = pytest.mark.docker
PARENT = "pytorch-2.5-base"
CONTAINER = "pytorch-2.5-training"
# [b1]/B6 of NEXT_LABS.md: what sagemaker.core.image_uris.retrieve returns in the pinned SDK.
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-cpu-py311"
RETRIEVE = dict(py_version="py311", image_scope="training", instance_type="ml.m5.xlarge")


# The user's script: records what it was given, reads its channel, trains a little, saves a model.
RECORDING_SCRIPT = '''
import json, os, sys
import torch

seen = {"argv": sys.argv[1:], "executable": sys.executable, "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items()
                if k.startswith("SM_") or k in ("MASTER_ADDR", "MASTER_PORT", "PYTHONPATH")}}
rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read().split()
data = torch.tensor([[float(v) for v in row.split(",")] for row in rows])
x, y = data[:, 1:], data[:, :1]
model = torch.nn.Linear(x.shape[1], 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(200):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
seen["rows"], seen["loss"] = len(rows), loss.item()
torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
json.dump(seen, open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w"))
print("training done, loss", loss.item())
'''


def build_twin(say=lambda message: None):
    """The training twin, tagged with the real image's URI; images.build builds its shared parent first."""
    return images.build_twin("pytorch", "2.5", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


# ---- the image ------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("pytorch", "us-east-1", "2.5", **RETRIEVE) == URI


def test_the_image_says_it_is_a_twin_and_has_what_the_sdk_driver_needs(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description and "2.13.0" in description
    # [sdk] sm_train.sh runs under /bin/bash and calls python3 and pip3 by name; [tk] the `train` command;
    # [dlc] SAGEMAKER_TRAINING_MODULE as in the DLC.
    probe = subprocess.run(["docker", "run", "--rm", twin, "bash", "-c",
                            "command -v train python3 pip3 && pip3 --version && echo MODULE=$SAGEMAKER_TRAINING_MODULE"
                            " && echo IMDS=$AWS_EC2_METADATA_DISABLED"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert "MODULE=sagemaker_pytorch_container.training:main" in probe.stdout
    assert "IMDS=true" in probe.stdout
    versions = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c",
                               "import importlib.metadata as m, torch, sys; print(m.version('sagemaker-training'),"
                               " m.version('sagemaker-pytorch-training'), torch.__version__, sys.version_info[:2])"],
                              capture_output=True, text=True)
    assert versions.stdout.split()[:3] == ["5.1.4", "3.0.0", "2.13.0+cpu"], versions.stderr
    assert "(3, 11)" in versions.stdout


# ---- a DLC-style job: `train` with sagemaker_program and sagemaker_submit_directory ---------------------

@pytest.fixture(scope="module")
def dlc_job(twin, tmp_path_factory):
    return training_twins.dlc_job(twin, tmp_path_factory.mktemp("dlc_job"), RECORDING_SCRIPT)


def test_the_environment_is_the_toolkits(dlc_job):
    env = dlc_job["seen"]["env"]
    # [b1] hyperparameters without the sagemaker_* keys, as JSON and one variable each
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "flag": True, "lr": 0.01, "nested": {"a": 1}, "optimizer": "adam"}
    assert (env["SM_HP_EPOCHS"], env["SM_HP_FLAG"], env["SM_HP_LR"], env["SM_HP_OPTIMIZER"]) == ("3", "true", "0.01",
                                                                                              "adam")
    assert json.loads(env["SM_HP_NESTED"]) == {"a": 1}
    assert json.loads(env["SM_USER_ARGS"]) == dlc_job["seen"]["argv"]
    # [b1] the script, the submit directory, the framework module [dlc] and parameters
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"], env["SM_MODULE_DIR"]) == ("train.py", "train",
                                                                                      "/opt/ml/code")
    assert env["SM_FRAMEWORK_MODULE"] == "sagemaker_pytorch_container.training:main"
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {} and env["SM_LOG_LEVEL"] == "20"
    # [b1] hosts and paths
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0" and env["SM_IS_HETERO"] == "false"
    assert json.loads(env["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == []
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/opt/ml/input/data/validation"
    assert (env["SM_MODEL_DIR"], env["SM_OUTPUT_DATA_DIR"], env["SM_OUTPUT_DIR"], env["SM_INPUT_DIR"],
            env["SM_INPUT_CONFIG_DIR"]) == ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/output", "/opt/ml/input",
                                            "/opt/ml/input/config")
    assert int(env["SM_NUM_CPUS"]) >= 1 and env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"] == json.loads(env["SM_HPS"])
    assert env["PYTHONPATH"].split(":")[0] == "/opt/ml/code"
    # [ptk] what the PyTorch toolkit adds for torch.distributed
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("algo-1", "7777")
    assert env["SM_DLC_TORCH_VERSION"].startswith("2.13.0")


def test_the_model_is_saved_under_opt_ml_model(dlc_job):
    import torch

    state = torch.load(dlc_job["root"] / "model" / "model.pt", weights_only=True)
    assert set(state) == {"weight", "bias"} and tuple(state["weight"].shape) == (1, 2)
    # y = 2a + 3b + 1: the script read all 20 rows of its channel and learnt them
    assert dlc_job["seen"]["rows"] == 20 and dlc_job["seen"]["loss"] < 0.05
    assert torch.allclose(state["weight"], torch.tensor([[2.0, 3.0]]), atol=0.2)


def test_a_failing_script_writes_the_failure_file_and_exits_non_zero(twin, tmp_path):
    script = "import sys\nprint('starting')\nraise ValueError('learning rate must be positive')\n"
    root = prepare(tmp_path, script)
    code, logs = run_train(twin, root)
    assert code == 1, logs[-3000:]  # [tk] ClientError -> DEFAULT_FAILURE_CODE
    failure = (root / "output" / "failure").read_text()
    # [tk] errors.ExecuteUserScriptError carries the command and the script's stderr
    assert "ExecuteUserScriptError" in failure and "learning rate must be positive" in failure
    assert not (root / "output" / "success").exists()


# ---- SDK v3: ModelTrainer with a SourceCode, in local mode -------------------------------------------------

SDK_SCRIPT = '''
import json, os, sys
import torch

seen = {k: os.environ.get(k) for k in ("SM_MODEL_DIR", "SM_CHANNEL_TRAIN", "SM_SOURCE_DIR", "SM_CURRENT_HOST",
                                       "SM_HPS", "SM_HOSTS")}
seen["argv"], seen["torch"] = sys.argv[1:], torch.__version__
seen["rows"] = len(open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read().split())
print("TWIN-CHECK " + json.dumps(seen), flush=True)
torch.save(torch.nn.Linear(2, 1).state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
'''


def _sdk_job(twin, tmp_path, monkeypatch, script, instance_count=1, distributed=None):
    """A local session and its ModelTrainer for SCRIPT with SDK v3's SourceCode [sdk], on the twin."""
    from sagemaker.core.training.configs import SourceCode

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("pytorch-twin-test", mode="local", say=lambda message: None)
    source, data = tmp_path / "source", tmp_path / "data"
    source.mkdir()
    data.mkdir()
    (source / "train.py").write_text(script)
    (data / "train.csv").write_text(TRAIN_CSV)
    trainer = lab.model_trainer(twin, hyperparameters={"epochs": 2, "lr": 0.01}, base_job_name="pytorch-twin",
                                instance_count=instance_count, distributed=distributed,
                                source_code=SourceCode(source_dir=str(source), entry_script="train.py"))
    return lab, trainer, [lab.train_input("train", data)]


def test_sdk_v3_model_trainer_with_source_code_runs_in_local_mode(twin, tmp_path, monkeypatch):
    lab, trainer, inputs = _sdk_job(twin, tmp_path, monkeypatch, SDK_SCRIPT)
    try:
        model_data = lab.fit(trainer, inputs)
    finally:
        lab.cleanup.run(quiet=True)  # local mode leaves the job's stopped containers behind
    assert not lab.cleanup.local_containers()
    log = lab.training_log(trainer)
    lines = [line for line in log.splitlines() if "TWIN-CHECK " in line]
    assert lines, log[-3000:]
    seen = json.loads(lines[-1].split("TWIN-CHECK ", 1)[1])
    # [sdk] container_drivers/scripts/environment.py
    assert seen["SM_MODEL_DIR"] == "/opt/ml/model" and seen["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert seen["SM_SOURCE_DIR"] == "/opt/ml/input/data/code" and seen["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(seen["SM_HPS"]) == {"epochs": 2, "lr": 0.01}
    assert seen["torch"].startswith("2.13.0") and seen["rows"] == 20
    model_folder = model_data.removeprefix("file://")
    assert os.path.exists(os.path.join(model_folder, "model.pt"))


DISTRIBUTED_SCRIPT = '''
import json, os
import torch
import torch.distributed as dist

dist.init_process_group("gloo")  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
mine = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(mine)
hosts = [None] * dist.get_world_size()
dist.all_gather_object(hosts, os.environ["SM_CURRENT_HOST"])
print("TWIN-DIST " + json.dumps({"rank": dist.get_rank(), "world": dist.get_world_size(), "sum": mine.item(),
                                 "hosts": hosts}), flush=True)
dist.destroy_process_group()
'''


def test_sdk_v3_torchrun_job_on_two_local_instances(twin, tmp_path, monkeypatch):
    """[sdk] distributed_drivers/torchrun_driver.py: one torchrun per host, gloo on CPU, both hosts take part."""
    from sagemaker.train.distributed import Torchrun

    lab, trainer, inputs = _sdk_job(twin, tmp_path, monkeypatch, DISTRIBUTED_SCRIPT, instance_count=2,
                                    distributed=Torchrun(process_count_per_node=1))
    try:
        lab.fit(trainer, inputs)
    finally:
        lab.cleanup.run(quiet=True)
    log = lab.training_log(trainer)
    runs = [json.loads(line.split("TWIN-DIST ", 1)[1]) for line in log.splitlines() if "TWIN-DIST " in line]
    assert sorted(run["rank"] for run in runs) == [0, 1], log[-3000:]
    assert all(run["world"] == 2 and run["sum"] == 3.0 for run in runs)  # 1 + 2: both ranks reduced together
    assert all(sorted(run["hosts"]) == ["algo-1", "algo-2"] for run in runs)
