"""Contract tests of containers/mxnet-1.9-inference, the LEGACY local twin of AWS's MXNet 1.9 inference DLC
(mxnet-inference:1.9-cpu-py38), run against the built image (`docker run IMAGE serve`).

Sources of the rules (each test names the one it follows):
- [host] SageMaker hosting: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
         (`serve`, port 8080 or SAGEMAKER_BIND_TO_PORT, GET /ping, POST /invocations, 6 MB payloads)
- [mxi]  https://github.com/aws/sagemaker-mxnet-inference-toolkit v1.5.5: src/sagemaker_mxnet_serving_container/
         default_inference_handler.py (default model_fn: model-symbol.json, model-0000.params, model-shapes.json
         loaded as a Module; JSON/CSV/NPY for Modules; the first supported type of the Accept list) and
         handler_service.py (transform_fn, or model_fn + input_fn/predict_fn/output_fn from code/inference.py;
         a Gluon Block is called on the decoded NDArray)
- [si]   https://github.com/aws/sagemaker-inference-toolkit v1.10.1: src/sagemaker_inference/transformer.py
         (transform_fn together with input_fn/predict_fn/output_fn is an error; a missing or */* Accept means
         SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, application/json by default)
- [dlc]  https://github.com/aws/deep-learning-containers/blob/master/mxnet/inference/docker/1.9/py3/Dockerfile.cpu
         and the toolkit's docker/artifacts/mms-entrypoint.py (`serve` starts the server, other commands run)
- [lab]  labs/03c_mxnet_legacy/code/inference.py (the lab's hooks: a label and class probabilities per row)
The server is Lab 02's (containers/pytorch-byom-inference/program): one program for the PyTorch and MXNet
images; MXNet's defaults live in containers/mxnet-1.9-inference/program/mxnet_default_handlers.py.
Reference outputs are computed inside the image with plain Gluon (SymbolBlock), never through the server.
"""
import hashlib
import io
import json
import subprocess

import numpy as np
import pytest
import requests

from smworkshop import docker_run, images
from smworkshop.paths import CONTAINERS, LABS

pytestmark = pytest.mark.docker
PARENT = "mxnet-1.9-base"
SERVER = "pytorch-byom-inference"
CONTAINER = "mxnet-1.9-inference"
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-inference:1.9-cpu-py38"
RETRIEVE = dict(py_version="py38", image_scope="inference", instance_type="ml.m5.xlarge")
LAB_CODE = LABS / "03c_mxnet_legacy" / "code"
# Lab 02's whole server program, byte for byte (its torch-only parts stay unused without torch).
SHARED_MODULES = tuple(sorted(p.name for p in (CONTAINERS / "pytorch-byom-inference" / "program").iterdir()
                              if p.is_file()))
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]  # one iris of each species


def build_twin(say=lambda message: None):
    """The inference twin, tagged with the real image's URI; images.build builds its parents first (the shared
    mxnet image and Lab 02's server image, named in its Dockerfile)."""
    return images.build_twin("mxnet", "1.9", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


REFERENCE = '''
import json, mxnet as mx
net = mx.gluon.nn.SymbolBlock.imports("/m/model-symbol.json", ["data"], "/m/model-0000.params")
print(json.dumps(net(mx.nd.array(json.loads(%r))).asnumpy().tolist()))
'''


@pytest.fixture(scope="module")
def trained(twin, tmp_path_factory):
    """The lab's train.py run inside the image (the host has no mxnet), on iris, and the exported network's
    raw scores for ROWS computed with plain Gluon: the model archive, unpacked, without code/."""
    from sklearn.datasets import load_iris

    folder = tmp_path_factory.mktemp("mxnet_model")
    x, y = load_iris(return_X_y=True)
    (folder / "data").mkdir()
    np.savetxt(folder / "data" / "iris.csv", np.column_stack([y, x]), delimiter=",", fmt="%g")
    (folder / "model").mkdir()
    mounts = ["-v", f"{folder}:/w", "-v", f"{LAB_CODE}:/code:ro"]
    run = subprocess.run(["docker", "run", "--rm", *mounts, twin, "python3", "/code/train.py", "--epochs", "30",
                          "--train", "/w/data", "--validation", "/w/data", "--model-dir", "/w/model"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    reference = subprocess.run(["docker", "run", "--rm", "-v", f"{folder / 'model'}:/m:ro", twin, "python3", "-c",
                                REFERENCE % json.dumps(ROWS)], capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    scores = np.asarray(json.loads(reference.stdout.strip().splitlines()[-1]))
    return {"dir": folder / "model", "scores": scores}


def model_with_code(trained, tmp_path, code):
    """A copy of the trained model archive with code/inference.py."""
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(trained["dir"], folder)
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(code)
    return folder


def csv_of(rows):
    return "\n".join(",".join(map(str, row)) for row in rows)


# ---- the image --------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("mxnet", "us-east-1", "1.9", **RETRIEVE) == URI


def test_the_image_says_it_is_a_legacy_twin(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert description.startswith("LEGACY.") and "LOCAL TWIN" in description and "not AWS's image" in description
    assert "1.9.1" in description and "Python 3.11" in description
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"  # [host]


def test_one_server_program_shared_with_lab_02(twin):
    """The twin serves with the very modules of containers/pytorch-byom-inference/program, on the parent's mxnet,
    without torch."""
    source = CONTAINERS / SERVER / "program"
    expected = {name: hashlib.sha256((source / name).read_bytes()).hexdigest() for name in SHARED_MODULES}
    listing = subprocess.run(
        ["docker", "run", "--rm", twin, "python3", "-c",
         "import hashlib, importlib.util, json, pathlib, mxnet; print(json.dumps({'mxnet': mxnet.__version__, "
         "'torch': importlib.util.find_spec('torch') is not None, 'files': {n: hashlib.sha256(pathlib.Path("
         f"'/opt/program', n).read_bytes()).hexdigest() for n in {list(SHARED_MODULES)!r}}}}}))"],
        capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    inside = json.loads(listing.stdout)
    assert inside["files"] == expected
    assert inside["mxnet"] == "1.9.1" and not inside["torch"]
    layers = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                             images.local_tag(PARENT), twin], capture_output=True, text=True, check=True)
    parent, child = (json.loads(line) for line in layers.stdout.splitlines())
    assert child[:len(parent)] == parent  # mxnet is the parent's layer, not a copy


# ---- defaults: the three model files, no code/ ---------------------------------------------------------------

@pytest.fixture(scope="module")
def default_server(twin, trained):
    with docker_run.serving(twin, trained["dir"]) as container:
        yield container


def test_the_default_model_fn_serves_the_three_model_files(default_server, trained):
    # [mxi] default_model_fn loads model-symbol.json + model-0000.params with model-shapes.json as a Module;
    # [mxi] a Module takes CSV (reshaped to its input shape); [si] no Accept means application/json
    assert requests.get(f"{default_server.url}/ping", timeout=2).status_code == 200  # [host]
    response = default_server.invoke(csv_of(ROWS), content_type="text/csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert np.allclose(response.json(), trained["scores"], atol=1e-4)


def test_the_defaults_speak_json_csv_and_npy(default_server, trained):
    as_csv = default_server.invoke(json.dumps(ROWS), content_type="application/json", accept="text/csv")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"] == "text/csv"
    assert np.allclose(np.loadtxt(io.StringIO(as_csv.text), delimiter=","), trained["scores"], atol=1e-4)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(ROWS, dtype=np.float32))
    as_npy = default_server.invoke(buffer.getvalue(), content_type="application/x-npy", accept="application/x-npy")
    assert as_npy.status_code == 200 and as_npy.headers["Content-Type"] == "application/x-npy"
    assert np.allclose(np.load(io.BytesIO(as_npy.content)), trained["scores"], atol=1e-4)
    # [mxi] parse_accept: the first type of the Accept list the defaults can write
    chosen = default_server.invoke(csv_of(ROWS), content_type="text/csv", accept="image/png, text/csv")
    assert chosen.status_code == 200 and chosen.headers["Content-Type"] == "text/csv"


@pytest.mark.parametrize("body, content_type, accept, status", [
    ("5.1 3.5 1.4 0.2", "text/plain", None, 415),           # not a type the defaults read
    (csv_of(ROWS), "text/csv", "image/png", 406),           # not a type the defaults write
    ("1,2,3\n4,5,6", "text/csv", None, 400),               # rows that do not fit the model's input shape
    ("[[5.1, 3.5, 1.4", "application/json", None, 400),    # malformed JSON
    (b"", "text/csv", None, 400),                           # empty body
])
def test_bad_requests_to_the_defaults_get_a_4xx_and_the_server_keeps_serving(default_server, trained, body,
                                                                             content_type, accept, status):
    response = default_server.invoke(body, content_type=content_type, accept=accept)
    assert response.status_code == status, response.text
    again = default_server.invoke(csv_of(ROWS), content_type="text/csv")
    assert again.status_code == 200 and np.allclose(again.json(), trained["scores"], atol=1e-4)


def test_a_model_without_the_default_files_does_not_start(twin, tmp_path):
    # [mxi] default_model_fn raises when one of the three files is missing: the container never turns healthy
    (tmp_path / "model.params").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError) as failed:
        with docker_run.serving(twin, tmp_path):
            pass
    assert "model-symbol.json" in str(failed.value)


# ---- the lab's code/inference.py ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_server(twin, trained, tmp_path_factory):
    folder = model_with_code(trained, tmp_path_factory.mktemp("lab_hooks"), (LAB_CODE / "inference.py").read_text())
    with docker_run.serving(twin, folder) as container:
        yield container


def test_the_lab_hooks_serve_the_model(lab_server, trained):
    # [lab] input_fn/predict_fn/output_fn from code/inference.py, with its own model_fn (a Gluon SymbolBlock)
    labels = trained["scores"].argmax(axis=1).tolist()
    response = lab_server.invoke(json.dumps({"instances": ROWS}), content_type="application/json")
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == labels == [0, 2, 1]
    assert all(abs(sum(p["probabilities"]) - 1) < 1e-3 for p in predictions)
    as_csv = lab_server.invoke(csv_of(ROWS), content_type="text/csv", accept="text/csv")
    assert as_csv.status_code == 200 and as_csv.text.split() == [str(label) for label in labels]


def test_routes(lab_server):
    assert requests.get(f"{lab_server.url}/ping", timeout=2).status_code == 200  # [host]
    assert requests.get(f"{lab_server.url}/invocations", timeout=2).status_code == 405
    assert requests.get(f"{lab_server.url}/models", timeout=2).status_code == 404


@pytest.mark.parametrize("body, content_type, status, message", [
    ("5.1 3.5 1.4 0.2", "text/plain", 415, "unsupported content type"),
    ("5.1,3.5,oops,0.2", "text/csv", 400, "cannot read"),
    ("1,2,3", "text/csv", 400, "each row needs 4 values"),
    (b"", "application/json", 400, "empty request body"),
    (b"\x00" * (6 * 1024 * 1024 + 1), "application/json", 413, "payload too large"),  # [host] 6 MB
])
def test_bad_requests_to_the_lab_hooks_get_a_4xx_and_the_server_keeps_serving(lab_server, trained, body,
                                                                              content_type, status, message):
    response = lab_server.invoke(body, content_type=content_type)
    assert response.status_code == status and message in response.text
    again = lab_server.invoke(csv_of(ROWS), content_type="text/csv", accept="text/csv")
    assert again.status_code == 200 and again.text.split() == [str(v) for v in trained["scores"].argmax(axis=1)]


# ---- transform_fn ------------------------------------------------------------------------------------------

TRANSFORM_ONLY = '''
import json
import mxnet as mx

def transform_fn(model, data, input_content_type, output_content_type):
    rows = mx.nd.array(json.loads(data))
    scores = model.predict(mx.io.NDArrayIter(rows, batch_size=1))
    return json.dumps({"classes": scores.argmax(axis=1).asnumpy().astype(int).tolist(),
                       "model": type(model).__name__}), "application/json"
'''


def test_transform_fn_alone_runs_on_the_default_model(twin, trained, tmp_path):
    # [mxi] handler_service: with transform_fn the default model_fn still loads the Module; [si] transform_fn
    # gets (model, data, content type, accept) and may answer (body, content type)
    with docker_run.serving(twin, model_with_code(trained, tmp_path, TRANSFORM_ONLY)) as container:
        response = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert response.status_code == 200, response.text
        assert response.json() == {"classes": trained["scores"].argmax(axis=1).tolist(), "model": "Module"}


def test_transform_fn_with_input_fn_is_refused_at_start(twin, trained, tmp_path):
    # [si] transformer._validate_user_module_and_set_functions: transform_fn excludes input/predict/output_fn
    code = TRANSFORM_ONLY + "\ndef input_fn(data, content_type):\n    return data\n"
    with pytest.raises(RuntimeError) as failed:
        with docker_run.serving(twin, model_with_code(trained, tmp_path, code)):
            pass
    assert "transform_fn" in str(failed.value)


# ---- the entrypoint ------------------------------------------------------------------------------------------

def test_other_commands_run_as_given(twin):
    # [dlc] the entrypoint starts the server for `serve` and runs anything else
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", "print('ran')"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ran"


def test_an_endpoint_in_local_mode_under_the_real_image_name(twin, trained, tmp_path, monkeypatch):
    """CreateModel / CreateEndpoint / InvokeEndpoint through SageMaker local mode with the DLC's URI: local mode
    finds the twin under that name and never pulls. Environment as the SDK's MXNetModel sets it."""
    import tarfile

    from smworkshop import session

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("mxnet-twin-test", mode="local", say=lambda message: None)
    folder = model_with_code(trained, tmp_path, (LAB_CODE / "inference.py").read_text())
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    sm = lab.sagemaker_client
    try:
        model = lab.cleanup.add("model", session.unique_name("mxnet-twin"))
        sm.create_model(ModelName=model, ExecutionRoleArn=lab.role, PrimaryContainer={
            "Image": twin, "ModelDataUrl": lab.model_data(archive),
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}})
        config = lab.cleanup.add("endpoint_config", session.unique_name("mxnet-twin"))
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": model, "InstanceType": "local", "InitialInstanceCount": 1}])
        endpoint = lab.cleanup.add("endpoint", session.unique_name("mxnet-twin"))
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        lab.wait_for_endpoint(endpoint, timeout=120, poll_seconds=1)
        answer = json.loads(lab.invoke(endpoint, csv_of(ROWS), content_type="text/csv", accept="application/json"))
        assert [p["label"] for p in answer["predictions"]] == trained["scores"].argmax(axis=1).tolist()
        with pytest.raises(session.InvocationError) as refused:
            lab.invoke(endpoint, "1,2,3", content_type="text/csv")
        assert refused.value.status == 400
    finally:
        lab.cleanup.run(quiet=True)
    assert not lab.cleanup.local_containers()
