"""Serving hooks for the Gluon classifier of train.py, in the MXNet inference toolkit's contract (LEGACY).

The container imports this file from code/ in the model archive: model_fn(model_dir) at start-up, then per
request input_fn(body, content_type) -> predict_fn(data, model) -> output_fn(prediction, accept). The MXNet
toolkit (sagemaker-inference 1.6.1) calls each hook with exactly these arguments: no trailing `context`.
With defaults_only/inference.py instead, the toolkit's defaults load the same three model files as an MXNet
Module and answer raw class scores; these hooks answer a label and its probabilities.

Errors: the toolkit answers with a status of your choosing only for its own error class,
sagemaker_inference.errors.BaseInferenceToolkitError (sagemaker-inference v1.6.1 transformer.py:140-149);
every other exception becomes a 500 whose body is the message and the traceback. So the requests these hooks
refuse raise GenericInferenceToolkitError with a 4xx. sagemaker_inference is installed in the MXNet inference
container (not on your machine).
"""
import io
import json
import os

import mxnet as mx
import numpy as np
from sagemaker_inference.errors import GenericInferenceToolkitError


def bad_request(message):
    return GenericInferenceToolkitError(400, message)


def model_fn(model_dir):
    """The exported graph and weights as a Gluon block; model-shapes.json gives the number of features.
    The toolkit calls it twice at start-up: once to see what kind of model it is, once to serve it."""
    net = mx.gluon.nn.SymbolBlock.imports(os.path.join(model_dir, "model-symbol.json"), ["data"],
                                          os.path.join(model_dir, "model-0000.params"), ctx=mx.cpu())
    with open(os.path.join(model_dir, "model-shapes.json")) as f:
        net.features = json.load(f)[0]["shape"][1]
    return net


def input_fn(body, content_type):
    """text/csv rows of feature values, or application/json {"instances": [[...], ...]} (or a bare list)."""
    if content_type not in ("text/csv", "application/json"):
        raise GenericInferenceToolkitError(415, f"unsupported content type {content_type!r}: send text/csv or "
                                                "application/json")
    try:
        if content_type == "text/csv":
            rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
        else:
            payload = json.loads(body)
            rows = np.asarray(payload["instances"] if isinstance(payload, dict) else payload, dtype=float)
    except (ValueError, KeyError, TypeError) as err:
        raise bad_request(f"cannot read the {content_type} body as rows of numbers: {err}") from None
    return mx.nd.array(np.atleast_2d(rows), ctx=mx.cpu())


def predict_fn(data, model):
    if data.ndim != 2 or data.shape[1] != model.features:
        raise bad_request(f"each row needs {model.features} values, got shape {list(data.shape)}")
    return mx.nd.softmax(model(data), axis=1).asnumpy()


def output_fn(prediction, accept):
    """JSON: the predicted class and the class probabilities per row (CSV: the classes, one per line)."""
    labels = prediction.argmax(axis=1).tolist()
    if accept == "text/csv":
        return "\n".join(map(str, labels)) + "\n", "text/csv"
    return json.dumps({"predictions": [{"label": label, "probabilities": [round(float(p), 4) for p in row]}
                                       for label, row in zip(labels, prediction)]}), "application/json"
