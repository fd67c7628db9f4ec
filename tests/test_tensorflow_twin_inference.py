"""Contract tests of containers/tensorflow-2.18-inference, the local twin of AWS's TensorFlow 2.18 inference DLC
(tensorflow-inference:2.18-cpu): pure-Python tests of its front's conversions and its start-up settings (no
Docker), then the built image served as SageMaker serves it (`docker run IMAGE serve`, the model at /opt/ml/model).

Sources (each test names the one it follows). The real image is built from aws/deep-learning-containers at
commit ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e (the last one with TensorFlow), tensorflow/inference/:
- [dlc]   docker/2.18/py3/Dockerfile.cpu (Python packages 92-103 and 185-187, PATH 172, no ENTRYPOINT, CMD 206)
- [serve] docker/build_artifacts/sagemaker/serve.py (settings 51-141, Python service 143-153, models 160-164,
          requirements.txt 207-229, gunicorn command 231-240, start-up order 490-518)
- [utils] docker/build_artifacts/sagemaker/tfs_utils.py (Context 35-63, find_models 137-146, wait_for_model
          258-296, retry_from_timeout 324-330)
- [pysvc] docker/build_artifacts/sagemaker/python_service.py (monkey patching 14-17, default_handler 63-74,
          channels 99-106, handlers imported at start 108-117 and 440-465, invocations 409-433, ping 593-595)
- [njs]   docker/build_artifacts/sagemaker/tensorflowServing.js (content types 4-14, ping 16-29, answers 65-92,
          CSV 191-234); JavaScript's String.replace with a text pattern replaces the first occurrence only
- [nginx] docker/build_artifacts/sagemaker/nginx.conf.template (default_type 16, proxy_read_timeout 20, routes 39-62);
          nginx answers 502 when the upstream fails or closes without an answer, 504 when it does not answer in time
- [gunicorn] https://docs.gunicorn.org/en/stable/settings.html#timeout: a worker silent for `timeout` seconds is
          killed; "for the non sync workers it ... is not tied to the length of time required to handle a single
          request"
- [rest]  TF Serving REST API, https://www.tensorflow.org/tfx/serving/api_rest (status, metadata, predict, errors);
          status codes from tensorflow/serving model_servers/http_server.cc
- [host]  SageMaker hosting, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
Expected predictions come from the models' weights, set by hand: y = scale * [x0 + x2 + 0.5, x1 + x2 - 0.5].
"""
import json
import os
import shutil
import subprocess
import sys
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
TF_PYTHON = "/opt/venv/bin/python3"  # the twin's TensorFlow environment (TF Serving's stand-in), not on PATH first
docker = pytest.mark.docker


def expected(rows, scale=1):
    return [[scale * (a + c + 0.5), scale * (b + c - 0.5)] for a, b, c in rows]


# ==== without Docker: the njs front's conversions and serve.py's settings ======================================

@pytest.fixture
def conversions(program_module):
    return program_module(CONTAINER, "conversions")


@pytest.fixture
def saved_models(program_module):
    return program_module(CONTAINER, "saved_models")


@pytest.fixture
def environment(program_module):
    return program_module(CONTAINER, "environment")


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
    """[njs] json_request (140-189): passed through with instances/inputs/examples, else JSON lines or wrapped."""
    assert conversions.json_body(body) == tfs_body
    assert json.loads(conversions.request_body("application/jsonlines", body.encode())) == json.loads(tfs_body)


@pytest.mark.parametrize("body, instances", [
    ("1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),
    ("1.5,-2e3,0.5\r\n", [[1.5, -2000.0, 0.5]]),
    ("7\n8\n", [7, 8]),                                                  # one column: no brackets
    ("a,b\nc,d", [["a", "b"], ["c", "d"]]),                              # first field not a number: quoted
    ("red\nblue", ["red", "blue"]),
    ("a,b,c\n", [["a", "b,c"]]),                                         # only the FIRST comma is a separator
])
def test_csv_lines_become_instances_as_njs_quotes_them(conversions, body, instances):
    """[njs] csv_request (191-234): one instance per line, in brackets when the line has a comma; a body that
    does not start with a number or a quote is quoted with `line.replace('"', '\\\\"').replace(',', '","')`,
    which in JavaScript replaces the first quote and the first comma only: `a,b,c` is ["a", "b,c"]."""
    assert json.loads(conversions.request_body("text/csv", body.encode())) == {"instances": instances}


@pytest.mark.parametrize("body", [b"1,,3", b'x,"y"\n'])
def test_csv_that_njs_turns_into_broken_json_is_passed_on_for_tf_serving_to_refuse(conversions, body):
    """[njs] numeric lines are copied as they are ('1,,3'); in a quoted line only the first '"' is escaped
    (`x,"y"` becomes `["x","\\\\"y""]`): both reach TF Serving as invalid JSON (its 400)."""
    with pytest.raises(ValueError):
        json.loads(conversions.request_body("text/csv", body))


@pytest.mark.parametrize("content_type, shown", [
    ("text/plain", "text/plain"), (None, "Unknown"), ("application/json; charset=utf-8", "application/json; charset=utf-8"),
    ("application/x-npy", "application/x-npy")])
def test_other_content_types_are_415_with_the_real_message(conversions, content_type, shown):
    """[njs] invocations (4-14): only the exact types application/json, application/jsonlines, application/jsons
    and text/csv; else 415 'Unsupported Media Type: <type>' ('Unknown' without one)."""
    with pytest.raises(conversions.UnsupportedMediaType) as refused:
        conversions.request_body(content_type, b"[1]")
    assert str(refused.value) == f"Unsupported Media Type: {shown}" and refused.value.status_code == 415


def test_custom_attributes_pick_model_version_and_method(conversions):
    """[njs] parse_custom_attributes / make_tfs_uri (94-138): tfs-model-name, tfs-model-version, tfs-method."""
    attributes = conversions.custom_attributes("tfs-model-name=half,tfs-model-version=2,trace=abc,tfs-method=regress")
    assert attributes == {"tfs-model-name": "half", "tfs-model-version": "2", "tfs-method": "regress"}
    assert conversions.tfs_path(attributes, "model") == "/v1/models/half/versions/2:regress"
    assert conversions.tfs_path({}, "model") == "/v1/models/model:predict"
    assert conversions.tfs_path({}, "model", with_method=False) == "/v1/models/model"
    assert conversions.custom_attributes(None) == {}


@pytest.mark.parametrize("accept, content_type, newlines_removed", [
    ("application/jsonlines", "application/jsonlines", True),
    (None, "application/json", False),                                   # nginx's default_type
    ("text/csv, application/json", "text/csv", True),                    # the FIRST item names the type
    ("text/csv,  application/json", "application/json", False),          # one space removed, " application/json" stays
    ("a, b, application/json", "application/json", False),              # 'b' then ' application/json': no match
    ("*/*", "application/json", False),
])
def test_the_accept_header_as_njs_reads_it(conversions, accept, content_type, newlines_removed):
    """[njs] tfs_json_request (80-86): `accept.trim().replace(" ", "").split(",")` removes the FIRST space only;
    if application/jsonlines or application/json is then an item, newlines go and Content-Type is the first
    item; otherwise nginx's default_type application/json [nginx]."""
    body = b'{\n    "predictions": [1]\n}'
    answer, answer_type = conversions.response(200, body, accept)
    assert answer_type == content_type
    assert answer == (body.replace(b"\n", b"") if newlines_removed else body)


def test_a_400_loses_the_backslashes_of_its_first_quoted_instances(conversions):
    """[njs] tfs_json_request (75-78): for a 400, the first `\\\\'instances\\\\'` becomes `'instances'`."""
    body = b"{\"error\": \"Missing \\'inputs\\' or \\'instances\\' key, \\'instances\\'\"}"
    assert conversions.response(400, body, None)[0] == (
        b"{\"error\": \"Missing \\'inputs\\' or 'instances' key, \\'instances\\'\"}")
    assert conversions.response(200, body, None)[0] == body


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


def test_tf_serving_ports_are_text_one_pair_per_instance(environment):
    """[serve] 112-137: gRPC 9000 and REST 8501, or low+2i / low+2i+1 of SAGEMAKER_SAFE_PORT_RANGE for each of
    SAGEMAKER_TFS_INSTANCE_COUNT instances, kept as text (the Python service gets them comma-joined)."""
    assert environment.tfs_ports(None) == (["9000"], ["8501"])
    assert environment.tfs_ports("20000-20999") == (["20000"], ["20001"])
    assert environment.tfs_ports("20000-20999", 2) == (["20000", "20002"], ["20001", "20003"])
    with pytest.raises(ValueError, match=r"not enough ports available in SAGEMAKER_SAFE_PORT_RANGE \(20000-20003\)"):
        environment.tfs_ports("20000-20003", 2)


def test_serve_settings_have_the_dlc_defaults(environment, tmp_path):
    """[serve] 51-93: wait 55 // SAGEMAKER_TFS_INSTANCE_COUNT seconds for the model; gunicorn with the gevent
    worker class, 1 worker, 1 thread, --timeout 30; nginx's proxy_read_timeout 60, raised to the gunicorn
    timeout when that is higher; OMP_NUM_THREADS=1 when unset, kept when set."""
    environ = {}
    settings = environment.settings(environ, code_dir=tmp_path)
    assert (settings.wait_seconds, settings.gunicorn_worker_class, settings.gunicorn_workers,
            settings.gunicorn_threads, settings.gunicorn_timeout, settings.proxy_read_timeout) == (55, "gevent", "1",
                                                                                                "1", 30, 60)
    assert environ["OMP_NUM_THREADS"] == "1" and settings.python_service is False
    assert environment.settings({"SAGEMAKER_TFS_INSTANCE_COUNT": "2"}, code_dir=tmp_path).wait_seconds == 27
    assert environment.settings({"SAGEMAKER_TFS_WAIT_TIME_SECONDS": "7"}, code_dir=tmp_path).wait_seconds == 7
    raised = environment.settings({"SAGEMAKER_GUNICORN_TIMEOUT_SECONDS": "90"}, code_dir=tmp_path)
    assert raised.gunicorn_timeout == 90 and raised.proxy_read_timeout == 90
    kept = {"OMP_NUM_THREADS": "4"}
    environment.settings(kept, code_dir=tmp_path)
    assert kept["OMP_NUM_THREADS"] == "4"


@pytest.mark.parametrize("name, value", [("SAGEMAKER_TFS_ENABLE_BATCHING", "yes"), ("SAGEMAKER_MULTI_MODEL", "1")])
def test_flags_other_than_true_or_false_are_refused(environment, tmp_path, name, value):
    """[serve] 95-96, 102-103: ValueError("<NAME> must be 'true' or 'false'") (case-insensitive true/false)."""
    with pytest.raises(ValueError, match=f"^{name} must be 'true' or 'false'$"):
        environment.settings({name: value}, code_dir=tmp_path)
    assert environment.settings({name: "TRUE"}, code_dir=tmp_path) is not None


@pytest.mark.parametrize("files, needed", [
    ((), False), (("inference.py",), True), (("requirements.txt",), True), (("lib/",), True), (("other.py",), False)])
def test_the_python_service_starts_for_inference_py_requirements_or_lib(environment, tmp_path, files, needed):
    """[serve] _need_python_service (143-153): inference.py OR requirements.txt OR lib/ in code/."""
    for name in files:
        (tmp_path / name).mkdir() if name.endswith("/") else (tmp_path / name).write_text("")
    assert environment.python_service_needed(tmp_path) is needed


def test_the_wait_for_the_model_retries_as_the_real_one(environment):
    """[utils] retry_from_timeout(55, 0.1) (324-330): n=2: +0.8, 3: +1.6, 4: +3.2, 5: +6.4, 6: +12.8, 7: +25.6
    (50.4 < 55), 8: +51.2 -> 8 retries, after which urllib3's back-off (0.1 * 2**(k-1) before retry k >= 2) has
    slept 0.2+0.4+...+12.8 = 25.4 s."""
    assert environment.wait_retries(55) == 8
    assert environment.wait_retries(1) == 3
    assert sum(0.1 * 2 ** (k - 1) for k in range(2, 9)) == pytest.approx(25.4)


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

MODULES = ["numpy", "tensorflow", "keras", "tensorflow_serving.apis.predict_pb2", "tensorflow_serving.apis.model_pb2",
           "boto3", "grpc", "google.protobuf", "falcon", "gevent", "requests"]

HANDLER = '''
import importlib, json, os, sys
import grpc, requests

def importable(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False

def handler(data, context):
    rows = json.loads(data.read().decode("utf-8"))["rows"]
    answer = requests.post(context.rest_uri, json={"instances": rows})
    if answer.status_code != 200:
        raise ValueError(answer.text)
    fields = {**context._asdict(), "channel": isinstance(context.channel, grpc.Channel)}
    return json.dumps({"scores": answer.json()["predictions"], "context": fields, "fields": list(context._fields),
                       "imports": {name: importable(name) for name in %r},
                       "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "python": sys.executable,
                       "pythonpath": os.environ.get("PYTHONPATH")}), "application/json"
''' % MODULES

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

SLOW_HANDLER = '''
import json, time

def handler(data, context):
    asked = json.loads(data.read().decode("utf-8"))
    time.sleep(asked.get("sleep", 0))                 # gevent's sleep after the monkey patching: the worker yields
    deadline = time.monotonic() + asked.get("busy", 0)
    while time.monotonic() < deadline:                # never yields: the worker stops reporting to gunicorn
        pass
    return json.dumps({"done": asked}), "application/json"
'''

NUMPY_HANDLER = '''
import json
import numpy as np

def handler(data, context):
    return json.dumps({"numpy": np.__version__, "sum": float(np.sum(json.loads(data.read())))}), "application/json"
'''


def archive_with_code(root, name, files):
    """A copy of archive/ (1/saved_model.pb) with FILES ({path under code/: text, or None for a folder})."""
    shutil.copytree(root / "archive", root / name)
    for path, text in files.items():
        target = root / name / "code" / path
        if text is None:
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return root / name


@pytest.fixture(scope="module")
def models(twin, tmp_path_factory):
    """Small SavedModels made inside the twin with its TensorFlow environment (no TensorFlow on the host), unpacked
    as SageMaker unpacks them: archive/ = a model.tar.gz holding 1/ (served as 'model'); zoo/ = half (versions 1
    and 2) and pair (two named inputs and outputs); the others are archive/ plus files under code/."""
    root = tmp_path_factory.mktemp("tf_models")
    (root / "make.py").write_text(MAKE_MODELS)
    made = subprocess.run(["docker", "run", "--rm", *engine.rules().network_args(), "--user", f"{os.getuid()}:{os.getgid()}",
                           "-e", "HOME=/tmp", "-v", f"{root}:/out", twin, TF_PYTHON, "/out/make.py"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    archive_with_code(root, "with_handler", {"inference.py": HANDLER})
    archive_with_code(root, "with_io_handlers", {"inference.py": IO_HANDLERS})
    archive_with_code(root, "with_no_handler", {"inference.py": "def predict(data):\n    return data\n"})
    archive_with_code(root, "with_numpy", {"inference.py": NUMPY_HANDLER})
    archive_with_code(root, "with_slow_handler", {"inference.py": SLOW_HANDLER})
    archive_with_code(root, "with_requirements_only", {"requirements.txt": ""})
    archive_with_code(root, "with_lib_and_requirements", {"lib/": None, "requirements.txt": "not-on-any-index==1.0\n"})
    archive_with_code(root, "with_missing_requirement", {"requirements.txt": "not-on-any-index==1.0\n"})
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


def invoke(container, body, content_type="application/json", accept=None, attributes=None, timeout=30):
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {}),
               **({"X-Amzn-SageMaker-Custom-Attributes": attributes} if attributes else {})}
    return requests.post(f"{container.url}/invocations", data=body, headers=headers, timeout=timeout)


def still_serving(container):
    answer = invoke(container, json.dumps({"instances": ROWS}), attributes="tfs-model-name=half,tfs-model-version=1")
    assert answer.status_code == 200 and answer.json() == {"predictions": expected(ROWS)}, answer.text


def run_to_exit(twin, model_dir, env=None, timeout=120):
    """`serve` that is expected to stop by itself; a container still up at TIMEOUT is removed, not left behind.
    Returns (exit code, output, seconds it ran)."""
    name = f"tf-twin-exit-{uuid.uuid4().hex[:10]}"
    cmd = ["docker", "run", "--rm", "--name", name, *engine.rules().network_args(), "-v", f"{model_dir}:/opt/ml/model:ro"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    started = time.monotonic()
    try:
        result = subprocess.run(cmd + [twin, "serve"], capture_output=True, text=True, timeout=timeout)
        return result.returncode, result.stdout + result.stderr, time.monotonic() - started
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


@docker
def test_model_metadata_as_tf_serving_reports_it(zoo):
    """[rest] Model Metadata API: GET /v1/models/<name>[/versions/<v>]/metadata -> GetModelMetadataResponse for
    the latest version (or the one asked for): model_spec and the SignatureDefMap under metadata.signature_def."""
    latest = tfs(zoo, "GET", "/v1/models/half/metadata")
    assert latest.status_code == 200, latest.text
    assert latest.json()["model_spec"] == {"name": "half", "signature_name": "", "version": "2"}
    serving = latest.json()["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert serving["method_name"] == "tensorflow/serving/predict"
    assert [d["size"] for d in serving["inputs"]["features"]["tensor_shape"]["dim"]] == ["-1", "3"]
    assert tfs(zoo, "GET", "/v1/models/half/versions/1/metadata").json()["model_spec"]["version"] == "1"
    assert tfs(zoo, "GET", "/v1/models/nope/metadata").status_code == 404


# ---- the SageMaker front ------------------------------------------------------------------------------------

@docker
def test_ping_and_other_routes(archive):
    """[host] GET /ping 200 once the model is AVAILABLE [njs]; [nginx] 56-62: other paths 404
    {"error": "Not Found"}, but /models always goes to gunicorn's socket, which without the Python service does
    not exist: nginx's 502."""
    assert requests.get(f"{archive.url}/ping", timeout=5).status_code == 200
    other = requests.get(f"{archive.url}/other", timeout=5)
    assert other.status_code == 404 and other.json() == {"error": "Not Found"}
    models = requests.get(f"{archive.url}/models", timeout=5)
    assert models.status_code == 502 and "502 Bad Gateway" in models.text


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


# ---- code/inference.py and the Python service ------------------------------------------------------------------

def process_command_lines(container):
    probe = subprocess.run(["docker", "exec", container.name, "python3", "-c",
                            "import glob\nfor p in glob.glob('/proc/[0-9]*/cmdline'):\n"
                            "    print(open(p, 'rb').read().replace(bytes(1), b' ').decode())"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.splitlines()


@docker
def test_handler_runs_in_the_dlcs_python_without_tensorflow_or_numpy(twin, models):
    """[dlc] 92-103, 185-187: the Python service's environment has awscli, boto3, cython, gevent, requests,
    grpcio, protobuf, packaging, tensorflow-serving-api (installed --no-dependencies), falcon 3.1.0, gunicorn, and
    so no tensorflow, keras or numpy; tensorflow_serving.apis.predict_pb2 imports tensorflow, so it fails too.
    [serve] 92-93: OMP_NUM_THREADS=1; 210-214, 252: PYTHONPATH=/opt/ml/model/code; 231-240: gunicorn with
    -k gevent, --workers 1, --threads 1, --timeout 30."""
    with docker_run.serving(twin, models / "with_handler") as container:
        answer = invoke(container, json.dumps({"rows": ROWS}))
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["scores"] == expected(ROWS)
        assert result["imports"] == {"numpy": False, "tensorflow": False, "keras": False,
                                     "tensorflow_serving.apis.predict_pb2": False,
                                     "tensorflow_serving.apis.model_pb2": True, "boto3": True, "grpc": True,
                                     "google.protobuf": True, "falcon": True, "gevent": True, "requests": True}
        assert result["omp_num_threads"] == "1" and result["pythonpath"] == "/opt/ml/model/code"
        service, = {line for line in process_command_lines(container) if "python_service.py" in line}  # master, worker
        assert "-k gevent" in service and "--workers 1 --threads 1" in service and "--timeout 30" in service
        assert service.startswith(result["python"])


@docker
def test_handler_gets_the_body_and_the_real_context(twin, models):
    """[pysvc] handler(data, context) answers /invocations; [utils] Context's fields, rest_uri
    http://localhost:<8501>/v1/models/<name>[/versions/<v>]:predict, default content type and accept;
    grpc_port is text ('9000') and channel a grpc.Channel [pysvc] 99-106."""
    with docker_run.serving(twin, models / "with_handler") as container:
        answer = requests.post(f"{container.url}/invocations", data=json.dumps({"rows": ROWS}),
                               headers={"Accept": None}, timeout=30)  # no Content-Type, no Accept
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json", answer.text
        result = answer.json()
        assert result["fields"] == CONTEXT_FIELDS
        context = result["context"]
        assert context["rest_uri"] == "http://localhost:8501/v1/models/model:predict"
        assert context["model_name"] is None and context["method"] is None
        assert context["grpc_port"] == "9000" and context["channel"] is True
        assert context["request_content_type"] == "application/json" and context["accept_header"] == "application/json"
        picked = invoke(container, json.dumps({"rows": ROWS}), accept="application/json",
                        attributes="tfs-model-version=1,tfs-method=predict").json()["context"]
        assert picked["rest_uri"] == "http://localhost:8501/v1/models/model/versions/1:predict"
        assert picked["model_version"] == "1" and picked["custom_attributes"] == "tfs-model-version=1,tfs-method=predict"
        broken = invoke(container, json.dumps({"rows": ROWS}), attributes="tfs-model-name=a=b")
        assert broken.status_code == 500  # [utils] 85: dict() of a three-part split raises before any handler
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
def test_requirements_txt_alone_serves_raw_bodies_through_the_default_handler(twin, models):
    """[serve] 143-148: requirements.txt alone starts the Python service; [pysvc] default_handler (63-74, 429):
    the body goes to TF Serving as it came (no CSV or JSON-lines conversion), TF Serving's body comes back with
    status 200 whatever TF Serving said, and the Accept header (application/json without one) as content type."""
    with docker_run.serving(twin, models / "with_requirements_only") as container:
        tf_request = invoke(container, json.dumps({"instances": ROWS}), "text/csv", accept="text/csv")
        assert tf_request.status_code == 200 and tf_request.headers["Content-Type"] == "text/csv"
        assert tf_request.json() == {"predictions": expected(ROWS)}
        csv = requests.post(f"{container.url}/invocations", data="1,2,3\n", timeout=30,
                            headers={"Content-Type": "text/csv", "Accept": None})
        assert csv.status_code == 200 and csv.headers["Content-Type"] == "application/json"
        assert "JSON Parse error" in csv.json()["error"]  # TF Serving's 400 body, under a 200
        assert invoke(container, "[1, 2]", "text/plain").status_code == 200  # no 415 either


@docker
def test_requirements_are_installed_at_start_from_a_wheelhouse_in_the_archive(twin, models, tmp_path):
    """[serve] 216-229: `pip3 install -r code/requirements.txt` at start-up, in the service's environment, so
    an inference.py that imports numpy works once requirements.txt lists it. This machine's containers cannot
    reach the package index, so the archive carries a wheelhouse made with the host's pip and pip's own
    variables point at it (PIP_NO_INDEX, PIP_FIND_LINKS; they work the same on AWS); the log says which."""
    shutil.copytree(models / "with_numpy", tmp_path / "model")
    (tmp_path / "model" / "code" / "requirements.txt").write_text("numpy==2.0.2\n")
    platform = f"manylinux_2_17_{images._platform()}"
    download = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                               "--only-binary=:all:", "--implementation", "cp", "--python-version", images.IMAGE_PYTHON,
                               "--platform", platform, "--no-deps", "numpy==2.0.2",
                               "-d", str(tmp_path / "model" / "code" / "wheelhouse")], capture_output=True, text=True)
    assert download.returncode == 0, download.stderr
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/opt/ml/model/code/wheelhouse"}
    with docker_run.serving(twin, tmp_path / "model", env=env) as container:
        answer = invoke(container, "[1, 2, 3.5]")
        assert answer.status_code == 200 and answer.json() == {"numpy": "2.0.2", "sum": 6.5}, answer.text
        assert "wheelhouse /opt/ml/model/code/wheelhouse (PIP_FIND_LINKS)" in container.logs()


@docker
def test_a_requirement_that_cannot_be_installed_stops_the_container(twin, models):
    """[serve] 224-229: a failed pip install logs "failed to install required packages, exiting." and serve.py
    stops (nothing ever listens on 8080)."""
    code, output, _ = run_to_exit(twin, models / "with_missing_requirement", env={"PIP_NO_INDEX": "1"})
    assert code != 0 and "failed to install required packages, exiting." in output
    assert "not-on-any-index" in output and "started front" not in output


@docker
def test_lib_means_requirements_are_not_installed_and_the_service_runs(twin, models):
    """[serve] 213-221: with code/lib/, requirements.txt is ignored ("loading modules in '.../lib', ignoring
    requirements.txt") and PYTHONPATH is code:code/lib; lib/ alone starts the Python service (143-148)."""
    with docker_run.serving(twin, models / "with_lib_and_requirements", env={"PIP_NO_INDEX": "1"}) as container:
        assert invoke(container, json.dumps({"instances": ROWS})).json() == {"predictions": expected(ROWS)}
        logs = container.logs()
        assert "ignoring requirements.txt" in logs and "installing packages" not in logs
        service, = {line for line in process_command_lines(container) if "python_service.py" in line}  # master, worker
        assert "--timeout 30" in service


@docker
@pytest.mark.parametrize("archive_name, message", [
    ("with_no_handler", "Handlers are not implemented correctly in user script."),   # [pysvc] 440-452
    ("with_numpy", "ModuleNotFoundError: No module named 'numpy'"),                # [dlc] no numpy in the image
])
def test_user_code_that_cannot_be_loaded_stops_the_container_after_the_gunicorn_timeout(twin, models, archive_name,
                                                                                        message):
    """[pysvc] 108-117, 614-616: inference.py is imported while python_service.py loads, before gunicorn has a
    socket; [serve] 511-513 waits for the socket for the gunicorn timeout, then TimeoutError("time out after N
    seconds") stops serve.py. Here SAGEMAKER_GUNICORN_TIMEOUT_SECONDS=4 (default 30) keeps the test short."""
    code, output, seconds = run_to_exit(twin, models / archive_name, env={"SAGEMAKER_GUNICORN_TIMEOUT_SECONDS": "4"})
    assert code != 0 and message in output and "time out after 4 seconds" in output
    assert "started front" not in output


@docker
def test_slow_handlers_meet_gunicorns_timeout_and_nginxs(twin, models):
    """[gunicorn] with the gevent worker a handler that yields (time.sleep is gevent's after [pysvc] 14-17) may
    take longer than the gunicorn timeout; one that never yields stops the heartbeat, gunicorn kills the worker
    and nginx answers 502 [nginx]; an answer later than proxy_read_timeout is nginx's 504. Then the next worker
    serves. Here gunicorn's timeout is 2 s and nginx's 4 s (defaults 30 and 60) [serve] 72-90."""
    env = {"SAGEMAKER_GUNICORN_TIMEOUT_SECONDS": "2", "SAGEMAKER_NGINX_PROXY_READ_TIMEOUT_SECONDS": "4"}
    with docker_run.serving(twin, models / "with_slow_handler", env=env) as container:
        assert invoke(container, json.dumps({"sleep": 3})).status_code == 200          # longer than gunicorn's 2 s
        killed = invoke(container, json.dumps({"busy": 8}))
        assert killed.status_code == 502 and "502 Bad Gateway" in killed.text
        assert killed.headers["Content-Type"].startswith("text/html")
        assert "WORKER TIMEOUT" in container.logs()
        late = invoke(container, json.dumps({"sleep": 6}))
        assert late.status_code == 504 and "504 Gateway Time-out" in late.text
        assert invoke(container, json.dumps({"sleep": 0})).json() == {"done": {"sleep": 0}}


# ---- start-up and health ------------------------------------------------------------------------------------

@docker
def test_no_savedmodel_stops_the_container(twin, models):
    """[serve] _create_tfs_config: no model found -> ValueError("no SavedModel bundles found!"), no server."""
    code, output, _ = run_to_exit(twin, models / "empty")
    assert code != 0 and "ValueError: no SavedModel bundles found!" in output


@docker
def test_a_default_model_tf_serving_does_not_have_stops_the_container_before_anything_answers(twin, models):
    """[utils] wait_for_model (258-296): once TF Serving answers, anything but 200 with every version AVAILABLE
    fails the start-up at once ("Timed out after <SAGEMAKER_TFS_WAIT_TIME_SECONDS> seconds", 55 by default);
    [serve] 490-518: the front starts only after that wait, so /ping never answers."""
    code, output, _ = run_to_exit(twin, models / "zoo", env={"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": "missing"})
    assert code != 0 and "Timed out after 55 seconds" in output and "'missing'" in output
    assert "started front" not in output


@docker
def test_tf_serving_that_does_not_listen_within_the_wait_time_stops_the_container(twin, models):
    """[serve] 66-69, 397-401 and [utils] 258-296: SAGEMAKER_TFS_WAIT_TIME_SECONDS=1 gives 3 connection retries
    (about 0.2 s of back-off), less than TF Serving needs to load: the start-up fails."""
    code, output, _ = run_to_exit(twin, models / "archive", env={"SAGEMAKER_TFS_WAIT_TIME_SECONDS": "1"})
    assert code != 0 and "Timed out after 1 seconds" in output and "started front" not in output


@docker
def test_an_invalid_batching_flag_stops_the_container(twin, models):
    """[serve] 102-103: SAGEMAKER_TFS_ENABLE_BATCHING other than true/false -> ValueError, before any server."""
    code, output, _ = run_to_exit(twin, models / "archive", env={"SAGEMAKER_TFS_ENABLE_BATCHING": "on"})
    assert code != 0 and "ValueError: SAGEMAKER_TFS_ENABLE_BATCHING must be 'true' or 'false'" in output


@docker
def test_bind_to_port_and_safe_port_range(twin, models):
    """[serve] the front listens on SAGEMAKER_BIND_TO_PORT; TF Serving's ports are the first two of
    SAGEMAKER_SAFE_PORT_RANGE (gRPC, REST), which context names [utils], the gRPC port as text."""
    env = {"SAGEMAKER_BIND_TO_PORT": "8091", "SAGEMAKER_SAFE_PORT_RANGE": "20000-20999"}
    with docker_run.serving(twin, models / "with_handler", env=env, container_port=8091) as container:
        context = invoke(container, json.dumps({"rows": ROWS})).json()["context"]
        assert context["rest_uri"] == "http://localhost:20001/v1/models/model:predict"
        assert context["grpc_port"] == "20000"


@docker
def test_multi_model_endpoints_are_refused_at_start(twin, models):
    """A difference (README): the real image serves multi-model endpoints with SAGEMAKER_MULTI_MODEL=true
    ([serve] 95-110, 499-500); this twin stops at once and says so."""
    code, output, _ = run_to_exit(twin, models / "archive", env={"SAGEMAKER_MULTI_MODEL": "true"})
    assert code != 0 and "single-model endpoints only" in output


@docker
def test_a_taken_tf_serving_port_moves_and_context_names_the_new_one(twin, models, zoo):
    """A difference (README): in SageMaker Studio the serving containers share one network namespace, so a
    second one finds 8501 taken; the twin's TF Serving then takes a free port, which context.rest_uri names.
    (AWS's image runs alone on its instance and would fail to bind.)"""
    name = f"tf-twin-neighbour-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(["docker", "run", "-d", "--name", name, "--network", f"container:{zoo.name}",
                              "-e", "SAGEMAKER_BIND_TO_PORT=8092", "-v", f"{models / 'with_handler'}:/opt/ml/model:ro",
                              twin, "serve"], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        probe = ("import json, time, requests\n"
                 "for _ in range(240):\n"
                 "    try:\n"
                 "        answer = requests.post('http://localhost:8092/invocations', data=json.dumps({'rows': [[1, 2, 3]]}))\n"
                 "        print(answer.json()['context']['rest_uri']); break\n"
                 "    except requests.ConnectionError:\n"
                 "        time.sleep(0.25)\n")
        result = subprocess.run(["docker", "exec", name, "python3", "-c", probe], capture_output=True, text=True,
                                timeout=120)
        rest_uri = result.stdout.strip()
        assert rest_uri.startswith("http://localhost:") and ":8501/" not in rest_uri, result.stdout + result.stderr
        still_serving(zoo)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@docker
def test_other_commands_run_as_given_with_the_dlcs_python(twin):
    """[dlc] no ENTRYPOINT: a command runs as given; `python3` on PATH is the DLC's Python (no TensorFlow) and
    `serve` is found in /sagemaker (PATH 172)."""
    result = subprocess.run(["docker", "run", "--rm", twin, "sh", "-c",
                             "command -v serve; python3 -c \"import tensorflow\" 2>/dev/null || echo no-tensorflow"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.split() == ["/sagemaker/serve", "no-tensorflow"], result.stderr


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
