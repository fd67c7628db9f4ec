"""The HTTP side: GET /ping, POST /invocations. A plain WSGI app on werkzeug, with one of two behind it:

- Lab 02's image: the workshop's own hook rules (handlers.py). Bad requests get a 4xx with a one-line reason
  (an exception's `status_code`), failures inside the user's code a 500 with its message (the traceback goes
  to the log), and the server keeps serving.
- The framework twins (TWIN_HANDLER_SERVICE set): AWS's handler service behind the model server's worker
  (model_server.py), so status, reason phrase, headers and body are what TorchServe or MMS send for what the
  toolkit returned; nothing is checked before the toolkit sees the request, as in the real images.
"""
import logging

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

import environment

log = logging.getLogger("app")

# WSGI hands headers over as Title-Case (X-Amzn-Sagemaker-...); the real servers see them as SageMaker sends
# them. These are the spellings of the InvokeEndpoint headers SageMaker forwards (the SDK's local mode, too).
SAGEMAKER_HEADERS = {name.lower(): name for name in (
    "X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-Target-Model", "X-Amzn-SageMaker-Target-Variant",
    "X-Amzn-SageMaker-Inference-Id", "X-Amzn-SageMaker-Enable-Explanations")}


def text(message, status):
    return Response(str(message).rstrip("\n") + "\n", status=status, mimetype="text/plain")


def status_of(error):
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else None


def lab02_backend(model_dir):
    """Lab 02's own rules: (ping, invocations) handlers over handlers.Handlers."""
    import handlers

    hooks = handlers.Handlers(handlers.load_user_module(), model_dir)
    log.info("model loaded; hooks: %s", hooks.sources)

    def ping():
        return text("healthy", 200)  # the model loaded before the port opened

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

    return ping, invocations


def as_response(answer):
    """A model_server.Answer as werkzeug's Response: the reason phrase kept (ASCII, as Netty writes it), and no
    Content-Type unless the answer has one (the toolkit's error answers have none)."""
    status = str(answer.status)
    if answer.phrase:
        status += " " + answer.phrase.encode("ascii", "replace").decode("ascii")
    response = Response(answer.body, status=status)
    del response.headers["Content-Type"]
    for key, value in answer.headers.items():
        response.headers[key] = value
    return response


def request_headers(request):
    return {SAGEMAKER_HEADERS.get(key.lower(), key): value for key, value in request.headers.items()}


def twin_backend(model_dir):
    """AWS's handler service behind the model server's worker: (ping, invocations) handlers."""
    import model_server

    model_server.prepare_worker_process(environment.MODEL_SERVER, environment.CODE_DIR, model_dir)
    if (environment.CODE_DIR / "requirements.txt").exists():
        log.warning("code/requirements.txt is not installed: the real image pip-installs it at start, this twin "
                    "installs nothing (offline); build the packages into an image FROM this one instead")
    service = model_server.load_handler_service(environment.HANDLER_SERVICE)
    worker = model_server.Worker(service, model_dir, environment.MODEL_SERVER)
    log.info("%s initialised by %s", environment.HANDLER_SERVICE, environment.MODEL_SERVER)

    def ping():
        return as_response(model_server.ping_answer())

    def invocations(request):
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return Response(b"", status=413)  # Netty's HttpObjectAggregator: 413, no body
        return as_response(worker.invoke(body, request_headers(request), request.mimetype or None))

    return ping, invocations


def create_app(model_dir=environment.MODEL_DIR):
    backend = twin_backend if environment.HANDLER_SERVICE else lab02_backend
    ping, invocations = backend(model_dir)

    def app(environ, start_response):
        request = Request(environ)
        request.max_content_length = environment.MAX_PAYLOAD_BYTES
        if request.path == "/ping" and request.method == "GET":
            response = ping()
        elif request.path == "/invocations" and request.method == "POST":
            response = invocations(request)
        elif request.path in ("/ping", "/invocations"):
            response = text(f"405: {request.method} is not allowed on {request.path}", 405)
        else:
            response = text(f"404: {request.path} is not part of this container's API", 404)
        return response(environ, start_response)

    return app
