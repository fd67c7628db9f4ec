"""The parts of the SageMaker container contract that live under /opt/ml.

Training (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html):
  /opt/ml/input/config/hyperparameters.json   every value arrives as a string
  /opt/ml/input/config/inputdataconfig.json   the channels the job was given
  /opt/ml/input/data/<channel>/               the files of each channel
  /opt/ml/model/                              what is saved here becomes model.tar.gz
  /opt/ml/output/failure                      the reason shown as the job's FailureReason
Serving (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html):
  /opt/ml/model/                              model.tar.gz unpacked

OPT_ML_ROOT moves the tree, so the same code runs in unit tests without Docker.
"""
import json
import os
from pathlib import Path

ROOT = Path(os.environ.get("OPT_ML_ROOT", "/opt/ml"))
CONFIG_DIR = ROOT / "input" / "config"
DATA_DIR = ROOT / "input" / "data"
MODEL_DIR = ROOT / "model"
OUTPUT_DIR = ROOT / "output"
FAILURE_FILE = OUTPUT_DIR / "failure"


class ContractError(Exception):
    """Bad input from the caller (hyperparameters, channels, data): reported, not a crash."""


def read_hyperparameters():
    path = CONFIG_DIR / "hyperparameters.json"
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ContractError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(values, dict):
        raise ContractError(f"{path} must hold a JSON object, not {type(values).__name__}")
    return values


def channel_dir(name):
    """The folder of one input channel; a clear error names the channels that were given."""
    path = DATA_DIR / name
    if not path.is_dir():
        given = sorted(p.name for p in DATA_DIR.iterdir()) if DATA_DIR.is_dir() else []
        raise ContractError(
            f"channel '{name}' is missing: expected files under {path}; channels given: {given or 'none'}"
        )
    return path


def write_failure(message):
    """SageMaker shows this file's text as the training job's FailureReason."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    FAILURE_FILE.write_text(message)
