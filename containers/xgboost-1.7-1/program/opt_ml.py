"""The paths of the SageMaker container contract under /opt/ml.

Training (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html):
  input/config/hyperparameters.json   every value a string
  input/config/inputdataconfig.json   the channels: ContentType, TrainingInputMode, S3DistributionType
  input/config/resourceconfig.json    the hosts of the job
  input/data/<channel>/               each channel's files
  model/                              saved here, packed into model.tar.gz
  output/failure, output/success      how the job ended (FailureReason = first 1024 characters of failure)
Serving: model/ is the unpacked model.tar.gz (SM_MODEL_DIR in the real image).

OPT_ML_ROOT moves the tree, so unit tests run the same code without Docker.
"""
import json
import os
from pathlib import Path

from errors import UserError

ROOT = Path(os.environ.get("OPT_ML_ROOT", "/opt/ml"))
CONFIG_DIR = ROOT / "input" / "config"
DATA_DIR = ROOT / "input" / "data"
MODEL_DIR = Path(os.environ.get("SM_MODEL_DIR", ROOT / "model"))
OUTPUT_DIR = ROOT / "output"
HYPERPARAMETERS = CONFIG_DIR / "hyperparameters.json"
INPUT_DATA_CONFIG = CONFIG_DIR / "inputdataconfig.json"
RESOURCE_CONFIG = CONFIG_DIR / "resourceconfig.json"
CHECKPOINT_CONFIG = CONFIG_DIR / "checkpointconfig.json"


def read_json(path, default=None):
    """A config file as a dict; DEFAULT when the file is absent (None: the file is required)."""
    path = Path(path)
    if not path.exists():
        if default is None:
            raise UserError(f"{path} is missing: SageMaker writes it for every training job")
        return default
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} must hold a JSON object, not {type(value).__name__}")
    return value


def channel_dir(name):
    return DATA_DIR / name


def write_output(name, text):
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUTPUT_DIR / name).write_text(text)
