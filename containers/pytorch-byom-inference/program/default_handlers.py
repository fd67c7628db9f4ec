"""What happens when the model archive has no code/inference.py, or the module leaves a hook out.

Same behaviour as the defaults of SageMaker's PyTorch inference toolkit
(sagemaker_pytorch_serving_container/default_pytorch_inference_handler.py and sagemaker_inference's
decoder/encoder), written for this container. Deliberate differences, each safer or clearer:
- unsupported request or response types answer 415 / 406 (the toolkit answers 500);
- application/x-npy is loaded with allow_pickle=False (a pickle in a request could run code);
- malformed JSON, CSV or NPY answers 400.
"""
import io
import json
from pathlib import Path

import numpy as np
import torch

from errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"


def model_fn(model_dir):
    """Load TorchScript: model.pt, or else the one *.pt / *.pth file in the model folder."""
    model_dir = Path(model_dir)
    path = model_dir / "model.pt"
    if not path.exists():
        candidates = sorted(p for p in model_dir.iterdir() if p.suffix in (".pt", ".pth"))
        if len(candidates) != 1:
            raise FileNotFoundError(
                f"the default model_fn needs model.pt or exactly one .pt/.pth file in {model_dir}; "
                f"found {[p.name for p in candidates] or 'none'}. Save the model with torch.jit.save, or "
                f"provide model_fn in code/inference.py")
        path = candidates[0]
    try:
        model = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as err:
        raise RuntimeError(f"{path.name} is not a TorchScript archive (save it with torch.jit.save): {err}") from err
    return model.eval()


def input_fn(body, content_type):
    """Decode JSON, CSV or NPY into a float tensor."""
    try:
        if content_type == JSON:
            array = np.asarray(json.loads(body), dtype=np.float32)
        elif content_type == CSV:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            array = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2)
        elif content_type == NPY:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        else:
            raise UnsupportedMediaType(f"the default input_fn reads {JSON}, {CSV} or {NPY}, not {content_type!r}")
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"could not decode the {content_type} body: {err}") from None
    return torch.from_numpy(np.ascontiguousarray(array))


def predict_fn(data, model):
    with torch.no_grad():
        return model(data)


def output_fn(prediction, accept):
    """Encode a tensor (or anything numpy can hold) as JSON, CSV or NPY."""
    if isinstance(prediction, torch.Tensor):
        prediction = prediction.detach().cpu().numpy()
    if accept == JSON:
        return json.dumps(np.asarray(prediction).tolist()), JSON
    if accept == CSV:
        buffer = io.StringIO()
        np.savetxt(buffer, np.atleast_2d(prediction), delimiter=",", fmt="%s")
        return buffer.getvalue(), CSV
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), NPY
    raise NotAcceptable(f"the default output_fn answers {JSON}, {CSV} or {NPY}, not {accept!r}")
