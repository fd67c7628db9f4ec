"""Serving hooks for the Gluon classifier of train.py, in the MXNet inference toolkit's contract (LEGACY).

The container imports this file from code/ in the model archive and calls model_fn(model_dir) once at
start-up, then per request: input_fn(body, content_type) -> predict_fn(data, model) -> output_fn(prediction,
accept). Without this file the container's defaults would serve the same three model files as an MXNet
Module and answer raw class scores; these hooks answer a label and its probabilities instead. A request a hook
cannot read raises an error with a `status_code` (as the inference toolkit's own errors have), so the caller
gets a 4xx and a message instead of a 500.
"""
import io
import json
import os

import mxnet as mx
import numpy as np


class BadRequest(ValueError):
    status_code = 400


class UnsupportedMediaType(ValueError):
    status_code = 415


def model_fn(model_dir):
    """The exported graph and weights as a Gluon block; model-shapes.json gives the number of features."""
    net = mx.gluon.nn.SymbolBlock.imports(os.path.join(model_dir, "model-symbol.json"), ["data"],
                                          os.path.join(model_dir, "model-0000.params"), ctx=mx.cpu())
    with open(os.path.join(model_dir, "model-shapes.json")) as f:
        net.features = json.load(f)[0]["shape"][1]
    return net


def input_fn(body, content_type):
    """text/csv rows of feature values, or application/json {"instances": [[...], ...]} (or a bare list)."""
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
    return mx.nd.array(np.atleast_2d(rows), ctx=mx.cpu())


def predict_fn(data, model):
    if data.ndim != 2 or data.shape[1] != model.features:
        raise BadRequest(f"each row needs {model.features} values, got shape {list(data.shape)}")
    return mx.nd.softmax(model(data), axis=1).asnumpy()


def output_fn(prediction, accept):
    """JSON: the predicted class and the class probabilities per row (CSV: the classes, one per line)."""
    labels = prediction.argmax(axis=1).tolist()
    if accept == "text/csv":
        return "\n".join(map(str, labels)) + "\n", "text/csv"
    return json.dumps({"predictions": [{"label": label, "probabilities": [round(float(p), 4) for p in row]}
                                       for label, row in zip(labels, prediction)]}), "application/json"
