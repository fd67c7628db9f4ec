"""What the real image's start-up script reads from the environment, with its defaults and its checks.

Source: aws/deep-learning-containers @ ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e,
tensorflow/inference/docker/build_artifacts/sagemaker/serve.py (ServiceManager.__init__, lines 51-141;
_need_python_service, lines 143-153). The file the 2.18 image is built from (buildspec-2-18-sm.yml copies
docker/build_artifacts/sagemaker into /sagemaker). Standard library only: `serve` runs in the image's copy of
the DLC's Python environment, which has no TensorFlow.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

MODEL_DIR = Path("/opt/ml/model")              # model.tar.gz, unpacked by SageMaker
CODE_DIR = MODEL_DIR / "code"                  # inference.py, requirements.txt, lib/
GUNICORN_SOCKET = "/tmp/gunicorn.sock"         # where nginx's gunicorn_upstream points


def tfs_ports(port_range, instance_count=1):
    """(gRPC ports, REST ports) of the TF Serving instances, as strings (the real image passes them on as
    text): 9000 and 8501, or with SAGEMAKER_SAFE_PORT_RANGE low+2i and low+2i+1 for instance i."""
    if port_range is None:
        return ["9000"], ["8501"]
    low, high = (int(part) for part in port_range.split("-")[:2])
    if low + 2 * instance_count > high:
        raise ValueError(f"not enough ports available in SAGEMAKER_SAFE_PORT_RANGE ({port_range})")
    return [str(low + 2 * i) for i in range(instance_count)], [str(low + 2 * i + 1) for i in range(instance_count)]


def python_service_needed(code_dir=CODE_DIR):
    """The real image puts gunicorn behind nginx when code/ has inference.py, requirements.txt OR lib/."""
    return any((code_dir / name).exists() for name in ("inference.py", "requirements.txt", "lib"))


def true_or_false(name, environ):
    value = environ.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ValueError(f"{name} must be 'true' or 'false'")
    return value == "true"


@dataclass
class Settings:
    port: str = "8080"
    default_model_name: str = "None"           # "None" (text): the first model found
    instance_count: int = 1
    wait_seconds: int = 55
    gunicorn_worker_class: str = "gevent"
    gunicorn_workers: str = "1"
    gunicorn_threads: str = "1"
    gunicorn_loglevel: str = "info"
    gunicorn_timeout: int = 30
    proxy_read_timeout: int = 60
    multi_model: bool = False
    batching: bool = False
    python_service: bool = False
    grpc_ports: list = field(default_factory=lambda: ["9000"])
    rest_ports: list = field(default_factory=lambda: ["8501"])


def settings(environ=os.environ, code_dir=CODE_DIR):
    """The real ServiceManager's settings, checked in its order (multi-model flag, Python service, batching,
    port range). Sets OMP_NUM_THREADS=1 in ENVIRON when it is unset, as serve.py does for every process."""
    count = int(environ.get("SAGEMAKER_TFS_INSTANCE_COUNT", 1))
    chosen = Settings(
        port=environ.get("SAGEMAKER_BIND_TO_PORT", "8080"),
        default_model_name=environ.get("SAGEMAKER_TFS_DEFAULT_MODEL_NAME", "None"),
        instance_count=count,
        wait_seconds=int(environ.get("SAGEMAKER_TFS_WAIT_TIME_SECONDS", 55 // count)),
        gunicorn_worker_class=environ.get("SAGEMAKER_GUNICORN_WORKER_CLASS", "gevent"),
        gunicorn_workers=str(environ.get("SAGEMAKER_GUNICORN_WORKERS", 1)),
        gunicorn_threads=str(environ.get("SAGEMAKER_GUNICORN_THREADS", 1)),
        gunicorn_loglevel=environ.get("SAGEMAKER_GUNICORN_LOGLEVEL", "info"),
        gunicorn_timeout=int(environ.get("SAGEMAKER_GUNICORN_TIMEOUT_SECONDS", 30)),
        proxy_read_timeout=int(environ.get("SAGEMAKER_NGINX_PROXY_READ_TIMEOUT_SECONDS", 60)),
    )
    # nginx must not give up on gunicorn before gunicorn gives up on its worker.
    chosen.proxy_read_timeout = max(chosen.proxy_read_timeout, chosen.gunicorn_timeout)
    if environ.get("OMP_NUM_THREADS") is None:
        environ["OMP_NUM_THREADS"] = "1"
    chosen.multi_model = true_or_false("SAGEMAKER_MULTI_MODEL", environ)
    chosen.python_service = python_service_needed(code_dir)
    chosen.batching = true_or_false("SAGEMAKER_TFS_ENABLE_BATCHING", environ)
    chosen.grpc_ports, chosen.rest_ports = tfs_ports(environ.get("SAGEMAKER_SAFE_PORT_RANGE"), count)
    return chosen


def wait_retries(timeout_seconds, backoff_factor=0.1):
    """How many connection retries the real wait_for_model allows for TIMEOUT_SECONDS (tfs_utils.py,
    retry_from_timeout, lines 324-330): it adds backoff_factor * 2**(n+1) per retry n = 2, 3, ... until the
    sum reaches the timeout. urllib3 then sleeps backoff_factor * 2**(k-1) before retry k (none before the
    first), so the real wait for a server that never listens is shorter than the timeout: about 25 s of
    sleeps for the default 55."""
    retries, planned = 1, 0.0
    while planned < timeout_seconds:
        retries += 1
        planned += backoff_factor * 2 ** (retries + 1)
    return retries
