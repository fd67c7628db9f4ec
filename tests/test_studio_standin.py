"""The workshop under SageMaker Studio's Docker rules, proven without Studio.

The stand-in (tests/studio_standin/): a Docker API proxy that refuses what Studio's proxy refuses
(docker_proxy.py has the rules and their sources), and an app container like a Studio JupyterLab app:
non-root user uid 1000, the repository in its home folder, DOCKER_HOST pointing at the proxy, and
Studio's metadata file, which is how the SageMaker SDK and the workshop recognise Studio.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from smworkshop import cleanup, engine, images
from smworkshop.paths import CONTAINERS, REPO

sys.path.insert(0, str(Path(__file__).parent / "studio_standin"))
from docker_proxy import REFUSALS, StudioDockerProxy  # noqa: E402

pytestmark = pytest.mark.docker
STANDIN = Path(__file__).parent / "studio_standin"
APP_IMAGE = "studio-app-standin"
LEARNER_UID = 1000
STUDIO_METADATA = {"AppType": "JupyterLab", "DomainId": "d-standin0000", "UserProfileName": "learner",
                   "SpaceName": "workshop-standin", "ResourceName": "default"}


@pytest.fixture(scope="module")
def standin(docker_engine):
    """A folder outside /root (the learner must reach it) with the proxy socket, the metadata file
    and the learner's home holding a copy of the repository as a learner would have cloned it."""
    top = Path(tempfile.mkdtemp(prefix="workshop-studio-", dir="/tmp"))
    top.chmod(0o755)
    home = top / "home" / "sagemaker-user"
    shutil.copytree(REPO, home / "sagemaker-workshop", ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "wheelhouse", "__pycache__", ".pytest_cache", "*.egg-info"))
    (top / "docker").mkdir()
    (top / "metadata.json").write_text(json.dumps(STUDIO_METADATA))
    _as_root_in_a_container(top, f"chown -R {LEARNER_UID}:{LEARNER_UID} {top / 'home'}")
    proxy = StudioDockerProxy(top / "docker" / "proxy.sock").start()
    images.build(APP_IMAGE, context=_app_context(top / "app-context"), say=lambda m: None)
    yield {"top": top, "home": home, "repo": home / "sagemaker-workshop", "proxy": proxy}
    proxy.stop()
    _as_root_in_a_container(top, f"rm -rf {top}/home")  # training containers leave root-owned files
    shutil.rmtree(top, ignore_errors=True)


def _as_root_in_a_container(folder, command):
    """chown/rm as root without being root on the host (a docker-group user may run the tests)."""
    subprocess.run(["docker", "run", "--rm", "-v", f"{folder}:{folder}", images.base_image(say=lambda m: None),
                    "sh", "-c", command], check=True, capture_output=True)


def _app_context(context):
    context.mkdir()
    shutil.copy(STANDIN / "Dockerfile", context)
    for name in ("requirements.txt", "requirements.lock", "pyproject.toml"):
        shutil.copy(REPO / name, context)
    return context


def run_in_app(standin, command, studio=True, compose=False, docker_group=False, env=None, timeout=1200):
    """Run COMMAND (a shell line) in the repository copy as the learner; returns (exit code, output)."""
    home, repo = standin["home"], standin["repo"]
    path = "/opt/compose/bin:" if compose else ""
    cmd = ["docker", "run", "--rm", "--network", "host", "--user", f"{LEARNER_UID}:{LEARNER_UID}",
           "-v", f"{standin['top'] / 'home'}:{standin['top'] / 'home'}", "-w", str(repo),
           "-e", f"HOME={home}", "-e", "WORKSHOP_VENV=/opt/workshop-venv", "-e", "AWS_DEFAULT_REGION=us-east-1",
           "-e", f"PATH={path}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    if studio:
        cmd += ["-v", f"{standin['top'] / 'docker'}:/docker", "-e", "DOCKER_HOST=unix:///docker/proxy.sock",
                "-v", f"{standin['top'] / 'metadata.json'}:/opt/ml/metadata/resource-metadata.json:ro"]
    if docker_group:
        socket = "/var/run/docker.sock"
        cmd += ["-v", f"{socket}:{socket}", "--group-add", str(os.stat(socket).st_gid)]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    result = subprocess.run(cmd + [images.local_tag(APP_IMAGE), "bash", "-c", command],
                            capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def proxy_docker(standin, *args):
    env = dict(os.environ, DOCKER_HOST=f"unix://{standin['top'] / 'docker' / 'proxy.sock'}", DOCKER_BUILDKIT="0")
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env)


# ---- the proxy refuses what Studio refuses (so nothing below can pass vacuously) -----------------

def test_proxy_refuses_a_plain_docker_build(standin, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {images.base_image(say=lambda m: None)}\nRUN true\n")
    refused = proxy_docker(standin, "build", "-t", "workshop-standin-probe", str(tmp_path))
    assert refused.returncode != 0
    assert REFUSALS["build_network"] in refused.stderr
    allowed = proxy_docker(standin, "build", "--network", "sagemaker", "-t", "workshop-standin-probe", str(tmp_path))
    assert allowed.returncode == 0, allowed.stderr
    subprocess.run(["docker", "rmi", "workshop-standin-probe"], capture_output=True)


@pytest.mark.parametrize("flags, rule", [([], "container_network"), (["--network", "bridge"], "container_network"),
                                         (["--network", "sagemaker", "--privileged"], "privileged"),
                                         (["--network", "sagemaker", "-p", "18080:8080"], "published_ports")])
def test_proxy_refuses_what_studio_refuses(standin, flags, rule):
    result = proxy_docker(standin, "run", "--rm", *flags, images.base_image(say=lambda m: None), "true")
    assert result.returncode != 0 and REFUSALS[rule] in result.stderr


def test_proxy_runs_containers_on_the_sagemaker_network_in_the_apps_namespace(standin):
    result = proxy_docker(standin, "run", "--rm", "--network", "sagemaker", images.base_image(say=lambda m: None),
                          "cat", "/proc/net/dev")
    assert result.returncode == 0, result.stderr
    with open("/proc/net/dev") as ours:  # the same interfaces as this process: one network namespace
        assert {line.split(":")[0].strip() for line in result.stdout.splitlines()[2:]} == \
               {line.split(":")[0].strip() for line in ours.read().splitlines()[2:]}


# ---- the workshop's own Docker calls under Studio's rules -----------------------------------------

def test_every_image_builds_through_studios_proxy(standin, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{standin['top'] / 'docker' / 'proxy.sock'}")
    monkeypatch.setattr(engine, "rules", lambda: engine.STUDIO)
    before = len(standin["proxy"].requests)
    names = sorted(d.parent.name for d in CONTAINERS.glob("*/Dockerfile"))
    for name in names:
        images.build(name, force=True, say=lambda m: None)
    seen = standin["proxy"].requests[before:]
    assert [r for r in seen if r[1] == "/build"] == [("POST", "/build", None)] * len(names)


def test_without_studios_rules_the_same_build_is_refused(standin, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{standin['top'] / 'docker' / 'proxy.sock'}")
    monkeypatch.setattr(engine, "rules", lambda: engine.PLAIN)
    with pytest.raises(images.BuildError, match=r"\[ImageBuild\] 'sagemaker' is the only user allowed network"):
        images.build("sklearn-byoc", force=True, say=lambda m: None)


def test_lab01_runs_in_studio_local_mode_as_a_non_root_learner(standin):
    """Hand-run train and serve, ModelTrainer and an endpoint in local mode, all through the proxy."""
    before = len(standin["proxy"].requests)
    code, output = run_in_app(standin, "./workshop labs 01", compose=True)
    assert code == 0, output[-5000:]
    recorded = json.loads((standin["repo"] / "build" / "results" / "01_bring_your_own_container.json").read_text())
    assert recorded["mode"] == "local" and recorded["accuracy"] >= 0.9
    assert recorded["containers_left"] == 0
    seen = standin["proxy"].requests[before:]
    assert [r for r in seen if r[2]] == []  # nothing the lab asked for was refused
    # hand-run train + serve, the training job, the endpoint: at least four containers, all on `sagemaker`
    assert len([r for r in seen if r[1] == "/containers/create"]) >= 4
    assert (standin["home"] / "tmp").is_dir()  # the SDK moved local mode's endpoint files to ~/tmp
    assert cleanup.workshop_containers() == []


# ---- setup, compose and the kernel as a non-root learner ------------------------------------------

def test_setup_works_as_a_non_root_user_in_the_docker_group(standin):
    code, output = run_in_app(standin, "id -u && ./workshop setup", studio=False, compose=True, docker_group=True)
    assert code == 0, output[-3000:]
    assert output.splitlines()[0] == str(LEARNER_UID)
    assert "is up to date" in output


def test_setup_in_studio_needs_no_compose_for_aws_mode(standin):
    code, output = run_in_app(standin, "! command -v docker-compose && ./workshop setup")
    assert code == 0, output[-3000:]


def test_local_mode_in_studio_without_compose_says_how_to_add_it_without_root(standin):
    code, output = run_in_app(standin, "./workshop setup", env={"WORKSHOP_MODE": "local"})
    assert code != 0
    assert "SageMaker local mode needs Docker Compose" in output
    assert "~/.docker/cli-plugins/docker-compose" in output


def test_missing_docker_access_in_studio_says_to_enable_it_and_restart_the_space(standin):
    code, output = run_in_app(standin, "./workshop setup", env={"DOCKER_HOST": "unix:///docker/absent.sock"})
    assert code != 0
    assert "EnableDockerAccess" in output and "restart this space" in output


def test_kernel_command_registers_the_workshop_kernel_for_the_learner(standin):
    code, output = run_in_app(standin, "./workshop kernel && jupyter_kernels=$(/opt/workshop-venv/bin/jupyter "
                                       "kernelspec list --json) && echo \"$jupyter_kernels\"")
    assert code == 0, output[-3000:]
    spec = json.loads(output[output.index("{"):])["kernelspecs"]["sagemaker-workshop"]
    assert spec["resource_dir"].startswith(str(standin["home"] / ".local" / "share" / "jupyter"))
    assert spec["spec"]["argv"][0] == "/opt/workshop-venv/bin/python"
    assert spec["spec"]["display_name"] == "SageMaker workshop (Python 3.11)"

