"""TensorFlow Serving's REST API (https://www.tensorflow.org/tfx/serving/api_rest) in Python over
tensorflow-cpu: the twin's stand-in for the tensorflow_model_server binary, which is on neither PyPI nor Debian.

- GET  /v1/models/<name>[/versions/<v>]            model status; "AVAILABLE" once a version is loaded
- GET  /v1/models/<name>[/versions/<v>]/metadata   GetModelMetadataResponse: the model spec and the signature
                                                    defs (protobuf's JSON mapping)
- POST /v1/models/<name>[/versions/<v>]:predict     `instances` (row format) -> {"predictions": ...},
                                                    `inputs` (columnar format) -> {"outputs": ...}
Without a version the newest loaded one answers. Errors have TF Serving's shape, {"error": "..."}, and its
status codes: 400 for a request that does not fit the model, 404 for an unknown model or version.
"""
import argparse
import base64
import json
import logging
import os
import re
import signal
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import saved_models

log = logging.getLogger("tfs")

PREDICT = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)", re.IGNORECASE)
METADATA = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?/metadata", re.IGNORECASE)
STATUS = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?", re.IGNORECASE)
DEFAULT_SIGNATURE = "serving_default"

# TF Serving turns a TensorFlow error code into an HTTP status (model_servers/http_server.cc).
HTTP_STATUS = {tf.errors.INVALID_ARGUMENT: 400, tf.errors.FAILED_PRECONDITION: 400, tf.errors.OUT_OF_RANGE: 400,
               tf.errors.NOT_FOUND: 404, tf.errors.ALREADY_EXISTS: 409, tf.errors.ABORTED: 409,
               tf.errors.PERMISSION_DENIED: 403, tf.errors.UNAUTHENTICATED: 401, tf.errors.RESOURCE_EXHAUSTED: 429,
               tf.errors.UNIMPLEMENTED: 501, tf.errors.UNAVAILABLE: 503, tf.errors.DEADLINE_EXCEEDED: 504}


class TfsError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def bad(message):
    return TfsError(400, message)


# ---- models ---------------------------------------------------------------------------------------------

class Version:
    """One version folder of a model and its state as TF Serving reports it: START, LOADING, AVAILABLE, END."""

    def __init__(self, number, path):
        self.number, self.path = number, path
        self.state, self.error, self.loaded, self.methods = "START", "", None, {}

    def load(self):
        self.state = "LOADING"
        try:
            self.loaded = tf.saved_model.load(str(self.path))
            self.methods = signature_methods(self.path)
            self.state = "AVAILABLE"
        except Exception as err:  # a broken SavedModel: TF Serving keeps the reason in the version's status
            self.error, self.state = f"{type(err).__name__}: {err}", "END"
            log.error("could not load %s: %s", self.path, self.error)

    def status(self):
        return {"version": str(self.number), "state": self.state,
                "status": {"error_code": "UNKNOWN" if self.error else "OK", "error_message": self.error}}


def signature_defs(path):
    """{signature name: SignatureDef} of the SavedModel's serving graph, read from saved_model.pb."""
    saved = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    graphs = [graph for graph in saved.meta_graphs if "serve" in graph.meta_info_def.tags] or saved.meta_graphs
    return dict(graphs[0].signature_def) if graphs else {}


def signature_methods(path):
    """{signature name: method name} (tf.saved_model.load does not tell the method)."""
    return {name: signature.method_name for name, signature in signature_defs(path).items()}


class ModelServer:
    def __init__(self, model_paths):
        self.models = {}
        for base in model_paths:
            if base.name in self.models:
                log.warning("two models are called %r; serving %s only", base.name, self.models[base.name])
                continue
            self.models[base.name] = {number: Version(number, base / folder) for number, folder in
                                      ((int(entry.name), entry.name) for entry in base.iterdir()
                                       if entry.is_dir() and saved_models.is_version(entry.name))}

    def load_all(self):
        for name, versions in self.models.items():
            for version in versions.values():
                version.load()
                log.info("model %s version %s: %s", name, version.number, version.state)

    def status(self, name, number=None):
        versions = self.models.get(name, {})
        if number is not None:
            if number not in versions:
                raise TfsError(404, f"Could not find version {number} of model {name}")
            chosen = [versions[number]]
        elif not versions:
            raise TfsError(404, f"Could not find any versions of model {name}")
        else:
            chosen = [versions[n] for n in sorted(versions, reverse=True)]
        return {"model_version_status": [version.status() for version in chosen]}

    def servable(self, name, number=None):
        versions = self.models.get(name, {})
        if number is None:
            available = [n for n, version in versions.items() if version.state == "AVAILABLE"]
            if not available:
                raise TfsError(404, f"Servable not found for request: Latest({name})")
            return versions[max(available)]
        if number not in versions or versions[number].state != "AVAILABLE":
            raise TfsError(404, f"Servable not found for request: Specific({name}, {number})")
        return versions[number]

    def metadata(self, name, number=None):
        """GetModelMetadataResponse for the newest AVAILABLE version (or the one asked for), with the
        metadata field TF Serving fills, "signature_def" (a SignatureDefMap)."""
        version = self.servable(name, number)
        signatures = {key: json_format.MessageToDict(value, preserving_proto_field_name=True,
                                                     always_print_fields_with_no_presence=True)
                      for key, value in sorted(signature_defs(version.path).items())}
        return {"model_spec": {"name": name, "signature_name": "", "version": str(version.number)},
                "metadata": {"signature_def": {"signature_def": signatures}}}

    def predict(self, name, number, method, body):
        request = parse(body)
        signature_name = request.get("signature_name", DEFAULT_SIGNATURE)
        if not isinstance(signature_name, str):
            raise bad("'signature_name' must be a string")
        version = self.servable(name, number)
        if method != "predict":
            kind = version.methods.get(signature_name, "")
            if kind.endswith(f"/{method}"):
                raise TfsError(501, f"this twin of TF Serving answers :predict only, not :{method}")
            raise bad(f"signature {signature_name!r} is a {kind or 'unknown'} signature: it cannot answer :{method}")
        function = version.loaded.signatures.get(signature_name)
        if function is None:
            raise bad(f'Serving signature name: "{signature_name}" not found in signature def')
        specs = function.structured_input_signature[1]
        if "instances" in request and "inputs" in request:
            raise bad("expecting only one of 'inputs' or 'instances' in the request, not both")
        if "instances" in request:
            feeds, row_format = row_inputs(request["instances"], specs), True
        elif "inputs" in request:
            feeds, row_format = columnar_inputs(request["inputs"], specs), False
        else:
            raise bad("Missing 'inputs' or 'instances' key")
        try:
            outputs = function(**feeds)
        except tf.errors.OpError as err:
            raise TfsError(HTTP_STATUS.get(err.error_code, 500), err.message) from None
        except (TypeError, ValueError) as err:  # the inputs do not bind to the signature
            raise bad(str(err)) from None
        outputs = {key: value.numpy() for key, value in sorted(outputs.items())}
        return row_outputs(outputs) if row_format else columnar_outputs(outputs)


# ---- JSON in --------------------------------------------------------------------------------------------

def parse(body):
    if not body.strip():
        raise bad("JSON Parse error: The document is empty")
    try:
        request = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("JSON Parse error: the body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise bad(f"JSON Parse error: {err.msg} at offset: {err.pos}") from None
    except RecursionError:
        raise bad("JSON Parse error: nested too deeply") from None
    if not isinstance(request, dict):
        raise bad(f"JSON Value: {json.dumps(request)[:200]} Is not object")
    return request


def is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def is_object(value):
    return isinstance(value, dict) and not is_b64(value)


def as_bytes(value):
    """String inputs: JSON strings as UTF-8, {"b64": ...} objects decoded."""
    if isinstance(value, list):
        return [as_bytes(item) for item in value]
    if is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise bad("Unable to base64 decode") from None
    if isinstance(value, str):
        return value.encode("utf-8")
    raise bad(f"JSON Value: {json.dumps(value)[:200]} is not of expected type: string")


def allowed_kinds(dtype):
    if dtype == tf.string:
        return "S"
    if dtype == tf.bool:
        return "b"
    if dtype.is_floating:
        return "iuf"
    return "iu" if dtype.is_integer else ""


def to_tensor(value, spec, what):
    """A JSON value as a dense tensor of the input's type. Like TF Serving, refuse what does not fit
    (strings for numbers, floats for integers, lists of unequal length) instead of guessing."""
    if spec.dtype == tf.string:
        value = as_bytes(value)
    try:
        array = np.array(value)
    except ValueError as err:
        raise bad(f"{what}: not a dense tensor (lists of unequal length?): {err}") from None
    if array.size and array.dtype.kind not in allowed_kinds(spec.dtype):
        raise bad(f"{what}: JSON values of numpy kind {array.dtype.name} do not fit the input type {spec.dtype.name}")
    if not spec.shape.is_compatible_with(array.shape):
        raise bad(f"{what}: a tensor of shape {list(array.shape)} does not fit the signature's input {spec.name} "
                  f"of shape {spec.shape.as_list() if spec.shape.rank is not None else '?'} (None: any size)")
    return tf.constant(array if spec.dtype == tf.string else array.astype(spec.dtype.as_numpy_dtype), spec.dtype)


def row_inputs(instances, specs):
    """'instances': a list of values (one input) or of objects with one key per input; batched on axis 0."""
    if not isinstance(instances, list):
        raise bad("Expecting 'instances' to be a list/array")
    if not instances:
        raise bad("No values in 'instances' array")
    names = sorted(specs)
    if not is_object(instances[0]):
        if len(names) > 1:
            raise bad(f"instances is a plain list, but the signature has several named inputs ({', '.join(names)}): "
                      "send a list of objects")
        if any(is_object(item) for item in instances):
            raise bad("Expecting value/list but got object in the 'instances' list")
        return {names[0]: to_tensor(instances, specs[names[0]], "'instances'")}
    columns = {name: [] for name in names}
    for index, item in enumerate(instances):
        if not is_object(item):
            raise bad(f"Expecting object but got list at item {index} of input list")
        if sorted(item) != names:
            raise bad(f"Failed to process element: {index} of 'instances' list: its keys {sorted(item)} "
                      f"must be the signature's inputs {names}")
        for name in names:
            columns[name].append(item[name])
    return {name: to_tensor(columns[name], specs[name], f"'instances' input {name}") for name in names}


def columnar_inputs(inputs, specs):
    """'inputs': one value (one input) or an object with one key per input; sent as they are."""
    names = sorted(specs)
    if is_object(inputs):
        for name in names:
            if name not in inputs:
                raise bad(f"Missing named input: {name} in 'inputs' object.")
        return {name: to_tensor(inputs[name], specs[name], f"'inputs' input {name}") for name in names}
    if len(names) > 1:
        raise bad(f"inputs is a plain value/list, but the signature has several named inputs ({', '.join(names)}): "
                  "send an object")
    return {names[0]: to_tensor(inputs, specs[names[0]], "'inputs'")}


# ---- JSON out -------------------------------------------------------------------------------------------

def to_json(array, name):
    if array.dtype.kind == "f" and array.dtype.itemsize < 8:
        # As TF Serving: a float32 in its shortest exact form, 0.1 rather than 0.10000000149011612.
        return array.astype(str).astype(np.float64).tolist()
    if array.dtype.kind in "OS":
        # Strings as text; outputs whose name ends in _bytes as {"b64": ...} (TF Serving's convention).
        def text(raw):
            if name.endswith("_bytes"):
                return {"b64": base64.b64encode(raw).decode("ascii")}
            return raw.decode("utf-8", "replace")
        return np.vectorize(text, otypes=[object])(array).tolist()
    return array.tolist()


def row_outputs(outputs):
    batch_sizes = set()
    for name, array in outputs.items():
        if array.ndim == 0:
            raise bad(f"Tensor name: {name} has no shape information (a scalar has no batch dimension)")
        batch_sizes.add(array.shape[0])
    if len(batch_sizes) > 1:
        raise bad(f"the outputs have different batch sizes {sorted(batch_sizes)}: ask with 'inputs' instead")
    values = {name: to_json(array, name) for name, array in outputs.items()}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    return {"predictions": [{name: values[name][row] for name in values} for row in range(batch_sizes.pop())]}


def columnar_outputs(outputs):
    values = {name: to_json(array, name) for name, array in outputs.items()}
    return {"outputs": next(iter(values.values())) if len(values) == 1 else values}


# ---- HTTP -----------------------------------------------------------------------------------------------

def create_app(server):
    def answer(request):
        path = request.path
        if request.method == "POST" and (match := PREDICT.fullmatch(path)):
            name, number, method = match.groups()
            result = server.predict(name, int(number) if number else None, method.lower(), request.get_data())
            return json.dumps(result)
        if request.method == "GET" and (match := METADATA.fullmatch(path)):
            name, number = match.groups()
            return json.dumps(server.metadata(name, int(number) if number else None), indent=1)
        if request.method == "GET" and (match := STATUS.fullmatch(path)):
            name, number = match.groups()
            if not name:
                raise bad("Missing model name in request.")
            return json.dumps(server.status(name, int(number) if number else None), indent=1)
        if re.fullmatch(r"/v1/.*", path, re.IGNORECASE):
            raise bad(f"Malformed request: {request.method} {path}")
        raise TfsError(404, f"{path} is not part of TF Serving's REST API")

    def app(environ, start_response):
        request = Request(environ)
        try:
            response = Response(answer(request), 200, content_type="application/json")
        except TfsError as err:
            response = Response(json.dumps({"error": str(err)}), err.status, content_type="application/json")
        except Exception as err:  # a bug or a model that fails in an unexpected way: say so, keep serving
            log.exception("TF Serving request failed")
            response = Response(json.dumps({"error": f"{type(err).__name__}: {err}"}), 500,
                                content_type="application/json")
        return response(environ, start_response)

    return app


def main():
    """tensorflow_model_server's part: load every model, then listen (nothing answers while models load)."""
    parser = argparse.ArgumentParser(description="the twin's TF Serving REST API")
    parser.add_argument("--rest-api-port", type=int, required=True)
    parser.add_argument("models", nargs="+", help="base paths of the models (folders of numbered versions)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(process)d %(asctime)s %(levelname)-8s tfs: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = ModelServer([Path(model) for model in args.models])
    server.load_all()
    http = make_server("0.0.0.0", args.rest_api_port, create_app(server), threaded=True)
    log.info("TF Serving REST API on port %s (no gRPC API in this twin)", args.rest_api_port)
    http.serve_forever()


if __name__ == "__main__":
    main()
