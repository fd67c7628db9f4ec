"""Serving hooks for the digit model, in the PyTorch inference toolkit's contract.

The container imports this file from code/ in the model archive and calls, per request:
input_fn(body, content_type) -> predict_fn(data, model) -> output_fn(prediction, accept);
model_fn(model_dir) once at start-up.

Errors: AWS's toolkit answers with a status of your choosing only for its own error class,
sagemaker_inference.errors.BaseInferenceToolkitError (sagemaker-pytorch-inference-toolkit
src/sagemaker_inference/transformer.py: `except Exception` -> `isinstance(e, BaseInferenceToolkitError)`);
every other exception becomes a 500 whose body is the message and the traceback. So the requests these hooks
refuse raise GenericInferenceToolkitError with a 4xx, and anything else they did not foresee is a 500.
sagemaker_inference comes with the PyTorch inference toolkit inside the container (not on your machine).
"""
import io
import json
import os

import numpy as np
import torch
from sagemaker_inference.errors import GenericInferenceToolkitError

from model import DigitNet


def bad_request(message):
    return GenericInferenceToolkitError(400, message)


def model_fn(model_dir):
    shape = json.loads(open(os.path.join(model_dir, "model.json")).read())
    model = DigitNet(shape["features"], shape["hidden"], shape["classes"])
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu"))
    model.features = shape["features"]
    return model.eval()


def input_fn(body, content_type):
    """text/csv rows of 64 pixel values, or application/json {"instances": [[...], ...]}."""
    if content_type not in ("text/csv", "application/json"):
        raise GenericInferenceToolkitError(415, f"unsupported content type {content_type!r}: send text/csv or "
                                                "application/json")
    if content_type == "text/csv":
        try:
            rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
        except ValueError as err:
            raise bad_request(f"cannot read the CSV body as rows of numbers: {err}") from None
    else:
        # Not caught on purpose: a body that is not JSON raises json.JSONDecodeError, a plain exception, and
        # the lab shows what the container answers to that (500).
        payload = json.loads(body)
        if not isinstance(payload, dict) or "instances" not in payload:
            raise bad_request('send JSON {"instances": [[64 pixel values], ...]}')
        try:
            rows = np.asarray(payload["instances"], dtype=float)
        except (ValueError, TypeError) as err:
            raise bad_request(f"the instances are not rows of numbers: {err}") from None
    return torch.tensor(np.atleast_2d(rows), dtype=torch.float32)


def predict_fn(data, model):
    if data.ndim != 2 or data.shape[1] != model.features:
        raise bad_request(f"each row needs {model.features} values, got {data.shape[-1]}")
    with torch.no_grad():
        return torch.softmax(model(data), dim=1)


def output_fn(prediction, accept):
    """JSON: the predicted digit and its probability per row (CSV: the digits, one per line)."""
    labels = prediction.argmax(1).tolist()
    if accept == "text/csv":
        return "\n".join(map(str, labels)) + "\n", "text/csv"
    return json.dumps({"predictions": [{"label": label, "probability": round(float(p[label]), 4)}
                                       for label, p in zip(labels, prediction)]}), "application/json"
