"""Contract tests of containers/mxnet-1.9-inference, the LEGACY local twin of AWS's MXNet 1.9 inference DLC
(mxnet-inference:1.9-cpu-py38), run against the built image (`docker run IMAGE serve`).

The twin runs AWS's own sagemaker-mxnet-inference 1.5.5 on sagemaker-inference 1.6.1 (the DLC's versions) with the
workshop's server in Multi Model Server's place, so the expected values come from those toolkits' source and MMS's,
not from the twin. Sources (each test names the one it follows):
- [host] SageMaker hosting: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
- [dlc]  github.com/aws/deep-learning-containers @ff2b640 mxnet/inference/docker/1.9/py3/Dockerfile.cpu:185-189
         (sagemaker-mxnet-inference, unpinned: 1.5.5 is its last release; sagemaker-inference==1.6.1)
- [hs]   github.com/aws/sagemaker-mxnet-inference-toolkit v1.5.5 src/sagemaker_mxnet_serving_container/
         handler_service.py:47-85 (import the user module or fail; transform_fn -> generic Transformer; else
         model_fn(model_dir) decides: Module -> MXNetModuleTransformer, Block -> Gluon handler, other -> ValueError;
         then the Transformer initialises, which runs model_fn again), mxnet_module_transformer.py:29-52 (the old
         input_fn(data, content_type, model) form), default_inference_handler.py:43-219 (three files, batch 1; JSON
         and NPY for Blocks; JSON, CSV, NPY for Modules, only CSV reshaped; output tolist() then the encoder),
         serving.py:25-36 (thread variables)
- [si]   github.com/aws/sagemaker-inference-toolkit v1.6.1 src/sagemaker_inference/transformer.py:77-149 (hooks
         without context; any exception that is not BaseInferenceToolkitError -> 500 "message\\ntraceback"),
         151-215 (transform_fn excludes input/predict/output_fn), decoder.py, encoder.py
- [mms]  github.com/awslabs/multi-model-server v1.1.8: ModelManager.java:221-244 (/ping), mms/context.py
- [lab]  labs/03c_mxnet_legacy/code/inference.py and code/defaults/inference.py
Reference outputs are computed inside the image with plain Gluon (SymbolBlock), never through the server.
"""
import hashlib
import io
import json
import shutil
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
    folder = tmp_path / "model"
    shutil.copytree(trained["dir"], folder)
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(code)
    return folder


def csv_of(rows):
    return "\n".join(",".join(map(str, row)) for row in rows)


def refused_at_start(twin, folder):
    """The container's log when it stops during start-up (it must not turn healthy)."""
    with pytest.raises(RuntimeError) as failed:
        with docker_run.serving(twin, folder):
            pass
    return str(failed.value)


# ---- the image --------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("mxnet", "us-east-1", "1.9", **RETRIEVE) == URI


def test_the_image_says_it_is_a_legacy_twin(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert description.startswith("LEGACY.") and "LOCAL TWIN" in description and "not AWS's image" in description
    assert "1.9.1" in description and "Python 3.11" in description
    assert "sagemaker-mxnet-inference 1.5.5" in description and "sagemaker-inference 1.6.1" in description
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"  # [host]
    # README: differences: one model per container, so not the DLC's multi-models label
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.multi-models") is None


def test_the_twin_runs_the_dlcs_toolkits_and_their_error_class_imports_as_on_aws(twin):
    """[dlc] sagemaker-mxnet-inference 1.5.5 and sagemaker-inference 1.6.1, so user code can import
    sagemaker_inference.errors as it can on AWS."""
    probe = ("import importlib.metadata as m, sagemaker_inference.errors as e; "
             "print(m.version('sagemaker-mxnet-inference'), m.version('sagemaker-inference'), "
             "issubclass(e.GenericInferenceToolkitError, e.BaseInferenceToolkitError))")
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1.5.5", "1.6.1", "True"]


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


# ---- no code/inference.py: refused at worker start --------------------------------------------------------------

def test_an_archive_without_inference_py_does_not_start(twin, trained):
    """[hs] handler_service._user_module_transformer:48-53: importlib.import_module("inference") with no such
    module is ValueError('import_module exception: ...') at initialise; there is no "defaults only" branch."""
    log = refused_at_start(twin, trained["dir"])
    assert "ValueError: import_module exception: No module named 'inference'" in log


# ---- an empty code/inference.py: every hook is the toolkit's default -------------------------------------------

@pytest.fixture(scope="module")
def default_server(twin, trained, tmp_path_factory):
    folder = model_with_code(trained, tmp_path_factory.mktemp("defaults"),
                             (LAB_CODE / "defaults" / "inference.py").read_text())
    with docker_run.serving(twin, folder) as container:
        yield container


def test_ping_is_mms_json(default_server):
    ping = requests.get(f"{default_server.url}/ping", timeout=5)  # [mms] ModelManager.java:221-244
    assert ping.status_code == 200 and ping.json() == {"status": "Healthy"}


def test_the_default_model_fn_serves_the_three_model_files_as_a_module(default_server, trained):
    # [hs] default_model_fn loads model-symbol.json + model-0000.params with model-shapes.json as a Module;
    # CSV rows are reshaped to the input shape; [si] no Accept means application/json
    response = default_server.invoke(csv_of(ROWS), content_type="text/csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert np.allclose(response.json(), trained["scores"], atol=1e-4)


def test_the_module_defaults_read_json_csv_and_npy_and_answer_in_the_first_type_they_can_write(default_server,
                                                                                             trained):
    """[hs] DefaultModuleInferenceHandler: JSON, CSV and NPY; default_output_fn encodes asnumpy().tolist() in the
    first Accept type it knows and returns the body alone, so [si] the content type is the Accept value as sent;
    [si] encoder: CSV with np.savetxt(fmt="%s"), NPY of a list: float64."""
    as_csv = default_server.invoke(json.dumps(ROWS), content_type="application/json", accept="text/csv")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"] == "text/csv"
    assert np.allclose(np.loadtxt(io.StringIO(as_csv.text), delimiter=","), trained["scores"], atol=1e-4)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(ROWS, dtype=np.float32))
    as_npy = default_server.invoke(buffer.getvalue(), content_type="application/x-npy", accept="application/x-npy")
    assert as_npy.status_code == 200
    array = np.load(io.BytesIO(as_npy.content))
    assert array.dtype == np.float64 and np.allclose(array, trained["scores"], atol=1e-4)
    chosen = default_server.invoke(csv_of(ROWS), content_type="text/csv", accept="image/png, text/csv")
    assert chosen.status_code == 200 and chosen.headers["Content-Type"] == "image/png, text/csv"


def test_only_csv_is_reshaped_so_one_csv_row_works(default_server, trained):
    """[hs] default_input_fn:161-172 reshapes CSV to the Module's input shape: a flat CSV row becomes (1, 4)."""
    flat_csv = default_server.invoke(csv_of(ROWS[:1]), content_type="text/csv")
    assert flat_csv.status_code == 200 and np.allclose(flat_csv.json(), trained["scores"][:1], atol=1e-4)


def test_one_flat_json_row_fails_and_leaves_the_workers_module_broken(twin, trained, tmp_path):
    """[hs] default_input_fn reshapes CSV only, so a flat JSON list stays shape (4,); Module.predict re-binds the
    Module to that batch shape, which fails, and the Module stays bound wrongly: that worker's next requests fail
    too (MXNet's Module code, not the twin's). One worker here, so every request meets it."""
    folder = model_with_code(trained, tmp_path, "")
    with docker_run.serving(twin, folder, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}) as container:
        assert container.invoke(csv_of(ROWS), content_type="text/csv").status_code == 200
        flat_json = container.invoke(json.dumps(ROWS[0]), content_type="application/json")
        assert flat_json.status_code == 500 and "MXNetError" in flat_json.text
        assert container.invoke(csv_of(ROWS), content_type="text/csv").status_code == 500


@pytest.mark.parametrize("body, content_type, accept, message", [
    ("5.1 3.5 1.4 0.2", "text/plain", None, "Content type text/plain is not supported by this framework."),
    (csv_of(ROWS), "text/csv", "image/png", "Content type image/png is not supported by this framework."),
    # the shape prints as a tuple or a list, depending on how the model's shapes were read: either exact text
    ("1,2,3\n4,5,6", "text/csv", None, ("Cannot reshape array of size 6 into shape (-1, 4)",
                                         "Cannot reshape array of size 6 into shape [-1, 4]")),
    ("[[5.1, 3.5, 1.4", "application/json", None, "Expecting ',' delimiter"),
])
def test_what_the_defaults_cannot_read_is_a_500_and_the_server_keeps_serving(default_server, trained, body,
                                                                              content_type, accept, message):
    """[si] transform:140-149: UnsupportedFormatError, decoding and MXNet errors are not BaseInferenceToolkitError:
    500, body "message\\ntraceback"."""
    response = default_server.invoke(body, content_type=content_type, accept=accept)
    assert response.status_code == 500 and response.text.startswith(message)  # str.startswith takes a tuple too
    assert "Traceback (most recent call last)" in response.text
    again = default_server.invoke(csv_of(ROWS), content_type="text/csv")
    assert again.status_code == 200 and np.allclose(again.json(), trained["scores"], atol=1e-4)


def test_bodies_over_the_model_servers_limit_get_413(default_server):
    """[mms] ConfigManager.java:487 max_request_size 6553500: Netty answers 413 above it."""
    assert default_server.invoke(b" " * (6553500 + 1), content_type="text/csv").status_code == 413


def test_code_requirements_txt_is_not_installed_but_said_so(twin, trained, tmp_path):
    """README: differences. The DLC pip-installs code/requirements.txt at start (sagemaker-inference v1.6.1
    model_server.py:77-78); the twin installs nothing and says so in its log."""
    folder = model_with_code(trained, tmp_path, "")
    (folder / "code" / "requirements.txt").write_text("tqdm\n")
    with docker_run.serving(twin, folder) as container:
        assert container.invoke(csv_of(ROWS), content_type="text/csv").status_code == 200
        assert "code/requirements.txt is not installed" in container.logs()


def test_a_model_without_the_default_files_does_not_start(twin, tmp_path):
    # [hs] default_model_fn raises ValueError when one of the three files is missing
    (tmp_path / "model.params").write_bytes(b"not a checkpoint")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("")
    assert "Failed to load model with default model_fn: missing file model-symbol.json" in refused_at_start(
        twin, tmp_path)


# ---- code/inference.py hooks ----------------------------------------------------------------------------------

COUNTING = '''
import json, os
import mxnet as mx

CALLS = []

def model_fn(model_dir):
    CALLS.append(model_dir)
    return mx.gluon.nn.SymbolBlock.imports(os.path.join(model_dir, "model-symbol.json"), ["data"],
                                           os.path.join(model_dir, "model-0000.params"))

def output_fn(prediction, accept):
    return json.dumps({"model_fn_calls": len(CALLS), "threads": os.environ["OMP_NUM_THREADS"],
                       "scores": prediction.asnumpy().tolist()}), "application/json"
'''


def test_model_fn_runs_twice_and_a_gluon_block_gets_the_block_defaults(twin, trained, tmp_path):
    """[hs] _user_module_transformer:58-64 calls model_fn to see the model's type, then the Transformer's
    validate_and_initialize calls it again; a Block is served by DefaultGluonBlockInferenceHandler (JSON in,
    block(data)); [hs] serving.py:25-36 OMP_NUM_THREADS=1 when unset."""
    with docker_run.serving(twin, model_with_code(trained, tmp_path, COUNTING)) as container:
        answer = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_fn_calls"] == 2 and answer.json()["threads"] == "1"
        assert np.allclose(answer.json()["scores"], trained["scores"], atol=1e-4)
        # the Block defaults read JSON and NPY only, not CSV: a 500
        assert container.invoke(csv_of(ROWS), content_type="text/csv").status_code == 500


def test_hooks_get_no_context(twin, trained, tmp_path):
    """[si] transformer.py:128,233-235 calls transform_fn / input_fn with exactly their documented arguments."""
    code = COUNTING + "\ndef input_fn(data, content_type, context):\n    return mx.nd.array(json.loads(data))\n"
    with docker_run.serving(twin, model_with_code(trained, tmp_path, code)) as container:
        answer = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert answer.status_code == 500
        assert answer.text.startswith("input_fn() missing 1 required positional argument: 'context'")


OLD_INPUT_FN = '''
import json
import mxnet as mx

def input_fn(data, content_type, model):
    [(name, shape)] = model.data_shapes
    return mx.io.NDArrayIter(mx.nd.array(json.loads(data)["rows"]), batch_size=shape[0])
'''


def test_the_old_input_fn_form_gets_the_module(twin, trained, tmp_path):
    """[hs] mxnet_module_transformer._call_input_fn:42-52: for a Module, an input_fn with a `model` parameter gets
    the model as its third argument."""
    with docker_run.serving(twin, model_with_code(trained, tmp_path, OLD_INPUT_FN)) as container:
        answer = container.invoke(json.dumps({"rows": ROWS}), content_type="application/json")
        assert answer.status_code == 200, answer.text
        assert np.allclose(answer.json(), trained["scores"], atol=1e-4)


def test_a_model_fn_returning_neither_module_nor_block_does_not_start(twin, trained, tmp_path):
    # [hs] _user_module_transformer:65-68
    code = "def model_fn(model_dir):\n    return {'weights': 1}\n"
    assert "ValueError: Unsupported model type: dict." in refused_at_start(twin, model_with_code(trained, tmp_path,
                                                                                                 code))


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
    assert requests.get(f"{lab_server.url}/invocations", timeout=2).status_code == 405  # README: differences
    assert requests.get(f"{lab_server.url}/models", timeout=2).status_code == 404      # README: differences


@pytest.mark.parametrize("body, content_type, status, message", [
    ("5.1 3.5 1.4 0.2", "text/plain", 415, "unsupported content type"),
    ("5.1,3.5,oops,0.2", "text/csv", 400, "cannot read"),
    ("1,2,3", "text/csv", 400, "each row needs 4 values"),
])
def test_the_lab_hooks_choose_their_status_with_the_toolkits_error_class(lab_server, trained, body, content_type,
                                                                         status, message):
    """[si] transform:140-149: GenericInferenceToolkitError(status, message) is answered with that status and the
    message as the body's first line (the traceback follows)."""
    response = lab_server.invoke(body, content_type=content_type)
    assert response.status_code == status and response.text.startswith(message), response.text
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
    # [hs] with transform_fn the generic Transformer with the MXNet defaults: the default model_fn loads the Module;
    # [si] transform_fn gets (model, data, content type, accept) and may answer (body, content type)
    with docker_run.serving(twin, model_with_code(trained, tmp_path, TRANSFORM_ONLY)) as container:
        response = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert response.status_code == 200, response.text
        assert response.json() == {"classes": trained["scores"].argmax(axis=1).tolist(), "model": "Module"}


def test_transform_fn_with_input_fn_is_refused_at_start(twin, trained, tmp_path):
    # [si] transformer._validate_user_module_and_set_functions:195-199
    code = TRANSFORM_ONLY + "\ndef input_fn(data, content_type):\n    return data\n"
    assert "Cannot use transform_fn implementation in conjunction with" in refused_at_start(
        twin, model_with_code(trained, tmp_path, code))


# ---- the entrypoint ------------------------------------------------------------------------------------------

def test_other_commands_run_as_given(twin):
    # [dlc] the entrypoint starts the server for `serve` and runs anything else (README: the DLC then idles)
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
        assert refused.value.status == 400 and refused.value.message.startswith("each row needs 4 values")
    finally:
        lab.cleanup.run(quiet=True)
    assert not lab.cleanup.local_containers()
