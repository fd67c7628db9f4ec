"""What the real image's serve.py reads from the environment (aws/sagemaker-tensorflow-serving-container,
docker/build_artifacts/sagemaker/serve.py), with the same defaults, and where the model archive is."""
import os
from pathlib import Path

MODEL_DIR = Path("/opt/ml/model")              # model.tar.gz, unpacked by SageMaker
CODE_DIR = MODEL_DIR / "code"                  # inference.py, requirements.txt, lib/
PORT = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
# "None" (a string) means: the first model found, as in serve.py.
DEFAULT_MODEL_NAME = os.environ.get("SAGEMAKER_TFS_DEFAULT_MODEL_NAME", "None")
WAIT_SECONDS = int(os.environ.get("SAGEMAKER_TFS_WAIT_TIME_SECONDS", "300"))
MULTI_MODEL = os.environ.get("SAGEMAKER_MULTI_MODEL", "false").lower()
SAFE_PORT_RANGE = os.environ.get("SAGEMAKER_SAFE_PORT_RANGE")
PROXY_TIMEOUT_SECONDS = int(os.environ.get("SAGEMAKER_NGINX_PROXY_READ_TIMEOUT_SECONDS", "60"))


def tfs_ports(port_range=SAFE_PORT_RANGE):
    """(gRPC port, REST port) of TF Serving: 9000 and 8501, or the first two of SAGEMAKER_SAFE_PORT_RANGE."""
    if not port_range:
        return 9000, 8501
    low, high = (int(part) for part in port_range.split("-"))
    if low + 2 > high:
        raise ValueError(f"not enough ports available in SAGEMAKER_SAFE_PORT_RANGE ({port_range})")
    return low, low + 1
