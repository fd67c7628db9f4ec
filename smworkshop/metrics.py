"""Per-round metrics from a training log, read the same way in local mode (container output) and on AWS
(CloudWatch Logs).

XGBoost prints one line per boosting round, `[12]\ttrain-auc:0.91234\tvalidation-auc:0.90123`
(xgboost 1.7 callback.py, EvaluationMonitor). CloudWatch shows the TAB as `#011`, which is why the
built-in container's own metric definitions look for `#011validation-auc:`; the patterns here accept both.

The labs' own training scripts (script mode) print one line per epoch instead,
`epoch=3 train_loss=0.4121 validation_loss=0.3904 validation_accuracy=0.9021`: per_epoch reads those.
"""
import re

import pandas as pd

# Anywhere in the line: local mode prefixes each line with docker-compose's coloured `algo-1_1  | `.
_ROUND = re.compile(r"\[(\d+)\]((?:(?:\t|#011)[\w.@]+-[\w.@-]+:[^\s#]+)+)")
_PAIR = re.compile(r"(?:\t|#011)([\w.@]+)-([\w.@-]+):([^\s#]+)")


def per_round(log_text):
    """A DataFrame with one row per round and a column per `<data>:<metric>` (e.g. `validation:auc`)."""
    rows = {}
    for line in log_text.splitlines():
        match = _ROUND.search(line)
        pairs = _PAIR.findall(match.group(2)) if match else []
        if pairs:
            rows.setdefault(int(match.group(1)), {}).update({f"{d}:{m}": float(v) for d, m, v in pairs})
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.name = "round"
    return frame


_EPOCH = re.compile(r"\bepoch=(\d+)((?:\s+\w+=[-+0-9.eE]+|\s+\w+=nan)+)")
_KEY_VALUE = re.compile(r"(\w+)=([-+0-9.eE]+|nan)")


def per_epoch(log_text):
    """A DataFrame with one row per epoch and a column per key of the `epoch=N key=value ...` lines."""
    rows = {}
    for line in log_text.splitlines():
        match = _EPOCH.search(line)
        if match:
            rows.setdefault(int(match.group(1)), {}).update(
                {key: float(value) for key, value in _KEY_VALUE.findall(match.group(2))})
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.name = "epoch"
    return frame


def metric_definition(name):
    """A MetricDefinitions entry for `validation:auc`-style NAME that matches local and CloudWatch logs."""
    data, metric = name.split(":", 1)
    return {"Name": name, "Regex": rf".*\[[0-9]+\].*(?:\t|#011){re.escape(data)}-{re.escape(metric)}:([-0-9.eE+]+)"}
