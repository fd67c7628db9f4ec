"""The twin's stand-in for the real image's nginx on SAGEMAKER_BIND_TO_PORT (8080), started last, as nginx is.

Routes of nginx.conf.template (aws/deep-learning-containers @ ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e,
tensorflow/inference/docker/build_artifacts/sagemaker/nginx.conf.template):
- /ping, /invocations: the njs rules (tensorflowServing.js, here conversions.py) against TF Serving, or, when the
  Python service runs, proxied to gunicorn's unix socket (serve.py GUNICORN_PING / GUNICORN_INVOCATIONS);
- /tfs/...: passed to TF Serving with only Content-Type and Accept application/json; /models: to gunicorn;
- anything else: 404 {"error": "Not Found"}.
As nginx does, an upstream that cannot be reached or closes the connection without an answer (gunicorn kills a
worker that has not reported within its timeout) is a 502, and one that does not answer within
proxy_read_timeout (SAGEMAKER_NGINX_PROXY_READ_TIMEOUT_SECONDS, 60) a 504, both with nginx's HTML error page.
"""
import argparse
import http.client
import itertools
import json
import logging
import os
import signal
import socket

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import conversions

log = logging.getLogger("front")
REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}
# Hop-by-hop headers: nginx neither passes them to the upstream nor back to the client.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host",
              "server", "date", "content-length"}


def nginx_error(status):
    """nginx's own error page for a failed upstream (text/html, as nginx sends it)."""
    title = f"{status} {REASONS[status]}"
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return Response(page, status, content_type="text/html")


def json_error(status, message):
    return Response(json.dumps({"error": message}), status, content_type="application/json")


class UnixConnection(http.client.HTTPConnection):
    """HTTP over gunicorn's unix socket (nginx's `upstream gunicorn_upstream { server unix:/tmp/gunicorn.sock }`)."""

    def __init__(self, path, timeout):
        super().__init__("gunicorn_upstream", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def create_app(tfs_ports, default_model, python_service, gunicorn_socket, timeout):
    """TFS_PORTS: TF Serving's REST ports (one per instance, used in turn as nginx's upstream does)."""
    next_tfs_port = itertools.cycle(tfs_ports).__next__

    def call_tfs(method, path, body=None):
        """(status, body, content type) of a TF Serving request, or nginx's answer when it fails."""
        try:
            answer = requests.request(method, f"http://127.0.0.1:{next_tfs_port()}{path}", data=body,
                                      timeout=(5, timeout),
                                      headers={"Content-Type": "application/json", "Accept": "application/json"})
        except requests.Timeout:
            return nginx_error(504)
        except requests.RequestException:
            return nginx_error(502)
        return Response(answer.content, answer.status_code,
                        content_type=answer.headers.get("Content-Type", "application/json"))

    def to_gunicorn(request, path):
        headers = {key: value for key, value in request.headers.items() if key.lower() not in HOP_BY_HOP}
        connection = UnixConnection(gunicorn_socket, timeout)
        try:
            connection.request(request.method, path, body=request.get_data(), headers=headers)
            answer = connection.getresponse()
            body = answer.read()
        except socket.timeout:
            return nginx_error(504)
        except (OSError, http.client.HTTPException):  # no socket, refused, or closed without an answer
            return nginx_error(502)
        finally:
            connection.close()
        response = Response(body, answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP:
                response.headers[key] = value
        return response

    def ping(attributes):
        answer = call_tfs("GET", conversions.tfs_path(attributes, default_model, with_method=False))
        if answer.status_code == 200 and b'"AVAILABLE"' in answer.get_data():
            return Response(status=200, content_type="application/json")
        log.error("failed ping%s", answer.get_data().decode("utf-8", "replace"))
        return Response(status=502, content_type="application/json")

    def invocations(request, attributes):
        try:
            tfs_body = conversions.request_body(request.headers.get("Content-Type"), request.get_data())
        except conversions.UnsupportedMediaType as err:
            return json_error(415, str(err))
        except UnicodeDecodeError:
            return json_error(400, "the request body is not UTF-8 text")
        answer = call_tfs("POST", conversions.tfs_path(attributes, default_model), tfs_body)
        body, content_type = conversions.response(answer.status_code, answer.get_data(),
                                                  request.headers.get("Accept"))
        return Response(body, answer.status_code, content_type=content_type)

    def route(request):
        path = request.path
        if path.startswith("/tfs"):
            return call_tfs(request.method, path[len("/tfs"):], request.get_data() or None)
        # proxy_pass to gunicorn names the same prefix as the location: the path and query go on unchanged.
        if path.startswith("/models") or (python_service and path.startswith(("/ping", "/invocations"))):
            return to_gunicorn(request, request.full_path.rstrip("?"))
        if path.startswith(("/ping", "/invocations")):
            attributes = conversions.custom_attributes(request.headers.get(conversions.CUSTOM_ATTRIBUTES_HEADER))
            return ping(attributes) if path.startswith("/ping") else invocations(request, attributes)
        return json_error(404, "Not Found")

    def app(environ, start_response):
        request = Request(environ)
        response = route(request)
        if response.status_code >= 400 and request.path != "/ping":
            log.warning("%s %s -> %s %s", request.method, request.path, response.status_code,
                        response.get_data()[:500].decode("utf-8", "replace"))
        return response(environ, start_response)

    return app


def main():
    parser = argparse.ArgumentParser(description="the twin's nginx stand-in")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tfs-ports", required=True, help="TF Serving REST ports, comma-separated")
    parser.add_argument("--default-model", required=True)
    parser.add_argument("--python-service", action="store_true")
    parser.add_argument("--gunicorn-socket", required=True)
    parser.add_argument("--proxy-read-timeout", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(process)d %(asctime)s %(levelname)-8s front: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per /ping
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    app = create_app(args.tfs_ports.split(","), args.default_model, args.python_service, args.gunicorn_socket,
                     args.proxy_read_timeout)
    server = make_server("0.0.0.0", args.port, app, threaded=True)
    log.info("listening on %s: /ping and /invocations %s", args.port,
             "to the Python service (gunicorn)" if args.python_service else "by the njs rules to TF Serving")
    server.serve_forever()


if __name__ == "__main__":
    main()
