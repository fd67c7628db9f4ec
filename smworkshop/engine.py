"""A Docker engine that answers: find it, or on Debian/Ubuntu as root install and start one.

SageMaker local mode runs every job and endpoint as a container, so nothing works without it.
Debian's docker.io and docker-compose are enough (local mode also drives docker-compose).
"""
import os
import shutil
import subprocess
import sys
import time

from .paths import BUILD

DAEMON_LOG = BUILD / "dockerd.log"
PACKAGES = ("docker.io", "docker-compose")


class EngineUnavailable(RuntimeError):
    pass


def answers(timeout=20):
    """True when `docker info` reaches a daemon."""
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def _debian_root():
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _how_to_get_docker():
    return (
        "No Docker engine answers `docker info`, and this is not a Debian/Ubuntu machine where we are root, "
        "so the workshop cannot install one for you. Local mode runs every SageMaker job as a container: "
        "install Docker Desktop (macOS/Windows) or Docker Engine (Linux), start it, check `docker info`, "
        "then run again. In SageMaker Studio, ask your admin to enable Docker access for the domain "
        "(DockerSettings: EnableDockerAccess), or run the labs with MODE='aws'."
    )


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


def ensure(wait_seconds=120, say=print):
    """Make `docker info` answer, installing and starting the engine where we may. Idempotent."""
    if answers():
        _ensure_compose(say)
        return
    if not _debian_root():
        raise EngineUnavailable(_how_to_get_docker())
    if not shutil.which("dockerd"):
        _apt_install(PACKAGES, say)
    _ensure_compose(say)
    if not answers():
        _start_daemon(say)
        deadline = time.monotonic() + wait_seconds
        while not answers(timeout=5):
            if time.monotonic() > deadline:
                tail = DAEMON_LOG.read_text(errors="replace")[-3000:] if DAEMON_LOG.exists() else ""
                raise EngineUnavailable(f"dockerd did not answer within {wait_seconds} s. Its log ends:\n{tail}")
            time.sleep(1)
    say("docker engine is up")


def _ensure_compose(say):
    """Local mode needs `docker compose` (plugin) or `docker-compose` (Debian's package)."""
    if shutil.which("docker-compose") or _compose_plugin():
        return
    if not _debian_root():
        raise EngineUnavailable("SageMaker local mode needs docker compose; install the compose plugin.")
    _apt_install(["docker-compose"], say)


def _compose_plugin():
    result = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return result.returncode == 0


if __name__ == "__main__":  # python -m smworkshop.engine
    try:
        ensure()
    except EngineUnavailable as err:
        sys.exit(str(err))
