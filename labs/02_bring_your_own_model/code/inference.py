"""Serving code for the digit classifier, version 1: the predicted label and every class probability.

SageMaker's PyTorch serving contract looks up these four functions by name in code/inference.py.
"""
import json

from digit_io import input_fn, model_fn, predict_fn, require_json  # noqa: F401 (hooks found by name)


def output_fn(probabilities, accept):
    require_json(accept)
    label = max(probabilities, key=probabilities.get)
    answer = {"label": label, "probabilities": {k: round(v, 6) for k, v in probabilities.items()}}
    return json.dumps(answer), "application/json"
