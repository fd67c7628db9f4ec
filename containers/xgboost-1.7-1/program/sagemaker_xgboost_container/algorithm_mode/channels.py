"""Channel validation: which input channels a training job may have, and in what configuration.

Follows, on branch 1.7-1 of github.com/aws/sagemaker-xgboost-container,
src/sagemaker_xgboost_container/algorithm_mode/channel_validation.py and
src/sagemaker_algorithm_toolkit/channel_validation.py:
- `train` is required, `validation` optional, `code` optional (text/python, File, FullyReplicated); in a
  job the "Missing required channel: train" check is never reached: ../training.py reads
  SM_CHANNEL_TRAIN first and stops with KeyError, as the real image does;
- any other channel: "Extraneous channel found: NAME";
- a channel without ContentType gets text/libsvm;
- (ContentType, TrainingInputMode, S3DistributionType) must be one of the supported triples, compared
  as exact strings, otherwise "Channel configuration for 'NAME' channel is not supported: {...}".
  So in a training channel `text/csv` is accepted but `text/csv;label_size=1` is not.

One deliberate difference: SageMaker itself always writes TrainingInputMode and S3DistributionType,
but SDK local mode writes no S3DistributionType. The real image then stops with KeyError:
'S3DistributionType' (github.com/aws/sagemaker-xgboost-container/issues/155); the twin takes the
missing values as File and FullyReplicated, so the same notebook runs in local mode.
"""
from .content_types import VALID, VALID_PIPED
from .errors import UserError

FILE, PIPE = "File", "Pipe"
DISTRIBUTIONS = ("ShardedByS3Key", "FullyReplicated")
DEFAULT_CONTENT_TYPE = "text/libsvm"


def _supported():
    data = {(ct, FILE, dist) for ct in VALID for dist in DISTRIBUTIONS}
    data |= {(ct, PIPE, dist) for ct in VALID_PIPED for dist in DISTRIBUTIONS}
    return {"train": (True, data), "validation": (False, data),
            "code": (False, {("text/python", FILE, "FullyReplicated")})}


CHANNELS = _supported()


def validate(config):
    """inputdataconfig.json's object -> the same with defaults filled in, or a UserError."""
    for name, (required, _) in CHANNELS.items():
        if required and name not in config:
            raise UserError(f"Missing required channel: {name}")
    validated = {}
    for name, value in config.items():
        if name not in CHANNELS:
            raise UserError(f"Extraneous channel found: {name}")
        if not isinstance(value, dict):
            raise UserError(f"Channel configuration for '{name}' channel must be a JSON object: {value!r}")
        value = dict(value)
        value.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
        value.setdefault("TrainingInputMode", FILE)
        value.setdefault("S3DistributionType", "FullyReplicated")
        key = (value["ContentType"], value["TrainingInputMode"], value["S3DistributionType"])
        if key not in CHANNELS[name][1]:
            raise UserError(f"Channel configuration for '{name}' channel is not supported: {value}")
        validated[name] = value
    return validated
