"""Serving code for the digit classifier, version 2: same model, a richer answer.

Adds the confidence, the three most likely labels and the code version, without retraining: only
this file changes, packed into a new model.tar.gz next to the same model.pt.
"""
import json

from digit_io import input_fn, model_fn, predict_fn, require_json  # noqa: F401 (hooks found by name)

CODE_VERSION = "2"


def output_fn(probabilities, accept):
    require_json(accept)
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    answer = {"label": ranked[0][0], "confidence": round(ranked[0][1], 6),
              "top3": [{"label": label, "probability": round(p, 6)} for label, p in ranked[:3]],
              "code_version": CODE_VERSION}
    return json.dumps(answer), "application/json"
