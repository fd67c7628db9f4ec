"""Lab 06 detective control: the Lambda function that stops training jobs created without a VPC.

moto does not implement StopTrainingJob, so SageMaker is botocore's Stubber: every call the function makes
must be one the test expects, with exactly these parameters, and nothing else may be called.
The events are the fixtures in tests/fixtures/cloudtrail/ (see the README there for the documented
shapes they follow). The rule that delivers them:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html
"""
import copy
import datetime
import importlib.util
import json
import logging
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "cloudtrail"
HANDLER = ROOT / "labs" / "06_security" / "detective" / "stop_jobs_without_vpc.py"
TEMPLATE = ROOT / "labs" / "06_security" / "templates" / "detective_control.yaml"

ACCOUNT_ROLE = "arn:aws:iam::111122223333:role/lab06-us-east-1-exec"


@pytest.fixture(scope="module")
def detective():
    spec = importlib.util.spec_from_file_location("stop_jobs_without_vpc", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def sagemaker():
    """A SageMaker client that can only answer what a test queued; it never reaches AWS."""
    client = boto3.client("sagemaker", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def described(job, status="InProgress", vpc=None):
    """A DescribeTrainingJob answer with the fields the API always returns."""
    answer = {
        "TrainingJobName": job,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:111122223333:training-job/{job}",
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "TrainingJobStatus": status,
        "SecondaryStatus": "Training" if status == "InProgress" else status,
        "AlgorithmSpecification": {"TrainingImage": "111122223333.dkr.ecr.us-east-1.amazonaws.com/sklearn-byoc:latest",
                                   "TrainingInputMode": "File"},
        "RoleArn": ACCOUNT_ROLE,
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": datetime.datetime(2026, 3, 2, 10, 15, 42, tzinfo=datetime.timezone.utc),
    }
    if vpc:
        answer["VpcConfig"] = vpc
    return answer


# ------------------------------------------------------------------------------------------ decisions

def test_a_job_in_a_vpc_is_left_alone_without_calling_sagemaker(detective, sagemaker):
    client, _ = sagemaker
    result = detective.handler(event("create_training_job_compliant"), None, client=client)
    assert result == {"action": "none", "job": "lab06-iris-in-vpc", "reason": "in a VPC"}


@pytest.mark.parametrize("fixture, job", [
    ("create_training_job_non_compliant", "lab06-iris-no-vpc"),
    ("create_training_job_no_security_groups", "lab06-iris-subnets-only"),
])
def test_a_running_job_without_a_vpc_is_stopped_and_the_reason_logged(detective, sagemaker, caplog, fixture, job):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", described(job), {"TrainingJobName": job})
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": job})
    with caplog.at_level(logging.INFO):
        result = detective.handler(event(fixture), None, client=client)
    assert result == {"action": "stopped", "job": job, "reason": "no VPC configuration"}
    assert f"stopped training job {job}: it was created without a VPC configuration" in caplog.text


def test_the_job_itself_decides_when_cloudtrail_left_vpc_config_out(detective, sagemaker):
    client, stubber = sagemaker
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0aaaaaaaaaaaaaaaa"]}
    stubber.add_response("describe_training_job", described("lab06-iris-no-vpc", vpc=vpc),
                         {"TrainingJobName": "lab06-iris-no-vpc"})
    result = detective.handler(event("create_training_job_non_compliant"), None, client=client)
    assert result["action"] == "none" and result["reason"] == "in a VPC"


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopping", "Stopped"])
def test_a_job_that_is_no_longer_running_is_not_stopped(detective, sagemaker, caplog, status):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", described("lab06-iris-no-vpc", status=status),
                         {"TrainingJobName": "lab06-iris-no-vpc"})
    result = detective.handler(event("create_training_job_non_compliant"), None, client=client)
    assert result["action"] == "none" and result["reason"] == f"no VPC, already {status}"
    assert "has no VPC configuration but is already" in caplog.text


def test_a_job_that_finishes_between_describe_and_stop_is_logged_not_retried(detective, sagemaker, caplog):
    client, stubber = sagemaker
    stubber.add_response("describe_training_job", described("lab06-iris-no-vpc"),
                         {"TrainingJobName": "lab06-iris-no-vpc"})
    stubber.add_client_error("stop_training_job", service_error_code="ValidationException",
                             service_message="The job status is Completed", http_status_code=400)
    result = detective.handler(event("create_training_job_non_compliant"), None, client=client)
    assert result == {"action": "none", "job": "lab06-iris-no-vpc", "reason": "ValidationException from SageMaker"}
    assert "could not be stopped (ValidationException)" in caplog.text


def test_a_job_that_does_not_exist_is_logged_not_retried(detective, sagemaker):
    client, stubber = sagemaker
    stubber.add_client_error("describe_training_job", service_error_code="ResourceNotFound",
                             service_message="Requested resource not found.", http_status_code=400)
    result = detective.handler(event("create_training_job_non_compliant"), None, client=client)
    assert result["reason"] == "ResourceNotFound from SageMaker"


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException"])
def test_errors_that_a_retry_can_fix_are_raised_so_lambda_retries_and_then_dead_letters(detective, sagemaker, code):
    from botocore.exceptions import ClientError

    client, stubber = sagemaker
    stubber.add_client_error("describe_training_job", service_error_code=code, http_status_code=400)
    with pytest.raises(ClientError):
        detective.handler(event("create_training_job_non_compliant"), None, client=client)


def test_the_job_name_comes_from_the_response_when_the_request_lacks_it(detective, sagemaker):
    client, stubber = sagemaker
    record = event("create_training_job_non_compliant")
    del record["detail"]["requestParameters"]["trainingJobName"]
    stubber.add_response("describe_training_job", described("lab06-iris-no-vpc"),
                         {"TrainingJobName": "lab06-iris-no-vpc"})
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": "lab06-iris-no-vpc"})
    assert detective.handler(record, None, client=client)["action"] == "stopped"


# ---------------------------------------------------------------------------- events it must not act on

def test_a_refused_create_call_is_ignored(detective, sagemaker):
    client, _ = sagemaker
    result = detective.handler(event("create_training_job_denied"), None, client=client)
    assert result == {"action": "ignored", "reason": "not a successful CreateTrainingJob call"}


def test_other_api_calls_are_ignored(detective, sagemaker):
    client, _ = sagemaker
    record = event("create_training_job_compliant")
    record["detail"]["eventName"] = "CreateEndpoint"
    assert detective.handler(record, None, client=client)["action"] == "ignored"


MALFORMED = sorted(path.stem for path in EVENTS.glob("malformed_*.json"))


@pytest.mark.parametrize("fixture", MALFORMED)
def test_malformed_events_are_logged_and_ignored(detective, sagemaker, caplog, fixture):
    client, _ = sagemaker
    result = detective.handler(event(fixture), None, client=client)
    assert result["action"] == "ignored" and result["reason"].startswith("malformed event:")
    assert "ignored a malformed event" in caplog.text


@pytest.mark.parametrize("payload", [None, [], "CreateTrainingJob", 42, {}, {"detail": None}, {"detail": []}])
def test_events_that_are_not_objects_do_not_crash_it(detective, sagemaker, payload):
    client, _ = sagemaker
    assert detective.handler(payload, None, client=client)["action"] == "ignored"


def test_there_are_malformed_fixtures():
    assert len(MALFORMED) >= 3


# ------------------------------------------------------------------------- fixtures match the rule

ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
RECORD = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
          "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "eventType",
          "recipientAccountId"}


def matches(pattern, data):
    """EventBridge matching for the pattern forms the rule uses: nested objects and lists of exact values."""
    for key, wanted in pattern.items():
        if not isinstance(data, dict) or key not in data:
            return False
        if isinstance(wanted, dict):
            if not matches(wanted, data[key]):
                return False
        elif data[key] not in wanted:
            return False
    return True


@pytest.fixture(scope="module")
def rule_pattern():
    from cfnlint.decode import decode

    template, errors = decode(str(TEMPLATE))
    assert not errors
    return template["Resources"]["CreateTrainingJobRule"]["Properties"]["EventPattern"]


@pytest.mark.parametrize("fixture", ["create_training_job_compliant", "create_training_job_non_compliant",
                                     "create_training_job_no_security_groups", "create_training_job_denied"])
def test_recorded_events_have_the_documented_shape_and_match_the_rule(rule_pattern, fixture):
    record = event(fixture)
    assert set(record) == ENVELOPE
    assert RECORD <= set(record["detail"])
    assert record["detail-type"] == "AWS API Call via CloudTrail" and record["source"] == "aws.sagemaker"
    assert matches(rule_pattern, record)


def test_the_rule_ignores_other_sagemaker_calls(rule_pattern):
    record = copy.deepcopy(event("create_training_job_compliant"))
    record["detail"]["eventName"] = "CreateProcessingJob"
    assert not matches(rule_pattern, record)
