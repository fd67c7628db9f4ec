"""Serving hooks for the digit model, in the PyTorch inference toolkit's contract.

The container imports this file from code/ in the model archive and calls, per request:
input_fn(body, content_type) -> predict_fn(data, model) -> output_fn(prediction, accept);
model_fn(model_dir) once at start-up. A request a hook cannot read raises an error with a `status_code`
(as the inference toolkit's own errors have), so the caller gets a 4xx and a message instead of a 500.
"""
import io
import json
import os

import numpy as np
import torch

from model import DigitNet


class BadRequest(ValueError):
    status_code = 400


class UnsupportedMediaType(ValueError):
    status_code = 415


def model_fn(model_dir):
    shape = json.loads(open(os.path.join(model_dir, "model.json")).read())
    model = DigitNet(shape["features"], shape["hidden"], shape["classes"])
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu"))
    model.features = shape["features"]
    return model.eval()


def input_fn(body, content_type):
    """text/csv rows of 64 pixel values, or application/json {"instances": [[...], ...]}."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type not in ("text/csv", "application/json"):
        raise UnsupportedMediaType(f"unsupported content type {content_type!r}: send text/csv or application/json")
    try:
        if content_type == "text/csv":
            rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
        else:
            payload = json.loads(body)
            rows = np.asarray(payload["instances"] if isinstance(payload, dict) else payload, dtype=float)
    except (ValueError, KeyError, TypeError) as err:
        raise BadRequest(f"cannot read the {content_type} body as rows of numbers: {err}") from None
    return torch.tensor(np.atleast_2d(rows), dtype=torch.float32)


def predict_fn(data, model):
    if data.shape[1] != model.features:
        raise BadRequest(f"each row needs {model.features} values, got {data.shape[1]}")
    with torch.no_grad():
        return torch.softmax(model(data), dim=1)


def output_fn(prediction, accept):
    """JSON: the predicted digit and its probability per row (CSV: the digits, one per line)."""
    labels = prediction.argmax(1).tolist()
    if accept == "text/csv":
        return "\n".join(map(str, labels)) + "\n", "text/csv"
    return json.dumps({"predictions": [{"label": label, "probability": round(float(p[label]), 4)}
                                       for label, p in zip(labels, prediction)]}), "application/json"
