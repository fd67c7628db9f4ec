"""smworkshop.preflight: each check finds what it claims and says what to fix. The real machine is checked once
(CI's: Docker, Compose and the workshop's environment are there); every failure path with stand-ins."""
import collections

import pytest

from smworkshop import engine, mode, preflight


def by_name(checks):
    return {c.name: c for c in checks}


def test_this_machine_is_ready_for_local_mode(docker_engine):
    checks = by_name(preflight.verify("local", say=lambda m: None))
    assert checks["Docker engine"].status == "ok" and checks["Docker Compose"].status == "ok"
    assert checks["SageMaker SDK"].status == "ok" and checks["Kernel / environment"].status == "ok"
    assert checks["AWS credentials"].status == "skip"


def test_no_engine_fails_with_how_to_get_one(monkeypatch):
    monkeypatch.setattr(preflight, "_docker_server_version", lambda: None)
    monkeypatch.setattr(engine, "_docker_info", lambda timeout=20: None)
    check = preflight.check_docker()
    assert check.status == "fail" and "./workshop setup" in check.fix and "docker info" in check.fix


def test_an_engine_older_than_20_10_is_a_warning(monkeypatch):
    monkeypatch.setattr(preflight, "_docker_server_version", lambda: (19, 3))
    assert preflight.check_docker().status == "warn"


def test_in_studio_without_docker_access_it_says_to_enable_it(monkeypatch):
    monkeypatch.setattr(mode, "in_studio_app", lambda metadata=None: True)
    check = preflight.check_studio_docker_access(docker_ok=False)
    assert check.status == "fail" and "EnableDockerAccess" in check.fix


def test_compose_is_required_in_local_mode_only(monkeypatch):
    monkeypatch.setattr(engine, "compose_available", lambda: False)
    local = preflight.check_compose("local")
    assert local.status == "fail" and "~/.docker/cli-plugins" in local.fix
    assert preflight.check_compose("aws").status == "skip"


@pytest.mark.parametrize("free_gb, status", [(3, "fail"), (10, "warn"), (40, "ok")])
def test_disk_space_thresholds(monkeypatch, free_gb, status):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: usage(100e9, 0, free_gb * 1e9))
    assert preflight.check_disk(docker_ok=False).status == status


def test_another_sdk_version_fails(monkeypatch):
    monkeypatch.setattr(preflight.importlib.metadata, "version", lambda name: "2.232.0")
    check = preflight.check_sdk()
    assert check.status == "fail" and "sagemaker 2.232.0" in check.found and "3.27.0" in check.found


def test_another_python_environment_is_a_warning_naming_the_kernel(monkeypatch):
    monkeypatch.setattr(preflight.sys, "prefix", "/usr")
    check = preflight.check_kernel()
    assert check.status == "warn" and "SageMaker workshop (Python 3.11)" in check.fix


def test_arm_machines_are_warned_that_the_images_are_x86_64(monkeypatch):
    monkeypatch.setattr(preflight.platform, "machine", lambda: "arm64")
    assert preflight.check_architecture().status == "warn"


def test_aws_mode_needs_credentials_and_a_region(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
                "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    missing = preflight.check_credentials("aws")
    assert missing.status == "fail" and missing.found == "no credentials and no region"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert preflight.check_credentials("aws").status == "ok"


def test_verify_raises_with_every_fix_and_the_command_exits_1(monkeypatch):
    monkeypatch.setattr(preflight, "_docker_server_version", lambda: None)
    monkeypatch.setattr(engine, "_docker_info", lambda timeout=20: None)
    monkeypatch.setattr(engine, "compose_available", lambda: False)
    with pytest.raises(preflight.PreflightFailed, match="Docker engine: .*Docker Compose: "):
        preflight.verify("local", say=lambda m: None)
    assert preflight.main(["--mode", "local"]) == 1
