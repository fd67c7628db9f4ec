"""Where the model is and how to serve it: the environment variables SageMaker's PyTorch serving
toolkit reads (https://github.com/aws/sagemaker-pytorch-inference-toolkit), with the same defaults."""
import os
from pathlib import Path

BASE_DIR = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
MODEL_DIR = BASE_DIR / "model"                 # model.tar.gz, unpacked
CODE_DIR = MODEL_DIR / "code"                  # the user's inference.py, when the archive has one
PROGRAM = os.environ.get("SAGEMAKER_PROGRAM", "inference.py")
PORT = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
WORKERS = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1))
TIMEOUT_SECONDS = int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60"))
DEFAULT_ACCEPT = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
# The framework twins (pytorch-2.5-inference, mxnet-1.9-inference) set these: AWS's handler service module
# (installed from PyPI) and the model server whose worker this server stands in for, "torchserve" or "mms"
# (model_server.py). Lab 02's image leaves them unset and serves with its own hooks (handlers.py).
HANDLER_SERVICE = os.environ.get("TWIN_HANDLER_SERVICE")
MODEL_SERVER = os.environ.get("TWIN_MODEL_SERVER", "torchserve")
if HANDLER_SERVICE:
    # The model servers' max_request_size (6553500 bytes); they do not read SAGEMAKER_MAX_PAYLOAD_IN_MB.
    MAX_PAYLOAD_BYTES = 6553500
else:
    # SageMaker's real-time invocation limit is 6 MB; refuse bigger bodies before reading them.
    MAX_PAYLOAD_BYTES = int(float(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6")) * 1024 * 1024)
