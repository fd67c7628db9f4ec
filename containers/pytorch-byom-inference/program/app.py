"""The HTTP side: GET /ping, POST /invocations. A plain WSGI app on werkzeug.

Bad requests get a 4xx with a one-line reason (an exception's `status_code`), failures inside the
user's code a 500 with its message (the traceback goes to the log), and the server keeps serving.
"""
import logging

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

import environment
import handlers

log = logging.getLogger("app")


def text(message, status):
    return Response(str(message).rstrip("\n") + "\n", status=status, mimetype="text/plain")


def status_of(error):
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else None


def create_app(model_dir=environment.MODEL_DIR):
    hooks = handlers.Handlers(handlers.load_user_module(), model_dir)
    log.info("model loaded; hooks: %s", hooks.sources)

    def invocations(request):
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return text(f"payload too large: the limit is {environment.MAX_PAYLOAD_BYTES} bytes", 413)
        if not body:
            return text("empty request body", 400)
        if not request.mimetype:
            return text("missing Content-Type header", 415)
        try:
            answer, answer_type = hooks.transform(body, request.mimetype, request.headers.get("Accept"),
                                                  request.headers)
        except UnicodeDecodeError:
            return text(f"the {request.mimetype} body is not UTF-8 text", 400)
        except Exception as err:  # the hooks are user code: anything can come out
            status = status_of(err)
            if status is None:
                log.exception("inference failed")
                return text(f"inference failed: {type(err).__name__}: {err}", 500)
            return text(err, status)
        return Response(answer, content_type=answer_type)

    def app(environ, start_response):
        request = Request(environ)
        request.max_content_length = environment.MAX_PAYLOAD_BYTES
        if request.path == "/ping" and request.method == "GET":
            response = text("healthy", 200)  # the model loaded before the port opened
        elif request.path == "/invocations" and request.method == "POST":
            response = invocations(request)
        elif request.path in ("/ping", "/invocations"):
            response = text(f"405: {request.method} is not allowed on {request.path}", 405)
        else:
            response = text(f"404: {request.path} is not part of this container's API", 404)
        return response(environ, start_response)

    return app
