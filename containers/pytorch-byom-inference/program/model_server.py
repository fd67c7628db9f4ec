"""The model server's part in the framework twins: what TorchServe (PyTorch 2.5 DLC) and Multi Model Server (MXNet
1.9 DLC) do around AWS's handler service, which runs here unchanged, installed from PyPI.

In the real images `serve` starts AWS's toolkit (sagemaker-pytorch-inference 2.0.25; sagemaker-mxnet-inference
1.5.5 on sagemaker-inference 1.6.1). The toolkit puts /opt/ml/model/code on PYTHONPATH and starts the Java model
server, whose Python worker imports the handler service module, makes an instance of the one class defined in
it, calls initialize(context) once and handle(data, context) for every request, and turns the list handle
returns, and what it set on the context, into the HTTP answer. That worker is this module; app.py is the HTTP
front and `serve` the launcher. Hook dispatch, inference.py loading, decoding, encoding and the toolkit's
error answers are therefore AWS's own code; what is here follows, line by line:
- pytorch/serve v0.12.0: ts/model_loader.py:106-192 (the one class, initialize), ts/service.py:61-182
  (request dict, RequestProcessor, 503/507 answers), ts/context.py (Context API), ts/protocol/
  otf_message_handler.py:56-155 (status, phrase, content type, body encoding) and :310-360 (bodies as bytes
  with decode_input_request=false), frontend RestJob.java:135-166,233-247 and NettyUtils.java:71-112 (JSON
  answers), InferenceRequestHandler.java:68-81 (/ping), ConfigManager.java:812 (max_request_size 6553500);
- awslabs/multi-model-server v1.1.8: mms/model_loader.py:110-140, mms/service.py:56-131, mms/context.py,
  mms/protocol/otf_message_handler.py:58-134, Job.java:76-127, ModelManager.java:221-244 (/ping),
  ConfigManager.java:487 (max_request_size 6553500);
- the toolkits' launchers: sagemaker-pytorch-inference v2.0.25 torchserve.py:109-117 and default-ts.properties
  (code/ on PYTHONPATH, decode_input_request=false, model name "model"); sagemaker-mxnet-inference v1.5.5
  serving.py:25-36 (thread variables set unless already set) and sagemaker-inference v1.6.1
  model_server.py:124-136 (code/ on PYTHONPATH); the servers' worker processes: TorchServe
  WorkerLifeCycle.java:192 and EnvironmentUtils.java:24-54, MMS WorkerLifeCycle.java:54-80,160 (the model folder
  on PYTHONPATH and as the working directory).
"""
import importlib
import inspect
import io
import json
import logging
import os
import sys
import uuid

log = logging.getLogger("model_server")

MODEL_NAME = "model"  # the one model the toolkits register (torchserve.py DEFAULT_TS_MODEL_NAME, MMS likewise)

# What differs between the two model servers, as far as a handler or a client can see it.
SERVERS = {
    "torchserve": {
        "version": "0.12.0",                            # torchserve==0.12.0 in the PyTorch 2.5 DLC
        "properties": {"limit_max_image_pixels": True},  # ts/context.py:28-35
        "encodes_tensors": True,                        # otf_message_handler.py:136-142: torch.save bytes
        "launcher_env": {},
    },
    "mms": {
        "version": "1.1.8",                             # multi-model-server==1.1.8 in the MXNet 1.9 DLC
        "properties": {},
        "encodes_tensors": False,
        # sagemaker-mxnet-inference serving.py:25-36, applied before MXNet loads
        "launcher_env": {"MXNET_CPU_WORKER_NTHREADS": "1", "MXNET_CPU_PRIORITY_NTHREADS": "1",
                         "MXNET_KVSTORE_REDUCTION_NTHREADS": "1", "OMP_NUM_THREADS": "1"},
    },
}


class RequestProcessor:
    """One request's headers in, its status, phrase and response headers out (ts/context.py:137-171)."""

    def __init__(self, request_header):
        self._status_code = 200
        self._reason_phrase = None
        self._response_header = {}
        self._request_header = request_header

    def get_request_property(self, key):
        return self._request_header.get(key)

    def get_request_properties(self):
        return self._request_header

    def report_status(self, code, reason_phrase=None):
        self._status_code = code
        self._reason_phrase = reason_phrase

    def get_response_status_code(self):
        return self._status_code

    def get_response_status_phrase(self):
        return self._reason_phrase

    def add_response_property(self, key, value):
        self._response_header[key] = value

    def get_response_headers(self):
        return self._response_header

    def get_response_header(self, key):
        return self._response_header.get(key)


class Context:
    """The context MMS 1.1.8 gives a handler (mms/context.py); TorchServe's adds a few members (below)."""

    def __init__(self, model_dir, server="mms"):
        self.model_name = MODEL_NAME
        self.manifest = None  # a model folder, not a .mar: no MAR-INF/MANIFEST.json
        self._system_properties = {"model_dir": str(model_dir), "gpu_id": None, "batch_size": 1,
                                   "server_name": "MMS", "server_version": SERVERS[server]["version"],
                                   **SERVERS[server]["properties"]}
        self.request_ids = None
        self._request_processor = None
        self.metrics = None  # the servers' metrics objects are not reproduced (README: differences)

    @property
    def system_properties(self):
        return self._system_properties

    @property
    def request_processor(self):
        return self._request_processor

    @request_processor.setter
    def request_processor(self, request_processor):
        self._request_processor = request_processor

    def get_request_id(self, idx=0):
        return self.request_ids.get(idx)

    def get_request_header(self, idx, key):
        return self._request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx):
        return self._request_processor[idx].get_request_properties()

    def set_response_content_type(self, idx, value):
        self.set_response_header(idx, "content-type", value)

    def get_response_content_type(self, idx):
        return self.get_response_headers(idx).get("content-type")

    def get_response_status(self, idx):
        processor = self._request_processor[idx]
        return processor.get_response_status_code(), processor.get_response_status_phrase()

    def set_response_status(self, code=200, phrase="", idx=0):
        if self._request_processor is not None and self._request_processor[idx] is not None:
            self._request_processor[idx].report_status(code, reason_phrase=phrase)

    def set_all_response_status(self, code=200, phrase=""):
        for processor in self._request_processor:
            processor.report_status(code, reason_phrase=phrase)

    def get_response_headers(self, idx):
        return self._request_processor[idx].get_response_headers()

    def set_response_header(self, idx, key, value):
        self._request_processor[idx].add_response_property(key, value)


class TorchServeContext(Context):
    """TorchServe 0.12.0's context: MMS's plus sequence ids and the model's YAML config (ts/context.py:36-51,
    73-76, 131-134)."""

    def __init__(self, model_dir, server="torchserve"):
        super().__init__(model_dir, server)
        self.model_yaml_config = {}
        self.stopping_criteria = None
        self.header_key_sequence_id = os.getenv("TS_REQUEST_SEQUENCE_ID", "ts_request_sequence_id")
        self.header_key_sequence_start = os.getenv("TS_REQUEST_SEQUENCE_START", "ts_request_sequence_start")
        self.header_key_sequence_end = os.getenv("TS_REQUEST_SEQUENCE_END", "ts_request_sequence_end")

    def get_request_id(self, idx=0):
        return None if self.request_ids is None else self.request_ids.get(idx)

    def get_sequence_id(self, idx):
        return self._request_processor[idx].get_request_property(self.header_key_sequence_id)


CONTEXTS = {"torchserve": TorchServeContext, "mms": Context}


class Answer:
    """What the model server sends back: status, reason phrase (None: the standard one), headers, body."""

    def __init__(self, status, body, headers=None, phrase=None):
        self.status, self.body, self.headers, self.phrase = status, body, dict(headers or {}), phrase


def error_answer(status, message):
    """The servers' JSON error (NettyUtils.sendError: ErrorResponse(code, type, message), pretty-printed, then
    a newline), as the frontend sends it when the worker itself failed."""
    body = json.dumps({"code": status, "type": "InternalServerException", "message": message}, indent=2)
    return Answer(status, (body + "\n").encode(), {"Content-Type": "application/json"})


def ping_answer():
    """GET /ping with the worker up: 200 {"status": "Healthy"} (TorchServe StatusResponse, GSON pretty)."""
    return Answer(200, b'{\n  "status": "Healthy"\n}\n', {"Content-Type": "application/json"})


def prepare_worker_process(server, code_dir, model_dir, environ=os.environ, path=sys.path, chdir=os.chdir):
    """The process the handler runs in, as the toolkit's launcher and the model server set it up: the launcher's
    thread variables (unless set); PYTHONPATH code/ first, then the model folder (TorchServe EnvironmentUtils.java:
    24-54, MMS WorkerLifeCycle.java:54-80), which in sys.path come after the worker's own folder and before
    site-packages; and the model folder as the working directory (TorchServe WorkerLifeCycle.java:192, MMS :160)."""
    for key, value in SERVERS[server]["launcher_env"].items():
        environ.setdefault(key, value)
    for position, folder in enumerate((str(code_dir), str(model_dir)), start=1 if path else 0):
        if folder not in path:
            path.insert(position, folder)
    chdir(str(model_dir))


def load_handler_service(module_name):
    """The one class the handler module defines, made into an instance (model_loader.py: a module with no
    `handle` function must define exactly one class, and it must have `handle`)."""
    module = importlib.import_module(module_name)
    classes = [member for _, member in inspect.getmembers(module, inspect.isclass)
               if member.__module__ == module.__name__]
    if len(classes) != 1:
        raise ValueError(f"Expected only one class in custom service code or a function entry point {classes}")
    service = classes[0]()
    if not hasattr(service, "handle"):
        raise ValueError(f"Expect handle method in class {classes[0]}")
    return service


class Worker:
    """One model-server worker: the handler service, initialised once, and one request at a time."""

    def __init__(self, service, model_dir, server):
        self.service, self.server = service, server
        self.context = CONTEXTS[server](model_dir)
        service.initialize(self.context)  # a failure here stops the start (README: differences)

    def invoke(self, body, headers, mimetype):
        """POST /invocations: BODY (bytes), HEADERS ({name: value}, as the client sent them), MIMETYPE (the
        Content-Type without parameters, or None). Returns an Answer."""
        # Parameter-level header first, request headers after (service.py:91-102); the body arrives as bytes.
        processor = RequestProcessor({"body": {"content-type": mimetype}, **headers})
        self.context.request_ids = {0: str(uuid.uuid4())}
        self.context.request_processor = [processor]
        try:
            returned = self.service.handle([{"body": body}], self.context)
        except MemoryError:
            log.error("System out of memory", exc_info=True)
            return error_answer(507, "Out of resources")
        except Exception:  # noqa: BLE001 (the servers answer 503 to anything the handler lets escape)
            log.warning("Invoking custom service failed.", exc_info=True)
            return error_answer(503, "Prediction failed")
        if not isinstance(returned, list):
            log.warning("model: %s, Invalid return type: %s.", MODEL_NAME, type(returned))
            return error_answer(503, "Invalid model predict output")
        if len(returned) != 1:
            log.warning("model: %s, number of batch response mismatched, expect: 1, got: %d.", MODEL_NAME,
                        len(returned))
            return error_answer(503, "number of batch response mismatched")
        payload = self._encode(returned[0])
        if payload is None:
            return error_answer(503, "Unsupported model output data type.")
        code, phrase = self.context.get_response_status(0)
        return Answer(code if code is not None else 200, payload, processor.get_response_headers(), phrase or None)

    def _encode(self, value):
        """bytes as they are, str as UTF-8, (TorchServe) a tensor as torch.save bytes, else indented JSON."""
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        torch = sys.modules.get("torch")
        if SERVERS[self.server]["encodes_tensors"] and torch is not None and isinstance(value, torch.Tensor):
            buffer = io.BytesIO()
            torch.save(value, buffer)
            return buffer.getvalue()
        try:
            return json.dumps(value, indent=2).encode("utf-8")
        except TypeError:
            log.warning("Unable to serialize model output.", exc_info=True)
            return None
