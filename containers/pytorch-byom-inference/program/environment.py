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
# SageMaker's real-time invocation limit is 6 MB; refuse bigger bodies before reading them.
MAX_PAYLOAD_BYTES = int(float(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6")) * 1024 * 1024)
# The module that supplies the hooks inference.py leaves out: torch's here; a framework twin names its own.
DEFAULT_HANDLERS = os.environ.get("SAGEMAKER_DEFAULT_HANDLERS", "default_handlers")
