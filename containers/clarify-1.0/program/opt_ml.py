"""Where a SageMaker processing job puts the Clarify job's inputs and picks up its outputs.

- /opt/ml/processing/input/config/analysis_config.json and /opt/ml/processing/input/data: the inputs
  the SDK's SageMakerClarifyProcessor mounts (`analysis_config` and `dataset`);
- /opt/ml/processing/output: uploaded as `analysis_result`;
- /opt/ml/output/message: the first 1 KB becomes the job's ExitMessage, "for failed processing jobs, you
  can use this field to communicate why the processing container failed"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html#byoc-metadata).

- /opt/ml/config/resourceconfig.json: {"current_host": "algo-1", "hosts": ["algo-1", ...]}, one host per
  instance of the job (same page, "How Amazon SageMaker Processing Configures Your Processing Container").

CLARIFY_PROCESSING_DIR, CLARIFY_MESSAGE_FILE and CLARIFY_RESOURCE_CONFIG move them, for tests that run the
program outside a container; SageMaker never sets them.
"""
import os
from pathlib import Path


def processing_dir():
    return Path(os.environ.get("CLARIFY_PROCESSING_DIR", "/opt/ml/processing"))


def config_file():
    return processing_dir() / "input" / "config" / "analysis_config.json"


def data_dir():
    return processing_dir() / "input" / "data"


def output_dir():
    return processing_dir() / "output"


def message_file():
    return Path(os.environ.get("CLARIFY_MESSAGE_FILE", "/opt/ml/output/message"))


def resource_config_file():
    return Path(os.environ.get("CLARIFY_RESOURCE_CONFIG", "/opt/ml/config/resourceconfig.json"))
