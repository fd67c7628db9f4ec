"""The parsing and hook-dispatch code of Lab 01's and Lab 02's containers, imported in-process: a broken
parser is caught in seconds, without Docker (the contract tests in test_*_container.py run the images).

Contracts: SageMaker passes hyperparameters as strings in hyperparameters.json
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html);
the PyTorch inference toolkit's hooks (https://github.com/aws/sagemaker-inference-toolkit,
src/sagemaker_inference/transformer.py: transform_fn alone or input_fn/predict_fn/output_fn, an optional
trailing context argument, str bodies for JSON and CSV).
"""
import io
import json
import types

import numpy as np
import pytest

# ---- sklearn-byoc (Lab 01) ---------------------------------------------------------------------------


@pytest.fixture
def byoc_model(program_module):
    return program_module("sklearn-byoc", "model")


def test_hyperparameter_strings_become_typed_settings(byoc_model):
    settings = byoc_model.parse_hyperparameters({"max_leaf_nodes": "5", "criterion": '"entropy"'})
    assert settings == {"random_state": 0, "max_leaf_nodes": 5, "criterion": "entropy"}


@pytest.mark.parametrize("raw, words", [({"max_leaf_nodes": "1"}, "at least 2"), ({"max_leaf_nodes": "5.5"}, "integer"),
                                        ({"criterion": "purity"}, "one of gini"), ({"leaves": "3"}, "unknown")])
def test_a_bad_hyperparameter_is_refused_with_what_is_expected(byoc_model, raw, words):
    opt_ml = __import__("opt_ml")
    with pytest.raises(opt_ml.ContractError, match=words):
        byoc_model.parse_hyperparameters(raw)


def test_csv_rows_are_checked_for_width_and_numbers_with_their_position(byoc_model):
    opt_ml = __import__("opt_ml")
    assert byoc_model.parse_rows("1,2\n\n3,4\n") == [["1", "2"], ["3", "4"]]  # blank lines are not rows
    with pytest.raises(opt_ml.ContractError, match="row 2 has 1 values; expected 2"):
        byoc_model.parse_rows("1,2\n3\n")
    with pytest.raises(opt_ml.ContractError, match="row 1, column 2: 'x' is not a number"):
        byoc_model.to_numbers([["1", "x"]])


def test_training_and_prediction_round_trip_in_process(byoc_model, tmp_path):
    rows = "a,0,0\na,0,1\nb,5,5\nb,5,6\n"
    tree, info = byoc_model.train([("train.csv", rows)], {"max_leaf_nodes": "2"})
    assert info["classes"] == ["a", "b"] and info["n_features"] == 2 and info["n_leaves"] == 2
    byoc_model.save(tree, info, tmp_path)
    loaded, loaded_info = byoc_model.load(tmp_path)
    assert byoc_model.predict_csv(loaded, loaded_info, "0,0\n5,5\n") == "a\nb\n"


def test_opt_ml_root_moves_the_tree_for_tests(program_module, tmp_path, monkeypatch):
    """opt_ml.py reads OPT_ML_ROOT (default /opt/ml) at import: the same code runs on a host folder."""
    monkeypatch.setenv("OPT_ML_ROOT", str(tmp_path))
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"max_depth": "3"}))
    opt_ml = program_module("sklearn-byoc", "opt_ml")
    assert opt_ml.read_hyperparameters() == {"max_depth": "3"}
    opt_ml.write_failure("bad input")
    assert (tmp_path / "output" / "failure").read_text().startswith("bad input")


# ---- pytorch-byom-inference (Lab 02): hook dispatch ---------------------------------------------------

@pytest.fixture
def hooks(program_module, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    return program_module("pytorch-byom-inference", "handlers")


def _module(**functions):
    return types.SimpleNamespace(**functions)


def test_user_hooks_replace_only_the_defaults_they_define(hooks, tmp_path):
    seen = {}
    user = _module(model_fn=lambda model_dir: "MODEL",
                   predict_fn=lambda data, model: seen.setdefault("args", (data, model)) and [[1.0, 2.0]])
    handlers = hooks.Handlers(user, model_dir=tmp_path)
    assert handlers.sources == {"model_fn": "inference.py", "input_fn": "default", "predict_fn": "inference.py",
                                "output_fn": "default"}
    body, content_type = handlers.transform(b"[[0.5, 0.25]]", "application/json", "application/json")
    assert json.loads(body) == [[1.0, 2.0]] and content_type == "application/json"
    data, model = seen["args"]
    assert model == "MODEL" and np.allclose(data.numpy(), [[0.5, 0.25]])  # the default input_fn decoded JSON


def test_a_hook_may_take_the_context_as_one_more_argument(hooks, tmp_path):
    user = _module(model_fn=lambda model_dir, context: context.system_properties["model_dir"],
                   transform_fn=lambda model, body, content_type, accept: (f"{model}|{body}", "text/plain"))
    body, content_type = hooks.Handlers(user, model_dir=tmp_path).transform(b'"x"', "application/json", "text/plain")
    assert body == f'{tmp_path}|"x"'.encode() and content_type == "text/plain"  # JSON bodies arrive as str


def test_transform_fn_together_with_request_hooks_is_refused(hooks, tmp_path):
    user = _module(model_fn=lambda d: None, transform_fn=lambda m, b, c, a: b, input_fn=lambda b, c: b)
    with pytest.raises(ValueError, match="transform_fn together with"):
        hooks.Handlers(user, model_dir=tmp_path)


def test_a_missing_or_wildcard_accept_means_the_default_accept(hooks, tmp_path):
    """SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, default application/json (sagemaker_inference/environment.py)."""
    user = _module(model_fn=lambda d: None, transform_fn=lambda model, body, content_type, accept: accept)
    handlers = hooks.Handlers(user, model_dir=tmp_path)
    assert handlers.transform(b"x", "application/x-image", "*/*") == (b"application/json", "application/json")
    assert handlers.transform(b"x", "application/x-image", None)[0] == b"application/json"


def test_a_hook_with_the_wrong_number_of_arguments_says_what_the_contract_passes(hooks, tmp_path):
    def model_fn():  # the contract passes model_dir
        return None

    user = _module(model_fn=model_fn)
    with pytest.raises(TypeError, match="model_fn takes 0 arguments; the contract passes 1"):
        hooks.Handlers(user, model_dir=tmp_path)


def test_default_input_and_output_handlers_round_trip_csv_and_refuse_unknown_types(program_module, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    defaults = program_module("pytorch-byom-inference", "default_handlers")
    errors = __import__("errors")
    tensor = defaults.input_fn("1,2\n3,4\n", "text/csv")
    assert tensor.shape == (2, 2)
    assert defaults.output_fn(tensor, "text/csv") == ("1.0,2.0\n3.0,4.0\n", "text/csv")
    with pytest.raises(errors.UnsupportedMediaType):
        defaults.input_fn(b"x", "image/gif")
    with pytest.raises(errors.NotAcceptable):
        defaults.output_fn(tensor, "text/html")
    with pytest.raises(errors.BadRequest):
        defaults.input_fn("[[1, 2", "application/json")


# ---- pytorch-byom-inference/program/model_server.py: the model server's part in the framework twins ------------
# The twins run AWS's handler service unchanged; these tests pin what the model server around it does, each
# against its source: pytorch/serve v0.12.0 (ts/) and awslabs/multi-model-server v1.1.8 (mms/).

@pytest.fixture
def model_server(program_module, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    return program_module("pytorch-byom-inference", "model_server")


class _RecordingService:
    """A handler service as the toolkits write one: initialize(context) once, handle(data, context) per batch."""

    def __init__(self, reply):
        self.reply, self.seen = reply, []

    def initialize(self, context):
        self.initialized_with = context

    def handle(self, data, context):
        self.seen.append((data, dict(context.request_processor[0].get_request_properties())))
        return self.reply(data, context)


def test_the_worker_gives_the_handler_the_body_as_bytes_and_the_headers_as_sent(model_server, tmp_path):
    """ts/service.py:84-108 (mms/service.py:65-85): data = [{"body": value}], headers = the parameter's own
    {"body": {"content-type": ...}} first, then every request header by the name the client sent; with
    decode_input_request=false (the toolkit's default-ts.properties) the value is the raw bytes."""
    service = _RecordingService(lambda data, context: [b"ok"])
    worker = model_server.Worker(service, tmp_path, "torchserve")
    worker.invoke(b'{"a": 1}', {"Content-Type": "application/json; charset=utf-8", "Accept": "text/csv"},
                  "application/json")
    data, headers = service.seen[0]
    assert data == [{"body": b'{"a": 1}'}]
    assert headers == {"body": {"content-type": "application/json"},
                       "Content-Type": "application/json; charset=utf-8", "Accept": "text/csv"}


@pytest.mark.parametrize("server, version, extra", [("torchserve", "0.12.0", {"limit_max_image_pixels": True}),
                                                    ("mms", "1.1.8", {})])
def test_the_context_has_the_system_properties_of_the_real_server(model_server, tmp_path, server, version, extra):
    """ts/context.py:26-35 and mms/context.py:22-31: model_name, model_dir, gpu_id (None on CPU), batch_size 1,
    server_name "MMS" (TorchServe keeps MMS's name), the server's version."""
    service = _RecordingService(lambda data, context: [b""])
    model_server.Worker(service, tmp_path, server)
    context = service.initialized_with
    assert context.model_name == "model"
    assert context.system_properties == {"model_dir": str(tmp_path), "gpu_id": None, "batch_size": 1,
                                         "server_name": "MMS", "server_version": version, **extra}


def test_the_context_api_the_toolkit_and_user_code_call(model_server, tmp_path):
    """ts/context.py:73-124 / mms/context.py:56-101: request headers by index and name, response content type,
    status and headers per request; TorchServe adds get_sequence_id and model_yaml_config."""
    def reply(data, context):
        assert context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes") == "k=v"
        assert context.get_all_request_header(0)["Accept"] == "text/csv"
        assert context.get_request_id(0) == context.request_ids[0]
        assert context.get_sequence_id(0) is None and context.model_yaml_config == {}
        assert context.metrics is None  # the servers' metrics objects are not reproduced (README: differences)
        context.set_response_content_type(0, "text/csv")
        context.set_response_header(0, "X-Custom", "1")
        context.set_response_status(code=202, phrase="Accepted later")
        return ["1\n"]

    answer = model_server.Worker(_RecordingService(reply), tmp_path, "torchserve").invoke(
        b"x", {"Accept": "text/csv", "X-Amzn-SageMaker-Custom-Attributes": "k=v"}, "text/plain")
    assert (answer.status, answer.phrase, answer.body) == (202, "Accepted later", b"1\n")
    assert answer.headers == {"content-type": "text/csv", "X-Custom": "1"}
    mms_context = model_server.CONTEXTS["mms"](tmp_path)
    assert not hasattr(mms_context, "get_sequence_id")  # MMS 1.1.8's context has no sequences


@pytest.mark.parametrize("reply, status, message", [
    (lambda data, context: 1 / 0, 503, "Prediction failed"),                       # service.py:142-154
    (lambda data, context: b"not a list", 503, "Invalid model predict output"),      # service.py:156-164
    (lambda data, context: [b"a", b"b"], 503, "number of batch response mismatched"),  # service.py:166-175
    (lambda data, context: [object()], 503, "Unsupported model output data type."),  # otf_message_handler:148-152
])
def test_what_the_handler_lets_escape_is_the_servers_json_error(model_server, tmp_path, reply, status, message):
    """The worker's failure codes, sent by the frontend as NettyUtils.sendError: ErrorResponse(code,
    "InternalServerException", message) pretty-printed plus a newline (RestJob.java:233-247, NettyUtils.java:101-106;
    MMS Job.java:114-127)."""
    answer = model_server.Worker(_RecordingService(reply), tmp_path, "torchserve").invoke(b"x", {}, None)
    assert answer.status == status and answer.headers == {"Content-Type": "application/json"}
    assert answer.body.decode() == (f'{{\n  "code": {status},\n  "type": "InternalServerException",\n'
                                    f'  "message": "{message}"\n}}\n')


def test_answers_are_bytes_text_or_indented_json(model_server, tmp_path):
    """otf_message_handler.py:127-147: bytes as they are, str as UTF-8, anything else json.dumps(indent=2)."""
    answers = iter([[b"\x00\x01"], ["caf\u00e9"], [{"a": [1, 2]}]])
    worker = model_server.Worker(_RecordingService(lambda data, context: next(answers)), tmp_path, "mms")
    assert worker.invoke(b"", {}, None).body == b"\x00\x01"
    assert worker.invoke(b"", {}, None).body == "caf\u00e9".encode()
    assert worker.invoke(b"", {}, None).body == json.dumps({"a": [1, 2]}, indent=2).encode()


def test_torchserve_sends_a_tensor_as_torch_save_bytes_and_mms_cannot(model_server, tmp_path):
    """ts/protocol/otf_message_handler.py:136-142 (torch.save); MMS has no such branch: json.dumps fails, 503."""
    import torch

    reply = lambda data, context: [torch.tensor([1.0, 2.0])]  # noqa: E731
    sent = model_server.Worker(_RecordingService(reply), tmp_path, "torchserve").invoke(b"", {}, None)
    assert torch.equal(torch.load(io.BytesIO(sent.body)), torch.tensor([1.0, 2.0]))
    assert model_server.Worker(_RecordingService(reply), tmp_path, "mms").invoke(b"", {}, None).status == 503


def test_the_handler_module_must_define_exactly_one_class(model_server, tmp_path, monkeypatch):
    """ts/model_loader.py:175-192, mms/model_loader.py:129-138: no module-level `handle`, so the one class
    defined in the module is the service; two classes are refused."""
    (tmp_path / "one_service.py").write_text("from json import JSONDecoder\nclass S:\n"
                                             "    def initialize(self, context): pass\n"
                                             "    def handle(self, data, context): return []\n")
    (tmp_path / "two_services.py").write_text("class A:\n    pass\nclass B:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert type(model_server.load_handler_service("one_service")).__name__ == "S"  # imported classes do not count
    with pytest.raises(ValueError, match="Expected only one class"):
        model_server.load_handler_service("two_services")


def test_the_worker_process_has_code_and_model_on_the_path_the_model_as_cwd_and_mxnets_threads(model_server):
    """sagemaker-mxnet-inference v1.5.5 serving.py:25-36 (four variables, only where unset); the launchers put
    /opt/ml/model/code on PYTHONPATH (torchserve.py:109-117, sagemaker-inference v1.6.1 model_server.py:124-136)
    and the servers add the model folder after it and start the worker in it (TorchServe EnvironmentUtils.java:
    24-54 and WorkerLifeCycle.java:192; MMS WorkerLifeCycle.java:54-80,160); in sys.path PYTHONPATH comes after
    the worker's own folder."""
    environ, path, moved_to = {"OMP_NUM_THREADS": "4"}, ["/opt/program", "/site-packages"], []
    model_server.prepare_worker_process("mms", "/opt/ml/model/code", "/opt/ml/model", environ, path, moved_to.append)
    assert environ == {"OMP_NUM_THREADS": "4", "MXNET_CPU_WORKER_NTHREADS": "1", "MXNET_CPU_PRIORITY_NTHREADS": "1",
                       "MXNET_KVSTORE_REDUCTION_NTHREADS": "1"}
    assert path == ["/opt/program", "/opt/ml/model/code", "/opt/ml/model", "/site-packages"]
    assert moved_to == ["/opt/ml/model"]
    torchserve_environ = {}
    model_server.prepare_worker_process("torchserve", "/code", "/model", torchserve_environ, [], lambda d: None)
    assert torchserve_environ == {}


def test_ping_answers_healthy_as_json(model_server):
    """TorchServe InferenceRequestHandler.java:68-81 with StatusResponse (only `status` exposed), GSON pretty plus a
    newline (NettyUtils.java:80-99); MMS ModelManager.java:221-241 the same body, 200."""
    answer = model_server.ping_answer()
    assert (answer.status, answer.body, answer.headers) == (200, b'{\n  "status": "Healthy"\n}\n',
                                                            {"Content-Type": "application/json"})
