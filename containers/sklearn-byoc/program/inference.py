"""The HTTP side of the contract: GET /ping, POST /invocations, GET /execution-parameters.

A plain WSGI application (werkzeug's request and response objects, no web framework): three routes
do not need one, and every microsecond of overhead shows in single-row latency.
Every bad request gets a 4xx with a one-line reason and the server keeps serving.
"""
import json
import os

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

import model
import opt_ml

# SageMaker refuses invocation payloads over 6 MB; refuse them here too, before reading them.
MAX_PAYLOAD_BYTES = int(os.environ.get("MAX_PAYLOAD_BYTES", 6 * 1024 * 1024))
CSV = "text/csv"


def text(message, status):
    return Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def create_app(model_dir=None):
    tree, info = model.load(model_dir or opt_ml.MODEL_DIR)
    execution_parameters = json.dumps({"MaxConcurrentTransforms": os.cpu_count() or 1,
                                       "BatchStrategy": "MULTI_RECORD",
                                       "MaxPayloadInMB": MAX_PAYLOAD_BYTES // (1024 * 1024)})

    def invocations(request):
        if request.mimetype != CSV:
            return text(f"unsupported content type {request.mimetype or '(none)'!r}: send {CSV}", 415)
        accept = request.headers.get("Accept", "").strip()
        if accept and not request.accept_mimetypes[CSV]:
            return text(f"cannot answer with {accept!r}: this model answers {CSV}", 406)
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return text(f"payload too large: the limit is {MAX_PAYLOAD_BYTES} bytes", 413)
        if not body.strip():
            return text("empty request body: send one CSV row of features per line", 400)
        try:
            answer = model.predict_csv(tree, info, body.decode("utf-8"))
        except UnicodeDecodeError:
            return text("request body is not UTF-8 text", 400)
        except (opt_ml.ContractError, ValueError) as err:
            return text(f"bad request: {err}", 400)
        return Response(answer, mimetype=CSV)

    routes = {
        ("GET", "/ping"): lambda request: text("healthy", 200),  # reaching here means the model loaded
        ("GET", "/execution-parameters"): lambda request: Response(execution_parameters,
                                                                    mimetype="application/json"),
        ("POST", "/invocations"): invocations,
    }
    known_paths = {path for _, path in routes}

    def app(environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_PAYLOAD_BYTES
        handler = routes.get((request.method, request.path))
        if handler is None:
            status = 405 if request.path in known_paths else 404
            response = text(f"{status}: {request.method} {request.path} is not part of this container's API", status)
        else:
            response = handler(request)
        return response(environ, start_response)

    return app
