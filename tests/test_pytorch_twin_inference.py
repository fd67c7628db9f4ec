"""Contract tests of containers/pytorch-2.5-inference, the local twin of AWS's PyTorch 2.5 inference DLC
(pytorch-inference:2.5-cpu-py311), run against the built image (`docker run IMAGE serve`).

Sources of the rules (each test names the one it follows):
- [host] SageMaker hosting: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
         (`serve`, port 8080 or SAGEMAKER_BIND_TO_PORT, GET /ping, POST /invocations, 6 MB payloads)
- [pti]  github.com/aws/sagemaker-pytorch-inference-toolkit v2.0.25: src/sagemaker_pytorch_serving_container/
         default_pytorch_inference_handler.py (DEFAULT_MODEL_FILENAME = "model.pt", torch.jit.load without a
         model_fn), and src/sagemaker_inference/transformer.py (model_fn/input_fn/predict_fn/output_fn from the
         user module code/inference.py)
- [dlc]  github.com/aws/deep-learning-containers pytorch/inference/docker/2.5/py3/Dockerfile.cpu and
         build_artifacts/torchserve-entrypoint.py (`serve` starts the server, other commands run as given)
The server is Lab 02's (containers/pytorch-byom-inference/program): one program for both images. Its full
hook contract is tested in test_pytorch_byom_container.py; here: that the twin carries that very program,
on the shared parent's torch, and honours the contract under the real image's name.
"""
import hashlib
import io
import json
import subprocess

import numpy as np
import pytest
import requests

from smworkshop import docker_run, images
from smworkshop.paths import CONTAINERS

pytestmark = pytest.mark.docker
PARENT = "pytorch-2.5-base"
SERVER = "pytorch-byom-inference"
CONTAINER = "pytorch-2.5-inference"
URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5-cpu-py311"
RETRIEVE = dict(py_version="py311", image_scope="inference", instance_type="ml.m5.xlarge")


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
    """A bare model archive, unpacked: model.pt only, no code/ [pti]."""
    import torch

    folder = tmp_path_factory.mktemp("bare_model")
    torch.jit.script(net).save(str(folder / "model.pt"))
    return folder


HOOKS = '''
import json
import torch

def model_fn(model_dir):
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net.load_state_dict(torch.load(model_dir + "/weights.pth", weights_only=True))
    return net.eval()

def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"input_fn reads JSON, not {content_type}")
    return torch.tensor(json.loads(body)["rows"], dtype=torch.float32)

def predict_fn(data, model):
    with torch.no_grad():
        return model(data).argmax(dim=1)

def output_fn(prediction, accept):
    return json.dumps({"classes": prediction.tolist(), "via": "output_fn"}), "application/json"
'''


@pytest.fixture(scope="module")
def hooks_dir(net, tmp_path_factory):
    """An archive with an eager state dict and code/inference.py defining all four hooks [pti]."""
    import torch

    folder = tmp_path_factory.mktemp("hooks_model")
    torch.save(net.state_dict(), folder / "weights.pth")
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(HOOKS)
    return folder


@pytest.fixture(scope="module")
def hooks_server(twin, hooks_dir):
    with docker_run.serving(twin, hooks_dir) as container:
        yield container


ROWS = [[0.1, -0.2, 0.3], [1.0, 2.0, -1.0], [-3.0, 0.5, 0.0]]


def expected_logits(net):
    import torch

    with torch.no_grad():
        return net(torch.tensor(ROWS)).numpy()


# ---- the image --------------------------------------------------------------------------------------------

def test_the_tag_is_the_uri_the_sdk_gives_for_the_real_image():
    assert images.aws_image_uri("pytorch", "us-east-1", "2.5", **RETRIEVE) == URI


def test_the_image_says_it_is_a_twin(twin):
    description = images.image_label(twin, "org.opencontainers.image.description")
    assert "LOCAL TWIN" in description and "not AWS's image" in description and "2.13.0" in description
    assert images.image_label(twin, "com.amazonaws.sagemaker.capabilities.accept-bind-to-port") == "true"  # [host]


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

def test_a_bare_model_pt_is_served_by_the_default_handlers(twin, torchscript_dir, net):
    with docker_run.serving(twin, torchscript_dir) as container:
        assert requests.get(f"{container.url}/ping", timeout=2).status_code == 200  # [host]
        as_json = container.invoke(json.dumps(ROWS), content_type="application/json")
        assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json"
        assert np.allclose(np.asarray(as_json.json()), expected_logits(net), atol=1e-5)
        as_csv = container.invoke("\n".join(",".join(map(str, row)) for row in ROWS), content_type="text/csv",
                                  accept="text/csv")
        assert as_csv.status_code == 200 and as_csv.headers["Content-Type"] == "text/csv"
        assert np.allclose(np.loadtxt(io.StringIO(as_csv.text), delimiter=","), expected_logits(net), atol=1e-4)


# ---- code/inference.py hooks --------------------------------------------------------------------------------

def test_the_four_hooks_of_code_inference_py_serve_the_model(hooks_server, net):
    response = hooks_server.invoke(json.dumps({"rows": ROWS}), content_type="application/json")
    assert response.status_code == 200, response.text
    assert response.json() == {"classes": expected_logits(net).argmax(axis=1).tolist(), "via": "output_fn"}


def test_routes(hooks_server):
    assert requests.get(f"{hooks_server.url}/ping", timeout=2).status_code == 200
    assert requests.get(f"{hooks_server.url}/invocations", timeout=2).status_code == 405
    assert requests.get(f"{hooks_server.url}/models", timeout=2).status_code == 404


@pytest.mark.parametrize("body, content_type, status, message", [
    # a plain exception in the user's input_fn is a 500 with its message, as in the toolkit [pti]
    ("1,2,3", "text/csv", 500, "input_fn reads JSON"),
    ('{"rows": [[1, 2', "application/json", 500, "JSONDecodeError"),
    # what the server refuses before any hook runs: 4xx
    (b"", "application/json", 400, "empty request body"),
    (b"\x00" * (6 * 1024 * 1024 + 1), "application/json", 413, "payload too large"),  # [host] 6 MB
])
def test_bad_requests_get_an_error_and_the_server_keeps_serving(hooks_server, net, body, content_type, status,
                                                                message):
    response = hooks_server.invoke(body, content_type=content_type)
    assert response.status_code == status and message in response.text
    again = hooks_server.invoke(json.dumps({"rows": ROWS}), content_type="application/json")
    assert again.status_code == 200 and again.json()["classes"] == expected_logits(net).argmax(axis=1).tolist()


def test_wrong_content_type_for_the_defaults_is_a_4xx(twin, torchscript_dir, net):
    with docker_run.serving(twin, torchscript_dir) as container:
        refused = container.invoke("three numbers", content_type="text/plain")
        assert refused.status_code == 415
        malformed = container.invoke("[[1, 2, 3]", content_type="application/json")
        assert 400 <= malformed.status_code < 500
        assert container.invoke(json.dumps(ROWS), content_type="application/json").status_code == 200


def test_other_commands_run_as_given(twin):
    # [dlc] the entrypoint starts the server for `serve` and runs anything else
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
        assert answer == {"classes": expected_logits(net).argmax(axis=1).tolist(), "via": "output_fn"}
        with pytest.raises(session.InvocationError) as refused:
            lab.invoke(endpoint, b"\x00" * (6 * 1024 * 1024 + 1), content_type="application/json")
        assert refused.value.status == 413
    finally:
        lab.cleanup.run(quiet=True)
    assert not lab.cleanup.local_containers()
