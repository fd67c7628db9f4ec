"""MXNet's defaults: what runs when the model archive has no code/inference.py, or it leaves a hook out.

The behaviour of AWS's MXNet inference toolkit (github.com/aws/sagemaker-mxnet-inference-toolkit,
sagemaker_mxnet_serving_container/default_inference_handler.py and handler_service.py), written for this
container. Lab 02's server (handlers.py) imports it in place of its PyTorch defaults, because the image sets
SAGEMAKER_DEFAULT_HANDLERS=mxnet_default_handlers:
- model_fn loads the three files MXNet's training toolkit saves, model-symbol.json, model-0000.params and
  model-shapes.json, as a bound mx.mod.Module (batch size 1, as the toolkit binds it);
- input_fn decodes application/json, text/csv or application/x-npy into a float32 NDArray;
- predict_fn runs a Module over the rows (reshaped to the model's input shape, as the toolkit does for CSV)
  or calls a Gluon Block; any other model type needs a predict_fn or transform_fn of its own;
- output_fn answers the first type of the Accept list it can write: JSON, CSV or NPY.
Deliberate differences, each safer or clearer: unsupported request or response types answer 415 / 406 and a
malformed body 400 (the toolkit answers 500); NPY is loaded with allow_pickle=False (a pickle in a request
could run code); a Gluon Block is also given CSV and asked for CSV (the toolkit accepts only JSON and NPY
there); the model type is checked at the first request, not at start.
"""
import io
import json
import os

import environment

# Before mxnet loads: each gunicorn worker gets its share of the cores for MXNet's OpenMP threads.
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, environment.WORKERS))))
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")

import mxnet as mx  # noqa: E402 (the thread settings above must come first)
import numpy as np

from errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"
MODEL_PREFIX = "model"  # files model-symbol.json and model-0000.params: epoch 0 of checkpoint "model"
MODEL_FILES = ("model-symbol.json", "model-0000.params", "model-shapes.json")


def model_fn(model_dir):
    """The Module the toolkit's default model_fn builds: checkpoint model/epoch 0, inputs from model-shapes.json."""
    missing = [name for name in MODEL_FILES if not os.path.exists(os.path.join(model_dir, name))]
    if missing:
        raise ValueError(f"the default model_fn needs {', '.join(MODEL_FILES)} in {model_dir}; missing "
                         f"{', '.join(missing)}. Save them as MXNet's training toolkit does (net.export plus "
                         f"model-shapes.json), or provide model_fn in code/inference.py")
    with open(os.path.join(model_dir, "model-shapes.json")) as f:
        inputs = json.load(f)  # [{"name": "data", "shape": [batch, ...]}, ...]
    data_shapes = [(item["name"], [1] + list(item["shape"][1:])) for item in inputs]
    symbol, arg_params, aux_params = mx.model.load_checkpoint(os.path.join(model_dir, MODEL_PREFIX), 0)
    module = mx.mod.Module(symbol=symbol, context=mx.cpu(), data_names=[name for name, _ in data_shapes],
                           label_names=None)
    module.bind(for_training=False, data_shapes=data_shapes)
    module.set_params(arg_params, aux_params, allow_missing=True)
    return module


def input_fn(body, content_type):
    """Decode JSON, CSV or NPY into a float32 NDArray."""
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
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise BadRequest(f"could not decode the {content_type} body: {err}") from None
    return mx.nd.array(array, ctx=mx.cpu())


def predict_fn(data, model):
    if isinstance(model, mx.module.BaseModule):
        [(_, shape)] = model.data_shapes  # the toolkit's Module default takes models with one input
        try:
            data = data.reshape((-1,) + tuple(shape[1:]))
        except (ValueError, mx.base.MXNetError) as err:
            raise BadRequest(f"the rows do not fit the model's input shape {list(shape[1:])}: "
                             f"{str(err).splitlines()[0]}") from None
        return model.predict(mx.io.NDArrayIter(data, batch_size=shape[0], last_batch_handle="pad"))
    if isinstance(model, mx.gluon.Block):
        return model(data)
    raise TypeError(f"unsupported model type {type(model).__name__}: the default predict_fn serves an MXNet Module "
                    f"or a Gluon Block; implement predict_fn or transform_fn in code/inference.py")


def output_fn(prediction, accept):
    """Encode an NDArray (or anything numpy can hold) as the first of the accepted types it can write."""
    if isinstance(prediction, mx.nd.NDArray):
        prediction = prediction.asnumpy()
    for wanted in accept.replace(" ", "").split(","):
        if wanted == JSON:
            return json.dumps(np.asarray(prediction).tolist()), JSON
        if wanted == CSV:
            buffer = io.StringIO()
            np.savetxt(buffer, np.asarray(prediction), delimiter=",", fmt="%s")
            return buffer.getvalue(), CSV
        if wanted == NPY:
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(prediction), allow_pickle=False)
            return buffer.getvalue(), NPY
    raise NotAcceptable(f"the default output_fn answers {JSON}, {CSV} or {NPY}, not {accept!r}")
