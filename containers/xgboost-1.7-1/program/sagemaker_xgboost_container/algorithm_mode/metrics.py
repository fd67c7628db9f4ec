"""Evaluation metrics: which ones XGBoost computes itself and which ones the algorithm adds.

Follows, on branch 1.7-1 of github.com/aws/sagemaker-xgboost-container:
- src/sagemaker_xgboost_container/metrics/custom_metrics.py: fifteen metrics the container computes
  itself (accuracy, f1, r2, ... and also mse, rmse, mae), from the raw margins XGBoost hands a custom
  metric (class = margin > 0, or the arg-max for several classes);
- src/sagemaker_xgboost_container/algorithm_mode/train_utils.py (get_eval_metrics_and_feval): the
  tuning objective metric ("validation:auc" -> "auc") joins eval_metric, the container's own metrics
  go to XGBoost as one `feval` function, the rest stay in eval_metric.
XGBoost prints a feval result after its own metrics, so per round the line reads e.g.
"[3]\ttrain-logloss:0.41\ttrain-accuracy:0.91\tvalidation-logloss:...".
Here the metrics are computed with numpy (the real image uses scikit-learn 0.24; the formulas are the same).
"""
import numpy as np


def _class_labels(margins):
    margins = np.asarray(margins)
    return np.argmax(margins, axis=-1) if margins.ndim > 1 else (margins > 0.0).astype(int)


def _counts(labels, predicted):
    classes = np.union1d(np.unique(labels), np.unique(predicted))
    tp = np.array([np.sum((predicted == c) & (labels == c)) for c in classes], dtype=float)
    predicted_n = np.array([np.sum(predicted == c) for c in classes], dtype=float)
    true_n = np.array([np.sum(labels == c) for c in classes], dtype=float)
    return classes, tp, predicted_n, true_n


def _divide(a, b):
    """a / b, 0 where b is 0 (scikit-learn's zero_division default, without its warning)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _binary_classes(classes):
    # The same words as scikit-learn's errors; the real image reports the first one as a UserError.
    if len(classes) > 2:
        raise ValueError("Target is multiclass but average='binary'. Please choose another average setting, "
                         "one of [None, 'micro', 'macro', 'weighted'].")
    if not set(classes.tolist()) <= {0, 1}:
        raise ValueError(f"pos_label=1 is not a valid label. It should be one of {classes.tolist()}")


def _precision_recall_f1(labels, predicted, average):
    classes, tp, predicted_n, true_n = _counts(labels, predicted)
    if average == "binary":
        _binary_classes(classes)
        positive = classes == 1
        tp, predicted_n, true_n = tp[positive].sum(), predicted_n[positive].sum(), true_n[positive].sum()
    elif average == "micro":
        tp, predicted_n, true_n = tp.sum(), predicted_n.sum(), true_n.sum()
    precision = _divide(tp, predicted_n)
    recall = _divide(tp, true_n)
    f1 = _divide(2 * tp, predicted_n + true_n)
    if average == "macro":
        return precision.mean(), recall.mean(), f1.mean()
    return float(precision), float(recall), float(f1)


def _classification(name, score):
    def metric(margins, dmatrix):
        margins = np.asarray(margins)
        if margins.size == 0:
            return name, 0.0
        return name, float(score(dmatrix.get_label(), _class_labels(margins)))
    return metric


def _regression(name, score):
    def metric(margins, dmatrix):
        return name, float(score(dmatrix.get_label(), np.asarray(margins, dtype=float)))
    return metric


def _balanced_accuracy(labels, predicted):
    classes = np.unique(labels)  # classes only predicted, never true, do not count
    return np.mean([np.mean(predicted[labels == c] == c) for c in classes])


def _r2(labels, predicted):
    residual = np.sum((labels - predicted) ** 2)
    total = np.sum((labels - np.mean(labels)) ** 2)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1 - residual / total


CUSTOM_METRICS = {
    "accuracy": _classification("accuracy", lambda y, p: np.mean(y == p)),
    "balanced_accuracy": _classification("balanced_accuracy", _balanced_accuracy),
    "f1": _classification("f1", lambda y, p: _precision_recall_f1(y, p, "macro")[2]),
    "f1_binary": _classification("f1_binary", lambda y, p: _precision_recall_f1(y, p, "binary")[2]),
    "f1_macro": _classification("f1_macro", lambda y, p: _precision_recall_f1(y, p, "macro")[2]),
    "mse": _regression("mse", lambda y, p: np.mean((y - p) ** 2)),
    "rmse": _regression("rmse", lambda y, p: np.sqrt(np.mean((y - p) ** 2))),
    "mae": _regression("mae", lambda y, p: np.mean(np.abs(y - p))),
    "precision": _classification("precision", lambda y, p: _precision_recall_f1(y, p, "binary")[0]),
    "precision_macro": _classification("precision_macro", lambda y, p: _precision_recall_f1(y, p, "macro")[0]),
    "precision_micro": _classification("precision_micro", lambda y, p: _precision_recall_f1(y, p, "micro")[0]),
    "r2": _regression("r2", _r2),
    "recall": _classification("recall", lambda y, p: _precision_recall_f1(y, p, "binary")[1]),
    "recall_macro": _classification("recall_macro", lambda y, p: _precision_recall_f1(y, p, "macro")[1]),
    "recall_micro": _classification("recall_micro", lambda y, p: _precision_recall_f1(y, p, "micro")[1]),
}


def configure(tuning_objective_metric, eval_metric):
    """-> (metrics left for XGBoost's eval_metric or None, feval function or None, tuning metric names or None)."""
    tuning = tuning_objective_metric.split(":")[1].split(",") if tuning_objective_metric else None
    if tuning is None or eval_metric is None:
        union = tuning if eval_metric is None else eval_metric
    else:
        union = sorted(set(tuning) | set(eval_metric))
    if union is None:
        return None, None, tuning
    custom = [name for name in union if name in CUSTOM_METRICS]
    native = [name for name in union if name not in custom]

    def feval(margins, dmatrix):
        return [CUSTOM_METRICS[name](margins, dmatrix) for name in custom]

    return native, (feval if custom else None), tuning
