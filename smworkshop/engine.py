"""The Docker engine: find it (or on Debian/Ubuntu as root install and start one), and the rules of the
engine we talk to.

SageMaker local mode runs every job and endpoint as a container, and `aws` mode builds the images it
pushes to ECR, so both modes need an engine. Local mode also drives Docker Compose.

Rules: inside a SageMaker Studio app, Docker is reached through a proxy that allows only the
`sagemaker` network (for builds and containers), refuses privileged containers, and shares one network
namespace between the app and its containers, so nothing publishes ports there (AWS's documentation:
https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-local-get-started.html).
Every `docker` command the workshop runs takes its network flags from `rules()`.
"""
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from . import mode as modes
from .paths import BUILD

DAEMON_LOG = BUILD / "dockerd.log"
PACKAGES = ("docker.io", "docker-compose")
# Docker's documented per-user install of the Compose v2 plugin (no root needed):
# https://docs.docker.com/compose/install/linux/#install-the-plugin-manually
COMPOSE_VERSION = "v2.29.7"


class EngineUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Rules:
    """How `docker build` and `docker run` must be called on this engine."""
    name: str
    network: str = None          # the only network builds and containers may use (None: any)
    publish_ports: bool = True   # False: containers share the caller's network namespace

    def network_args(self):
        return ["--network", self.network] if self.network else []


PLAIN = Rules("plain Docker engine")
STUDIO = Rules("SageMaker Studio Docker access", network="sagemaker", publish_ports=False)


def rules():
    return STUDIO if modes.in_studio_app() else PLAIN


# ---- is there an engine? ----------------------------------------------------------------------------

def _docker_info(timeout=20):
    if not shutil.which("docker"):
        return None
    try:
        return subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def answers(timeout=20):
    """True when `docker info` reaches a daemon."""
    result = _docker_info(timeout)
    return result is not None and result.returncode == 0


def _debian_root():
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def how_to_get_docker(info=None):
    """What to do when no engine answers: said for Studio, for a user outside the docker group, and
    for everyone else. Both modes need Docker (aws mode builds the images it pushes to ECR)."""
    if modes.in_studio_app():
        return ("Docker does not answer in this SageMaker Studio space. The labs need it in both modes (aws mode "
                "builds the images it pushes to ECR). Ask your administrator to enable Docker access for the domain "
                "(DockerSettings.EnableDockerAccess=ENABLED), then stop and restart this space: the setting only "
                "reaches apps created after it. The Docker CLI comes with SageMaker Distribution 2.2 and later.")
    stderr = (info.stderr if info is not None else "") or ""
    if "permission denied" in stderr.lower():
        return ("Docker is installed but this user may not use it (permission denied on the Docker socket). Add "
                "yourself to the docker group (`sudo usermod -aG docker $USER`), log out and in again, and check "
                "`docker info`; or run the workshop as root.")
    return ("No Docker engine answers `docker info`, and this is not a Debian/Ubuntu machine where we are root, so "
            "the workshop cannot install one for you. Both modes need Docker: local mode runs every SageMaker job "
            "as a container, and aws mode builds the images it pushes to Amazon ECR. Install Docker Desktop "
            "(macOS/Windows) or Docker Engine (Linux), start it, check `docker info`, then run again.")


def compose_plugin_help():
    """How to add Docker Compose v2 without root, as a per-user CLI plugin."""
    arch = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine())
    url = f"https://github.com/docker/compose/releases/download/{COMPOSE_VERSION}/docker-compose-linux-{arch}"
    return ("SageMaker local mode needs Docker Compose, and it is not installed. Add it for this user (no root "
            "needed), then run again:\n"
            "  mkdir -p ~/.docker/cli-plugins\n"
            f"  curl -fsSL {url} -o ~/.docker/cli-plugins/docker-compose\n"
            "  chmod +x ~/.docker/cli-plugins/docker-compose\n"
            "  docker compose version\n"
            "(aws mode does not need Compose: run the labs with MODE = \"aws\" instead.)")


def compose_available():
    """Local mode uses `docker compose` (plugin, v2+) or `docker-compose` (Debian's package)."""
    if shutil.which("docker-compose"):
        return True
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


# ---- making one answer ----------------------------------------------------------------------------

def _apt_install(packages, say):
    say(f"installing {' '.join(packages)} with apt-get (one time, about a minute)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineUnavailable(f"`{' '.join(cmd)}` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def _start_daemon(say):
    DAEMON_LOG.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting dockerd (log: {DAEMON_LOG})")
    with open(DAEMON_LOG, "ab") as log:
        # A session of its own: the daemon outlives this process, as a service would.
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)


def ensure(needs_compose=None, wait_seconds=120, say=print):
    """Make `docker info` answer, installing and starting the engine where we may. Idempotent.

    NEEDS_COMPOSE defaults to whether the labs will run in local mode (MODE auto resolved here).
    """
    if needs_compose is None:
        needs_compose = modes.resolve("auto") == "local"
    if not answers():
        if not _debian_root():
            raise EngineUnavailable(how_to_get_docker(_docker_info()))
        if not shutil.which("dockerd"):
            _apt_install(PACKAGES, say)
        _start_daemon(say)
        deadline = time.monotonic() + wait_seconds
        while not answers(timeout=5):
            if time.monotonic() > deadline:
                tail = DAEMON_LOG.read_text(errors="replace")[-3000:] if DAEMON_LOG.exists() else ""
                raise EngineUnavailable(f"dockerd did not answer within {wait_seconds} s. Its log ends:\n{tail}")
            time.sleep(1)
        say("docker engine is up")
    if needs_compose and not compose_available():
        if not _debian_root():
            raise EngineUnavailable(compose_plugin_help())
        _apt_install(["docker-compose"], say)
    # Local mode also runs `pgrep` when it stops an endpoint (sagemaker-core local/utils.py); minimal
    # Debian images have no procps.
    if needs_compose and not shutil.which("pgrep"):
        if not _debian_root():
            raise EngineUnavailable("SageMaker local mode needs `pgrep` (Debian/Ubuntu package procps): install it, "
                                    "then run again.")
        _apt_install(["procps"], say)


if __name__ == "__main__":  # python -m smworkshop.engine
    try:
        ensure()
    except EngineUnavailable as err:
        sys.exit(str(err))
