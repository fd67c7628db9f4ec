"""Contract tests of containers/pytorch-byom-inference (Lab 02), run against the built image.

Contracts:
- SageMaker hosting: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
  (`serve`, port 8080 or SAGEMAKER_BIND_TO_PORT, GET /ping, POST /invocations, 6 MB payloads)
- the PyTorch serving hooks of https://github.com/aws/sagemaker-pytorch-inference-toolkit
  (model_fn/input_fn/predict_fn/output_fn or transform_fn in code/inference.py, SAGEMAKER_PROGRAM,
  optional context argument, defaults: TorchScript model.pt, JSON/CSV/NPY in, JSON/CSV/NPY out)
"""
import concurrent.futures
import io
import json
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
import requests

from smworkshop import docker_run
from smworkshop.datasets import to_png as png
from smworkshop.paths import LABS

pytestmark = pytest.mark.docker
CONTAINER = "pytorch-byom-inference"
LAB = LABS / "02_bring_your_own_model"


@pytest.fixture(scope="module")
def inference_image(image):
    return image(CONTAINER)


@pytest.fixture(scope="module")
def model_dir(digits_model, tmp_path_factory):
    """The lab's archive layout, unpacked: model.pt + labels.json + code/ (version 1)."""
    folder = tmp_path_factory.mktemp("model")
    for name in ("model.pt", "labels.json"):
        shutil.copy(digits_model["dir"] / name, folder / name)
    shutil.copytree(LAB / "code", folder / "code")
    return folder


@pytest.fixture(scope="module")
def server(inference_image, model_dir):
    with docker_run.serving(inference_image, model_dir) as container:
        yield container


def custom_model_dir(tmp_path, digits_model, files):
    """A model folder with the trained model.pt and the given code/ files."""
    shutil.copy(digits_model["dir"] / "model.pt", tmp_path / "model.pt")
    (tmp_path / "code").mkdir()
    for name, text in files.items():
        (tmp_path / "code" / name).write_text(text)
    return tmp_path


# ---- the lab's own hooks -------------------------------------------------------------------

def test_ping_is_healthy(server):
    assert requests.get(f"{server.url}/ping", timeout=2).status_code == 200


def test_png_images_are_classified_right(server, digits_model):
    images, labels = digits_model["held_out"]
    right = 0
    for image, label in zip(images[:60], labels[:60]):
        response = server.invoke(png(image), content_type="application/x-image", accept="application/json")
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
        answer = response.json()
        assert set(answer["probabilities"]) == {str(i) for i in range(10)}
        assert abs(sum(answer["probabilities"].values()) - 1) < 1e-3
        right += answer["label"] == str(label)
    assert right / 60 >= 0.9


def test_jpeg_and_json_pixels_give_the_same_answers_as_png(server, digits_model):
    from PIL import Image

    images, _ = digits_model["held_out"]
    for image in images[:10]:
        as_png = server.invoke(png(image), content_type="image/png").json()
        buffer = io.BytesIO()
        Image.fromarray(np.uint8(np.round(np.asarray(image) * 255))).save(buffer, format="JPEG", quality=100)
        as_jpeg = server.invoke(buffer.getvalue(), content_type="image/jpeg").json()
        as_json = server.invoke(json.dumps({"pixels": np.asarray(image).tolist()}),
                                content_type="application/json").json()
        assert as_png["label"] == as_json["label"]
        assert abs(as_png["probabilities"][as_png["label"]] - as_json["probabilities"][as_png["label"]]) < 1e-3
        assert as_jpeg["label"] == as_png["label"]


@pytest.mark.parametrize("body, content_type, accept, status, message", [
    (b"\x89PNG\r\n\x1a\n not really a png", "application/x-image", None, 400, "could not decode the image"),
    (b"GIF89a garbage", "image/png", None, 400, "could not decode the image"),
    ("digit seven", "text/plain", None, 415, "unsupported content type 'text/plain'"),
    (b"", "application/x-image", None, 400, "empty request body"),
    ('{"pixel": [[0.5]]}', "application/json", None, 400, 'send JSON like {"pixels"'),
    ('{"pixels": [[0.5, 2.0]]}', "application/json", None, 400, "between 0 and 1"),
    ('{"pixels": [[0.5, 0.1]', "application/json", None, 400, 'send JSON like {"pixels"'),
    (b"\xff\xfe{", "application/json", None, 400, "not UTF-8"),
    ('{"pixels": [[0.5]]}', "application/json", "text/csv", 406, "answers application/json"),
])
def test_bad_requests_get_4xx_and_server_keeps_serving(server, digits_model, body, content_type, accept, status,
                                                        message):
    response = server.invoke(body, content_type=content_type, accept=accept)
    assert response.status_code == status, response.text
    assert message in response.text
    images, labels = digits_model["held_out"]
    assert server.invoke(png(images[1]), content_type="image/png").json()["label"] == str(labels[1])


def test_payload_over_6_mb_gets_413(server, digits_model):
    response = server.invoke(b"\x00" * (6 * 1024 * 1024 + 1), content_type="application/x-image")
    assert response.status_code == 413 and "payload too large" in response.text
    images, labels = digits_model["held_out"]
    assert server.invoke(png(images[2]), content_type="image/png").json()["label"] == str(labels[2])


def test_16_concurrent_clients_get_right_answers(server, digits_model):
    images, labels = digits_model["held_out"]
    expected = {i: server.invoke(png(images[i]), content_type="image/png").json()["label"] for i in range(16)}

    def client(i):
        with requests.Session() as session:
            return [session.post(f"{server.url}/invocations", data=png(images[i]),
                                 headers={"Content-Type": "image/png"}, timeout=30).json()["label"]
                    for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = dict(zip(range(16), pool.map(client, range(16))))
    assert all(got == [expected[i]] * 5 for i, got in answers.items())


# ---- defaults and the hook contract --------------------------------------------------------

def test_defaults_serve_a_bare_torchscript_model(inference_image, digits_model, tmp_path):
    shutil.copy(digits_model["dir"] / "model.pt", tmp_path / "model.pt")  # no code/ at all
    images, labels = digits_model["held_out"]
    batch = np.asarray(images[:4], dtype=np.float32)[:, None]  # (4, 1, 32, 32)
    with docker_run.serving(inference_image, tmp_path) as container:
        as_json = container.invoke(json.dumps(batch.tolist()), content_type="application/json")
        assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json"
        logits = np.asarray(as_json.json())
        assert logits.shape == (4, 10)
        buffer = io.BytesIO()
        np.save(buffer, batch)
        as_npy = container.invoke(buffer.getvalue(), content_type="application/x-npy", accept="text/csv")
        assert as_npy.status_code == 200 and as_npy.headers["Content-Type"] == "text/csv"
        csv_logits = np.loadtxt(io.StringIO(as_npy.text), delimiter=",")
        assert np.allclose(csv_logits, logits, atol=1e-4)
        assert (logits.argmax(axis=1) == np.asarray(labels[:4])).mean() >= 0.75
        refused = container.invoke(png(images[0]), content_type="image/png")
        assert refused.status_code == 415 and "default input_fn reads" in refused.text
        not_acceptable = container.invoke(json.dumps(batch.tolist()), content_type="application/json",
                                          accept="application/xml")
        assert not_acceptable.status_code == 406
        pickled = container.invoke(b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
                                   + b" " * 60 + b"\n" + b"\x80\x04N.", content_type="application/x-npy")
        assert pickled.status_code == 400 and "could not decode" in pickled.text


def test_user_hooks_with_context_and_sagemaker_program(inference_image, digits_model, tmp_path):
    code = '''
import json
import torch

def model_fn(model_dir, context):
    return {"net": torch.jit.load(model_dir + "/model.pt"), "seen_dir": context.system_properties["model_dir"]}

def transform_fn(model, body, content_type, accept):
    return json.dumps({"handled_by": "transform_fn", "content_type": content_type, "accept": accept,
                       "model_dir": model["seen_dir"], "body_type": type(body).__name__}), "application/json"
'''
    folder = custom_model_dir(tmp_path, digits_model, {"custom_handler.py": code})
    with docker_run.serving(inference_image, folder, env={"SAGEMAKER_PROGRAM": "custom_handler.py"}) as container:
        answer = container.invoke('{"x": 1}', content_type="application/json").json()
        raw = container.invoke(b"\x01\x02", content_type="application/octet-stream").json()
    assert answer == {"handled_by": "transform_fn", "content_type": "application/json",
                      "accept": "application/json", "model_dir": "/opt/ml/model", "body_type": "str"}
    assert raw["body_type"] == "bytes"  # only JSON and CSV bodies are decoded to text


def test_an_exception_with_status_code_sets_the_status_and_others_give_500(inference_image, digits_model,
                                                                           tmp_path):
    code = '''
class Teapot(Exception):
    status_code = 418

def input_fn(body, content_type):
    if body == "teapot":
        raise Teapot("short and stout")
    raise ZeroDivisionError("a bug in user code")
'''
    folder = custom_model_dir(tmp_path, digits_model, {"inference.py": code})
    with docker_run.serving(inference_image, folder) as container:
        teapot = container.invoke("teapot", content_type="text/csv")
        bug = container.invoke("1,2", content_type="text/csv")
        assert container.running()
    assert (teapot.status_code, teapot.text) == (418, "short and stout\n")
    assert bug.status_code == 500 and "ZeroDivisionError: a bug in user code" in bug.text


def test_transform_fn_with_input_fn_is_refused_at_start(inference_image, digits_model, tmp_path):
    code = "def transform_fn(m, b, c, a):\n    pass\n\ndef input_fn(b, c):\n    pass\n"
    folder = custom_model_dir(tmp_path, digits_model, {"inference.py": code})
    with pytest.raises(RuntimeError, match="defines transform_fn together with"):
        with docker_run.serving(inference_image, folder):
            pass


def test_a_broken_model_stops_the_server_with_the_reason(inference_image, tmp_path):
    (tmp_path / "model.pt").write_bytes(b"not a torchscript archive")
    with pytest.raises(RuntimeError, match="not a TorchScript archive"):
        with docker_run.serving(inference_image, tmp_path):
            pass


def test_ping_is_healthy_only_once_the_model_is_loaded(inference_image, digits_model, tmp_path):
    code = "import time\nimport torch\n\ndef model_fn(model_dir):\n    time.sleep(6)\n" \
           "    return torch.jit.load(model_dir + '/model.pt')\n"
    folder = custom_model_dir(tmp_path, digits_model, {"inference.py": code})
    container = docker_run.ServingContainer(inference_image, folder)
    started = time.monotonic()
    runner = threading.Thread(target=container.start, kwargs={"ready_seconds": 60})
    runner.start()
    try:
        time.sleep(3)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{container.url}/ping", timeout=2)  # still loading: no 200, nothing listening
        runner.join()
        assert time.monotonic() - started >= 6
        assert requests.get(f"{container.url}/ping", timeout=2).status_code == 200
    finally:
        runner.join()
        container.stop()


def test_requirements_txt_is_not_installed_and_says_so(inference_image, digits_model, tmp_path):
    folder = custom_model_dir(tmp_path, digits_model, {"inference.py": (LAB / "code" / "inference.py").read_text(),
                                                       "digit_io.py": (LAB / "code" / "digit_io.py").read_text(),
                                                       "requirements.txt": "left-pad==1.0\n"})
    shutil.copy(digits_model["dir"] / "labels.json", folder / "labels.json")
    with docker_run.serving(inference_image, folder) as container:
        assert requests.get(f"{container.url}/ping", timeout=2).status_code == 200
        assert "code/requirements.txt is not installed" in container.logs()


def test_the_image_refuses_to_train(inference_image, tmp_path):
    result = subprocess.run(["docker", "run", "--rm", "-v", f"{tmp_path}:/opt/ml", inference_image, "train"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "inference-only image" in result.stderr
    assert "inference-only" in (tmp_path / "output" / "failure").read_text()
