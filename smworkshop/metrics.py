"""Per-round metrics from a training log, read the same way in local mode (container output) and on AWS
(CloudWatch Logs).

XGBoost prints one line per boosting round, `[12]\ttrain-auc:0.91234\tvalidation-auc:0.90123`
(xgboost 1.7 callback.py, EvaluationMonitor). CloudWatch shows the TAB as `#011`, which is why the
built-in container's own metric definitions look for `#011validation-auc:`; the patterns here accept both.
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


def metric_definition(name):
    """A MetricDefinitions entry for `validation:auc`-style NAME that matches local and CloudWatch logs."""
    data, metric = name.split(":", 1)
    return {"Name": name, "Regex": rf".*\[[0-9]+\].*(?:\t|#011){re.escape(data)}-{re.escape(metric)}:([-0-9.eE+]+)"}
