"""What `train` runs: sagemaker-containers 2.8.6.post2's trainer (installed in the image, AWS's code)
imports SAGEMAKER_TRAINING_MODULE=sagemaker_xgboost_container.training:main, as in the real image.

The toolkit owns the start and the end of the job: it reads /opt/ml/input/config, and it reports a
failure as "framework error: \n" + the whole chained traceback + the message in /opt/ml/output/failure
with exit code 1 (_trainer.py:113-122). main() ends with sys.exit(0) like the real one, and SystemExit
is no Exception, so the toolkit never writes /opt/ml/output/success on this path (_trainer.py:99-101).

Two modes, as src/sagemaker_xgboost_container/training.py on branch 1.7-1:
- framework mode: the hyperparameter sagemaker_program names a script; the toolkit copies
  sagemaker_submit_directory to /opt/ml/code, pip-installs it, and runs it as
  `python -m <script> --<hyperparameter> <value> ...` with the SM_* variables (_modules.run_module);
- algorithm mode: the SM_* variables are written to the environment first, then read in the real
  order: the config files, SM_CHANNEL_TRAIN (a job without a `train` channel stops here with
  KeyError: 'SM_CHANNEL_TRAIN', before any hyperparameter is looked at), SM_CHANNEL_VALIDATION,
  SM_HOSTS, SM_CURRENT_HOST, SM_MODEL_DIR; then algorithm_mode.train.sagemaker_train.
"""
import json
import logging
import os
import platform
import sys

import sagemaker_containers.beta.framework as framework
import xgboost as xgb
from sagemaker_containers import _env

from .algorithm_mode.train import sagemaker_train

log = logging.getLogger(__name__)


def _read_json(variable):
    with open(os.environ[variable]) as handle:
        return json.load(handle)


def run_algorithm_mode():
    train_config = _read_json("SM_INPUT_TRAINING_CONFIG_FILE")
    data_config = _read_json("SM_INPUT_DATA_CONFIG_FILE")
    checkpoint_file = os.environ["SM_CHECKPOINT_CONFIG_FILE"]
    checkpoint_config = _read_json("SM_CHECKPOINT_CONFIG_FILE") if os.path.exists(checkpoint_file) else {}
    train_path = os.environ["SM_CHANNEL_TRAIN"]
    val_path = os.environ.get("SM_CHANNEL_VALIDATION")
    sm_hosts = json.loads(os.environ["SM_HOSTS"])
    sm_current_host = os.environ["SM_CURRENT_HOST"]
    sagemaker_train(train_config=train_config, data_config=data_config, train_path=train_path, val_path=val_path,
                    model_dir=os.environ.get("SM_MODEL_DIR"), sm_hosts=sm_hosts, sm_current_host=sm_current_host,
                    checkpoint_config=checkpoint_config)


def train(training_environment):
    if training_environment.user_entry_point is not None:
        log.info("Invoking user training script.")
        framework.modules.run_module(training_environment.module_dir, training_environment.to_cmd_args(),
                                     training_environment.to_env_vars(), training_environment.module_name,
                                     capture_error=False)
    else:
        log.info("Running XGBoost Sagemaker in algorithm mode")
        _env.write_env_vars(training_environment.to_env_vars())
        run_algorithm_mode()


def main():
    log.info("Local twin of sagemaker-xgboost:1.7-1 (not AWS's image): XGBoost %s, Python %s",
             xgb.__version__, platform.python_version())
    train(framework.training_env())
    sys.exit(0)
