"""The account sweep after an event (`./workshop sweep`), against moto's S3, ECR and SageMaker: only the
workshop's resources are listed and deleted; a dry run and an unconfirmed run delete nothing."""
import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from smworkshop import cleanup, session, sweep

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-workshop/sklearn-byoc:abc"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/WorkshopRole"


@pytest.fixture
def account(monkeypatch):
    """An account with the workshop's resources (tagged as a lab tags them) beside someone else's."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        boto = boto3.Session(region_name=REGION)
        sm, ecr, s3 = boto.client("sagemaker"), boto.client("ecr"), boto.client("s3")
        ours = cleanup.workshop_tags("01_bring_your_own_container", "session-1")
        theirs = [{"Key": "team", "Value": "fraud-detection"}]
        for name, tags in (("Iris-Tree-1", ours), ("prod-model", theirs), ("untagged-model", None)):
            sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE},
                            **({"Tags": tags} if tags else {}))
            sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1}], **({"Tags": tags} if tags else {}))
            sm.create_endpoint(EndpointName=name, EndpointConfigName=name, **({"Tags": tags} if tags else {}))
        ecr.create_repository(repositoryName="sagemaker-workshop/sklearn-byoc", tags=ours)
        ecr.create_repository(repositoryName="sagemaker-workshop/not-tagged")  # our prefix, not our tag
        ecr.create_repository(repositoryName="fraud/scorer", tags=theirs)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for key in ("sagemaker-workshop/01/data/train/iris.csv", "sagemaker-workshop/01/models/model.tar.gz",
                    "other-project/data.csv"):
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 10)
        cloudformation = boto.client("cloudformation")
        for name, tags in (("lab06-network", ours), ("their-network", theirs)):
            cloudformation.create_stack(StackName=name, TemplateBody=STACK_WITH_A_BUCKET.format(name=name), Tags=tags)
        for bucket in ("lab06-network-logs", "their-network-logs"):  # CloudFormation deletes only empty buckets
            s3.put_object(Bucket=bucket, Key="access.log", Body=b"x")
        yield boto, sm, ecr, s3


STACK_WITH_A_BUCKET = """
Resources:
  Logs:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: {name}-logs
"""


def _names(listing):
    return sorted(item["EndpointName"] for item in listing["Endpoints"])


def test_sweep_finds_only_the_workshops_resources(account):
    boto, *_ = account
    found = sweep.Sweeper(boto).find()
    assert sorted((f.kind, f.name) for f in found) == [
        ("cloudformation_stack", "lab06-network"), ("ecr_repository", "sagemaker-workshop/sklearn-byoc"),
        ("endpoint", "Iris-Tree-1"), ("endpoint_config", "Iris-Tree-1"), ("model", "Iris-Tree-1"),
        ("s3_prefix", f"s3://{BUCKET}/sagemaker-workshop/")]


def test_dry_run_deletes_nothing(account):
    boto, sm, ecr, s3 = account
    lines = []
    assert sweep.main([], boto_session=boto, say=lines.append) == 0
    assert "Dry run: nothing deleted. Run with --delete to delete these 6." in lines
    assert len(_names(sm.list_endpoints())) == 3
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 3


def test_delete_without_confirmation_deletes_nothing(account):
    boto, sm, *_ = account
    assert sweep.main(["--delete"], boto_session=boto, ask=lambda prompt: "no", say=lambda m: None) == 1
    assert len(_names(sm.list_endpoints())) == 3


def test_confirmed_delete_removes_only_the_workshops(account):
    boto, sm, ecr, s3 = account
    assert sweep.main(["--delete"], boto_session=boto, ask=lambda prompt: "delete", say=lambda m: None) == 0
    assert _names(sm.list_endpoints()) == ["prod-model", "untagged-model"]
    assert sorted(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]) == [
        "prod-model", "untagged-model"]
    assert sorted(m["ModelName"] for m in sm.list_models()["Models"]) == ["prod-model", "untagged-model"]
    assert sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"]) == [
        "fraud/scorer", "sagemaker-workshop/not-tagged"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["other-project/data.csv"]
    stacks = {s["StackName"]: s["StackStatus"] for s in boto.client("cloudformation").describe_stacks()["Stacks"]}
    assert stacks == {"their-network": "CREATE_COMPLETE"}  # ours deleted, theirs kept
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    # emptied first, so the stack's deletion could take it (a full bucket stays behind, in moto as on AWS)
    assert "lab06-network-logs" not in buckets
    assert s3.list_objects_v2(Bucket="their-network-logs")["KeyCount"] == 1
    assert sweep.Sweeper(boto).find() == []  # a second sweep finds nothing


def test_a_running_job_is_stopped_and_a_finished_one_left_alone():
    """moto has no StopTrainingJob, so this is botocore's Stubber with the service's own shapes."""
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_response("describe_training_job", _job("InProgress"), {"TrainingJobName": "running"})
        stub.add_response("stop_training_job", {}, {"TrainingJobName": "running"})
        stub.add_response("describe_training_job", _job("Completed"), {"TrainingJobName": "done"})
        assert cleanup.stop_job(client, "training_job", "running") is True
        assert cleanup.stop_job(client, "training_job", "done") is False
    stub.assert_no_pending_responses()


def _job(status):
    from datetime import datetime

    return {"TrainingJobName": "j", "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/j",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m"}, "TrainingJobStatus": status,
            "SecondaryStatus": "Training", "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 1}, "StoppingCondition": {},
            "CreationTime": datetime(2026, 11, 25)}


def test_lab_sessions_tag_what_they_create_in_aws_mode(monkeypatch, tmp_path):
    """The tags the sweep looks for are the ones a lab session hands out."""
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    monkeypatch.setattr(session.engine, "answers", lambda timeout=20: True)
    lab = session.LabSession("04_xgboost", mode="aws", region=REGION, say=lambda m: None)
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}
    tags = {t["Key"]: t["Value"] for t in lab.tags}
    assert tags == {"workshop": "sagemaker-domain3-modeling", "workshop:lab": "04_xgboost",
                    "workshop:session": lab.session_id}
    assert lab._sm_session.default_bucket_prefix == "sagemaker-workshop"


def test_a_running_tuning_job_is_stopped_before_the_training_jobs_it_started():
    """StopHyperParameterTuningJob stops the tuning job's training jobs too (API reference); Stubber, since
    moto's tuning jobs are Completed at once."""
    from datetime import datetime

    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    tuning = {"HyperParameterTuningJobName": "adult-tuning"}
    described = {**tuning, "HyperParameterTuningJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/adult-tuning",
                 "HyperParameterTuningJobConfig": {"Strategy": "Bayesian", "ResourceLimits": {"MaxParallelTrainingJobs": 2}},
                 "HyperParameterTuningJobStatus": "InProgress", "CreationTime": datetime(2026, 12, 3),
                 "TrainingJobStatusCounters": {}, "ObjectiveStatusCounters": {}}
    with Stubber(client) as stub:
        stub.add_response("describe_hyper_parameter_tuning_job", described, tuning)
        stub.add_response("stop_hyper_parameter_tuning_job", {}, tuning)
        stub.add_response("describe_training_job", _job("InProgress"), {"TrainingJobName": "adult-tuning-001"})
        stub.add_response("stop_training_job", {}, {"TrainingJobName": "adult-tuning-001"})
        lab_cleanup = cleanup.Cleanup(client, say=lambda message: None)
        lab_cleanup.add("training_job", "adult-tuning-001")
        lab_cleanup.add("hyper_parameter_tuning_job", "adult-tuning")
        lab_cleanup.run()
    stub.assert_no_pending_responses()


def test_the_sweep_finds_a_running_tuning_job_the_workshop_tagged():
    from datetime import datetime

    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/adult-tuning"
    summary = {"HyperParameterTuningJobName": "adult-tuning", "HyperParameterTuningJobArn": arn,
               "HyperParameterTuningJobStatus": "InProgress", "Strategy": "Bayesian", "CreationTime": datetime(2026, 12, 3),
               "TrainingJobStatusCounters": {}, "ObjectiveStatusCounters": {}}
    with Stubber(client) as stub:
        stub.add_response("list_hyper_parameter_tuning_jobs", {"HyperParameterTuningJobSummaries": [summary]},
                          {"StatusEquals": "InProgress"})
        stub.add_response("list_tags", {"Tags": cleanup.workshop_tags("04_builtin_xgboost", "s-1")}, {"ResourceArn": arn})
        for operation, key in (("list_training_jobs", "TrainingJobSummaries"), ("list_processing_jobs", "ProcessingJobSummaries"),
                               ("list_transform_jobs", "TransformJobSummaries")):
            stub.add_response(operation, {key: []}, {"StatusEquals": "InProgress"})
        for operation, key in (("list_endpoints", "Endpoints"), ("list_endpoint_configs", "EndpointConfigs"),
                               ("list_models", "Models")):
            stub.add_response(operation, {key: []}, {})
        assert sweep.find_sagemaker(client) == [sweep.Found("hyper_parameter_tuning_job", "adult-tuning", "running")]
