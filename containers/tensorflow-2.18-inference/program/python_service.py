"""The real image's Python service, written for this twin: gunicorn + falcon behind the front, started when
code/ has inference.py, requirements.txt or lib/. It runs in /opt/dlc-python, a copy of the DLC's Python
environment (boto3, awscli, gevent, grpcio, protobuf, requests, falcon 3.1.0, gunicorn, tensorflow-serving-api
without its dependencies): no TensorFlow and no numpy, so an inference.py that imports them fails here as it
does on AWS.

Behaviour follows aws/deep-learning-containers @ ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e,
tensorflow/inference/docker/build_artifacts/sagemaker/python_service.py and tfs_utils.py:
- gevent's monkey patching first, then the user's code is imported while the module loads, before gunicorn
  forks its workers: an import error or a script without handlers stops the service before its socket exists;
- `handler(data, context)`, or `input_handler` -> POST context.rest_uri -> `output_handler`; without
  inference.py the default handler POSTs the raw body to TF Serving and returns TF Serving's body with status
  200 and the Accept header as its content type (python_service.py lines 63-74, 409-433);
- `context` is the real namedtuple; grpc_port is text and channel a gRPC channel to it (lines 99-106, 435-438);
- an exception in a handler is a 500 {"error": "<message>"}; GET /ping is 200.
"""
import gevent.monkey

gevent.monkey.patch_all()

import argparse  # noqa: E402  (after the monkey patching, as in the real service)
import collections  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402

import falcon  # noqa: E402
import grpc  # noqa: E402
import requests  # noqa: E402

logging.basicConfig(format="%(process)d %(asctime)s %(levelname)-8s %(message)s", force=True, level=logging.INFO)
log = logging.getLogger("python_service")

INFERENCE_SCRIPT = "/opt/ml/model/code/inference.py"
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
DEFAULT_TYPE = "application/json"
ATTRIBUTE = re.compile(r"(tfs-[a-z\-]+=[^,]+)")

# The field names and their order are the real image's (tfs_utils.py lines 35-39).
Context = collections.namedtuple(
    "Context", "model_name, model_version, method, rest_uri, grpc_port, channel, custom_attributes, "
               "request_content_type, accept_header, content_length")


def custom_attributes(header):
    """`tfs-model-name=a,tfs-method=predict` -> a dict. As in the real service, an attribute whose value
    has another '=' cannot be split in two and the request fails before any handler (a 500 from falcon)."""
    return dict(match.split("=") for match in ATTRIBUTE.findall(header or ""))


def tfs_uri(port, attributes, default_model):
    uri = f"http://localhost:{port}/v1/models/{attributes.get('tfs-model-name', default_model)}"
    if attributes.get("tfs-model-version"):
        uri += "/versions/" + attributes["tfs-model-version"]
    return uri + ":" + attributes.get("tfs-method", "predict")


def default_handler(data, context):
    """No inference.py: the body as it came, to TF Serving; its answer as it came, with status 200."""
    response = requests.post(context.rest_uri, data=data.read().decode("utf-8"))
    return response.content, context.accept_header


def load_handler(script=INFERENCE_SCRIPT):
    """The function that answers /invocations: the user's handler, input/output handlers around TF Serving,
    or the default handler when there is no inference.py."""
    if not os.path.exists(script):
        return default_handler
    spec = importlib.util.spec_from_file_location("inference", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "handler"):
        return module.handler
    if hasattr(module, "input_handler") and hasattr(module, "output_handler"):
        def handler(data, context):
            response = requests.post(context.rest_uri, data=module.input_handler(data, context))
            return module.output_handler(response, context)
        return handler
    raise NotImplementedError("Handlers are not implemented correctly in user script.")


class Invocations:
    def __init__(self, handler, grpc_ports, rest_ports, default_model):
        self.handler, self.default_model = handler, default_model
        self.grpc_ports, self.rest_ports = grpc_ports, rest_ports
        # One channel per gRPC port, made before the workers fork, as the real service does. Nothing in this
        # twin listens on it (no TF Serving gRPC API): a call through it fails with UNAVAILABLE.
        self.channels = {port: grpc.insecure_channel(f"localhost:{port}") for port in grpc_ports}

    def on_post(self, req, res):
        attributes = custom_attributes(req.get_header(CUSTOM_ATTRIBUTES_HEADER))
        grpc_port, rest_port = random.choice(self.grpc_ports), random.choice(self.rest_ports)
        context = Context(attributes.get("tfs-model-name"), attributes.get("tfs-model-version"),
                          attributes.get("tfs-method"), tfs_uri(rest_port, attributes, self.default_model),
                          grpc_port, self.channels[grpc_port], req.get_header(CUSTOM_ATTRIBUTES_HEADER),
                          req.get_header("Content-Type") or DEFAULT_TYPE, req.get_header("Accept") or DEFAULT_TYPE,
                          req.content_length)
        try:
            res.status = falcon.HTTP_200
            res.text, res.content_type = self.handler(req.stream, context)
        except Exception as err:  # user code: the real service answers 500 with the message
            log.exception("exception handling request: %s", err)
            res.status = falcon.HTTP_500
            res.text = json.dumps({"error": str(err)}).encode("utf-8")


class Ping:
    def on_get(self, req, res):
        res.status = falcon.HTTP_200


def create_app():
    app = falcon.App()
    app.add_route("/ping", Ping())
    app.add_route("/invocations", Invocations(load_handler(), os.environ["TFS_GRPC_PORTS"].split(","),
                                              os.environ["TFS_REST_PORTS"].split(","),
                                              os.environ.get("TFS_DEFAULT_MODEL_NAME", "None")))
    return app


# Built while the module loads, in gunicorn's master, as in the real service.
app = create_app() if __name__ == "__main__" else None


def main():
    parser = argparse.ArgumentParser(description="the twin's Python service (gunicorn + falcon)")
    parser.add_argument("-b", "--bind", required=True)
    parser.add_argument("-k", "--worker-class", required=True)
    parser.add_argument("-c", "--chdir", required=True)
    parser.add_argument("-w", "--workers", type=int, required=True)
    parser.add_argument("-t", "--threads", type=int, required=True)
    parser.add_argument("-l", "--log-level", required=True)
    parser.add_argument("-o", "--timeout", type=int, required=True)
    args = parser.parse_args()

    from gunicorn.app.base import BaseApplication

    class Service(BaseApplication):
        def load_config(self):
            for key, value in dict(bind=args.bind, worker_class=args.worker_class, chdir=args.chdir,
                                   workers=args.workers, threads=args.threads, loglevel=args.log_level,
                                   timeout=args.timeout).items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Service().run()


if __name__ == "__main__":
    main()
