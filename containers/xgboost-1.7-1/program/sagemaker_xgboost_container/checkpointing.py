"""What users' scripts import from the real image's sagemaker_xgboost_container.checkpointing, written
for the twin: train(train_args, checkpoint_dir), load_checkpoint(checkpoint_dir), save_checkpoint(...).

The contract of the real script-mode helpers (checkpointing.py on branch 1.7-1): after every round the
model is saved atomically as CHECKPOINT_DIR/xgboost-checkpoint.<round> (the last max_to_keep kept);
train() resumes from the newest such file, starting at its round + 1 and running only the rounds left
of train_args["num_boost_round"] (XGBoost's default 10).
"""
import logging
import os
import re
import tempfile

import xgboost as xgb

CHECKPOINT_FILENAME = "xgboost-checkpoint"
TEMP_FILE_SUFFIX = ".sagemaker-ignore"


def _checkpoints(checkpoint_dir):
    pattern = re.compile(rf"^{CHECKPOINT_FILENAME}\.([0-9]+)$")
    found = [(int(m.group(1)), name) for name in os.listdir(checkpoint_dir) if (m := pattern.match(name))]
    return sorted(found)


def load_checkpoint(checkpoint_dir, max_try=5):
    """(path of the newest checkpoint or None, the round to start from)."""
    if not checkpoint_dir or not os.path.exists(checkpoint_dir):
        return None, 0
    found = _checkpoints(checkpoint_dir)
    if not found:
        return None, 0
    number, name = found[-1]
    return os.path.join(checkpoint_dir, name), number + 1


class SaveCheckpointCallBack(xgb.callback.TrainingCallback):
    def __init__(self, checkpoint_dir, start_iteration=0, max_to_keep=5):
        super().__init__()
        self.checkpoint_dir, self.start_iteration, self.max_to_keep = checkpoint_dir, start_iteration, max_to_keep
        os.makedirs(checkpoint_dir, exist_ok=True)

    def after_iteration(self, model, epoch, evals_log):
        number = self.start_iteration + epoch
        with tempfile.NamedTemporaryFile(dir=self.checkpoint_dir, suffix=TEMP_FILE_SUFFIX, delete=False) as handle:
            model.save_model(handle.name)
        os.rename(handle.name, os.path.join(self.checkpoint_dir, f"{CHECKPOINT_FILENAME}.{number}"))
        for old, name in _checkpoints(self.checkpoint_dir):
            if old <= number - self.max_to_keep:
                os.remove(os.path.join(self.checkpoint_dir, name))
        return False


def save_checkpoint(checkpoint_dir, start_iteration=0, max_to_keep=5, num_round=None, rank=0, iteration=0,
                    end_iteration=None):
    return SaveCheckpointCallBack(checkpoint_dir, start_iteration=start_iteration, max_to_keep=max_to_keep)


def train(train_args, checkpoint_dir):
    """xgb.train(**train_args), resumed from and saving to CHECKPOINT_DIR."""
    train_args = dict(train_args)
    xgb_model, start_iteration = load_checkpoint(checkpoint_dir)
    train_args["num_boost_round"] = train_args.get("num_boost_round", 10) - start_iteration
    if xgb_model is not None:
        logging.info("Checkpoint loaded from %s", xgb_model)
        logging.info("Resuming from iteration %s", start_iteration)
    callbacks = list(train_args.get("callbacks") or [])
    callbacks.append(save_checkpoint(checkpoint_dir, start_iteration=start_iteration))
    train_args.update(callbacks=callbacks, xgb_model=xgb_model)
    return xgb.train(**train_args)
