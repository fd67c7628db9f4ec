"""The SageMaker side: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT, answered as the real image's
nginx + njs front does (tensorflowServing.js), or by code/inference.py's handlers as its Python service does.
Every model call is a TF Serving REST request to this container's own TF Serving port."""
import io
import json
import logging

import requests
from werkzeug.wrappers import Request, Response

import conversions
from user_code import Context

log = logging.getLogger("front")


def json_error(status, message):
    return Response(json.dumps({"error": message}), status, content_type="application/json")


def create_app(tfs, default_model, handler=None, grpc_port=9000, timeout=60):
    """TFS.port: TF Serving's REST port, None until it has loaded the models and listens."""

    def call_tfs(method, path, body=None):
        if tfs.port is None:
            return 502, json.dumps({"error": "TF Serving is still loading the models"}).encode()
        try:
            answer = requests.request(method, f"http://127.0.0.1:{tfs.port}{path}", data=body, timeout=timeout,
                                      headers={"Content-Type": "application/json", "Accept": "application/json"})
        except requests.RequestException as err:  # what nginx answers when its upstream does not
            return 502, json.dumps({"error": f"TF Serving did not answer: {err}"}).encode()
        return answer.status_code, answer.content

    def ping(attributes):
        status, body = call_tfs("GET", conversions.tfs_path(attributes, default_model, with_method=False))
        if status == 200 and b'"AVAILABLE"' in body:
            return Response(status=200)
        log.error("failed ping %s", body.decode("utf-8", "replace"))
        return Response(status=502)

    def invocations(request, attributes):
        try:
            tfs_body = conversions.request_body(request.headers.get("Content-Type"), request.get_data())
        except conversions.UnsupportedMediaType as err:
            return json_error(415, str(err))
        except UnicodeDecodeError:
            return json_error(400, "the request body is not UTF-8 text")
        status, body = call_tfs("POST", conversions.tfs_path(attributes, default_model), tfs_body)
        body, content_type = conversions.response(body, request.headers.get("Accept"))
        return Response(body, status, content_type=content_type)

    def python_service(request, attributes):
        context = Context(
            attributes.get("tfs-model-name"), attributes.get("tfs-model-version"), attributes.get("tfs-method"),
            f"http://localhost:{tfs.port}" + conversions.tfs_path(attributes, default_model), grpc_port, None,
            request.headers.get(conversions.CUSTOM_ATTRIBUTES_HEADER),
            request.headers.get("Content-Type") or conversions.DEFAULT_CONTENT_TYPE,
            request.headers.get("Accept") or conversions.DEFAULT_CONTENT_TYPE, request.content_length)
        try:
            body, content_type = handler(io.BytesIO(request.get_data()), context)
        except Exception as err:  # user code: the real service answers 500 with the message
            log.exception("exception handling request")
            return json_error(500, str(err))
        return Response(body, 200, content_type=content_type)

    def route(request):
        attributes = conversions.custom_attributes(request.headers.get(conversions.CUSTOM_ATTRIBUTES_HEADER))
        if request.path == "/ping":
            return ping(attributes)
        if request.path == "/invocations":
            return python_service(request, attributes) if handler else invocations(request, attributes)
        if request.path.startswith("/tfs/"):
            # The real nginx passes /tfs/... to TF Serving too (nginx.conf.template, `location /tfs`).
            status, body = call_tfs(request.method, request.path[len("/tfs"):], request.get_data() or None)
            return Response(body, status, content_type="application/json")
        return json_error(404, "Not Found")

    def app(environ, start_response):
        request = Request(environ)
        response = route(request)
        if response.status_code >= 400 and request.path != "/ping":
            log.warning("%s %s -> %s %s", request.method, request.path, response.status_code,
                        response.get_data()[:500].decode("utf-8", "replace"))
        return response(environ, start_response)

    return app
