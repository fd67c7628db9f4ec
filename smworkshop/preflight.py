"""Preflight: is this machine ready for the labs? Each check says what it found and, when it is not fine,
precisely what to change. Nothing is installed or started here (`./workshop setup` does that).

    ./workshop preflight [--mode local|aws]      every lab's first code cell: ws.preflight.verify(MODE)
"""
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import engine, mode as modes
from .paths import REPO

MIN_DOCKER = (20, 10)   # Debian 12's docker.io; older engines lack what local mode's Compose files use
DISK_FAIL_GB = 5        # below this even one framework image does not fit
DISK_WARN_GB = 15       # every lab's images (about 8 GB) plus the wheelhouses and build cache


class PreflightFailed(RuntimeError):
    pass


@dataclass
class Check:
    name: str
    status: str          # ok | warn | fail | skip
    found: str
    fix: str = ""


def _docker_server_version():
    """The engine's version as (major, minor), or None when no engine answers."""
    if not shutil.which("docker"):
        return None
    try:
        result = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None
    match = re.match(r"(\d+)\.(\d+)", result.stdout.strip()) if result.returncode == 0 else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _docker_root():
    result = subprocess.run(["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True)
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def _pinned(package):
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.split("[")[0].lower() == package:
            return version
    return None


def check_docker():
    version = _docker_server_version()
    if version is None:
        return Check("Docker engine", "fail", "no engine answers `docker version`", engine.how_to_get_docker(
            engine._docker_info()) + " On Debian/Ubuntu as root, `./workshop setup` installs and starts one.")
    found = f"engine {version[0]}.{version[1]}"
    if version < MIN_DOCKER:
        return Check("Docker engine", "warn", found, f"upgrade to Docker {MIN_DOCKER[0]}.{MIN_DOCKER[1]} or newer")
    return Check("Docker engine", "ok", found)


def check_studio_docker_access(docker_ok):
    if not modes.in_studio_app():
        return Check("Studio Docker access", "skip", "not in a SageMaker Studio app")
    if docker_ok:
        return Check("Studio Docker access", "ok", "Docker answers in this space (network `sagemaker`)")
    return Check("Studio Docker access", "fail", "Docker does not answer in this space", engine.how_to_get_docker())


def check_compose(lab_mode):
    if lab_mode != "local":
        return Check("Docker Compose", "skip", "aws mode does not use it")
    if engine.compose_available():
        return Check("Docker Compose", "ok", "`docker compose` or `docker-compose` found")
    return Check("Docker Compose", "fail", "neither `docker compose` nor `docker-compose` works",
                 engine.compose_plugin_help())


def check_disk(docker_ok):
    where = (_docker_root() if docker_ok else None) or REPO
    while not where.exists():  # Docker's root may not be visible from here (e.g. Docker Desktop): its parent
        where = where.parent
    free_gb = shutil.disk_usage(where).free / 1e9
    found = f"{free_gb:.1f} GB free at {where}"
    if free_gb < DISK_FAIL_GB:
        return Check("Disk space", "fail", found, f"free at least {DISK_WARN_GB} GB (`./workshop remove-images` "
                     "drops the workshop's images; `docker system prune` other unused ones)")
    if free_gb < DISK_WARN_GB:
        return Check("Disk space", "warn", found, f"all labs' images need about {DISK_WARN_GB} GB; run the labs "
                     "one at a time and `./workshop remove-images` between them, or free space")
    return Check("Disk space", "ok", found)


def check_sdk():
    wanted = _pinned("sagemaker")
    try:
        installed = importlib.metadata.version("sagemaker")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed == wanted:
        return Check("SageMaker SDK", "ok", f"sagemaker {installed}")
    return Check("SageMaker SDK", "fail", f"sagemaker {installed or 'not installed'}, the labs are written for "
                 f"{wanted}", "use the workshop's kernel (below); `./workshop setup` makes its environment")


def check_kernel():
    venv = Path(os.environ.get("WORKSHOP_VENV", REPO / ".venv")).resolve()
    if Path(sys.prefix).resolve() == venv:
        return Check("Kernel / environment", "ok", f"the workshop's environment ({venv})")
    return Check("Kernel / environment", "warn", f"Python from {sys.prefix}, not the workshop's {venv}",
                 "pick the kernel 'SageMaker workshop (Python 3.11)' (`./workshop kernel` registers it)")


def check_architecture():
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return Check("CPU architecture", "ok", machine)
    return Check("CPU architecture", "warn", f"{machine}: the images are built for this machine's architecture, "
                 "SageMaker's ml.m5 instances are x86_64",
                 "local mode works except Lab 03b (tensorflow-cpu 2.18 has no Linux arm64 wheel); for aws mode, "
                 "build and push from Studio or another x86_64 machine (an arm64 image does not start on ml.m5)")


def check_credentials(lab_mode):
    if lab_mode != "aws":
        return Check("AWS credentials", "skip", "local mode needs no AWS account")
    import boto3

    session = boto3.Session()
    problems = [what for what, missing in (("credentials", session.get_credentials() is None),
                                           ("region", not session.region_name)) if missing]
    if not problems:
        return Check("AWS credentials", "ok", f"credentials found, region {session.region_name}")
    return Check("AWS credentials", "fail", f"no {' and no '.join(problems)}",
                 "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and AWS_DEFAULT_REGION; or run with "
                 "MODE = \"local\", which needs no account")


def run(mode="auto"):
    """Every check, in the order a learner would fix them."""
    lab_mode = modes.resolve(mode)
    docker = check_docker()
    return [docker, check_studio_docker_access(docker.status == "ok"), check_compose(lab_mode),
            check_disk(docker.status == "ok"), check_sdk(), check_kernel(), check_architecture(),
            check_credentials(lab_mode)]


def report(checks):
    width = max(len(c.name) for c in checks)
    lines = [f"{c.name:<{width}}  {c.status.upper():<4}  {c.found}" + (f"\n{'':<{width}}        -> {c.fix}"
                                                                        if c.fix else "") for c in checks]
    return "\n".join(lines)


def verify(mode="auto", say=print):
    """Print the checks; raise PreflightFailed (with every fix) when one would stop the lab."""
    checks = run(mode)
    say(f"preflight for {modes.resolve(mode)} mode:\n{report(checks)}")
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        raise PreflightFailed("not ready: " + "; ".join(f"{c.name}: {c.fix}" for c in failed))
    return checks


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="workshop preflight", description="check this machine for the labs")
    parser.add_argument("--mode", default="auto", choices=("auto", *modes.MODES))
    args = parser.parse_args(argv)
    try:
        verify(args.mode)
    except PreflightFailed:
        return 1
    return 0
