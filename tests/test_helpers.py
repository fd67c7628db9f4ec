"""Unit tests of the helper package: no Docker needed."""
import base64
import io
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
import botocore.stub
from botocore.stub import Stubber

from smworkshop import cleanup, images, mode, notebooks, opt_ml, paths, results, session


# ---- mode -----------------------------------------------------------------------------------

def test_auto_is_local_outside_studio(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_MODE", raising=False)
    assert mode.resolve("auto", metadata=tmp_path / "absent.json") == "local"


def test_auto_is_aws_inside_studio(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_MODE", raising=False)
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text("{}")
    assert mode.resolve("auto", metadata=metadata) == "aws"


def test_explicit_mode_wins_and_is_case_insensitive(tmp_path):
    assert mode.resolve(" AWS ", metadata=tmp_path / "absent") == "aws"
    assert mode.resolve("local", metadata=tmp_path / "absent") == "local"


def test_workshop_mode_variable_steers_auto(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_MODE", "aws")
    assert mode.resolve("auto", metadata=tmp_path / "absent") == "aws"


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="MODE must be 'auto', 'local' or 'aws'"):
        mode.resolve("cloud")


# ---- paths ----------------------------------------------------------------------------------

def _local_mode_refuses(path):
    """Ask the pinned SDK itself: local mode's data source raises ValueError for a restricted path."""
    from sagemaker.core.local.data import LocalFileDataSource

    try:
        LocalFileDataSource(path)
    except ValueError:
        return True
    except RuntimeError:  # allowed, but does not exist
        return False
    return False


@pytest.mark.parametrize("path", ["/root/work", "/rootless", "/etc/x", "/var/lib/docker", "~/.aws/data",
                                  "~/.config/x", "~/.docker", "/opt/ml/metadata/x", "/opt/ml/input", "/tmp/x",
                                  "/usr/share/x", "/work/main/build"])
def test_mountable_agrees_with_local_modes_own_refusals(path):
    path = os.path.expanduser(path)
    assert paths.mountable(path) is not _local_mode_refuses(path)


def test_the_sdk_refuses_by_plain_prefix_so_rootless_is_refused_too():
    assert paths.mountable("/rootless") is False and paths.mountable("/tmp/rootless") is True


def test_workspace_moves_out_of_refused_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", "/root/somewhere")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert paths.workspace("lab") == tmp_path / "sagemaker-workshop" / "lab"


# ---- local session: clients, role, training factory ------------------------------------------

@pytest.fixture
def local_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    lab = session.LabSession("unit", mode="local", say=lambda m: None)
    yield lab
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}


def test_local_mode_uses_local_session_clients_and_a_fake_role(local_lab):
    from sagemaker.core.local.local_session import LocalSagemakerClient, LocalSagemakerRuntimeClient

    assert isinstance(local_lab.sagemaker_client, LocalSagemakerClient)
    assert isinstance(local_lab.runtime_client, LocalSagemakerRuntimeClient)
    assert local_lab.role == session.FAKE_ROLE and "111122223333" in local_lab.role
    assert local_lab.instance_type("ml.m5.large") == "local"
    assert isinstance(local_lab._sm_session.config["local"]["serving_port"], int)


def test_local_trainer_is_a_local_container_job_with_its_own_root(local_lab):
    from sagemaker.train.model_trainer import Mode

    trainer = local_lab.model_trainer("some/image:1", hyperparameters={"max_leaf_nodes": 4}, base_job_name="t")
    assert trainer.training_mode == Mode.LOCAL_CONTAINER
    assert trainer.local_container_root.startswith(str(local_lab.run_root))
    assert paths.mountable(trainer.local_container_root)
    other = local_lab.model_trainer("some/image:1", base_job_name="t")
    assert other.local_container_root != trainer.local_container_root


def test_local_model_data_is_a_folder_holding_only_the_unpacked_archive(local_lab, tmp_path):
    """On SageMaker /opt/ml/model holds the archive's files, not the archive (developer guide, "How
    SageMaker loads your model artifacts"); local mode mounts the ModelDataUrl folder there."""
    import os
    import tarfile

    (tmp_path / "xgboost-model").write_bytes(b"binf")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "xgboost-model", arcname="xgboost-model")
    url = local_lab.model_data(tmp_path / "model.tar.gz")
    assert url.startswith("file://")
    assert os.listdir(url[len("file://"):]) == ["xgboost-model"]
    assert local_lab.model_data(tmp_path / "model.tar.gz") != url  # each model gets a folder of its own


def test_local_training_failure_reason_is_read_from_the_failure_file(local_lab):
    trainer = local_lab.model_trainer("some/image:1", base_job_name="t")
    failure = session.Path(trainer.local_container_root) / "artifacts" / "output" / "failure"
    failure.parent.mkdir(parents=True)
    failure.write_text("ClientError: max_leaf_nodes must be at least 2\n")

    def failing_train(**kwargs):
        raise RuntimeError("Failed to run: [...]. Process exited with code: 2")

    trainer.__dict__["train"] = failing_train  # pydantic model: set the bound attribute directly
    with pytest.raises(session.TrainingFailed, match="max_leaf_nodes must be at least 2"):
        local_lab.fit(trainer, [])


def test_local_failure_reason_is_the_first_1024_characters_like_describe_training_job(local_lab):
    """"In a DescribeTrainingJob response, SageMaker returns the first 1024 characters from this file as
    FailureReason" (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html):
    a message written after a long traceback is not in it, locally either."""
    trainer = local_lab.model_trainer("some/image:1", base_job_name="t")
    failure = session.Path(trainer.local_container_root) / "artifacts" / "output" / "failure"
    failure.parent.mkdir(parents=True)
    traceback_part = "framework error: \nTraceback (most recent call last):\n" + "  File \"x.py\", line 1\n" * 60
    failure.write_text(traceback_part + "\nExtraneous hyperparameter found: max_dept")

    def failing_train(**kwargs):
        raise RuntimeError("Failed to run: [...]. Process exited with code: 1")

    trainer.__dict__["train"] = failing_train
    with pytest.raises(session.TrainingFailed) as caught:
        local_lab.fit(trainer, [])
    assert str(caught.value) == (traceback_part + "\nExtraneous hyperparameter found: max_dept")[:1024]
    assert "Extraneous hyperparameter" not in str(caught.value)


def test_invoke_turns_a_local_4xx_into_invocation_error(local_lab, monkeypatch):
    class Body:
        def read(self):
            return b"bad request: row 1 has 3 values\n"

    monkeypatch.setattr(local_lab.runtime_client, "invoke_endpoint",
                        lambda **kw: {"Body": Body(), "ResponseMetadata": {"HTTPStatusCode": 400}})
    with pytest.raises(session.InvocationError) as caught:
        local_lab.invoke("e", "1,2,3")
    assert caught.value.status == 400 and caught.value.message == "bad request: row 1 has 3 values"


def test_invoke_turns_a_service_model_error_into_invocation_error(local_lab):
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="y")
    local_lab.runtime_client = runtime
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                              service_message="Received client error (415) from primary",
                              response_meta={}, modeled_fields={"OriginalStatusCode": 415,
                                                                "OriginalMessage": "unsupported content type\n"})
        with pytest.raises(session.InvocationError) as caught:
            local_lab.invoke("e", "{}", content_type="application/json")
    assert caught.value.status == 415 and caught.value.message == "unsupported content type"


def test_invoke_sends_custom_attributes_as_invoke_endpoints_parameter(local_lab):
    """InvokeEndpoint's CustomAttributes parameter (the X-Amzn-SageMaker-Custom-Attributes header):
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html"""
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="y")
    local_lab.runtime_client = runtime
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", {"Body": io.BytesIO(b"{}")},
                          {"EndpointName": "e", "ContentType": "application/json", "Body": "{}",
                           "CustomAttributes": "tfs-model-version=1"})
        assert local_lab.invoke("e", "{}", content_type="application/json",
                                custom_attributes="tfs-model-version=1") == "{}"


def test_deploy_makes_a_tagged_model_config_and_endpoint_and_lists_them_for_cleanup(local_lab):
    """Hosting is CreateModel -> CreateEndpointConfig -> CreateEndpoint:
    https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-deploy-models.html"""
    client, stub = _stubbed_sagemaker()
    local_lab.sagemaker_client = client
    any_ = botocore.stub.ANY
    with stub:
        stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"},
                          {"ModelName": any_, "ExecutionRoleArn": local_lab.role, "Tags": local_lab.tags,
                           "PrimaryContainer": {"Image": "img", "ModelDataUrl": "file:///m", "Environment": {"A": "1"}}})
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"},
                          {"EndpointConfigName": any_, "Tags": local_lab.tags, "ProductionVariants": [{
                              "VariantName": "AllTraffic", "ModelName": any_, "InstanceType": "local",
                              "InitialInstanceCount": 1}]})
        stub.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"},
                          {"EndpointName": any_, "EndpointConfigName": any_, "Tags": local_lab.tags})
        stub.add_response("describe_endpoint", {"EndpointName": "x", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e", "EndpointConfigName": "c",
                                                "EndpointStatus": "InService", "CreationTime": 0,
                                                "LastModifiedTime": 0}, {"EndpointName": any_})
        endpoint = local_lab.deploy("img", "file:///m", "digits", environment={"A": "1"})
    created = local_lab.cleanup.created
    assert [len(created[k]) for k in ("model", "endpoint_config", "endpoint")] == [1, 1, 1]
    assert created["endpoint"] == [endpoint] and endpoint.startswith("digits-")


# ---- cleanup --------------------------------------------------------------------------------

def _stubbed_sagemaker():
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


def test_cleanup_deletes_endpoint_then_config_then_model_and_is_rerunnable():
    client, stub = _stubbed_sagemaker()
    tracker = cleanup.Cleanup(client, say=lambda m: None)
    tracker.add("model", "m")
    tracker.add("endpoint_config", "c")
    tracker.add("endpoint", "e")
    stub.add_response("delete_endpoint", {}, {"EndpointName": "e"})
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "c"})
    stub.add_response("delete_model", {}, {"ModelName": "m"})
    with stub:
        assert tracker.run() == ["endpoint e", "endpoint_config c", "model m"]
        assert tracker.run() == []  # nothing left: no API call at all
    stub.assert_no_pending_responses()


def test_cleanup_ignores_resources_already_gone_but_not_other_errors():
    client, stub = _stubbed_sagemaker()
    tracker = cleanup.Cleanup(client, say=lambda m: None)
    tracker.add("endpoint", "gone")
    tracker.add("model", "forbidden")
    stub.add_client_error("delete_endpoint", "ValidationException", "Could not find endpoint \"gone\".")
    stub.add_client_error("delete_model", "AccessDeniedException", "not allowed")
    with stub, pytest.raises(Exception, match="not allowed"):
        tracker.run()
    assert tracker.created["endpoint"] == []  # the gone endpoint is off the list
    tracker.created["model"].clear()  # keep the exit hook from calling the real service


def test_cleanup_refuses_unknown_kinds():
    client, _ = _stubbed_sagemaker()
    with pytest.raises(ValueError, match="kind must be one of"):
        cleanup.Cleanup(client).add("bucket", "b")


def test_containers_under_matches_only_this_root(monkeypatch, tmp_path):
    listing = (f"aaa {tmp_path}/runs/x\nbbb {tmp_path}-other/runs/y\nccc {tmp_path}\n")

    class Done:
        stdout = listing

    monkeypatch.setattr(cleanup.subprocess, "run", lambda *a, **k: Done())
    assert cleanup.containers_under(tmp_path) == ["aaa", "ccc"]


# ---- images: aws push path, stubbed ----------------------------------------------------------

def test_push_to_ecr_creates_a_tagged_repository_logs_in_tags_and_pushes(monkeypatch):
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    token = base64.b64encode(b"AWS:secret-password").decode()
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    calls = []
    monkeypatch.setattr(images, "image_label", lambda tag, label: "abcdef1234567890")
    with Stubber(ecr) as stub:
        stub.add_response("create_repository", {"repository": {"repositoryName": "sagemaker-workshop/byoc"}},
                          {"repositoryName": "sagemaker-workshop/byoc",
                           "imageScanningConfiguration": {"scanOnPush": True},
                           "encryptionConfiguration": {"encryptionType": "AES256"},
                           "tags": [{"Key": "workshop", "Value": "w"}]})
        stub.add_response("get_authorization_token", {"authorizationData": [
            {"authorizationToken": token, "proxyEndpoint": f"https://{registry}"}]}, {})
        uri = images.push_to_ecr("byoc", "eu-west-1", ecr_client=ecr, tags=[{"Key": "workshop", "Value": "w"}],
                                 docker=lambda *args, **kw: calls.append((args, kw.get("input"))),
                                 say=lambda m: None)
    assert uri == f"{registry}/sagemaker-workshop/byoc:abcdef123456"
    assert calls[0] == (("login", "--username", "AWS", "--password-stdin", registry), "secret-password")
    assert calls[1][0] == ("tag", "sagemaker-workshop/byoc:latest", uri)
    assert calls[2][0] == ("push", uri)


def test_push_to_ecr_reuses_an_existing_repository(monkeypatch):
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    monkeypatch.setattr(images, "image_label", lambda tag, label: None)
    with Stubber(ecr) as stub:
        stub.add_client_error("create_repository", "RepositoryAlreadyExistsException", "exists")
        stub.add_response("get_authorization_token", {"authorizationData": [
            {"authorizationToken": base64.b64encode(b"AWS:p").decode(), "proxyEndpoint": "https://r.example"}]}, {})
        uri = images.push_to_ecr("byoc", "eu-west-1", ecr_client=ecr, docker=lambda *a, **k: None, say=lambda m: None)
    assert uri == "r.example/sagemaker-workshop/byoc:latest"


def test_login_to_aws_image_registry_logs_in_to_the_images_account_not_the_callers():
    """Building FROM an AWS Deep Learning Container needs a login to AWS's registry (account 763104351884):
    https://docs.aws.amazon.com/sagemaker/latest/dg/docker-containers-adapt-your-own.html - the ECR token
    comes from the caller's account, the registry is the image's."""
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    calls = []
    image = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.5-cpu-py311"
    with Stubber(ecr) as stub:
        stub.add_response("get_authorization_token", {"authorizationData": [
            {"authorizationToken": base64.b64encode(b"AWS:token").decode(),
             "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}, {})
        registry = images.login_to_aws_image_registry(image, "eu-west-1", ecr_client=ecr, say=lambda m: None,
                                                      docker=lambda *args, **kw: calls.append((args, kw.get("input"))))
    assert registry == "763104351884.dkr.ecr.eu-west-1.amazonaws.com"
    assert calls == [(("login", "--username", "AWS", "--password-stdin", registry), "token")]
    with pytest.raises(images.BuildError, match="not an Amazon ECR image URI"):
        images.login_to_aws_image_registry("python:3.11-slim", "eu-west-1", ecr_client=ecr)


def test_a_dockerfile_names_its_workshop_parents_in_arg_defaults():
    """images.build builds the images a Dockerfile's `ARG X=sagemaker-workshop/NAME:latest` defaults name
    first: the PyTorch inference twin stands on the shared torch parent and on Lab 02's server image."""
    assert images.parent_images(paths.CONTAINERS / "pytorch-2.5-inference") == {
        "PARENT_IMAGE": "pytorch-2.5-base", "SERVER_IMAGE": "pytorch-byom-inference"}
    assert images.parent_images(paths.CONTAINERS / "pytorch-2.5-training") == {"PARENT_IMAGE": "pytorch-2.5-base"}
    assert images.parent_images(paths.CONTAINERS / "sklearn-byoc") == {}


def test_build_builds_the_parents_first_and_passes_them_as_build_args(tmp_path, monkeypatch):
    built, docker_builds = [], []
    (tmp_path / "Dockerfile").write_text("ARG PARENT_IMAGE=sagemaker-workshop/pytorch-2.5-base:latest\n"
                                         "FROM ${PARENT_IMAGE}\n")
    real_build = images.build

    def build(name, *args, **kwargs):
        if name == "pytorch-2.5-base":
            built.append(name)
            return "sagemaker-workshop/pytorch-2.5-base:latest"
        return real_build(name, *args, **kwargs)

    monkeypatch.setattr(images, "build", build)
    monkeypatch.setattr(images, "base_image", lambda say=None: "base:1")
    monkeypatch.setattr(images, "image_id", lambda tag: f"id-of-{tag}")
    monkeypatch.setattr(images, "image_label", lambda tag, label: None)
    monkeypatch.setattr(images, "_stream", lambda cmd, name, env=None: docker_builds.append(cmd) or 1.0)
    images.build("child", context=tmp_path, say=lambda m: None)
    assert built == ["pytorch-2.5-base"]
    assert "PARENT_IMAGE=sagemaker-workshop/pytorch-2.5-base:latest" in docker_builds[0]


def test_inputs_hash_changes_with_code_but_not_with_wheelhouse_or_readme(tmp_path):
    (tmp_path / "program").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM x")
    (tmp_path / "program" / "train").write_text("print(1)")
    first = images.inputs_hash(tmp_path, "sha256:base")
    (tmp_path / "wheelhouse").mkdir()
    (tmp_path / "wheelhouse" / "a.whl").write_text("wheel")
    (tmp_path / "README.md").write_text("docs")
    assert images.inputs_hash(tmp_path, "sha256:base") == first
    assert images.inputs_hash(tmp_path, "sha256:other-base") != first
    (tmp_path / "program" / "train").write_text("print(2)")
    assert images.inputs_hash(tmp_path, "sha256:base") != first


# ---- opt_ml, results, notebooks ---------------------------------------------------------------

def test_opt_ml_prepare_writes_string_hyperparameters_and_channels(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x,1\n")
    root = opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 5, "criterion": "gini"}, {"train": data})
    assert json.loads((root / "input/config/hyperparameters.json").read_text()) == {"max_leaf_nodes": "5",
                                                                                    "criterion": "gini"}
    assert (root / "input/data/train/a.csv").read_text() == "x,1\n"
    assert "train" in json.loads((root / "input/config/inputdataconfig.json").read_text())
    assert opt_ml.tree(root).splitlines()[0] == "opt_ml/"


def test_results_are_merged_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_RESULTS_DIR", str(tmp_path))
    results.record("lab", key_metric="accuracy", accuracy=0.95)
    results.record("lab", containers_left=0)
    assert results.load("lab") == {"accuracy": 0.95, "containers_left": 0, "key_metric": "accuracy"}
    results.clear("lab")
    assert results.load("lab") is None


def test_strip_keeps_only_checked_outputs(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(cells=[new_code_cell("print(1)", outputs=[new_output("stream", text="1\n")]),
                             new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)",
                                           outputs=[new_output("stream", text="2\n")])])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert notebooks.unstripped_cells(path) == [0]
    notebooks.strip(path)
    assert notebooks.unstripped_cells(path) == []
    kept = nbformat.read(path, as_version=4)
    assert kept.cells[1].outputs[0]["text"] == "2\n"


# ---- aws mode, with no network: the same object hands out real boto3 clients ------------------

@pytest.fixture
def aws_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/WorkshopRole")
    monkeypatch.setattr(session.engine, "answers", lambda timeout=20: True)  # aws mode checks for Docker
    lab = session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)
    yield lab
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}


def test_aws_mode_hands_out_boto3_clients_and_the_real_role(aws_lab):
    assert aws_lab.sagemaker_client.meta.service_model.service_name == "sagemaker"
    assert aws_lab.runtime_client.meta.service_model.service_name == "sagemaker-runtime"
    assert aws_lab.sagemaker_client.meta.region_name == "eu-west-1"
    assert aws_lab.role == "arn:aws:iam::123456789012:role/WorkshopRole"
    assert aws_lab.instance_type("ml.m5.large") == "ml.m5.large"


def test_aws_trainer_is_a_training_job_on_the_instance_type(aws_lab, monkeypatch):
    from sagemaker.train.defaults import TrainDefaults
    from sagemaker.train.model_trainer import Mode

    # ModelTrainer checks the role with IAM's policy simulator: no network here.
    monkeypatch.setattr(TrainDefaults, "get_role", staticmethod(lambda role=None, **kw: role))
    # ...and asks STS for the account to name the default bucket.
    monkeypatch.setattr(aws_lab._sm_session, "default_bucket", lambda: "workshop-bucket")
    trainer = aws_lab.model_trainer("123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1", base_job_name="j",
                                    instance_type="ml.c5.xlarge", instance_count=2)
    assert trainer.training_mode == Mode.SAGEMAKER_TRAINING_JOB
    assert trainer.compute.instance_type == "ml.c5.xlarge" and trainer.compute.instance_count == 2
    assert trainer.role == aws_lab.role


def _moto_aws_environment(monkeypatch, tmp_path):
    """What an aws-mode LabSession needs under moto: a workspace, fake credentials, a role, a Docker check."""
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/WorkshopRole")
    monkeypatch.setattr(session.engine, "answers", lambda timeout=20: True)


def test_aws_mode_uploads_data_and_models_to_s3_under_the_workshop_prefix_with_tags(monkeypatch, tmp_path):
    """Against moto's S3: the session's default_bucket_prefix goes in front of every key
    (sagemaker-core Session.determine_bucket_and_prefix), so keys are sagemaker-workshop/<lab>/...,
    the prefix `./workshop sweep` deletes, and each object carries the workshop's tags."""
    from moto import mock_aws

    _moto_aws_environment(monkeypatch, tmp_path)
    data = tmp_path / "train"
    data.mkdir()
    (data / "iris.csv").write_text("5.1,3.5\n")
    with mock_aws():
        lab = session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)
        lab.cleanup.created = {k: [] for k in lab.cleanup.created}
        bucket = "sagemaker-eu-west-1-123456789012"
        prefix = f"sagemaker-workshop/unit-aws/{lab.session_id}"
        assert lab.train_input("train", data).data_source == f"s3://{bucket}/{prefix}/data/train"
        s3 = boto3.client("s3", region_name="eu-west-1")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == [f"{prefix}/data/train/iris.csv"]
        tags = s3.get_object_tagging(Bucket=bucket, Key=keys[0])["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {t["Key"]: t["Value"] for t in lab.tags}


def test_aws_mode_never_uploads_two_files_to_one_key(monkeypatch, tmp_path):
    """S3 replaces an object put to an existing key (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
    upload-objects.html): two archives both named model.tar.gz, in one session (Lab 02's v1 and v2) or in two
    learners' sessions in one account, must land on different keys, and the first must stay as it was."""
    from moto import mock_aws

    _moto_aws_environment(monkeypatch, tmp_path)
    versions = []
    for version in ("v1", "v2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "model.tar.gz").write_text(version)
        versions.append(tmp_path / version / "model.tar.gz")
    with mock_aws():
        first, second = (session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)
                         for _ in range(2))
        uris = [first.model_data(versions[0]), first.model_data(versions[1]), second.model_data(versions[0])]
        s3 = boto3.client("s3", region_name="eu-west-1")
        bodies = [s3.get_object(Bucket=uri.split("/")[2], Key=uri.split("/", 3)[3])["Body"].read() for uri in uris]
        for lab in (first, second):
            lab.cleanup.created = {k: [] for k in lab.cleanup.created}
    assert len(set(uris)) == 3
    assert bodies == [b"v1", b"v2", b"v1"]


def _trained_model(folder):
    (folder / "1" / "variables").mkdir(parents=True)
    (folder / "1" / "saved_model.pb").write_bytes(b"graph")
    (folder / "model.json").write_text("{}")
    inference = folder.parent / "inference.py"
    inference.write_text("def handler(data, context): ...\n")
    return inference


def test_add_code_to_model_puts_inference_py_under_code_and_keeps_the_original(local_lab, tmp_path):
    """Framework serving containers import code/inference.py from the unpacked archive:
    https://docs.aws.amazon.com/sagemaker/latest/dg/adapt-inference-container.html"""
    original = tmp_path / "trained"
    inference = _trained_model(original)
    repacked = Path(local_lab.add_code_to_model(original.as_uri(), [inference]).removeprefix("file://"))
    assert sorted(str(p.relative_to(repacked)) for p in repacked.rglob("*") if p.is_file()) == [
        "1/saved_model.pb", "code/inference.py", "model.json"]
    assert not (original / "code").exists()


def test_add_code_to_model_in_aws_mode_repacks_the_jobs_archive_in_s3(monkeypatch, tmp_path):
    from moto import mock_aws

    from smworkshop import model_archive

    _moto_aws_environment(monkeypatch, tmp_path)
    trained = tmp_path / "trained"
    inference = _trained_model(trained)
    archive = model_archive.package(tmp_path / "model.tar.gz", sorted(trained.iterdir()))
    with mock_aws():
        lab = session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)
        lab.cleanup.created = {k: [] for k in lab.cleanup.created}
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="jobs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.upload_file(str(archive), "jobs", "job-1/output/model.tar.gz")
        repacked = lab.add_code_to_model("s3://jobs/job-1/output/model.tar.gz", [inference])
        bucket, key = repacked[len("s3://"):].split("/", 1)
        s3.download_file(bucket, key, str(tmp_path / "repacked.tar.gz"))
    assert repacked.endswith("/model.tar.gz") and key.startswith(f"sagemaker-workshop/unit-aws/{lab.session_id}/models")
    assert model_archive.listing(tmp_path / "repacked.tar.gz").split() == [
        "1", "1/saved_model.pb", "1/variables", "code/inference.py", "model.json"]


def test_aws_model_data_comes_from_the_training_job(aws_lab):
    class Job:
        class model_artifacts:
            s3_model_artifacts = "s3://bucket/job/output/model.tar.gz"

    class Trainer:
        _latest_training_job = Job()

    assert aws_lab.trained_model_data(Trainer()) == "s3://bucket/job/output/model.tar.gz"


def test_aws_image_pushes_the_image_it_just_built_with_the_workshop_tags(aws_lab, monkeypatch):
    built = []
    monkeypatch.setattr(images, "build", lambda name, say=print: built.append(f"{name}@build-{len(built)}") or built[-1])
    pushed = []

    def push(name, region, tags=(), local_image=None, say=print):
        pushed.append((name, region, local_image, list(tags)))
        return f"ecr/{region}/{name}"

    monkeypatch.setattr(images, "push_to_ecr", push)
    assert aws_lab.image("sklearn-byoc") == "ecr/eu-west-1/sklearn-byoc"
    assert pushed == [("sklearn-byoc", "eu-west-1", built[0], aws_lab.tags)]


def test_a_step_only_the_service_has_is_refused_in_local_mode_with_the_fix(local_lab, aws_lab):
    with pytest.raises(ValueError, match='a hyperparameter tuning job needs MODE = "aws"'):
        local_lab.require_aws("a hyperparameter tuning job")
    aws_lab.require_aws("a hyperparameter tuning job")


def test_studios_local_mode_allows_one_instance_per_job_and_says_so(local_lab, monkeypatch):
    """Studio's local mode runs a single instance: sagemaker-core 2.27.0, sagemaker/core/local/image.py line 116,
    "Multi instance Local Mode execution is currently not supported in SageMaker Studio."."""
    from smworkshop import mode as modes

    assert local_lab.multi_instance_jobs
    monkeypatch.setattr(modes, "in_studio_app", lambda metadata=None: True)
    assert not local_lab.multi_instance_jobs
    with pytest.raises(ValueError, match="one instance only"):
        local_lab.model_trainer("image", instance_count=2)


def test_aws_mode_runs_multi_instance_jobs_from_studio_too(aws_lab, monkeypatch):
    from smworkshop import mode as modes

    monkeypatch.setattr(modes, "in_studio_app", lambda metadata=None: True)
    assert aws_lab.multi_instance_jobs


CLARIFY_URI = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"  # image_uris.retrieve


def test_an_image_the_account_may_not_pull_is_the_open_copy_pushed_to_its_own_ecr_in_aws_mode(aws_lab, monkeypatch):
    """Clarify is closed to new customers (the note atop https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-data-format.html):
    aws mode runs the workshop's open container from the learner's ECR, not AWS's URI."""
    monkeypatch.setattr(images, "build", lambda name, say=print, extra_tags=(): f"{name}@local")
    monkeypatch.setattr(images, "push_to_ecr", lambda name, region, tags=(), local_image=None, say=print:
                        f"ecr/{region}/{name}")
    assert aws_lab.own_copy_on_aws(CLARIFY_URI, "clarify-1.0") == "ecr/eu-west-1/clarify-1.0"


def test_an_image_the_account_may_not_pull_runs_as_its_twin_under_awss_uri_in_local_mode(local_lab, monkeypatch):
    built = []
    monkeypatch.setattr(images, "build", lambda name, extra_tags=(), say=print: built.append((name, list(extra_tags))))
    assert local_lab.own_copy_on_aws(CLARIFY_URI, "clarify-1.0") == CLARIFY_URI
    assert built == [("clarify-1.0", [CLARIFY_URI])]


def test_docker_run_mounts_absolute_paths(monkeypatch, tmp_path):
    """A relative -v source would be taken for a Docker volume name."""
    from smworkshop import docker_run

    monkeypatch.chdir(tmp_path)
    assert docker_run.ServingContainer("image", "model").model_dir == tmp_path / "model"
    commands = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    monkeypatch.setattr(docker_run.subprocess, "run", lambda cmd, **kw: commands.append(cmd) or Done())
    docker_run.train("image", "opt_ml")
    assert f"{tmp_path / 'opt_ml'}:/opt/ml" in commands[0]


def _booting_server(monkeypatch, answers):
    """`docker` calls succeed and the container runs; /ping gives ANSWERS in turn (an exception is raised)."""
    import requests

    from smworkshop import docker_run

    class Done:
        returncode, stdout, stderr = 0, "true", ""

    monkeypatch.setattr(docker_run.subprocess, "run", lambda cmd, **kw: Done())
    monkeypatch.setattr(docker_run.time, "sleep", lambda seconds: None)
    pings = iter(answers)

    def ping(url, timeout):
        answer = next(pings, requests.ReadTimeout("still busy"))
        if isinstance(answer, Exception):
            raise answer
        return type("Answer", (), {"status_code": answer})()

    monkeypatch.setattr(docker_run.requests, "get", ping)
    return docker_run.ServingContainer("image", "model")


def test_serving_start_keeps_polling_ping_through_slow_and_refused_answers(monkeypatch):
    """A worker still importing XGBoost on a busy machine can take longer than one /ping's 2 s: that is
    "not ready yet", like a refused connection, not a failed start."""
    import requests

    container = _booting_server(monkeypatch, [requests.ConnectionError("refused"), requests.ReadTimeout("slow"),
                                              503, 200])
    assert container.start(ready_seconds=30) is container


def test_serving_start_gives_up_at_its_deadline_with_the_container_log(monkeypatch):
    container = _booting_server(monkeypatch, [])  # every /ping times out
    with pytest.raises(TimeoutError, match=r"within 0\.5 s \(last attempt: ReadTimeout\)"):
        container.start(ready_seconds=0.5)


def test_container_pins_match_the_host_lock():
    """Images use the host's versions: a model trained in one loads in the other, and builds repeat.
    A container may pin another version, or a package the host does not have, only on a line that says why:
    `pkg==1.2  # own stack: <reason>` (containers/clarify-1.0 needs pandas 2 for smclarify; the host has pandas 3)."""
    import re

    from smworkshop.paths import CONTAINERS, REPO

    def pins(path):
        found = {}
        for line in path.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)\s*(?:#\s*own stack:\s*(\S.*))?", line.strip())
            if match:
                found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = (match.group(2), match.group(3))
        return found

    host = {name: version for name, (version, _) in pins(REPO / "requirements.lock").items()}
    for requirements in CONTAINERS.glob("*/requirements.txt"):
        for name, (version, own_stack) in pins(requirements).items():
            # A pin the lock lacks is unchecked, so it must say why too (pip freeze used to drop setuptools).
            assert host.get(name) == version or own_stack, \
                f"{requirements}: {name}=={version}, host {host.get(name, 'has no pin')} " \
                "(differ or add only with `# own stack: <reason>`)"


def test_cleanup_registers_its_exit_hook_only_when_asked(monkeypatch):
    registered = []
    monkeypatch.setattr(cleanup.atexit, "register", registered.append)
    cleanup.Cleanup(None)
    assert registered == []  # conftest turns AT_EXIT off for tests
    monkeypatch.setattr(cleanup, "AT_EXIT", True)
    work = cleanup.Cleanup(None)
    assert registered == [work._run_at_exit]


def test_local_mode_forgets_a_deleted_endpoint_as_the_service_does(local_lab):
    """After DeleteEndpoint the service answers DescribeEndpoint with "Could not find endpoint" (API reference,
    DeleteEndpoint), so deleting twice (a notebook's own call, then cleanup) must stop the container once."""
    from botocore.exceptions import ClientError

    stops = []

    class Endpoint:
        def stop(self):
            stops.append(1)

    client = local_lab.sagemaker_client
    type(client)._endpoints["ep-unit"] = Endpoint()
    client.delete_endpoint(EndpointName="ep-unit")
    client.delete_endpoint(EndpointName="ep-unit")
    assert stops == [1]
    with pytest.raises(ClientError, match="Could not find"):
        client.describe_endpoint(EndpointName="ep-unit")


def test_model_files_lists_the_folder_local_mode_serves_from(local_lab, tmp_path):
    original = tmp_path / "trained"
    _trained_model(original)
    assert local_lab.model_files(original.as_uri()) == ["1/saved_model.pb", "model.json"]


def test_model_files_lists_the_archive_of_an_aws_job(monkeypatch, tmp_path):
    """In aws mode the job's model.tar.gz in S3 is what the inference container unpacks into /opt/ml/model."""
    from moto import mock_aws

    from smworkshop import model_archive

    _moto_aws_environment(monkeypatch, tmp_path)
    trained = tmp_path / "trained"
    _trained_model(trained)
    archive = model_archive.package(tmp_path / "model.tar.gz", sorted(trained.iterdir()))
    with mock_aws():
        lab = session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)
        lab.cleanup.created = {k: [] for k in lab.cleanup.created}
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="jobs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.upload_file(str(archive), "jobs", "job-1/output/model.tar.gz")
        assert lab.model_files("s3://jobs/job-1/output/model.tar.gz") == ["1/saved_model.pb", "model.json"]


@pytest.mark.docker
def test_removing_an_image_takes_its_children_and_the_builders_cached_steps_first(docker_engine, tmp_path):
    """`docker rmi -f` refuses an image with children ("image has dependent child images"), which once left
    every parent image in place: with_descendants orders children before parents, build cache included."""
    base = images.base_image(say=lambda m: None)
    parent_context, child_context = tmp_path / "parent", tmp_path / "child"
    parent_context.mkdir()
    child_context.mkdir()
    (parent_context / "Dockerfile").write_text(f"FROM {base}\nRUN echo parent > /parent\nRUN echo more > /more\n")
    (child_context / "Dockerfile").write_text("FROM workshop-test-parent\nRUN echo child > /child\nRUN echo last > /last\n")
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the classic builder, which keeps each step as an image
    for tag, context in (("workshop-test-parent", parent_context), ("workshop-test-child", child_context)):
        subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], check=True, capture_output=True, env=env)
    parent, child = images.image_id("workshop-test-parent"), images.image_id("workshop-test-child")
    try:
        ordered = images.with_descendants([parent])
        assert ordered.index(child) < ordered.index(parent)  # children first
        assert len(ordered) == 3  # the child, its cached first step, the parent
        assert images.image_id(base) not in ordered  # an ancestor is not a descendant
        subprocess.run(["docker", "rmi", "-f", *ordered], check=True, capture_output=True)
        assert images.image_id("workshop-test-parent") is None and images.image_id("workshop-test-child") is None
    finally:
        subprocess.run(["docker", "rmi", "-f", "workshop-test-child", "workshop-test-parent"], capture_output=True)
