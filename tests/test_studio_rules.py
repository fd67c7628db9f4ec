"""The Studio path without Studio: how the helpers behave when the app's metadata says "SageMaker Studio".

The rules come from AWS's documentation
(https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-local-get-started.html) and the SDK
source: sagemaker-core local/image.py (no published ports in Studio, health check on localhost:serving_port,
single instance only) and sagemaker-train local/local_container.py (`--network sagemaker`).
tests/test_studio_standin.py runs the same paths against a Docker proxy that enforces these rules.
"""
import json
import subprocess

import pytest
from botocore.stub import Stubber

from smworkshop import cleanup, docker_run, engine, images, session
from smworkshop import mode as modes
from smworkshop.paths import REPO


@pytest.fixture
def in_studio(tmp_path, monkeypatch):
    """A JupyterLab app's resource metadata, as Studio writes it."""
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text(json.dumps({"AppType": "JupyterLab", "DomainId": "d-abc", "SpaceName": "s"}))
    monkeypatch.setattr(modes, "STUDIO_METADATA", metadata)
    return metadata


@pytest.fixture
def outside_studio(tmp_path, monkeypatch):
    monkeypatch.setattr(modes, "STUDIO_METADATA", tmp_path / "absent.json")


# ---- where are we? --------------------------------------------------------------------------------

@pytest.mark.parametrize("content, studio_app, sagemaker", [
    ({"AppType": "JupyterLab", "DomainId": "d-1"}, "JupyterLab", True),
    ({"AppType": "CodeEditor", "DomainId": "d-1"}, "CodeEditor", True),
    ({"ResourceName": "my-notebook-instance"}, None, True),  # a notebook instance: same file, no AppType
    (None, None, False),                                     # a laptop: no file
])
def test_studio_is_recognised_by_the_app_type_in_its_resource_metadata(tmp_path, content, studio_app, sagemaker):
    metadata = tmp_path / "resource-metadata.json"
    if content is not None:
        metadata.write_text(json.dumps(content))
    assert modes.studio_app_type(metadata) == studio_app
    assert modes.in_sagemaker(metadata) is sagemaker
    assert modes.resolve("auto", metadata) == ("aws" if sagemaker else "local")


def test_in_studio_the_engine_rules_are_the_sagemaker_network_and_no_published_ports(in_studio):
    assert engine.rules() == engine.STUDIO
    assert engine.rules().network_args() == ["--network", "sagemaker"]
    assert engine.rules().publish_ports is False


def test_outside_studio_docker_is_called_as_usual(outside_studio):
    assert engine.rules().network_args() == [] and engine.rules().publish_ports


# ---- docker commands the workshop runs ------------------------------------------------------------

class _Finished:
    returncode, stdout, stderr = 0, "true", ""


def _record_docker(monkeypatch):
    commands = []
    monkeypatch.setattr(docker_run.subprocess, "run", lambda cmd, **kw: commands.append(cmd) or _Finished())
    return commands


def test_hand_run_training_joins_the_sagemaker_network_in_studio(in_studio, monkeypatch, tmp_path):
    commands = _record_docker(monkeypatch)
    docker_run.train("image", tmp_path)
    assert commands[0][commands[0].index("--network") + 1] == "sagemaker"


def test_hand_run_serving_in_studio_publishes_nothing_and_binds_a_free_port_itself(in_studio, monkeypatch, tmp_path):
    """The app and its containers share one network namespace, so a second server on 8080 would clash."""
    commands = _record_docker(monkeypatch)

    class Pong:
        status_code = 200

    monkeypatch.setattr(docker_run.requests, "get", lambda url, timeout: Pong())
    container = docker_run.ServingContainer("image", tmp_path).start()
    run = commands[0]
    assert "-p" not in run and "--publish" not in run
    assert run[run.index("--network") + 1] == "sagemaker"
    assert f"SAGEMAKER_BIND_TO_PORT={container.port}" in run
    assert container.port != 8080 and container.url == f"http://127.0.0.1:{container.port}"


def test_hand_run_serving_elsewhere_publishes_on_loopback_only(outside_studio, tmp_path, monkeypatch):
    commands = _record_docker(monkeypatch)
    container = docker_run.ServingContainer("image", tmp_path, rules=engine.PLAIN)
    monkeypatch.setattr(docker_run.requests, "get", lambda url, timeout: type("R", (), {"status_code": 200})())
    container.start()
    assert commands[0][commands[0].index("-p") + 1] == f"127.0.0.1:{container.port}:8080"
    assert "--network" not in commands[0]


def test_image_builds_in_studio_use_the_sagemaker_network(in_studio, monkeypatch, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    streamed = []
    monkeypatch.setattr(images, "_stream", lambda cmd, name, env=None: streamed.append((cmd, env)) or 0.1)
    monkeypatch.setattr(images, "image_label", lambda tag, label: None)
    monkeypatch.setattr(images, "_docker", lambda *a, **k: _Finished())
    monkeypatch.setattr(images, "base_image", lambda say=print: "debian:bookworm", raising=False)
    images.build("demo", context=context, say=lambda m: None)
    cmd, env = streamed[0]
    assert cmd[:4] == ["docker", "build", "--network", "sagemaker"]
    assert env["DOCKER_BUILDKIT"] == "0"  # Studio's image turns BuildKit off; the legacy builder is what it proxies


# ---- local mode sessions in Studio ----------------------------------------------------------------

def test_local_session_in_studio_serves_on_8080_and_labels_its_containers(in_studio, monkeypatch, tmp_path):
    """In Studio the SDK publishes no ports and health-checks localhost:serving_port, so the container's
    own 8080 is the port; the label lets cleanup find containers under the SDK's ~/tmp root."""
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    lab = session.LabSession("unit-studio", mode="local", region="us-east-1", say=lambda m: None)
    local = lab._sm_session.config["local"]
    assert local["serving_port"] == 8080
    assert local["container_config"]["labels"] == {cleanup.SESSION_LABEL: lab.session_id}


def test_a_multi_instance_local_job_in_studio_is_refused_with_the_reason(in_studio, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    lab = session.LabSession("unit-studio", mode="local", region="us-east-1", say=lambda m: None)
    with pytest.raises(ValueError, match="one instance only"):
        lab.model_trainer("image", instance_count=2)


def test_a_multi_instance_local_job_elsewhere_is_allowed(outside_studio, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    lab = session.LabSession("unit-local", mode="local", region="us-east-1", say=lambda m: None)
    assert lab.model_trainer("image", instance_count=2).compute.instance_count == 2


# ---- setup's advice ---------------------------------------------------------------------------------

def _no_engine(monkeypatch, stderr=""):
    monkeypatch.setattr(engine, "answers", lambda timeout=20: False)
    monkeypatch.setattr(engine, "_debian_root", lambda: False)
    monkeypatch.setattr(engine, "_docker_info", lambda timeout=20: subprocess.CompletedProcess([], 1, "", stderr))


def test_missing_docker_in_studio_says_to_enable_docker_access_and_restart_the_space(in_studio, monkeypatch):
    _no_engine(monkeypatch)
    with pytest.raises(engine.EngineUnavailable) as err:
        engine.ensure()
    assert "EnableDockerAccess" in str(err.value) and "restart" in str(err.value)


def test_a_user_outside_the_docker_group_is_told_so(outside_studio, monkeypatch):
    _no_engine(monkeypatch, "permission denied while trying to connect to the Docker daemon socket")
    with pytest.raises(engine.EngineUnavailable, match="docker group"):
        engine.ensure()


def test_missing_docker_is_not_answered_with_aws_mode(outside_studio, monkeypatch):
    """aws mode builds images with Docker too, so switching modes is no way round a missing engine."""
    _no_engine(monkeypatch)
    with pytest.raises(engine.EngineUnavailable) as err:
        engine.ensure()
    assert "Both modes need Docker" in str(err.value)
    assert "MODE" not in str(err.value)


@pytest.mark.parametrize("mode, refused", [("local", True), ("aws", False)])
def test_compose_is_required_only_when_the_labs_run_in_local_mode(monkeypatch, mode, refused):
    monkeypatch.setenv("WORKSHOP_MODE", mode)
    monkeypatch.setattr(engine, "answers", lambda timeout=20: True)
    monkeypatch.setattr(engine, "_debian_root", lambda: False)
    monkeypatch.setattr(engine, "compose_available", lambda: False)
    if refused:
        with pytest.raises(engine.EngineUnavailable) as err:
            engine.ensure(say=lambda m: None)
        assert "~/.docker/cli-plugins/docker-compose" in str(err.value) and "sudo" not in str(err.value)
    else:
        engine.ensure(say=lambda m: None)


# ---- aws mode preflight ----------------------------------------------------------------------------

def test_aws_mode_without_region_or_credentials_says_both_in_one_error(tmp_path, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    monkeypatch.setattr(session.engine, "answers", lambda timeout=20: True)
    with pytest.raises(session.AwsModeUnavailable) as err:
        session.LabSession("unit-aws", mode="aws", say=lambda m: None)
    message = str(err.value)
    assert "no AWS region" in message and "no AWS credentials" in message and 'MODE = "local"' in message


# ---- aws mode jobs are cleaned up too ------------------------------------------------------------

def test_cleanup_stops_a_running_training_job_before_deleting_the_endpoint(monkeypatch):
    import boto3

    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    monkeypatch.setattr(cleanup.atexit, "register", lambda f: None)
    with Stubber(client) as stub:
        stub.add_response("describe_training_job", {
            "TrainingJobName": "job-1", "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:1:training-job/job-1",
            "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
            "AlgorithmSpecification": {"TrainingInputMode": "File"}, "ModelArtifacts": {"S3ModelArtifacts": ""},
            "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {}, "CreationTime": "2026-01-01"}, {"TrainingJobName": "job-1"})
        stub.add_response("stop_training_job", {}, {"TrainingJobName": "job-1"})
        stub.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
        work = cleanup.Cleanup(client, say=lambda m: None)
        work.add("endpoint", "ep")
        work.add("training_job", "job-1")
        work.run(quiet=True)
        stub.assert_no_pending_responses()


# ---- the CPU build of PyTorch inside SageMaker -----------------------------------------------------

def test_inside_sagemaker_pip_takes_torch_from_pytorchs_cpu_index(in_studio, monkeypatch):
    """On PyPI, torch for Linux x86_64 is the CUDA build (GBs); a Studio space volume can be 5 GB."""
    monkeypatch.delenv("WORKSHOP_TORCH_INDEX", raising=False)
    assert images.index_args() == ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
    monkeypatch.setenv("WORKSHOP_TORCH_INDEX", "")
    assert images.index_args() == []


def test_the_setup_script_uses_the_same_cpu_index_in_sagemaker(tmp_path):
    """./workshop's venv install (bash) must agree with smworkshop.images (Python)."""
    script = (f"source {REPO / 'workshop'}; unset WORKSHOP_TORCH_INDEX; SAGEMAKER_METADATA={tmp_path}/m.json; "
              f"echo \"[$(pip_index_args)]\"; touch {tmp_path}/m.json; echo \"[$(pip_index_args)]\"; "
              "WORKSHOP_TORCH_INDEX=https://mirror.example/cpu; echo \"[$(pip_index_args)]\"")
    lines = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines == ["[]", "[--extra-index-url https://download.pytorch.org/whl/cpu]",
                     "[--extra-index-url https://mirror.example/cpu]"]
