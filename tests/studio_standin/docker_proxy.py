"""A stand-in for SageMaker Studio's Docker proxy: a Docker API proxy on a Unix socket.

Studio gives a space Docker access through a proxy (DOCKER_HOST=unix:///docker/proxy.sock) that
forwards to a real engine but refuses what Studio does not allow. This proxy does the same with the
rules below, so CI can run the workshop's Docker calls and Lab 01 as they would run in Studio.

Every rule is here, with its source (AWS's page: https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-local-get-started.html):

1. Builds only on the `sagemaker` network. Studio refuses a plain `docker build` with
   "Forbidden. Reason: [ImageBuild] 'sagemaker' is the only user allowed network input".
   (Seen in public issue threads; AWS docs, studio-updated-local-get-started: "sagemaker is the
   only network allowed".)
2. Containers only on the `sagemaker` network: "[ContainerCreate] SageMaker Studio Docker Usage only
   allows 'sagemaker' as network input". The SDK itself adds it in Studio
   (sagemaker-train local/local_container.py: `if is_studio: cmd += ["--network", "sagemaker"]`).
3. No privileged containers: "SageMaker Studio Docker Usage does not allow privileged mode execution".
4. No published ports (our decision; Studio's own behaviour is undocumented). The `sagemaker` network
   is one network namespace shared with the Studio app, so a published port means nothing there and
   the SDK publishes none in Studio (sagemaker-core local/image.py: `if not self.is_studio and
   command == "serve"` guards `ports`). Refusing them makes a workshop call that relies on one fail
   loudly here instead of silently in Studio.

How the stand-in models the shared namespace: the real engine has no `sagemaker` network, so an
allowed request's `sagemaker` network is rewritten to the engine's `host` network, and the app stand-in
container runs on `host` too. Containers then share one network namespace with the app, as in Studio.

Everything else is forwarded unchanged. Each forwarded request goes upstream with `Connection: close`
(so every request on a kept-alive client connection is inspected on its own connection), except
hijacked streams (`docker run` attach, `Upgrade: tcp`), which are piped both ways until both ends close.
"""
import json
import os
import socket
import socketserver
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

STUDIO_NETWORK = "sagemaker"
STANDIN_NETWORK = "host"  # what `sagemaker` becomes on the real engine (see the module docstring)

REFUSALS = {
    "build_network": "Forbidden. Reason: [ImageBuild] 'sagemaker' is the only user allowed network input",
    "container_network": ("Forbidden. Reason: [ContainerCreate] SageMaker Studio Docker Usage only allows "
                          "'sagemaker' as network input"),
    "privileged": ("Forbidden. Reason: [ContainerCreate] SageMaker Studio Docker Usage does not allow "
                   "privileged mode execution"),
    "published_ports": ("Forbidden. Reason: [ContainerCreate] (Studio stand-in rule) published ports are "
                        "refused: containers share the app's network namespace; bind a free port instead "
                        "(SAGEMAKER_BIND_TO_PORT)"),
}


class Refused(Exception):
    def __init__(self, rule):
        super().__init__(REFUSALS[rule])
        self.rule = rule


def _api_path(target):
    """'/v1.41/containers/create' -> '/containers/create' (the version prefix is optional)."""
    path = urlsplit(target).path
    parts = path.split("/", 2)
    if len(parts) > 2 and parts[1].startswith("v") and parts[1][1:2].isdigit():
        return "/" + parts[2]
    return path


def check_build(target):
    """Rule 1. Returns the target to forward (network rewritten)."""
    url = urlsplit(target)
    query = parse_qsl(url.query, keep_blank_values=True)
    network = dict(query).get("networkmode", "")
    if network != STUDIO_NETWORK:
        raise Refused("build_network")
    query = [(k, STANDIN_NETWORK if k == "networkmode" else v) for k, v in query]
    return urlunsplit(url._replace(query=urlencode(query)))


def check_container(config):
    """Rules 2-4 on a /containers/create body. Returns the body to forward (network rewritten)."""
    host = config.get("HostConfig") or {}
    if host.get("NetworkMode") != STUDIO_NETWORK:
        raise Refused("container_network")
    endpoints = (config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    if any(name != STUDIO_NETWORK for name in endpoints):
        raise Refused("container_network")
    if host.get("Privileged"):
        raise Refused("privileged")
    if host.get("PublishAllPorts") or any(host.get("PortBindings") or {}):
        raise Refused("published_ports")
    host["NetworkMode"] = STANDIN_NETWORK
    if endpoints:  # host networking takes no aliases or addresses
        config["NetworkingConfig"] = {"EndpointsConfig": {STANDIN_NETWORK: {}}}
    return config


# ---- HTTP plumbing --------------------------------------------------------------------------------

def _read_head(sock, buffer=b""):
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buffer
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def _parse_head(head):
    request_line, *header_lines = head.split("\r\n")
    method, target, version = request_line.split(" ", 2)
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return method, target, version, headers


def _header(headers, name):
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _read_body(sock, headers, rest):
    """The whole body of a request we need to inspect (Content-Length or chunked)."""
    length = _header(headers, "Content-Length")
    if length is not None:
        length = int(length)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:length]
    if (_header(headers, "Transfer-Encoding") or "").lower() == "chunked":
        body, data = b"", rest
        while True:
            while b"\r\n" not in data:
                data += sock.recv(65536)
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += sock.recv(65536)
            body, data = body + data[:size], data[size + 2:]
            if size == 0:
                return body
    return rest


def _pipe(source, target, done):
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        done.release()


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        head, rest = _read_head(client)
        if head is None:
            return
        method, target, version, headers = _parse_head(head)
        path = _api_path(target)
        try:
            if method == "POST" and path == "/build":
                target = check_build(target)
            elif method == "POST" and path == "/containers/create":
                body = _read_body(client, headers, rest)
                rest = json.dumps(check_container(json.loads(body or b"{}"))).encode()
                headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
                headers.append(("Content-Length", str(len(rest))))
        except Refused as refused:
            self.server.log(method, path, refused.rule)
            if path == "/build":  # read the build context first, or the client sees a broken pipe, not the reason
                _read_body(client, headers, rest)
            body = json.dumps({"message": str(refused)}).encode()
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                           b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            return
        self.server.log(method, path, None)
        upgrade = (_header(headers, "Upgrade") or "") != ""
        if not upgrade:
            headers = [(k, v) for k, v in headers if k.lower() != "connection"] + [("Connection", "close")]
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.server.upstream)
        head = "\r\n".join([f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n"
        upstream.sendall(head.encode("latin-1") + rest)
        done = threading.Semaphore(0)
        threading.Thread(target=_pipe, args=(client, upstream, done), daemon=True).start()
        _pipe(upstream, client, done)
        done.acquire()
        done.acquire()
        upstream.close()


class StudioDockerProxy(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """proxy = StudioDockerProxy(listen_path, upstream_path).start(); ...; proxy.stop()"""

    daemon_threads = True

    def __init__(self, listen_path, upstream="/var/run/docker.sock"):
        self.listen_path, self.upstream = str(listen_path), str(upstream)
        if os.path.exists(self.listen_path):
            os.unlink(self.listen_path)
        super().__init__(self.listen_path, _Handler)
        os.chmod(self.listen_path, 0o666)  # the app stand-in's user (uid 1000) must reach it
        self.requests = []  # (method, path, refused rule or None), for tests to read
        self._lock = threading.Lock()

    def log(self, method, path, rule):
        with self._lock:
            self.requests.append((method, path, rule))

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        if os.path.exists(self.listen_path):
            os.unlink(self.listen_path)
