"""Helpers Lab 04 added and later labs reuse: AWS image URIs and their local twins, per-round metrics,
batch transform through the service API, and deleting one resource early. No Docker, no network."""
import re

import boto3
import pytest
from botocore.stub import ANY, Stubber

from smworkshop import cleanup, images, metrics, session

# xgboost 1.7 callback.py (EvaluationMonitor): f"[{epoch}]" then f"\t{data}-{metric}:{score:.5f}" per pair.
LOCAL_LOG = "Train matrix has 26048 rows\n[0]\ttrain-auc:0.89012\tvalidation-auc:0.88001\n" \
            "[1]\ttrain-auc:0.90123\tvalidation-auc:0.88999\n"
# The same lines as CloudWatch shows them: the TAB rendered as #011.
CLOUDWATCH_LOG = "[0]#011train-auc:0.89012#011validation-auc:0.88001\n[1]#011train-auc:0.90123#011validation-auc:0.88999"


# What local mode prints: docker-compose puts the service name, in colour, in front of every line.
COMPOSE_LOG = "".join(f"\x1b[36malgo-1_1  |\x1b[0m {line}\n" for line in LOCAL_LOG.splitlines())


@pytest.mark.parametrize("log", [LOCAL_LOG, CLOUDWATCH_LOG, COMPOSE_LOG], ids=["docker-logs", "cloudwatch", "compose"])
def test_per_round_metrics_read_xgboosts_lines_from_either_log(log):
    history = metrics.per_round(log)
    assert list(history.index) == [0, 1]
    assert history.loc[1, "validation:auc"] == 0.88999 and history.loc[0, "train:auc"] == 0.89012


def test_hyphenated_metric_names_keep_their_hyphen():
    history = metrics.per_round("[3]\ttrain-aft-nloglik:1.25000\tvalidation-error@0.6:0.12500\n")
    assert history.loc[3, "train:aft-nloglik"] == 1.25 and history.loc[3, "validation:error@0.6"] == 0.125


def test_metric_definition_regex_matches_local_and_cloudwatch_lines():
    """The built-in container's own definitions only match `#011` (algorithm_mode/metrics.py)."""
    regex = re.compile(metrics.metric_definition("validation:auc")["Regex"])
    assert [regex.match(line).group(1) for line in LOCAL_LOG.splitlines()[1:]] == ["0.88001", "0.88999"]
    assert [regex.match(line).group(1) for line in CLOUDWATCH_LOG.splitlines()] == ["0.88001", "0.88999"]


# ---- AWS images and their twins ----------------------------------------------------------------------

def test_xgboost_image_uri_is_awss_registry_for_the_region():
    """Account IDs from the SageMaker docs' "Docker Registry Paths" page for XGBoost (us-east-1, eu-west-1)."""
    assert images.aws_image_uri("xgboost", "us-east-1", "1.7-1") == \
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert images.aws_image_uri("xgboost", "eu-west-1", "1.7-1") == \
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_a_twin_is_tagged_with_the_real_uri_for_us_east_1_and_the_sessions_region(monkeypatch):
    built = []
    monkeypatch.setattr(images, "build", lambda name, extra_tags=(), say=print: built.append((name, list(extra_tags))))
    uri = images.build_twin("xgboost", "1.7-1", "eu-west-1", say=lambda m: None)
    assert built == [("xgboost-1.7-1", ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                         "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"])]
    assert uri.startswith("141502667606.dkr.ecr.eu-west-1")


def test_asking_for_an_image_without_a_twin_names_the_ones_that_exist():
    with pytest.raises(images.BuildError, match="no local twin of xgboost 1.5-1.*xgboost 1.7-1"):
        images.build_twin("xgboost", "1.5-1", "us-east-1")


def test_aws_mode_uses_awss_image_and_builds_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "build", lambda *a, **k: pytest.fail("aws mode must not build a twin"))
    lab = _aws_lab(monkeypatch, tmp_path)
    assert lab.aws_image("xgboost", "1.7-1") == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"


# ---- batch transform, aws mode, against a stubbed service ---------------------------------------------

def _aws_lab(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/WorkshopRole")
    monkeypatch.setattr(session.engine, "answers", lambda timeout=20: True)
    monkeypatch.setattr(cleanup.atexit, "register", lambda f: None)
    return session.LabSession("unit-aws", mode="aws", region="eu-west-1", say=lambda m: None)


def test_transform_passes_the_api_spelling_of_the_batch_strategy_and_the_tags(monkeypatch, tmp_path):
    """CreateTransformJob's BatchStrategy is MultiRecord|SingleRecord (API reference); the container's
    /execution-parameters says MULTI_RECORD, which local mode would copy and then reject."""
    lab = _aws_lab(monkeypatch, tmp_path)
    source = "s3://bucket/sagemaker-workshop/unit-aws/transform/job/input"
    monkeypatch.setattr(lab, "upload", lambda path, prefix: source)
    monkeypatch.setattr(lab, "_ensure_default_bucket", lambda: "bucket")
    output_prefix = f"sagemaker-workshop/unit-aws/{lab.session_id}/transform/"
    monkeypatch.setattr(lab._sm_session, "list_s3_files", lambda bucket, prefix: [f"{prefix}/rows.csv.out"])
    downloaded = []
    monkeypatch.setattr(lab._sm_session, "download_data", lambda folder, bucket, key: downloaded.append((folder, key)))
    with Stubber(lab.sagemaker_client) as stub:
        stub.add_response("create_transform_job", {"TransformJobArn": "arn:aws:sagemaker:eu-west-1:1:transform-job/t"}, {
            "TransformJobName": ANY, "ModelName": "model-1", "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 6,
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                               "ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": ANY, "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}, "Tags": lab.tags})
        stub.add_response("describe_transform_job", _transform_description("Completed"), {"TransformJobName": ANY})
        output = lab.transform("model-1", tmp_path)
        stub.assert_no_pending_responses()
    name = lab.cleanup.created["transform_job"][0]
    # the job writes under this session's prefix, and its output objects land in the folder transform()
    # returns, as <input file>.out
    assert downloaded == [(str(output), f"{output_prefix}{name}/output/rows.csv.out")]
    assert len(lab.cleanup.created["transform_job"]) == 1  # stopped by cleanup if the kernel dies meanwhile
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}


def test_a_failed_transform_job_raises_with_its_failure_reason(monkeypatch, tmp_path):
    lab = _aws_lab(monkeypatch, tmp_path)
    monkeypatch.setattr(lab, "upload", lambda path, prefix: "s3://bucket/p/input")
    monkeypatch.setattr(lab, "_ensure_default_bucket", lambda: "bucket")
    with Stubber(lab.sagemaker_client) as stub:
        stub.add_response("create_transform_job", {"TransformJobArn": "arn:aws:sagemaker:eu-west-1:1:transform-job/t"})
        stub.add_response("describe_transform_job", _transform_description("Failed", "ClientError: bad row 3"))
        with pytest.raises(RuntimeError, match="failed: ClientError: bad row 3"):
            lab.transform("model-1", tmp_path)
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}


def _transform_description(status, reason=None):
    description = {"TransformJobName": "t", "TransformJobArn": "arn:aws:sagemaker:eu-west-1:1:transform-job/t",
                   "TransformJobStatus": status, "ModelName": "model-1", "CreationTime": "2026-01-01",
                   "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
                   "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}
    if reason:
        description["FailureReason"] = reason
    return description


# ---- the training log on AWS comes from CloudWatch Logs ----------------------------------------------

def test_aws_training_metrics_are_read_from_the_jobs_cloudwatch_streams(monkeypatch, tmp_path):
    """SageMaker writes a training job's output to log group /aws/sagemaker/TrainingJobs, one stream per
    instance named <job>/algo-<n>-<timestamp> (SageMaker developer guide, "Log Amazon SageMaker Events")."""
    import time

    from moto import mock_aws

    now_ms = int(time.time() * 1000)  # CloudWatch drops events older than 14 days
    with mock_aws():
        lab = _aws_lab(monkeypatch, tmp_path)
        logs = boto3.client("logs", region_name="eu-west-1")
        group = "/aws/sagemaker/TrainingJobs"
        logs.create_log_group(logGroupName=group)
        for stream, text in (("adult-xgb-1/algo-1-1700000000", CLOUDWATCH_LOG), ("other-job/algo-1-1", "[0]#011validation-auc:0.1")):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
                {"timestamp": now_ms + i, "message": line} for i, line in enumerate(text.splitlines())])

        class Trainer:
            class _latest_training_job:
                training_job_name = "adult-xgb-1"

        history = lab.training_metrics(Trainer())
    assert list(history["validation:auc"]) == [0.88001, 0.88999]


# ---- cleanup can delete one resource before the end ---------------------------------------------------

def test_deleting_one_resource_early_takes_it_off_the_cleanup_list(monkeypatch):
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    monkeypatch.setattr(cleanup.atexit, "register", lambda f: None)
    with Stubber(client) as stub:
        stub.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
        stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "cfg"})
        work = cleanup.Cleanup(client, say=lambda m: None)
        work.add("endpoint_config", "cfg")
        work.add("endpoint", "ep")
        assert work.delete("endpoint", "ep") is True
        work.run(quiet=True)  # deletes only the config: the endpoint is not deleted twice
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("framework, version, scope, py_version", [
    ("xgboost", "1.7-1", None, None), ("clarify", "1.0", None, None),
    ("pytorch", "2.5", "training", "py311"), ("pytorch", "2.5", "inference", "py311"),
    ("tensorflow", "2.18", "training", "py310"), ("tensorflow", "2.18", "inference", None),
    ("mxnet", "1.9", "training", "py38"), ("mxnet", "1.9", "inference", "py38")])
def test_the_twin_of_an_image_uri_is_found_from_what_image_uris_retrieve_returns(framework, version, scope, py_version):
    """The URIs come from the pinned SDK's own image_uris.retrieve, in two regions (different accounts)."""
    from sagemaker.core import image_uris

    extra = {k: v for k, v in (("image_scope", scope), ("py_version", py_version)) if v}
    for region in ("us-east-1", "ap-southeast-2"):
        uri = image_uris.retrieve(framework, region, version, instance_type="ml.m5.large", **extra)
        assert images.twin_of(uri) == images.twin_container(framework, version, scope)


def test_an_image_without_a_twin_is_refused_with_the_list_of_twins():
    from sagemaker.core import image_uris

    with pytest.raises(images.BuildError, match="no local twin of .*sagemaker-xgboost:1.5-1.*twins exist for"):
        images.twin_of(image_uris.retrieve("xgboost", "us-east-1", "1.5-1"))
