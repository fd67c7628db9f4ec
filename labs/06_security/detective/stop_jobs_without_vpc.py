"""Lab 06 detective control: stop SageMaker training jobs started without a VPC configuration.

An EventBridge rule (templates/detective_control.yaml) sends this Lambda function the CloudTrail record
of every CreateTrainingJob call. A job whose request had no subnets or no security groups runs on
SageMaker's network with internet access, outside the lab's VPC endpoints and their policies: the
function stops it and logs why.

Event shape (EventBridge envelope with the CloudTrail record in `detail`):
  https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
SageMaker's CloudTrail records carry the request in lowerCamelCase (`trainingJobName`, `vpcConfig`):
  https://docs.aws.amazon.com/sagemaker/latest/dg/understanding-sagemaker-entries.html

Malformed events and jobs that no longer exist are logged and ignored: retrying cannot fix them.
Other API errors (throttling, access denied) are raised, so Lambda retries and then keeps the event
in the dead-letter queue for a person to look at.
"""
import logging

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

# StopTrainingJob is only valid while the job runs; a job can reach a final state before we look.
STOPPABLE = {"InProgress"}
# Errors that mean "nothing to stop", not "try again".
FINAL_ERRORS = {"ResourceNotFound", "ValidationException"}


class MalformedEvent(ValueError):
    pass


def handler(event, context=None, client=None):
    """Lambda entry point. `client` lets tests pass a stubbed SageMaker client."""
    try:
        request = read_request(event)
    except MalformedEvent as err:
        LOG.error("ignored a malformed event: %s", err)
        return {"action": "ignored", "reason": f"malformed event: {err}"}
    if request is None:
        return {"action": "ignored", "reason": "not a successful CreateTrainingJob call"}
    job, vpc_config = request

    if has_vpc(vpc_config):
        LOG.info("training job %s runs in a VPC (subnets and security groups set)", job)
        return {"action": "none", "job": job, "reason": "in a VPC"}

    client = client or boto3.client("sagemaker")
    try:
        described = client.describe_training_job(TrainingJobName=job)
        # The job itself is the authority: CloudTrail may omit parts of a large request.
        if has_vpc(described.get("VpcConfig")):
            LOG.info("training job %s has a VPC configuration after all", job)
            return {"action": "none", "job": job, "reason": "in a VPC"}
        status = described.get("TrainingJobStatus")
        if status not in STOPPABLE:
            LOG.warning("training job %s has no VPC configuration but is already %s", job, status)
            return {"action": "none", "job": job, "reason": f"no VPC, already {status}"}
        client.stop_training_job(TrainingJobName=job)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code not in FINAL_ERRORS:
            raise
        LOG.warning("training job %s could not be stopped (%s): %s", job, code, err)
        return {"action": "none", "job": job, "reason": f"{code} from SageMaker"}

    LOG.warning("stopped training job %s: it was created without a VPC configuration "
                "(no subnets or no security groups)", job)
    return {"action": "stopped", "job": job, "reason": "no VPC configuration"}


def read_request(event):
    """(job name, vpcConfig or None) from the event; None when the event is not a successful
    CreateTrainingJob call; MalformedEvent when its shape is not what CloudTrail sends."""
    if not isinstance(event, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(event).__name__}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("no 'detail' object")
    if detail.get("eventName") != "CreateTrainingJob":
        LOG.info("ignored event %r: not CreateTrainingJob", detail.get("eventName"))
        return None
    if detail.get("errorCode"):
        # The call was refused, so no job exists.
        LOG.info("ignored a failed CreateTrainingJob call (%s)", detail["errorCode"])
        return None

    parameters = detail.get("requestParameters")
    if not isinstance(parameters, dict):
        raise MalformedEvent("no 'requestParameters' object")
    job = parameters.get("trainingJobName") or job_name_from_arn(detail.get("responseElements"))
    if not isinstance(job, str) or not job:
        raise MalformedEvent("no training job name in requestParameters or responseElements")
    vpc_config = parameters.get("vpcConfig")
    if vpc_config is not None and not isinstance(vpc_config, dict):
        raise MalformedEvent("'vpcConfig' is not an object")
    return job, vpc_config


def job_name_from_arn(response):
    arn = response.get("trainingJobArn") if isinstance(response, dict) else None
    if isinstance(arn, str) and ":training-job/" in arn:
        return arn.split(":training-job/", 1)[1]
    return None


def has_vpc(vpc_config):
    """Subnets and security groups both non-empty. Accepts CloudTrail's lowerCamelCase and the
    API's PascalCase (DescribeTrainingJob) keys."""
    if not isinstance(vpc_config, dict):
        return False
    keys = {key.lower(): value for key, value in vpc_config.items()}
    subnets, groups = keys.get("subnets"), keys.get("securitygroupids")
    return bool(isinstance(subnets, list) and subnets and isinstance(groups, list) and groups)
