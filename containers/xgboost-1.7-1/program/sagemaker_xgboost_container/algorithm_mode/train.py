"""A training job of the built-in algorithm: validate, read the channels, train, save the model.

Follows, on branch 1.7-1 of github.com/aws/sagemaker-xgboost-container,
src/sagemaker_xgboost_container/algorithm_mode/train.py (sagemaker_train, train_job) and
src/sagemaker_xgboost_container/callback.py (get_callbacks):
- hyperparameters are validated first, then the channels; the train channel's content type is used
  for the validation channel too;
- the watchlist is [(train, "train"), (validation, "validation")], and xgb.train runs with
  verbose_eval=False plus XGBoost's EvaluationMonitor, which prints one line per round:
  "[0]\ttrain-rmse:1.66202\tvalidation-rmse:1.66202" (xgboost 1.7 callback.py);
- early stopping needs early_stopping_rounds, a validation channel and a metric (the last one of the
  tuning objective metric, else of eval_metric; without either there is no early stopping at all); it
  keeps the best model (save_best=True) and maximises the metrics that grow when better;
- XGBoost errors that name a known user mistake are UserErrors, the rest "XGB train call failed ...";
- the model is saved with Booster.save_model to MODEL_DIR/xgboost-model, a name without extension,
  so XGBoost 1.7 writes its legacy binary format.
How the job starts and ends (the SM_* variables, the failure file, the exit code, no success file) is
sagemaker-containers' own code, installed in the image: see ../training.py.
"""
import logging
import os
import signal
import warnings
from pathlib import Path

import xgboost as xgb

from . import channels
from . import data
from . import hyperparameters
from . import metrics
from .content_types import get_content_type
from .errors import AlgorithmError, UserError, short_message

log = logging.getLogger("xgboost-twin")
MODEL_NAME = "xgboost-model"
# constants/xgb_constants.py: XGBoost messages that mean the caller's data or settings are wrong.
CUSTOMER_ERRORS = [
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
]


def sagemaker_train(train_config, data_config, train_path, val_path, model_dir, sm_hosts, sm_current_host,
                    checkpoint_config):
    """The real sagemaker_train's signature: the raw hyperparameters.json and inputdataconfig.json objects,
    the channel folders from SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, SM_MODEL_DIR, SM_HOSTS."""
    config = hyperparameters.validate(train_config)
    if config.get("updater"):
        config["updater"] = ",".join(config["updater"])
    data_config = channels.validate(data_config)
    # What the twin does not do: each refusal says so instead of training something different.
    if "_kfold" in config:
        raise UserError("k-fold cross-validation (_kfold) is not implemented by this local twin")
    if config.pop("use_dask_gpu_training", "false") == "true":
        raise UserError("Dask GPU training is not implemented by this local twin (it has no GPU)")
    if len(sm_hosts) > 1:
        raise UserError(f"This local twin trains on one host only; the job has {len(sm_hosts)}: {sm_hosts}")
    if data_config["train"]["TrainingInputMode"] == channels.PIPE:
        raise UserError("Pipe mode is not implemented by this local twin: use File mode")
    if checkpoint_config.get("LocalPath"):
        log.warning("A checkpoint location is configured; this local twin writes no checkpoints")

    content_type = get_content_type(data_config["train"].get("ContentType"))
    train_path = Path(train_path)
    val_path = Path(val_path) if val_path else None
    train_size = data.size(train_path)
    val_size = data.size(val_path) if val_path else 0
    if train_size:
        data.validate_first_lines(train_path, content_type)
    if val_size:
        data.validate_first_lines(val_path, content_type)
    if val_path and train_size and val_size:
        _warn_if_same_files(train_path, val_path)

    csv_weights = config.get("csv_weights", 0)
    train_matrix = data.dmatrix(train_path, content_type, csv_weights) if train_size else None
    val_matrix = data.dmatrix(val_path, content_type, csv_weights) if val_size else None
    if train_matrix is None:
        raise UserError(f"No data in training channel path {train_path}")
    if val_path and val_matrix is None:
        raise UserError(f"No data in validation channel path {val_path}")
    booster = fit(config, train_matrix, val_matrix, model_dir)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / MODEL_NAME))
    log.info("Stored trained model at %s", model_dir / MODEL_NAME)


def _warn_if_same_files(train_path, val_path):
    train_files = {(p.relative_to(train_path), p.stat().st_size) for p in data.files(train_path)}
    for path in data.files(val_path):
        if (path.relative_to(val_path), path.stat().st_size) in train_files:
            log.warning("Suspected identical files found in %s and %s with same size %d bytes. Note: Duplicate "
                        "data in the training set and validation set is usually not intentional and can "
                        "impair the validity of the model evaluation by the validation score.",
                        train_path / path.relative_to(val_path), path, path.stat().st_size)


def fit(config, train_matrix, val_matrix, model_dir=None):
    """xgb.train with the algorithm's callbacks; returns the booster (the best one after early stopping)."""
    config = dict(config)
    num_round = config.pop("num_round")
    save_on_termination = config.pop("save_model_on_termination", "false")
    eval_metric = config.get("eval_metric")
    native, feval, tuning = metrics.configure(config.pop("_tuning_objective_metric", None), eval_metric)
    if native:
        config["eval_metric"] = native
    else:
        config.pop("eval_metric", None)
    early_stopping_rounds = config.pop("early_stopping_rounds", None)
    stop_metric = (tuning or eval_metric or [None])[-1] if early_stopping_rounds else None

    log.info("Train matrix has %d rows and %d columns", train_matrix.num_row(), train_matrix.num_col())
    watchlist = [(train_matrix, "train")]
    if val_matrix is not None:
        log.info("Validation matrix has %d rows", val_matrix.num_row())
        watchlist.append((val_matrix, "validation"))

    callbacks = [xgb.callback.EvaluationMonitor()]
    if save_on_termination == "true":
        callbacks.append(SaveEachRound(Path(model_dir)))
        signal.signal(signal.SIGTERM, lambda signo, frame: os._exit(0))
    if val_matrix is not None and stop_metric and early_stopping_rounds:
        callbacks.append(xgb.callback.EarlyStopping(
            rounds=early_stopping_rounds, data_name="validation", metric_name=stop_metric,
            maximize=stop_metric in hyperparameters.MAXIMIZE_METRICS, save_best=True))
    try:
        with warnings.catch_warnings():
            # feval is deprecated in XGBoost 1.7 but is what the algorithm uses: it passes raw margins.
            warnings.filterwarnings("ignore", message=".*feval.*", category=UserWarning)
            return xgb.train(config, train_matrix, num_boost_round=num_round, evals=watchlist, feval=feval,
                             callbacks=callbacks, verbose_eval=False)
    except Exception as err:  # noqa: BLE001
        message = short_message(err)
        if any(known in str(err) for known in CUSTOMER_ERRORS):
            raise UserError(message) from None
        raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from None


class SaveEachRound(xgb.callback.TrainingCallback):
    """save_model_on_termination=true: the model so far is in the model folder after every round."""

    def __init__(self, model_dir):
        super().__init__()
        self.model_dir = model_dir

    def after_iteration(self, model, epoch, evals_log):
        self.model_dir.mkdir(parents=True, exist_ok=True)
        model.save_model(str(self.model_dir / MODEL_NAME))
        return False
