"""After an event: list everything the workshop created in an AWS account and region, then delete it.

    ./workshop sweep [--region R]          a dry run: lists what it would delete, deletes nothing
    ./workshop sweep --delete [--yes]      deletes after you type `delete` (or at once with --yes)

A lab deletes what it created when it ends or its kernel stops, but a kernel killed by a signal (a
stopped or culled Studio space) runs no cleanup, and an endpoint bills by the hour. What counts as the
workshop's:
- SageMaker endpoints, endpoint configs, models and running jobs tagged workshop=sagemaker-domain3-modeling
  (every lab tags them in aws mode; SageMaker's own List and ListTags calls find them). Jobs cannot be
  deleted: running ones are stopped.
- ECR repositories named sagemaker-workshop/* that carry the same tag.
- S3 objects under sagemaker-workshop/ in the SageMaker default bucket (sagemaker-<region>-<account>),
  where the labs put data, models and training output.
- CloudFormation stacks with the same tag (Lab 06 deploys its templates that way). Their buckets are
  emptied first, since CloudFormation deletes only empty buckets; the deletion runs on after the sweep.
"""
import argparse
import sys
from dataclasses import dataclass

from .cleanup import DELETE_ORDER, JOB_KINDS, NAME_KEYS, WORKSHOP_TAG_KEY, WORKSHOP_TAG_VALUE, stop_job
from .images import IMAGE_PREFIX
from .session import S3_PREFIX

# Each kind, with the call that lists it and where that call puts the items and their ARNs.
SAGEMAKER_KINDS = (
    ("hyper_parameter_tuning_job", "list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries",
     "HyperParameterTuningJobArn"),
    ("training_job", "list_training_jobs", "TrainingJobSummaries", "TrainingJobArn"),
    ("processing_job", "list_processing_jobs", "ProcessingJobSummaries", "ProcessingJobArn"),
    ("transform_job", "list_transform_jobs", "TransformJobSummaries", "TransformJobArn"),
    ("endpoint", "list_endpoints", "Endpoints", "EndpointArn"),
    ("endpoint_config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn"),
    ("model", "list_models", "Models", "ModelArn"),
)


@dataclass(frozen=True)
class Found:
    kind: str    # a cleanup kind, or ecr_repository / s3_prefix
    name: str
    detail: str = ""


def _pages(client, operation, key, **kwargs):
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def find_sagemaker(sagemaker):
    found = []
    for kind, operation, key, arn_key in SAGEMAKER_KINDS:
        extra = {"StatusEquals": "InProgress"} if kind in JOB_KINDS else {}  # only running jobs matter
        for summary in _pages(sagemaker, operation, key, **extra):
            tags = sagemaker.list_tags(ResourceArn=summary[arn_key]).get("Tags", [])
            if {"Key": WORKSHOP_TAG_KEY, "Value": WORKSHOP_TAG_VALUE} in tags:
                found.append(Found(kind, summary[NAME_KEYS[kind]], "running" if kind in JOB_KINDS else ""))
    return found


def find_ecr(ecr):
    found = []
    for repository in _pages(ecr, "describe_repositories", "repositories"):
        if not repository["repositoryName"].startswith(IMAGE_PREFIX + "/"):
            continue
        tags = ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"]).get("tags", [])
        if {"Key": WORKSHOP_TAG_KEY, "Value": WORKSHOP_TAG_VALUE} in tags:
            found.append(Found("ecr_repository", repository["repositoryName"]))
    return found


def find_stacks(cloudformation):
    return [Found("cloudformation_stack", stack["StackName"], stack["StackStatus"])
            for stack in _pages(cloudformation, "describe_stacks", "Stacks")
            if stack["StackStatus"] != "DELETE_COMPLETE"
            and {"Key": WORKSHOP_TAG_KEY, "Value": WORKSHOP_TAG_VALUE} in stack.get("Tags", [])]


def default_bucket(sts, region):
    """The SageMaker SDK's default bucket name for this account and region."""
    return f"sagemaker-{region}-{sts.get_caller_identity()['Account']}"


def find_s3(s3, bucket):
    from botocore.exceptions import ClientError

    try:
        objects = list(_pages(s3, "list_objects_v2", "Contents", Bucket=bucket, Prefix=S3_PREFIX + "/"))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404", "AccessDenied"):
            return []
        raise
    if not objects:
        return []
    size = sum(o["Size"] for o in objects) / 1e6
    return [Found("s3_prefix", f"s3://{bucket}/{S3_PREFIX}/", f"{len(objects)} objects, {size:.1f} MB")]


class Sweeper:
    def __init__(self, boto_session):
        self.session = boto_session
        self.region = boto_session.region_name
        self.sagemaker = boto_session.client("sagemaker")
        self.ecr = boto_session.client("ecr")
        self.s3 = boto_session.client("s3")
        self.cloudformation = boto_session.client("cloudformation")
        self.bucket = default_bucket(boto_session.client("sts"), self.region)

    def find(self):
        return (find_sagemaker(self.sagemaker) + find_ecr(self.ecr) + find_s3(self.s3, self.bucket)
                + find_stacks(self.cloudformation))

    def _delete_one(self, item):
        if item.kind in JOB_KINDS:
            stopped = stop_job(self.sagemaker, item.kind, item.name)
            return f"stopped {item.kind} {item.name}" if stopped else None
        if item.kind == "ecr_repository":
            self.ecr.delete_repository(repositoryName=item.name, force=True)
        elif item.kind == "s3_prefix":
            keys = [{"Key": o["Key"]} for o in _pages(self.s3, "list_objects_v2", "Contents",
                                                      Bucket=self.bucket, Prefix=S3_PREFIX + "/")]
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at most
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start:start + 1000]})
            return f"deleted {len(keys)} objects under {item.name}"
        elif item.kind == "cloudformation_stack":
            for resource in _pages(self.cloudformation, "list_stack_resources", "StackResourceSummaries",
                                   StackName=item.name):
                if resource["ResourceType"] == "AWS::S3::Bucket" and resource.get("PhysicalResourceId"):
                    self.session.resource("s3").Bucket(resource["PhysicalResourceId"]).object_versions.delete()
            self.cloudformation.delete_stack(StackName=item.name)
            return f"deleting cloudformation_stack {item.name} (CloudFormation finishes it)"
        else:
            getattr(self.sagemaker, f"delete_{item.kind}")(**{NAME_KEYS[item.kind]: item.name})
        return f"deleted {item.kind} {item.name}"

    def delete(self, found, say=print):
        """Stop, then delete in dependency order; returns what was done."""
        order = {kind: i for i, kind in enumerate(DELETE_ORDER + ("ecr_repository", "s3_prefix",
                                                                   "cloudformation_stack"))}
        done = []
        for item in sorted(found, key=lambda f: order[f.kind]):
            message = self._delete_one(item)
            if message:
                done.append(message)
                say(f"  {message}")
        return done


def main(argv=None, boto_session=None, ask=input, say=print):
    parser = argparse.ArgumentParser(prog="workshop sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", help="AWS region (default: your configured one)")
    parser.add_argument("--delete", action="store_true", help="delete what is found (after confirmation)")
    parser.add_argument("--yes", action="store_true", help="with --delete: do not ask")
    args = parser.parse_args(argv)
    if boto_session is None:
        import boto3

        boto_session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    if not boto_session.region_name:
        say("No region: pass --region or set AWS_DEFAULT_REGION.")
        return 2
    sweeper = Sweeper(boto_session)
    found = sweeper.find()
    say(f"The workshop's resources in {sweeper.region} (account bucket {sweeper.bucket}):")
    for item in found:
        say(f"  {item.kind:16} {item.name}" + (f"  ({item.detail})" if item.detail else ""))
    if not found:
        say("  none")
        return 0
    if not args.delete:
        say(f"Dry run: nothing deleted. Run with --delete to delete these {len(found)}.")
        return 0
    if not args.yes and ask(f"Type 'delete' to delete these {len(found)}: ").strip() != "delete":
        say("Not confirmed: nothing deleted.")
        return 1
    sweeper.delete(found, say=say)
    say("Done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
