"""labs/02_bring_your_own_model/invoke_client.py: the boto3 client that replaces the seed lab's Lambda."""
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lab_runs import load_lab_module
from smworkshop import docker_run
from smworkshop.datasets import to_png
from smworkshop.paths import LABS

LAB = LABS / "02_bring_your_own_model"


@pytest.fixture(scope="module")
def client_module():
    return load_lab_module("02_bring_your_own_model", "invoke_client.py")


def _runtime():
    return boto3.client("sagemaker-runtime", region_name="eu-west-1", aws_access_key_id="x",
                        aws_secret_access_key="y")


def test_classify_calls_invoke_endpoint_with_the_image(client_module):
    runtime = _runtime()
    answer = {"label": "7", "probabilities": {"7": 0.9}}
    body = json.dumps(answer).encode()
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint",
                          {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
                          {"EndpointName": "digits", "ContentType": "image/png", "Accept": "application/json",
                           "Body": b"\x89PNG..."})
        assert client_module.classify(runtime, "digits", b"\x89PNG...") == answer


def test_a_model_error_becomes_the_containers_message(client_module):
    runtime = _runtime()
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ModelError", "Received client error (400)", http_status_code=424,
                              modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": "could not decode"})
        with pytest.raises(client_module.EndpointError, match="could not decode"):
            client_module.classify(runtime, "digits", b"junk")


@pytest.mark.docker
def test_command_line_against_a_local_endpoint(client_module, image, digits_model, tmp_path, capsys):
    import shutil

    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.pt", "labels.json"):
        shutil.copy(digits_model["dir"] / name, model / name)
    shutil.copytree(LAB / "code", model / "code")
    images, labels = digits_model["held_out"]
    (tmp_path / "seven.png").write_bytes(to_png(images[labels.index(7)]))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with docker_run.serving(image("pytorch-byom-inference"), model) as server:
        good = client_module.main(["--endpoint", "any", "--local-port", str(server.port), str(tmp_path / "seven.png")])
        assert good == 0
        assert capsys.readouterr().out.startswith("seven.png: 7 (")
        bad = client_module.main(["--endpoint", "any", "--local-port", str(server.port), str(tmp_path / "broken.png")])
        assert bad == 1
        assert "broken.png: refused: could not decode the image" in capsys.readouterr().err
