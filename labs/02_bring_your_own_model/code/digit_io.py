"""Shared by both versions of this model's serving code: loading, decoding requests, predicting.

The hooks follow SageMaker's PyTorch inference contract (model_fn, input_fn, predict_fn; output_fn is
in inference.py). Errors meant for the caller carry `status_code`: this lab's own container
(containers/pytorch-byom-inference) answers with any exception's integer `status_code`. That is its own
rule, not AWS's: AWS's inference toolkit honours a status only for its own error class,
sagemaker_inference.errors.BaseInferenceToolkitError, and answers 500 to everything else (Lab 03a).
"""
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = ("application/x-image", "image/png", "image/jpeg")


class RequestError(Exception):
    def __init__(self, message, status_code=400):
        super().__init__(message)
        self.status_code = status_code


def model_fn(model_dir):
    """The TorchScript model and its label map, as the training side exported them."""
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "labels.json").read_text())
    model = torch.jit.load(str(model_dir / "model.pt"), map_location="cpu").eval()
    return {"model": model, "labels": meta["labels"], "image_size": meta["image_size"]}


def input_fn(body, content_type):
    """PNG/JPEG bytes, or JSON {"pixels": [[...], ...]} with grey values in [0, 1], to a grey image."""
    if content_type in IMAGE_TYPES:
        try:
            image = Image.open(io.BytesIO(body))
            image.load()
        except (UnidentifiedImageError, OSError) as err:
            raise RequestError(f"could not decode the image ({type(err).__name__}): send PNG or JPEG bytes") from None
        return image.convert("L")
    if content_type == "application/json":
        try:
            pixels = np.asarray(json.loads(body)["pixels"], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as err:
            raise RequestError(f'send JSON like {{"pixels": [[0.0, 0.5, ...], ...]}}: {err}') from None
        if pixels.ndim != 2 or pixels.size == 0 or not np.all((pixels >= 0) & (pixels <= 1)):
            raise RequestError("pixels must be a non-empty 2-D list of grey values between 0 and 1")
        return Image.fromarray(np.uint8(np.round(pixels * 255)))  # 2-D uint8: a grey image
    raise RequestError(f"unsupported content type {content_type!r}: send {', '.join(IMAGE_TYPES)} "
                       "or application/json", status_code=415)


def predict_fn(image, bundle):
    """Class probabilities for one image, resized to what the model was trained on."""
    size = bundle["image_size"]
    grey = np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    with torch.no_grad():
        logits = bundle["model"](torch.from_numpy(grey)[None, None])
    probabilities = torch.softmax(logits, dim=1)[0].tolist()
    return {bundle["labels"][str(i)]: p for i, p in enumerate(probabilities)}


def require_json(accept):
    if "application/json" not in accept and "*/*" not in accept:
        raise RequestError(f"this model answers application/json, not {accept!r}", status_code=406)
