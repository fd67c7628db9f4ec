"""The HTTP side of the built-in algorithm: GET /ping, GET /execution-parameters, POST /invocations.

Follows src/sagemaker_xgboost_container/algorithm_mode/serve.py on branch 1.7-1 of
github.com/aws/sagemaker-xgboost-container, in the same order:
1. body over MAX_CONTENT_LENGTH (default 6291456 bytes) -> 413; empty body -> 204;
2. Content-Type not accepted -> 415 with the reason (the real image also answers 415 when the body
   cannot be read as that type);
3. model cannot be loaded -> 500 "Unable to load model: ...";
4. prediction fails (too many columns, ...) -> 400 "Unable to evaluate payload provided: ...";
5. Accept (first media type, parameters dropped, case ignored): missing or */* ->
   SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT or text/csv; not one of application/json,
   application/jsonlines, application/x-recordio-protobuf, text/csv -> 406;
6. the answer (predictions.py), with the accepted type as Content-Type.
Deliberate difference: without SAGEMAKER_INFERENCE_OUTPUT the real image fails with 500 for
application/jsonlines and application/x-recordio-protobuf (its encoder does not know them); the twin
answers 406 and says which setting enables them.

A plain WSGI application (werkzeug's request and response objects): four routes need no framework.
Bad input never stops the server.
"""
import json
import logging
import os

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

import opt_ml
import predictions
from errors import UserError, short_message

log = logging.getLogger("xgboost-twin")
SUPPORTED_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf", "text/csv"]
SELECTABLE_ONLY = ("application/jsonlines", "application/x-recordio-protobuf")


def _truthy(name):
    return bool(os.environ.get(name))


def text(message, status):
    return Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def parse_accept(header):
    """The media type to answer with, or ValueError with the real image's 406 message."""
    accept = header.split(";")[0].strip() if header else ""
    if not accept or accept == "*/*":
        return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    if accept.lower() not in SUPPORTED_ACCEPTS:
        raise ValueError(f"Accept type {accept} is not supported. Please use supported accept types: "
                         f"{SUPPORTED_ACCEPTS}.")
    return accept.lower()


def create_app(model_dir=None):
    """The WSGI application; the model is loaded here, once per worker process."""
    max_bytes = int(os.environ.get("MAX_CONTENT_LENGTH", "6291456"))
    batch = _truthy("SAGEMAKER_BATCH")
    selectable = "SAGEMAKER_INFERENCE_OUTPUT" in os.environ
    ensemble = os.environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true") == "true"
    execution_parameters = json.dumps({"MaxConcurrentTransforms": os.cpu_count() or 1,
                                       "BatchStrategy": "MULTI_RECORD",
                                       "MaxPayloadInMB": int(max_bytes / (1024 ** 2))})
    try:
        model, load_error = predictions.load(model_dir or opt_ml.MODEL_DIR, ensemble), None
        log.info("Model loaded: objective %s, %d booster(s)", model.objective, len(model.boosters))
    except Exception as err:  # noqa: BLE001 - /ping reports it; the server keeps running like the real one
        model, load_error = None, f"Unable to load model: {err}"
        log.error(load_error)

    def ping(request):
        if load_error:
            return text(load_error, 500)
        return Response(b"", status=200)

    def invocations(request):
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return text(f"payload too large: the limit is {max_bytes} bytes (MAX_CONTENT_LENGTH)", 413)
        if not body:
            return Response(b"", status=204)
        try:
            dtest, kind = predictions.parse(body, request.headers.get("Content-Type"))
        except (UserError, predictions.BadPayload) as err:
            return text(str(err), 415)
        if load_error:
            return text(load_error, 500)
        try:
            predicted = predictions.predict(model, dtest, kind)
        except Exception as err:  # noqa: BLE001
            return text(f"Unable to evaluate payload provided: {short_message(err)}", 400)
        try:
            accept = parse_accept(request.headers.get("Accept"))
        except ValueError as err:
            return text(str(err), 406)
        if selectable:
            try:
                answers = predictions.select(predicted, predictions.selected_keys(), model.objective,
                                             model.num_class)
                payload = predictions.encode_selected(answers, predictions.selected_keys(), accept, batch)
            except Exception as err:  # noqa: BLE001 - a setting of the endpoint, not of the request
                return text(str(err), 500)
            return Response(payload, status=200, mimetype=accept)
        if accept in SELECTABLE_ONLY and not batch:
            return text(f"Accept type {accept} needs selectable inference output: set SAGEMAKER_INFERENCE_OUTPUT "
                        "(e.g. predicted_label,probability); without it this algorithm answers text/csv or "
                        "application/json", 406)
        if accept not in SUPPORTED_ACCEPTS and not batch:
            return text(f"Accept type {accept} (from SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT) is not supported. "
                        f"Please use supported accept types: {SUPPORTED_ACCEPTS}.", 406)
        return Response(predictions.encode(predicted, accept, batch), status=200, mimetype=accept)

    routes = {
        ("GET", "/ping"): ping,
        ("GET", "/execution-parameters"): lambda request: Response(execution_parameters, mimetype="application/json"),
        ("POST", "/invocations"): invocations,
    }
    known_paths = {path for _, path in routes}

    def app(environ, start_response):
        request = Request(environ)
        request.max_content_length = max_bytes
        handler = routes.get((request.method, request.path))
        if handler is None:
            status = 405 if request.path in known_paths else 404
            response = text(f"{status}: {request.method} {request.path} is not part of this container's API", status)
        else:
            response = handler(request)
            if response.status_code >= 400:
                log.warning("%s %s -> %d %s", request.method, request.path, response.status_code,
                            " ".join(response.get_data(as_text=True).split())[:300])
        return response(environ, start_response)

    return app
