"""Contract tests of containers/pytorch-2.5-inference, the local twin of AWS's PyTorch 2.5 inference DLC
(pytorch-inference:2.5-cpu-py311), run against the built image (`docker run IMAGE serve`).

The twin runs AWS's own sagemaker-pytorch-inference 2.0.25 (the DLC's version) with the workshop's server in
TorchServe's place, so the expected values below come from that toolkit's source and TorchServe's, not from
the twin. Sources (each test names the one it follows):
- [host] SageMaker hosting: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
         (`serve`, port 8080 or SAGEMAKER_BIND_TO_PORT, GET /ping, POST /invocations)
- [dlc]  github.com/aws/deep-learning-containers @ff2b640: pytorch/inference/buildspec-2-5-sm.yml
         (tool_kit_version 2.0.25, torch_serve_version 0.12.0), docker/2.5/py3/Dockerfile.cpu:250-251,
         docker/build_artifacts/torchserve-entrypoint.py (`serve` starts the toolkit, other commands run)
- [tr]   github.com/aws/sagemaker-pytorch-inference-toolkit v2.0.25 src/sagemaker_inference/transformer.py:
         92-113 (handle_error: status and phrase on the context, body "message\\ntraceback"), 115-176 (transform:
         Accept default, str bodies for exactly application/json and text/csv, (body, type) tuples, the response
         content type, any exception that is not BaseInferenceToolkitError -> 500), 178-247 (pre_model_fn,
         model_fn, model_warmup_fn; transform_fn excludes input/predict/output_fn), 272-292 (trailing context)
- [pth]  same tag, src/sagemaker_pytorch_serving_container/default_pytorch_inference_handler.py: 46-84 (model.pt),
         86-100 (decode then FloatTensor), 129-148 (tolist, first Accept type with an encoder, CSV as bytes)
- [dec]  same tag, src/sagemaker_inference/decoder.py:44-58 (np.genfromtxt: one CSV row is 1-D), encoder.py:
         47-80 (np.save of the list: float64; np.savetxt fmt %s: one value per line for 1-D), errors.py
- [ts]   github.com/pytorch/serve v0.12.0: ts/context.py, ts/service.py, ts/protocol/otf_message_handler.py,
         frontend InferenceRequestHandler.java:68-81 (/ping), ConfigManager.java:812 (max_request_size 6553500)
The server is Lab 02's (containers/pytorch-byom-inference/program); its model-server part is unit-tested in
test_container_units.py.
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
PARENT = "pytorch-2.5-base"
SERVER = "pytorch-byom-inference"
CONTAINER = "pytorch-2.5-inference"
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5-cpu-py311"
RETRIEVE = dict(py_version="py311", image_scope="inference", instance_type="ml.m5.xlarge")
MAX_REQUEST_SIZE = 6553500  # [ts] ConfigManager.java:812


def build_twin(say=lambda message: None):
    """The inference twin, tagged with the real image's URI; images.build builds its parents first (the
    shared torch image and Lab 02's server image, named in its Dockerfile)."""
    return images.build_twin("pytorch", "2.5", "us-east-1", say=say, **RETRIEVE)


@pytest.fixture(scope="module")
def twin(docker_engine):
    return build_twin()


@pytest.fixture(scope="module")
def net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()


@pytest.fixture(scope="module")
def torchscript_dir(net, tmp_path_factory):
    """A bare model archive, unpacked: model.pt only, no code/ [pth]."""
    import torch

    folder = tmp_path_factory.mktemp("bare_model")
    torch.jit.script(net).save(str(folder / "model.pt"))
    return folder


@pytest.fixture(scope="module")
def default_server(twin, torchscript_dir):
    with docker_run.serving(twin, torchscript_dir) as container:
        yield container


HOOKS = '''
import json
import torch
from sagemaker_inference import errors

STARTED = []

class Refused(errors.BaseInferenceToolkitError):
    def __init__(self, message):
        super().__init__(422, message, "Refused by input_fn")

class PlainWithStatus(ValueError):
    status_code = 400  # honoured by Lab 02's own image, not by AWS's toolkit

def pre_model_fn(model_dir):
    STARTED.append("pre_model_fn")

def model_fn(model_dir):
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net.load_state_dict(torch.load(model_dir + "/weights.pth", weights_only=True))
    STARTED.append("model_fn")
    return net.eval()

def model_warmup_fn(model_dir, model):
    STARTED.append("model_warmup_fn")

def input_fn(body, content_type, context):
    if content_type == "application/x-refuse":
        raise Refused("this input_fn refuses application/x-refuse")
    if content_type == "application/x-plain":
        raise PlainWithStatus("a plain exception with a status_code attribute")
    if content_type != "application/json":
        return {"type": type(body).__name__, "content_type": content_type,
                "attributes": context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes"),
                "server": context.system_properties["server_version"]}
    return torch.tensor(json.loads(body)["rows"], dtype=torch.float32)

def predict_fn(data, model):
    if isinstance(data, dict):
        return data
    with torch.no_grad():
        return model(data).argmax(dim=1)

def output_fn(prediction, accept):
    if isinstance(prediction, dict):
        return json.dumps({**prediction, "started": STARTED}), "application/json"
    return json.dumps({"classes": prediction.tolist(), "via": "output_fn"}), "application/json"
'''


def model_with_hooks(net, folder, code):
    """An archive with an eager state dict and code/inference.py [tr]."""
    import torch

    torch.save(net.state_dict(), folder / "weights.pth")
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(code)
    return folder


@pytest.fixture(scope="module")
def hooks_dir(net, tmp_path_factory):
    return model_with_hooks(net, tmp_path_factory.mktemp("hooks_model"), HOOKS)


@pytest.fixture(scope="module")
def hooks_server(twin, hooks_dir):
    with docker_run.serving(twin, hooks_dir) as container:
        yield container


ROWS = [[0.1, -0.2, 0.3], [1.0, 2.0, -1.0], [-3.0, 0.5, 0.0]]


def logits(net, rows):
    import torch

    with torch.no_grad():
        return net(torch.tensor(rows, dtype=torch.float32))


# ---- the image --------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("pytorch", "us-east-1", "2.5", **RETRIEVE) == URI


def test_the_image_says_it_is_a_twin(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description and "2.13.0" in description
    assert "sagemaker-pytorch-inference 2.0.25" in description
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"  # [host]
    # README: differences: one model per container, so not the DLC's multi-models label
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.multi-models") is None


def test_the_twin_runs_the_dlcs_toolkit_and_its_error_class_imports_as_on_aws(twin):
    """[dlc] sagemaker-pytorch-inference==2.0.25; its wheel carries sagemaker_inference itself (the DLC installs
    no separate sagemaker-inference), so `from sagemaker_inference.errors import ...` works in user code."""
    probe = ("import importlib.metadata as m, sagemaker_inference.errors as e; "
             "files = {str(f) for f in m.files('sagemaker-pytorch-inference')}; "
             "print(m.version('sagemaker-pytorch-inference'), 'sagemaker_inference/errors.py' in files, "
             "issubclass(e.GenericInferenceToolkitError, e.BaseInferenceToolkitError))")
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2.0.25", "True", "True"]


def test_an_inference_script_can_import_what_the_dlc_installs(twin):
    """github.com/aws/deep-learning-containers tag v1.53-pt-sagemaker-2.5.1-inf-py311,
    pytorch/inference/docker/2.5/py3/Dockerfile.cpu: numpy and scipy (conda-forge, lines 130-156), opencv-python
    (pip, line 159), scikit-learn and pandas (conda-forge, lines 244-246), all unpinned: the twin has the
    releases of the DLC's last full build (July 2025, PR #5030), numpy 2 as opencv 4.12 admits it (<2.3),
    OpenCV without its GUI part. torchvision/torchaudio are absent (PyPI's builds for torch 2.13 need CUDA)."""
    probe = ("import importlib.util, numpy, scipy, pandas, sklearn, cv2, torch; "
             "print(numpy.__version__, scipy.__version__, pandas.__version__, sklearn.__version__, cv2.__version__, "
             "torch.from_numpy(numpy.arange(3.0)).sum().item(), "
             "[m for m in ('torchvision', 'torchaudio') if importlib.util.find_spec(m)])")
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["2.2.6", "1.16.0", "2.3.1", "1.7.0", "4.12.0", "3.0", "[]"]


def test_one_server_program_shared_with_lab_02(twin):
    """The twin serves with the very files of containers/pytorch-byom-inference/program, on the parent's torch."""
    source = CONTAINERS / SERVER / "program"
    expected = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(source.iterdir()) if path.is_file()}
    listing = subprocess.run(
        ["docker", "run", "--rm", twin, "python3", "-c",
         "import hashlib, json, pathlib, torch; print(json.dumps({'torch': torch.__version__, 'files': "
         "{p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in pathlib.Path('/opt/program').iterdir() "
         "if p.is_file()}}))"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    inside = json.loads(listing.stdout)
    assert inside["files"] == expected
    assert inside["torch"].startswith("2.13.0")
    parent_layers = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                    images.local_tag(PARENT), twin], capture_output=True, text=True, check=True)
    parent, child = (json.loads(line) for line in parent_layers.stdout.splitlines())
    assert child[:len(parent)] == parent  # torch is the parent's layer, not a copy


# ---- defaults: a bare TorchScript model.pt ------------------------------------------------------------------

def test_ping_is_torchserves_json(default_server):
    ping = requests.get(f"{default_server.url}/ping", timeout=5)  # [ts] InferenceRequestHandler.java:68-81
    assert ping.status_code == 200 and ping.json() == {"status": "Healthy"}
    assert ping.headers["Content-Type"] == "application/json"


def test_a_bare_model_pt_is_served_by_the_default_handlers(default_server, net):
    # [pth] model.pt by torch.jit.load; JSON -> FloatTensor; no Accept -> application/json [tr]
    as_json = default_server.invoke(json.dumps(ROWS), content_type="application/json")
    assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json"
    assert np.allclose(as_json.json(), logits(net, ROWS).numpy(), atol=1e-5)


def test_one_csv_row_reaches_the_model_as_1d_and_csv_comes_back_one_value_per_line(default_server, net):
    """[dec] np.genfromtxt turns one CSV row into a 1-D array, so the model sees shape (3,) and answers shape
    (2,); the CSV encoder writes the prediction's tolist() with np.savetxt(fmt="%s"): one value per line, each
    at Python float precision."""
    answer = default_server.invoke("1,2,3", content_type="text/csv", accept="text/csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv"
    expected = "".join(f"{value}\n" for value in logits(net, [1.0, 2.0, 3.0]).tolist())
    assert answer.text == expected


def test_npy_answers_are_float64(default_server, net):
    """[pth] tolist() before encoding, [dec] np.save of a list of Python floats: dtype float64."""
    answer = default_server.invoke(json.dumps(ROWS), content_type="application/json", accept="application/x-npy")
    assert answer.status_code == 200
    array = np.load(io.BytesIO(answer.content))
    assert array.dtype == np.float64 and np.allclose(array, logits(net, ROWS).numpy(), atol=1e-5)


def test_an_accept_list_is_answered_in_its_first_encodable_type_under_the_whole_accept_value(default_server):
    """[pth] default_output_fn: the first type of the Accept list with an encoder; it returns the body alone, so
    [tr] transform sets the response content type to the Accept value as sent."""
    answer = default_server.invoke("1,2,3\n4,5,6", content_type="text/csv", accept="text/html, text/csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/html, text/csv"
    assert len(answer.text.splitlines()) == 2 and "," in answer.text.splitlines()[0]  # two rows of two


@pytest.mark.parametrize("body, headers, message", [
    # [dec] decoder.decode: KeyError -> UnsupportedFormatError (a plain Exception): 500
    ("three numbers", {"Content-Type": "text/plain"}, "Content type text/plain is not supported by this framework."),
    (json.dumps(ROWS), {"Content-Type": "application/json", "Accept": "text/html"},
     "Content type text/html is not supported by this framework."),
    # [tr] the exact type decides: with parameters the header value is not a known type
    ("1,2,3", {"Content-Type": "text/csv; charset=utf-8"},
     "Content type text/csv; charset=utf-8 is not supported by this framework."),
    # an empty body and a missing Content-Type reach the toolkit too
    ("", {"Content-Type": "application/json"}, "Expecting value: line 1 column 1 (char 0)"),
    ("1,2,3", {}, "Content type None is not supported by this framework."),
])
def test_what_the_defaults_cannot_read_is_a_500_with_message_and_traceback(default_server, body, headers, message):
    """[tr] transform: any exception that is not BaseInferenceToolkitError becomes GenericInferenceToolkitError(500,
    str(e)); handle_error sets the phrase (CR/LF removed) and answers "message\\ntraceback" with no content type."""
    answer = requests.post(f"{default_server.url}/invocations", data=body.encode(), headers=headers, timeout=30)
    assert answer.status_code == 500
    assert answer.text.startswith(message) and "\nTraceback (most recent call last)" in answer.text
    assert answer.reason.startswith(message)  # the phrase: the message, CR/LF replaced by spaces
    assert "Content-Type" not in answer.headers
    again = default_server.invoke(json.dumps(ROWS), content_type="application/json")
    assert again.status_code == 200


def test_bodies_up_to_the_model_servers_limit_reach_the_model_and_bigger_ones_get_413(default_server):
    """[ts] max_request_size 6553500 bytes: a body over SageMaker's 6 MB but under it reaches the toolkit (on AWS
    the service refuses such a request before the container); one byte more is Netty's 413."""
    under = default_server.invoke(b" " * (6 * 1024 * 1024 + 1), content_type="application/json")
    assert under.status_code == 500 and under.text.startswith("Expecting value")
    over = default_server.invoke(b" " * (MAX_REQUEST_SIZE + 1), content_type="application/json")
    assert over.status_code == 413


def test_without_model_pt_the_one_pth_file_is_the_model(twin, torchscript_dir, net, tmp_path):
    """[pth] default_model_fn:69-76: no model.pt, so the one .pt/.pth file; it tests os.path.isfile on the bare
    file name, which works because [ts] the worker runs in the model folder (WorkerLifeCycle.java:192)."""
    import shutil

    shutil.copy(torchscript_dir / "model.pt", tmp_path / "weights.pth")
    with docker_run.serving(twin, tmp_path) as container:
        answer = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert answer.status_code == 200 and np.allclose(answer.json(), logits(net, ROWS).numpy(), atol=1e-5)


def test_a_model_folder_without_model_pt_does_not_start(twin, tmp_path):
    # [pth] default_model_fn: not model.pt and not exactly one .pt/.pth file -> ValueError at start
    (tmp_path / "weights.bin").write_bytes(b"not a model")
    with pytest.raises(RuntimeError) as failed:
        with docker_run.serving(twin, tmp_path):
            pass
    assert "Exactly one .pth or .pt file is required for PyTorch models" in str(failed.value)


def test_code_requirements_txt_is_not_installed_but_said_so(twin, torchscript_dir, tmp_path):
    """README: differences. The DLC pip-installs code/requirements.txt at start (sagemaker-pytorch-inference
    v2.0.25 torchserve.py:78-79); the twin installs nothing and says so in its log."""
    import shutil

    shutil.copy(torchscript_dir / "model.pt", tmp_path / "model.pt")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "requirements.txt").write_text("tqdm\n")
    with docker_run.serving(twin, tmp_path) as container:
        assert container.invoke("[1, 2, 3]", content_type="application/json").status_code == 200
        assert "code/requirements.txt is not installed" in container.logs()


# ---- code/inference.py hooks --------------------------------------------------------------------------------

def test_the_four_hooks_of_code_inference_py_serve_the_model(hooks_server, net):
    response = hooks_server.invoke(json.dumps({"rows": ROWS}), content_type="application/json")
    assert response.status_code == 200, response.text
    assert response.json() == {"classes": logits(net, ROWS).argmax(dim=1).tolist(), "via": "output_fn"}


def test_pre_model_fn_and_model_warmup_fn_run_around_model_fn(hooks_server):
    """[tr] validate_and_initialize: pre_model_fn(model_dir), model_fn(model_dir), model_warmup_fn(model_dir,
    model), once, before the first request."""
    answer = hooks_server.invoke("x", content_type="application/octet-stream").json()
    assert answer["started"] == ["pre_model_fn", "model_fn", "model_warmup_fn"]


def test_a_hook_with_context_sees_torchserves_context(hooks_server):
    """[tr] _run_handler_function passes the context as one more argument; [ts] context.get_request_header(idx,
    name) and system_properties["server_version"]; bodies of other types arrive as bytes [tr]."""
    # as SageMaker and the SDK's local mode name the header for InvokeEndpoint's CustomAttributes
    answer = requests.post(f"{hooks_server.url}/invocations", data=b"x", timeout=30, headers={
        "Content-Type": "application/octet-stream", "X-Amzn-SageMaker-Custom-Attributes": "trace=1"})
    assert answer.json()["type"] == "bytes" and answer.json()["content_type"] == "application/octet-stream"
    assert answer.json()["attributes"] == "trace=1" and answer.json()["server"] == "0.12.0"


def test_the_toolkits_error_class_chooses_the_status_and_a_plain_exception_is_a_500(hooks_server):
    """[tr] transform:167-176 and handle_error:92-113: a BaseInferenceToolkitError's status_code and phrase are
    the answer's; any other exception, even one with a status_code attribute, is a 500 with its message."""
    refused = hooks_server.invoke("x", content_type="application/x-refuse")
    assert (refused.status_code, refused.reason) == (422, "Refused by input_fn")
    assert refused.text.startswith("this input_fn refuses application/x-refuse\nTraceback")
    plain = hooks_server.invoke("x", content_type="application/x-plain")
    assert plain.status_code == 500 and plain.reason == "a plain exception with a status_code attribute"
    assert plain.text.startswith("a plain exception with a status_code attribute\n")


def test_transform_fn_with_input_fn_is_refused_at_start(twin, net, tmp_path):
    # [tr] _validate_user_module_and_set_functions:227-231
    code = "def transform_fn(model, data, content_type, accept):\n    return data\n" \
           "def input_fn(data, content_type):\n    return data\n" \
           "def model_fn(model_dir):\n    return None\n"
    with pytest.raises(RuntimeError) as failed:
        with docker_run.serving(twin, model_with_hooks(net, tmp_path, code)):
            pass
    assert "Cannot use transform_fn implementation in conjunction with" in str(failed.value)


def test_routes(hooks_server):
    assert requests.get(f"{hooks_server.url}/ping", timeout=2).status_code == 200
    assert requests.get(f"{hooks_server.url}/invocations", timeout=2).status_code == 405  # README: differences
    assert requests.get(f"{hooks_server.url}/models", timeout=2).status_code == 404      # README: differences


# ---- Lab 03a's hooks on the twin ------------------------------------------------------------------------------

LAB_CODE = LABS / "03a_pytorch_script_mode" / "code"


@pytest.fixture(scope="module")
def lab_server(twin, tmp_path_factory):
    """Lab 03a's code/ (inference.py, model.py) with an untrained DigitNet saved as train.py saves it."""
    import shutil
    import sys

    import torch

    folder = tmp_path_factory.mktemp("lab03a_model")
    sys.path.insert(0, str(LAB_CODE))
    try:
        from model import DigitNet
    finally:
        sys.path.remove(str(LAB_CODE))
        sys.modules.pop("model", None)
    torch.manual_seed(0)
    torch.save(DigitNet(64, 8, 10).state_dict(), folder / "model.pt")
    (folder / "model.json").write_text(json.dumps({"features": 64, "hidden": 8, "classes": 10}))
    (folder / "code").mkdir()
    for name in ("inference.py", "model.py"):
        shutil.copy(LAB_CODE / name, folder / "code" / name)
    with docker_run.serving(twin, folder) as container:
        yield container


@pytest.mark.parametrize("body, content_type, status, first_line", [
    ("0.5,0.25\n", "text/csv", 400, "each row needs 64 values, got 2"),
    ('{"rows": [[0.5]]}', "application/json", 400, 'send JSON {"instances": [[64 pixel values], ...]}'),
    ("a seven", "text/plain", 415, "unsupported content type 'text/plain'"),
    ('{"instances": [[0.5,', "application/json", 500, "Expecting value: line 1 column 21 (char 20)"),
])
def test_lab_03a_hooks_answer_as_the_lab_teaches(lab_server, body, content_type, status, first_line):
    """The lab's refusals raise GenericInferenceToolkitError (their status) [tr]; its unguarded json.loads raises a
    plain JSONDecodeError (a 500) [tr]; the body's first line is the message."""
    answer = lab_server.invoke(body, content_type=content_type)
    assert answer.status_code == status and answer.text.splitlines()[0].startswith(first_line), answer.text
    rows = "\n".join(",".join(["0.5"] * 64) for _ in range(3))
    still = lab_server.invoke(rows, content_type="text/csv", accept="text/csv")
    assert still.status_code == 200 and len(still.text.split()) == 3


# ---- the entrypoint ------------------------------------------------------------------------------------------

def test_other_commands_run_as_given(twin):
    # [dlc] the entrypoint starts the server for `serve` and runs anything else (README: the DLC then idles)
    result = subprocess.run(["docker", "run", "--rm", twin, "python3", "-c", "print('ran')"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ran"


def test_an_endpoint_in_local_mode_under_the_real_image_name(twin, hooks_dir, net, tmp_path, monkeypatch):
    """CreateModel / CreateEndpoint / InvokeEndpoint through SageMaker local mode with the DLC's URI: local mode
    finds the twin under that name and never pulls. Environment as the SDK's PyTorchModel sets it."""
    import tarfile

    from smworkshop import session

    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "workspace"))
    lab = session.LabSession("pytorch-twin-test", mode="local", say=lambda message: None)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(hooks_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(hooks_dir)), recursive=False)
    sm = lab.sagemaker_client
    try:
        model = lab.cleanup.add("model", session.unique_name("pytorch-twin"))
        sm.create_model(ModelName=model, ExecutionRoleArn=lab.role, PrimaryContainer={
            "Image": twin, "ModelDataUrl": lab.model_data(archive),
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}})
        config = lab.cleanup.add("endpoint_config", session.unique_name("pytorch-twin"))
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": model, "InstanceType": "local", "InitialInstanceCount": 1}])
        endpoint = lab.cleanup.add("endpoint", session.unique_name("pytorch-twin"))
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        lab.wait_for_endpoint(endpoint, timeout=120, poll_seconds=1)
        answer = json.loads(lab.invoke(endpoint, json.dumps({"rows": ROWS}), content_type="application/json"))
        assert answer == {"classes": logits(net, ROWS).argmax(dim=1).tolist(), "via": "output_fn"}
        with pytest.raises(session.InvocationError) as refused:
            lab.invoke(endpoint, "x", content_type="application/x-refuse")
        assert refused.value.status == 422 and refused.value.message.startswith("this input_fn refuses")
    finally:
        lab.cleanup.run(quiet=True)
    assert not lab.cleanup.local_containers()
