"""Contract tests of containers/pytorch-2.5-training, the local twin of AWS's PyTorch 2.5 training DLC
(pytorch-training:2.5-cpu-py311), run against the built image.

Sources of the rules (each test names the one it follows):
- [tk]  github.com/aws/sagemaker-training-toolkit v5.0.0, the version in the published image (see the
        container README): src/sagemaker_training/trainer.py (success/failure files, exit codes),
        environment.py (SM_* variables), mapping.py (hyperparameters -> arguments), process.py (the command
        through /bin/sh), entry_point.py (submit directory, PYTHONPATH, host name resolution), mpi.py
        (MasterRunner: sshd, `mpirun ... python3 -m mpi4py <script>`), errors.py
- [ptk] github.com/aws/sagemaker-pytorch-training-toolkit v2.8.1: src/sagemaker_pytorch_container/training.py
        (MASTER_ADDR, MASTER_PORT=7777, SM_DLC_TORCH_VERSION, capture_error=True, sagemaker_mpi_enabled)
- [dlc] github.com/aws/deep-learning-containers, tag v1.23-pt-sagemaker-2.5.1-tr-py311:
        pytorch/training/docker/2.5/py3/Dockerfile.cpu (ENV SAGEMAKER_TRAINING_MODULE, Open MPI + OpenSSH at
        lines 93-128, the sagemaker stage's packages at lines 281-319, ENTRYPOINT ["bash", "-m",
        "start_with_right_hostname.sh"] at line 343) and pytorch/training/docker/build_artifacts/
        start_with_right_hostname.sh + changehostname.c (for `train`: gethostname() = resourceconfig.json's
        current_host; any other command: `eval "$@"`)
- [sdk] github.com/aws/sagemaker-python-sdk (v3, sagemaker 3.27): sagemaker-train/src/sagemaker/train/
        constants.py, templates.py, container_drivers/scripts/environment.py (ModelTrainer with SourceCode runs
        `/bin/bash -c ... sm_train.sh` as the container's entrypoint, which needs python3 and pip3, and writes
        its own SM_* set); sagemaker-train local/local_container.py (the entrypoint is replaced)
Expected values come from those sources, never from the twin's files.
"""
import json
import os
import re
import subprocess

import pytest

from smworkshop import docker_run, images, session
import training_twins
from training_twins import (  # noqa: F401 (the toolkit's tests run here too)
    test_a_missing_script_is_reported_as_such, test_hyperparameters_become_sorted_command_line_arguments,
    test_job_succeeds_and_writes_the_success_file,
    test_the_logged_command_is_the_interpreter_then_the_script_without_an_end_of_options_marker,
    test_through_the_shell_a_value_with_shell_syntax_fails_the_job_before_the_script_runs,
    test_through_the_shell_a_value_with_spaces_becomes_several_arguments)
from training_twins import HYPERPARAMETERS, TRAIN_CSV, prepare, run_train

pytestmark = pytest.mark.docker
PARENT = "pytorch-2.5-base"
CONTAINER = "pytorch-2.5-training"
# What sagemaker.core.image_uris.retrieve returns in the pinned SDK (sagemaker-core image_uri_config/pytorch.json).
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


def in_image(twin, program, *args):
    """Run PROGRAM ARGS in the image past its entrypoint ([dlc]: the entrypoint would `eval` them again)."""
    return subprocess.run(["docker", "run", "--rm", "--entrypoint", program, twin, *args],
                          capture_output=True, text=True, timeout=300)


def test_the_image_says_it_is_a_twin_and_has_what_the_sdk_driver_needs(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description and "2.13.0" in description
    # [sdk] sm_train.sh runs under /bin/bash and calls python3 and pip3 by name; [tk] the `train` command;
    # [dlc] SAGEMAKER_TRAINING_MODULE as in the DLC.
    probe = in_image(twin, "bash", "-c", "command -v train python3 pip3 && pip3 --version"
                     " && echo MODULE=$SAGEMAKER_TRAINING_MODULE && echo IMDS=$AWS_EC2_METADATA_DISABLED")
    assert probe.returncode == 0, probe.stderr
    assert "MODULE=sagemaker_pytorch_container.training:main" in probe.stdout
    assert "IMDS=true" in probe.stdout
    # [dlc] Dockerfile.cpu:343 the entrypoint; the CMD is `train` (the DLC's is /bin/bash: README, differences)
    config = json.loads(subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config}}", twin],
                                       capture_output=True, text=True, check=True).stdout)
    assert config["Entrypoint"] == ["bash", "-m", "start_with_right_hostname.sh"] and config["Cmd"] == ["train"]


def test_the_toolkits_are_the_versions_the_published_image_carries(twin):
    """[dlc] Dockerfile.cpu:299-304 `pip install -U ... sagemaker-pytorch-training "sagemaker-training>=5.0.0"`,
    last built from the Dockerfile on 2025-07-16..22 (PR #5011 turned autopatch off, #5071 on again on
    2025-07-27; later releases are autopatch builds on that image). Then the newest sagemaker-training was
    5.0.0 (tag v5.0.0 2025-06-04; v5.1.0 2025-08-08), and pip's resolver had to step back from
    sagemaker-pytorch-training 2.9.0 (`sagemaker-training>=4.3.0,<=4.8.3`) to 2.8.1 (3.0.0 came 2025-08-25)."""
    versions = in_image(twin, "python3", "-c", "import importlib.metadata as m, torch, sys; print("
                        "m.version('sagemaker-training'), m.version('sagemaker-pytorch-training'), torch.__version__,"
                        " '%d.%d' % sys.version_info[:2])")
    assert versions.stdout.split() == ["5.0.0", "2.8.1", "2.13.0+cpu", "3.11"], versions.stderr


# [dlc] Dockerfile.cpu:281-319 installs these too; the twin does not (README, differences): import names of
# torchvision, torchaudio, torchtext, fastai, accelerate, spacy, torchtnt, s3torchconnector, shap, seaborn,
# bokeh, plotly, numba, imageio, smclarify, sagemaker-experiments.
NOT_INSTALLED = ("torchvision", "torchaudio", "torchtext", "fastai", "accelerate", "spacy", "torchtnt",
                 "s3torchconnector", "shap", "seaborn", "bokeh", "plotly", "numba", "imageio", "smclarify",
                 "smexperiments")


def test_a_training_script_can_import_what_the_dlc_installs(twin):
    """[dlc] Dockerfile.cpu:281-319 (sagemaker stage): numpy<2 (also pinned ==1.26.4 by sagemaker 2.248.1),
    pandas, scikit-learn, scipy, opencv-python==4.11.0.86 (line 177), mpi4py, "sagemaker>=2,<3". Versions are
    the twin's picks for the DLC's July 2025 build (README); torch.from_numpy must work with numpy 1.x.
    The rest of the DLC's ML stack (NOT_INSTALLED) is absent: difference rows (torchvision/torchaudio: PyPI's
    builds for torch 2.13 need CUDA or do not exist)."""
    probe = in_image(twin, "python3", "-c", "\n".join([
        "import importlib.util, json, numpy, pandas, sklearn, scipy, cv2, mpi4py, sagemaker, torch",
        "print('VERSIONS ' + json.dumps({'numpy': numpy.__version__, 'pandas': pandas.__version__,",
        "    'sklearn': sklearn.__version__, 'scipy': scipy.__version__, 'cv2': cv2.__version__,",
        "    'mpi4py': mpi4py.__version__, 'sagemaker': sagemaker.__version__,",
        "    'from_numpy': torch.from_numpy(numpy.arange(3.0)).sum().item(),",
        f"    'absent': [m for m in {NOT_INSTALLED!r} if importlib.util.find_spec(m) is None]}}))"]))
    lines = [line for line in probe.stdout.splitlines() if line.startswith("VERSIONS ")]
    assert lines, probe.stderr[-3000:]
    found = json.loads(lines[-1].split(" ", 1)[1])
    assert found["numpy"] == "1.26.4" and found["sagemaker"].startswith("2.") and found["cv2"] == "4.11.0"
    assert (found["pandas"], found["sklearn"], found["scipy"]) == ("2.3.1", "1.7.0", "1.16.0")
    assert found["from_numpy"] == 3.0 and found["absent"] == list(NOT_INSTALLED)


def test_a_command_other_than_train_is_parsed_again_by_the_shell_as_in_the_dlc(twin):
    """[dlc] start_with_right_hostname.sh: anything but `train` runs as `eval "$@"`: the words are joined and
    parsed again, so a quoted Python one-liner breaks (bash syntax error, exit 2) and plain words work."""
    broken = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", "print('one', 'two')"],
                            capture_output=True, text=True, timeout=300)
    assert broken.returncode == 2 and "syntax error near unexpected token" in broken.stderr, broken.stderr
    plain = subprocess.run(["docker", "run", "--rm", twin, "echo", "plain", "words"],
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0 and plain.stdout.strip() == "plain words"


HOSTNAME_SCRIPT = """
import json, os, platform, socket
json.dump({"gethostname": socket.gethostname(), "uname": platform.node()},
          open(os.path.join(os.environ["SM_MODEL_DIR"], "hostname.json"), "w"))
"""


def test_train_sees_the_jobs_current_host_as_its_host_name_without_a_hostname_flag(twin, tmp_path):
    """[dlc] start_with_right_hostname.sh + changehostname.c: for `train`, gethostname() returns resourceconfig's
    current_host (here algo-2 of a two-host job) in every process, the user's script included, whatever host
    name Docker gave the container; uname (platform.node) is not changed. No --hostname here: the job's host
    names resolve through --add-host, as the toolkit needs ([tk] entry_point._wait_hostname_resolution)."""
    root = prepare(tmp_path, HOSTNAME_SCRIPT)
    (root / "input" / "config" / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "network_interface_name": "eth0"}))
    code, logs = docker_run.run(twin, "train", opt_ml_root=root, extra_hosts=("algo-1:127.0.0.1", "algo-2:127.0.0.1"),
                                timeout=600)
    assert code == 0, logs[-3000:]
    seen = json.loads((root / "model" / "hostname.json").read_text())
    assert seen["gethostname"] == "algo-2"
    assert seen["uname"] not in ("algo-1", "algo-2")  # Docker's container id: only gethostname() is replaced


MPI_SCRIPT = """
import json, socket
from mpi4py import MPI

world = MPI.COMM_WORLD
print("MPI-RANK " + json.dumps({"rank": world.Get_rank(), "size": world.Get_size(), "host": socket.gethostname(),
                                "sum": world.allreduce(world.Get_rank() + 1)}), flush=True)
"""


def test_sagemaker_mpi_enabled_runs_the_script_under_mpirun_with_mpi4py(twin, tmp_path):
    """[ptk] training.py: sagemaker_mpi_enabled -> runner.MPIRunnerType; [tk] mpi.py MasterRunner: start
    /usr/sbin/sshd, `mpirun --host algo-1:2 -np 2 --allow-run-as-root ... python3 -m mpi4py train.py`, then
    sleep 30 s. [dlc] Dockerfile.cpu:93-128 (Open MPI, OpenSSH, root key), :177 (mpi4py). Two processes on
    one host: both ranks run, reduce together, and see the job's host name."""
    hyperparameters = dict(HYPERPARAMETERS, sagemaker_mpi_enabled="true", sagemaker_mpi_num_of_processes_per_host="2")
    root = prepare(tmp_path, MPI_SCRIPT, hyperparameters)
    code, logs = run_train(twin, root)
    assert code == 0, logs[-3000:]
    assert re.search(r"mpirun --host algo-1:2 -np 2 --allow-run-as-root .* -m mpi4py train\.py", logs)
    # mpirun --tag-output prefixes each rank's line; the toolkit's reader may put two of them on one log line
    ranks = [json.loads(found) for found in re.findall(r"MPI-RANK (\{[^}]*\})", logs)]
    assert sorted(rank["rank"] for rank in ranks) == [0, 1], logs[-3000:]
    assert all(rank["size"] == 2 and rank["sum"] == 3 and rank["host"] == "algo-1" for rank in ranks)
    assert (root / "output" / "success").exists()


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
    assert json.loads(env["SM_HP_NESTED"]) == {"a": 1}
    assert json.loads(env["SM_USER_ARGS"]) == dlc_job["seen"]["argv"]
    # [tk] the script, the submit directory, the framework module [dlc] and parameters
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"], env["SM_MODULE_DIR"]) == ("train.py", "train",
                                                                                      "/opt/ml/code")
    assert env["SM_FRAMEWORK_MODULE"] == "sagemaker_pytorch_container.training:main"
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {} and env["SM_LOG_LEVEL"] == "20"
    # [tk] hosts and paths
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
