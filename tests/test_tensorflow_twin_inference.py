"""Contract tests of containers/tensorflow-2.18-inference, the local twin of AWS's TensorFlow 2.18 inference DLC
(tensorflow-inference:2.18-cpu): pure-Python tests of its conversions (no Docker), then the built image served
as SageMaker serves it (`docker run IMAGE serve` with the model archive at /opt/ml/model).

Sources of the rules (each test names the one it follows):
- [njs]  github.com/aws/sagemaker-tensorflow-serving-container docker/build_artifacts/sagemaker/tensorflowServing.js
         (the same file ships in aws/deep-learning-containers tensorflow/inference/docker/build_artifacts/sagemaker/):
         content types, JSON / JSON lines / CSV -> `instances`, custom attributes, Accept, 415 message, /ping
- [nginx] same repository, docker/build_artifacts/sagemaker/nginx.conf.template (/tfs passes to TF Serving,
         anything else 404 {"error": "Not Found"})
- [serve] same repository, docker/build_artifacts/sagemaker/serve.py (ports, SAGEMAKER_TFS_DEFAULT_MODEL_NAME,
         "no SavedModel bundles found!", SAGEMAKER_SAFE_PORT_RANGE, SAGEMAKER_BIND_TO_PORT)
- [utils] same repository, docker/build_artifacts/sagemaker/tfs_utils.py (find_models, find_model_versions, Context)
- [pysvc] same repository, docker/build_artifacts/sagemaker/python_service.py (code/inference.py handlers, 500s)
- [rest] TF Serving REST API, https://www.tensorflow.org/tfx/serving/api_rest (status, predict, row and columnar
         formats, {"error": ...}); status codes from tensorflow/serving model_servers/http_server.cc
- [dlc]  aws/deep-learning-containers tensorflow/inference/docker/2.18/py3/Dockerfile.cpu (entrypoint runs the
         command it is given; label accept-bind-to-port=true)
- [host] SageMaker hosting, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
Expected predictions come from the models' weights, set by hand: y = scale * [x0 + x2 + 0.5, x1 + x2 - 0.5].
"""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests

from smworkshop import docker_run, engine, images

CONTAINER = "tensorflow-2.18-inference"
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.18-cpu"
RETRIEVE = dict(image_scope="inference", instance_type="ml.m5.xlarge")
CONTEXT_FIELDS = ["model_name", "model_version", "method", "rest_uri", "grpc_port", "channel", "custom_attributes",
                  "request_content_type", "accept_header", "content_length"]  # [utils] Context, in this order
ROWS = [[1, 2, 3], [4, 5, 6], [-1, 0.5, 2]]
docker = pytest.mark.docker


def expected(rows, scale=1):
    return [[scale * (a + c + 0.5), scale * (b + c - 0.5)] for a, b, c in rows]


# ==== without Docker: the njs front's conversions and the model discovery rule ================================

@pytest.fixture
def conversions(program_module):
    return program_module(CONTAINER, "conversions")


@pytest.fixture
def saved_models(program_module):
    return program_module(CONTAINER, "saved_models")


@pytest.mark.parametrize("body, tfs_body", [
    ('{"instances": [[1, 2, 3]]}', '{"instances": [[1, 2, 3]]}'),       # a TF Serving request: passed through
    ('{"inputs": {"a": [1]}}', '{"inputs": {"a": [1]}}'),
    ('{"signature_name": "x", "examples": []}', '{"signature_name": "x", "examples": []}'),
    ("[1, 2, 3]", '{"instances":[[1, 2, 3]]}'),                          # one instance, wrapped
    ("[[1, 2], [3, 4]]", '{"instances":[[1, 2], [3, 4]]}'),              # a list of instances, as it is
    ('{"a": 1}', '{"instances":[{"a": 1}]}'),
    ("[1, 2]\n[3, 4]\n", '{"instances":[[1, 2],[3, 4]]}'),              # JSON lines, under application/json too
    ('{"a": 1}\r\n{"a": 2}', '{"instances":[{"a": 1},{"a": 2}]}'),
])
def test_json_bodies_become_tf_serving_requests(conversions, body, tfs_body):
    """[njs] json_request: passed through with instances/inputs/examples, else JSON lines or wrapped."""
    assert conversions.json_body(body) == tfs_body
    assert json.loads(conversions.request_body("application/jsonlines", body.encode())) == json.loads(tfs_body)


@pytest.mark.parametrize("body, instances", [
    ("1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),
    ("1.5,-2e3,0.5\r\n", [[1.5, -2000.0, 0.5]]),
    ("7\n8\n", [7, 8]),                                                  # one column: no brackets
    ("a,b\nc,d", [["a", "b"], ["c", "d"]]),                              # first field not a number: strings
    ("red\nblue", ["red", "blue"]),
])
def test_csv_lines_become_instances(conversions, body, instances):
    """[njs] csv_request: one instance per line, a list when the line has commas, quoted when not numeric."""
    assert json.loads(conversions.request_body("text/csv", body.encode())) == {"instances": instances}


def test_malformed_csv_is_passed_on_for_tf_serving_to_refuse(conversions):
    """[njs] numeric CSV lines are copied as they are: '1,,3' reaches TF Serving as invalid JSON (a 400 there)."""
    with pytest.raises(ValueError):
        json.loads(conversions.request_body("text/csv", b"1,,3"))


@pytest.mark.parametrize("content_type, shown", [
    ("text/plain", "text/plain"), (None, "Unknown"), ("application/json; charset=utf-8", "application/json; charset=utf-8"),
    ("application/x-npy", "application/x-npy")])
def test_other_content_types_are_415_with_the_real_message(conversions, content_type, shown):
    """[njs] invocations: only the exact types application/json, application/jsonlines, application/jsons and
    text/csv; else 415 'Unsupported Media Type: <type>' ('Unknown' without one)."""
    with pytest.raises(conversions.UnsupportedMediaType) as refused:
        conversions.request_body(content_type, b"[1]")
    assert str(refused.value) == f"Unsupported Media Type: {shown}" and refused.value.status_code == 415


def test_custom_attributes_pick_model_version_and_method(conversions):
    """[njs] parse_custom_attributes / make_tfs_uri: tfs-model-name, tfs-model-version, tfs-method."""
    attributes = conversions.custom_attributes("tfs-model-name=half,tfs-model-version=2,trace=abc,tfs-method=regress")
    assert attributes == {"tfs-model-name": "half", "tfs-model-version": "2", "tfs-method": "regress"}
    assert conversions.tfs_path(attributes, "model") == "/v1/models/half/versions/2:regress"
    assert conversions.tfs_path({}, "model") == "/v1/models/model:predict"
    assert conversions.tfs_path({}, "model", with_method=False) == "/v1/models/model"
    assert conversions.custom_attributes(None) == {}


def test_a_json_accept_strips_newlines_and_names_the_type(conversions):
    """[njs] tfs_json_request: with Accept application/json(lines) the newlines go, Content-Type = first type."""
    body = b'{\n    "predictions": [1]\n}'
    assert conversions.response(body, "application/jsonlines") == (b'{    "predictions": [1]}', "application/jsonlines")
    assert conversions.response(body, None) == (body, "application/json")


def test_find_models_follows_the_real_rule(saved_models, tmp_path):
    """[utils] find_models: a saved_model.pb in an all-digits folder makes the folder's parent a model, named
    after it; find_model_versions: numeric folders, leading zeros dropped. [serve] the first model is the default
    unless SAGEMAKER_TFS_DEFAULT_MODEL_NAME."""
    for path in ("model/1", "zoo/half/1", "zoo/half/002", "zoo/other/latest", "flat"):
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "saved_model.pb").write_bytes(b"")
    archive = tmp_path / "model"                                         # model.tar.gz with 1/saved_model.pb
    assert [m.name for m in saved_models.find_models(archive)] == ["model"]
    assert saved_models.find_models(tmp_path / "zoo") == [tmp_path / "zoo" / "half"]  # 'latest' is no version
    assert saved_models.versions(tmp_path / "zoo" / "half") == [1, 2]
    assert saved_models.find_models(tmp_path / "flat") == []             # saved_model.pb needs a version folder
    assert saved_models.default_model_name([archive]) == "model"
    assert saved_models.default_model_name([archive], "half") == "half"


def test_tf_serving_ports(program_module):
    """[serve] gRPC 9000 and REST 8501, or the first two ports of SAGEMAKER_SAFE_PORT_RANGE."""
    environment = program_module(CONTAINER, "environment")
    assert environment.tfs_ports(None) == (9000, 8501)
    assert environment.tfs_ports("20000-20999") == (20000, 20001)
    with pytest.raises(ValueError, match="not enough ports"):
        environment.tfs_ports("20000-20001")


# ==== the image ================================================================================================

def build_twin(say=lambda message: None):
    """The twin tagged with the real image's URI; its parent (tensorflow-2.18-base) is built first."""
    return images.build_twin("tensorflow", "2.18", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


MAKE_MODELS = '''
import numpy as np, keras, tensorflow as tf

def linear(path, scale):
    model = keras.Sequential([keras.Input((3,), name="features"), keras.layers.Dense(2, name="scores")])
    model.layers[0].set_weights([scale * np.array([[1., 0.], [0., 1.], [1., 1.]]), scale * np.array([.5, -.5])])
    model.export(path, verbose=False)

class Pair(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                  tf.TensorSpec([None, 2], tf.float32, name="b")])
    def serve(self, a, b):
        return {"sum": a + b, "diff": a - b}

linear("/out/archive/1", 1)
linear("/out/zoo/half/1", 1)
linear("/out/zoo/half/2", 2)
pair = Pair()
tf.saved_model.save(pair, "/out/zoo/pair/1", signatures={"serving_default": pair.serve})
'''

HANDLER = '''
import json
import requests

def handler(data, context):
    rows = json.loads(data.read().decode("utf-8"))["rows"]
    answer = requests.post(context.rest_uri, json={"instances": rows})
    if answer.status_code != 200:
        raise ValueError(answer.text)
    return json.dumps({"scores": answer.json()["predictions"], "context": context._asdict(),
                       "fields": list(context._fields)}), "application/json"
'''

IO_HANDLERS = '''
import json

def input_handler(data, context):
    if context.request_content_type != "text/csv":
        raise ValueError(f"input_handler reads text/csv, not {context.request_content_type}")
    lines = data.read().decode("utf-8").splitlines()
    return json.dumps({"instances": [[float(x) for x in line.split(",")] for line in lines if line]})

def output_handler(response, context):
    if response.status_code != 200:
        raise ValueError(response.content.decode("utf-8"))
    rows = response.json()["predictions"]
    return "\\n".join(",".join(str(value) for value in row) for row in rows), "text/csv"
'''


@pytest.fixture(scope="module")
def models(twin, tmp_path_factory):
    """Small SavedModels made inside the twin (no TensorFlow on the host), unpacked as SageMaker unpacks them:
    archive/ = a model.tar.gz holding 1/ (served as 'model'); zoo/ = half (versions 1 and 2) and pair (two named
    inputs and outputs); with_handler/, with_io_handlers/, with_no_handler/ = archive/ plus code/inference.py."""
    root = tmp_path_factory.mktemp("tf_models")
    (root / "make.py").write_text(MAKE_MODELS)
    made = subprocess.run(["docker", "run", "--rm", *engine.rules().network_args(), "--user", f"{os.getuid()}:{os.getgid()}",
                           "-e", "HOME=/tmp", "-v", f"{root}:/out", twin, "python3", "/out/make.py"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    for name, script in (("with_handler", HANDLER), ("with_io_handlers", IO_HANDLERS),
                         ("with_no_handler", "def predict(data):\n    return data\n")):
        shutil.copytree(root / "archive", root / name)
        (root / name / "code").mkdir()
        (root / name / "code" / "inference.py").write_text(script)
    (root / "empty").mkdir()
    (root / "empty" / "README.txt").write_text("no SavedModel here\n")
    return root


@pytest.fixture(scope="module")
def zoo(twin, models):
    with docker_run.serving(twin, models / "zoo") as container:
        yield container


@pytest.fixture(scope="module")
def archive(twin, models):
    with docker_run.serving(twin, models / "archive") as container:
        yield container


def tfs(container, method, path, body=None):
    """TF Serving's REST API through the front's /tfs passthrough [nginx]."""
    return requests.request(method, f"{container.url}/tfs{path}", data=body, timeout=30)


def invoke(container, body, content_type="application/json", accept=None, attributes=None):
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {}),
               **({"X-Amzn-SageMaker-Custom-Attributes": attributes} if attributes else {})}
    return requests.post(f"{container.url}/invocations", data=body, headers=headers, timeout=30)


def still_serving(container):
    answer = invoke(container, json.dumps({"instances": ROWS}), attributes="tfs-model-name=half,tfs-model-version=1")
    assert answer.status_code == 200 and answer.json() == {"predictions": expected(ROWS)}, answer.text


def run_to_exit(twin, model_dir, env=None, timeout=120):
    """`serve` that is expected to stop by itself; a container still up at TIMEOUT is removed, not left behind."""
    name = f"tf-twin-exit-{uuid.uuid4().hex[:10]}"
    cmd = ["docker", "run", "--rm", "--name", name, *engine.rules().network_args(), "-v", f"{model_dir}:/opt/ml/model:ro"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    try:
        return subprocess.run(cmd + [twin, "serve"], capture_output=True, text=True, timeout=timeout)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    """B6: the URI the pinned SDK gives for the real image (no Docker needed)."""
    assert images.aws_image_uri("tensorflow", "us-east-1", "2.18", **RETRIEVE) == URI


@docker
def test_the_image_says_it_is_a_twin(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description and "2.18.1" in description
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"  # [host]


# ---- TF Serving's REST API ------------------------------------------------------------------------------------

@docker
def test_model_status_as_tf_serving_reports_it(zoo):
    """[rest] Model status API: GET /v1/models/<name>[/versions/<v>] -> model_version_status, newest first;
    unknown model or version -> 404 with an error."""
    status = tfs(zoo, "GET", "/v1/models/half")
    assert status.status_code == 200
    assert status.json() == {"model_version_status": [
        {"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}} for v in ("2", "1")]}
    one = tfs(zoo, "GET", "/v1/models/half/versions/1").json()["model_version_status"]
    assert [(s["version"], s["state"]) for s in one] == [("1", "AVAILABLE")]
    for path in ("/v1/models/nope", "/v1/models/half/versions/7"):
        missing = tfs(zoo, "GET", path)
        assert missing.status_code == 404 and "error" in missing.json()


@docker
def test_predict_row_and_columnar_formats(zoo):
    """[rest] Predict API: 'instances' -> {"predictions": ...} (row format), 'inputs' -> {"outputs": ...}
    (columnar); without a version the latest one answers; named inputs/outputs as objects."""
    latest = tfs(zoo, "POST", "/v1/models/half:predict", json.dumps({"instances": ROWS}))
    assert latest.status_code == 200 and latest.json() == {"predictions": expected(ROWS, 2)}
    first = tfs(zoo, "POST", "/v1/models/half/versions/1:predict", json.dumps({"inputs": ROWS}))
    assert first.json() == {"outputs": expected(ROWS)}
    named = tfs(zoo, "POST", "/v1/models/pair:predict",
                json.dumps({"instances": [{"a": [1, 2], "b": [10, 20]}, {"a": [0, 0], "b": [1, 1]}]}))
    assert named.json() == {"predictions": [{"diff": [-9.0, -18.0], "sum": [11.0, 22.0]},
                                            {"diff": [-1.0, -1.0], "sum": [1.0, 1.0]}]}
    columns = tfs(zoo, "POST", "/v1/models/pair:predict", json.dumps({"inputs": {"a": [[1, 2]], "b": [[3, 4]]}}))
    assert columns.json() == {"outputs": {"diff": [[-2.0, -2.0]], "sum": [[4.0, 6.0]]}}


@docker
@pytest.mark.parametrize("path, body, status", [
    ("/v1/models/half:predict", '{"instances": [[1, 2, 3]', 400),                       # malformed JSON
    ("/v1/models/half:predict", '[[1, 2, 3]]', 400),                                    # not an object
    ("/v1/models/half:predict", '{"rows": [[1, 2, 3]]}', 400),                          # no instances/inputs
    ("/v1/models/half:predict", '{"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}', 400),
    ("/v1/models/half:predict", '{"instances": [[1, 2]]}', 400),                        # wrong shape
    ("/v1/models/half:predict", '{"instances": [[1, 2, 3], [4, 5]]}', 400),             # ragged
    ("/v1/models/half:predict", '{"instances": [["a", "b", "c"]]}', 400),               # wrong type
    ("/v1/models/pair:predict", '{"instances": [[1, 2]]}', 400),                        # two inputs, plain list
    ("/v1/models/half:predict", '{"instances": [[1, 2, 3]], "signature_name": "x"}', 400),
    ("/v1/models/nope:predict", '{"instances": [[1, 2, 3]]}', 404),                     # unknown model
    ("/v1/models/half/versions/9:predict", '{"instances": [[1, 2, 3]]}', 404),          # unknown version
])
def test_bad_tf_serving_requests_get_an_error_and_the_server_keeps_serving(zoo, path, body, status):
    """[rest] errors are {"error": "<message>"}; INVALID_ARGUMENT -> 400, NOT_FOUND -> 404 (http_server.cc)."""
    answer = tfs(zoo, "POST", path, body)
    assert answer.status_code == status and answer.json()["error"]
    still_serving(zoo)


@docker
def test_tf_serving_listens_on_8501_inside_the_container(archive):
    """[serve] TF Serving's REST port is 8501 (no SAGEMAKER_SAFE_PORT_RANGE); [rest] the status of a model
    packed as 1/saved_model.pb at the archive's top is found under the name 'model' [utils]."""
    probe = subprocess.run(["docker", "exec", archive.name, "python3", "-c",
                            "import requests; print(requests.get('http://localhost:8501/v1/models/model').text)"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["model_version_status"][0]["state"] == "AVAILABLE"


# ---- the SageMaker front ------------------------------------------------------------------------------------

@docker
def test_ping_and_other_routes(archive):
    """[host] GET /ping 200 once the model is AVAILABLE [njs]; [nginx] other paths 404 {"error": "Not Found"}."""
    assert requests.get(f"{archive.url}/ping", timeout=5).status_code == 200
    other = requests.get(f"{archive.url}/models", timeout=5)
    assert other.status_code == 404 and other.json() == {"error": "Not Found"}


@docker
@pytest.mark.parametrize("body, content_type, rows", [
    (json.dumps({"instances": ROWS}), "application/json", ROWS),                 # TF Serving request as it is
    (json.dumps(ROWS), "application/json", ROWS),                                # a list of instances
    (json.dumps(ROWS[0]), "application/json", ROWS[:1]),                         # one instance
    ("\n".join(json.dumps(row) for row in ROWS), "application/jsonlines", ROWS),
    ("\n".join(json.dumps(row) for row in ROWS), "application/jsons", ROWS),
    ("\n".join(",".join(str(x) for x in row) for row in ROWS) + "\n", "text/csv", ROWS),
])
def test_invocations_in_json_json_lines_and_csv(archive, body, content_type, rows):
    """[njs] each content type becomes a TF Serving 'instances' request; the answer is TF Serving's,
    {"predictions": ...}, as application/json."""
    answer = invoke(archive, body, content_type)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected(rows)}
    assert answer.headers["Content-Type"] == "application/json"


@docker
def test_columnar_inputs_pass_through_and_answer_outputs(archive):
    """[njs] a body with "inputs" is passed through; [rest] the columnar answer is {"outputs": ...}."""
    answer = invoke(archive, json.dumps({"inputs": ROWS}))
    assert answer.status_code == 200 and answer.json() == {"outputs": expected(ROWS)}


@docker
def test_accept_jsonlines_sets_the_content_type(archive):
    """[njs] tfs_json_request: Accept application/jsonlines -> that Content-Type, newlines removed."""
    answer = invoke(archive, json.dumps(ROWS), accept="application/jsonlines")
    assert answer.headers["Content-Type"] == "application/jsonlines" and "\n" not in answer.text
    assert json.loads(answer.text) == {"predictions": expected(ROWS)}


@docker
def test_custom_attributes_pick_the_model_and_version(zoo):
    """[njs] X-Amzn-SageMaker-Custom-Attributes: tfs-model-name, tfs-model-version; [serve] without them the
    default model is the first found ('half', at its latest version, 2)."""
    assert invoke(zoo, json.dumps(ROWS)).json() == {"predictions": expected(ROWS, 2)}
    assert invoke(zoo, json.dumps(ROWS), attributes="tfs-model-name=half,tfs-model-version=1").json() == {
        "predictions": expected(ROWS, 1)}
    pair = invoke(zoo, json.dumps({"a": [1, 1], "b": [2, 3]}), attributes="tfs-model-name=pair")
    assert pair.json() == {"predictions": [{"diff": [-1.0, -2.0], "sum": [3.0, 4.0]}]}
    csv = invoke(zoo, "1,2,3\n", "text/csv", attributes="tfs-model-version=1")
    assert csv.json() == {"predictions": expected([[1, 2, 3]])}


@docker
def test_the_default_model_can_be_named(twin, models):
    """[serve] SAGEMAKER_TFS_DEFAULT_MODEL_NAME picks the model /ping and /invocations use."""
    with docker_run.serving(twin, models / "zoo", env={"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": "pair"}) as container:
        answer = invoke(container, json.dumps({"inputs": {"a": [[1, 2]], "b": [[1, 1]]}}))
        assert answer.json() == {"outputs": {"diff": [[0.0, 1.0]], "sum": [[2.0, 3.0]]}}


@docker
@pytest.mark.parametrize("body, content_type, attributes, status, message", [
    ("x", "text/plain", None, 415, "Unsupported Media Type: text/plain"),                           # [njs]
    ("[1, 2, 3]", "application/json; charset=utf-8", None, 415, "Unsupported Media Type"),          # exact types
    ('{"instances": [[1, 2, 3]', "application/json", None, 400, "JSON Parse error"),                # [rest]
    ("1,,3\n", "text/csv", None, 400, "JSON Parse error"),
    ("1,2\n", "text/csv", None, 400, "shape"),
    ("a,b,c\n", "text/csv", None, 400, "float"),
    ("", "text/csv", None, 400, "instances"),
    (json.dumps(ROWS), "application/json", "tfs-model-name=nope", 404, "Servable not found"),
    (json.dumps(ROWS), "application/json", "tfs-model-version=9", 404, "Servable not found"),
    (json.dumps(ROWS), "application/json", "tfs-method=classify", 400, "classify"),
])
def test_bad_invocations_get_a_4xx_and_the_server_keeps_serving(zoo, body, content_type, attributes, status,
                                                                  message):
    """[njs] 415 {"error": "Unsupported Media Type: <type>"}; otherwise TF Serving's answer and status [rest]."""
    answer = invoke(zoo, body, content_type, attributes=attributes)
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    still_serving(zoo)


# ---- code/inference.py --------------------------------------------------------------------------------------

@docker
def test_handler_gets_the_body_and_the_real_context(twin, models):
    """[pysvc] handler(data, context) answers /invocations; [utils] Context's fields, rest_uri
    http://localhost:<8501>/v1/models/<name>[/versions/<v>]:predict, default content type and accept."""
    with docker_run.serving(twin, models / "with_handler") as container:
        answer = requests.post(f"{container.url}/invocations", data=json.dumps({"rows": ROWS}),
                               headers={"Accept": None}, timeout=30)  # no Content-Type, no Accept
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json", answer.text
        result = answer.json()
        assert result["scores"] == expected(ROWS)
        assert result["fields"] == CONTEXT_FIELDS
        context = result["context"]
        assert context["rest_uri"] == "http://localhost:8501/v1/models/model:predict"
        assert context["model_name"] is None and context["method"] is None and context["grpc_port"] == 9000
        assert context["request_content_type"] == "application/json" and context["accept_header"] == "application/json"
        picked = invoke(container, json.dumps({"rows": ROWS}), accept="application/json",
                        attributes="tfs-model-version=1,tfs-method=predict").json()["context"]
        assert picked["rest_uri"] == "http://localhost:8501/v1/models/model/versions/1:predict"
        assert picked["model_version"] == "1" and picked["custom_attributes"] == "tfs-model-version=1,tfs-method=predict"
        assert requests.get(f"{container.url}/ping", timeout=5).status_code == 200


@docker
def test_input_and_output_handlers_around_tf_serving(twin, models):
    """[pysvc] input_handler -> POST context.rest_uri -> output_handler, returning (body, content type); an
    exception in the user's code is a 500 {"error": "<message>"} and the server keeps serving."""
    with docker_run.serving(twin, models / "with_io_handlers") as container:
        csv_rows = "\n".join(",".join(str(x) for x in row) for row in ROWS)
        answer = invoke(container, csv_rows, "text/csv")
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv"), answer.text
        assert [[float(x) for x in line.split(",")] for line in answer.text.splitlines()] == expected(ROWS)
        refused = invoke(container, json.dumps(ROWS), "application/json")
        assert refused.status_code == 500 and "input_handler reads text/csv" in refused.json()["error"]
        wrong_shape = invoke(container, "1,2\n", "text/csv")
        assert wrong_shape.status_code == 500 and "shape" in wrong_shape.json()["error"]  # TF Serving's 400, raised
        assert invoke(container, csv_rows, "text/csv").status_code == 200


@docker
def test_a_script_without_handlers_stops_the_container(twin, models):
    """[pysvc] neither handler nor input_handler + output_handler: NotImplementedError with this message."""
    result = run_to_exit(twin, models / "with_no_handler")
    assert result.returncode != 0
    assert "Handlers are not implemented correctly in user script." in result.stdout + result.stderr


# ---- start-up and health ------------------------------------------------------------------------------------

@docker
def test_no_savedmodel_stops_the_container(twin, models):
    """[serve] _create_tfs_config: no model found -> ValueError("no SavedModel bundles found!"), no server."""
    result = run_to_exit(twin, models / "empty")
    assert result.returncode != 0 and "no SavedModel bundles found!" in result.stdout + result.stderr


@docker
def test_ping_is_502_while_the_default_model_is_not_available(twin, models):
    """[njs] ping: 502 unless GET /v1/models/<default> contains "AVAILABLE"; [serve] a default model that does not
    become AVAILABLE within SAGEMAKER_TFS_WAIT_TIME_SECONDS stops the container."""
    container = docker_run.ServingContainer(twin, models / "zoo", env={"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": "missing",
                                                                      "SAGEMAKER_TFS_WAIT_TIME_SECONDS": "25"})
    try:
        with pytest.raises(TimeoutError):
            container.start(ready_seconds=10)  # /ping never answers 200
        assert requests.get(f"{container.url}/ping", timeout=5).status_code == 502
        missing = invoke(container, json.dumps(ROWS))
        assert missing.status_code == 404 and "Servable not found" in missing.json()["error"]
        still_serving(container)  # the other models serve meanwhile
        deadline = time.monotonic() + 60
        while container.running() and time.monotonic() < deadline:
            time.sleep(1)
        assert not container.running() and "not AVAILABLE" in container.logs()
    finally:
        container.stop()


@docker
def test_bind_to_port_and_safe_port_range(twin, models):
    """[serve] the front listens on SAGEMAKER_BIND_TO_PORT; TF Serving's REST port is the second port of
    SAGEMAKER_SAFE_PORT_RANGE, which context.rest_uri names [utils]."""
    env = {"SAGEMAKER_BIND_TO_PORT": "8091", "SAGEMAKER_SAFE_PORT_RANGE": "20000-20999"}
    with docker_run.serving(twin, models / "with_handler", env=env, container_port=8091) as container:
        context = invoke(container, json.dumps({"rows": ROWS})).json()["context"]
        assert context["rest_uri"] == "http://localhost:20001/v1/models/model:predict"
        assert context["grpc_port"] == 20000


@docker
def test_other_commands_run_as_given(twin):
    """[dlc] the entrypoint runs the command it is given (deep-learning-containers dockerd_entrypoint.sh)."""
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", "print('ran')"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ran"


@docker
def test_an_endpoint_in_local_mode_under_the_real_image_name(twin, models, tmp_path, monkeypatch):
    """CreateModel / CreateEndpoint / InvokeEndpoint through SageMaker local mode with the DLC's URI: local mode
    finds the twin under that name and never pulls; CustomAttributes reach the container [njs]."""
    import tarfile

    from smworkshop import session

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("tensorflow-twin-test", mode="local", say=lambda message: None)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((models / "zoo").rglob("*")):
            tar.add(path, arcname=str(path.relative_to(models / "zoo")), recursive=False)
    sm = lab.sagemaker_client
    try:
        model = lab.cleanup.add("model", session.unique_name("tf-twin"))
        sm.create_model(ModelName=model, ExecutionRoleArn=lab.role, PrimaryContainer={
            "Image": twin, "ModelDataUrl": lab.model_data(archive), "Environment": {}})
        config = lab.cleanup.add("endpoint_config", session.unique_name("tf-twin"))
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": model, "InstanceType": "local", "InitialInstanceCount": 1}])
        endpoint = lab.cleanup.add("endpoint", session.unique_name("tf-twin"))
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        lab.wait_for_endpoint(endpoint, timeout=180, poll_seconds=1)
        csv = "\n".join(",".join(str(x) for x in row) for row in ROWS)
        assert json.loads(lab.invoke(endpoint, csv, content_type="text/csv")) == {"predictions": expected(ROWS, 2)}
        answer = lab.runtime_client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=csv,
                                                    CustomAttributes="tfs-model-name=half,tfs-model-version=1")
        assert json.loads(answer["Body"].read()) == {"predictions": expected(ROWS, 1)}
        with pytest.raises(session.InvocationError) as refused:
            lab.invoke(endpoint, "three numbers", content_type="text/plain")
        assert refused.value.status == 415
    finally:
        lab.cleanup.run(quiet=True)
    assert not lab.cleanup.local_containers()
