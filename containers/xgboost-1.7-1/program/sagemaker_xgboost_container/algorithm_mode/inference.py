"""The HTTP side of the built-in algorithm: GET /ping, GET /execution-parameters, POST /invocations.

Follows src/sagemaker_xgboost_container/algorithm_mode/serve.py on branch 1.7-1 of
github.com/aws/sagemaker-xgboost-container, in the same order:
1. the body is Flask's `request.data`, read with the same Werkzeug (0.15.6) as the real image: a
   request with a Content-Type goes through Werkzeug's form parser first, which refuses a body over
   MAX_CONTENT_LENGTH (default 6291456 bytes) with 413 and leaves a form-encoded body (curl -d's
   default) in request.form, so that `data` is empty; an empty body -> 204;
2. Content-Type not accepted -> 415 with the reason (the real image also answers 415 when the body
   cannot be read as that type);
3. model cannot be loaded -> 500 "Unable to load model: ...";
4. prediction fails (too many columns, ...) -> 400 "Unable to evaluate payload provided: ...";
5. Accept (first media type, parameters dropped, case ignored): missing or */* ->
   SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (not checked) or text/csv; not one of application/json,
   application/jsonlines, application/x-recordio-protobuf, text/csv -> 406;
6. the answer (predictions.py), with the accepted type as Content-Type; without
   SAGEMAKER_INFERENCE_OUTPUT a type sagemaker-containers' encoder cannot write (application/jsonlines,
   application/x-recordio-protobuf, or any default accept but NPY) is a 500, as on AWS.
Routes as Flask and nginx make them: HEAD is answered wherever GET is (Werkzeug adds it), a known path
with another method is 405, any other path is nginx's 404 with the body {} (nginx answers it; this app
too, for paths nginx passes on and when there is no nginx).
nginx has read the whole request before the app answers 413 (as in front of the real Flask app); the app
still reads (and drops) the rest of the body first: nginx is still sending it, and closing early would
reset that connection (nginx logs an error and may answer 502); without nginx (SAGEMAKER_USE_NGINX=false)
the client would get a reset instead of the 413.

A plain WSGI application (werkzeug's request and response objects): four routes need no framework.
Bad input never stops the server.
"""
import json
import logging
import os

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from . import predictions
from .errors import UserError, short_message

log = logging.getLogger("xgboost-twin")
SUPPORTED_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf", "text/csv"]


def _drain(environ):
    """Read what is left of the request body, so that answering early does not reset the connection."""
    stream, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)


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
        model, load_error = predictions.load(model_dir or os.environ.get("SM_MODEL_DIR", "/opt/ml/model"), ensemble), None
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
            body = request.get_data(cache=False, parse_form_data=True)  # Flask's request.data
        except RequestEntityTooLarge:
            _drain(request.environ)
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
        try:
            payload = predictions.encode(predicted, accept, batch)
        except predictions.UnsupportedFormat as err:  # an uncaught exception in the real Flask app: 500
            return text(str(err), 500)
        return Response(payload, status=200, mimetype=accept)

    routes = {
        ("GET", "/ping"): ping,
        ("GET", "/execution-parameters"): lambda request: Response(execution_parameters, mimetype="application/json"),
        ("POST", "/invocations"): invocations,
    }
    routes.update({("HEAD", path): handler for (method, path), handler in list(routes.items()) if method == "GET"})
    known_paths = {path for _, path in routes}

    def app(environ, start_response):
        request = Request(environ)
        request.max_content_length = max_bytes
        handler = routes.get((request.method, request.path))
        if handler is None and request.path in known_paths:
            response = text(f"405: {request.method} {request.path} is not part of this container's API", 405)
        elif handler is None:
            response = Response("{}", status=404)  # nginx.conf.template: location / { return 404 "{}"; }
        else:
            response = handler(request)
            if response.status_code >= 400:
                log.warning("%s %s -> %d %s", request.method, request.path, response.status_code,
                            " ".join(response.get_data(as_text=True).split())[:300])
        return response(environ, start_response)

    return app
