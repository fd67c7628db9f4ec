"""Lab 06 executed end to end in local mode with papermill, as `./workshop labs` runs it: the guard rails
evaluated on every request, the secure training request built and allowed, network isolation shown with
Lab 01's container, the detective control run on the recorded CloudTrail events, nothing left running."""
from pathlib import Path

import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "06_security"
EVENTS = Path(__file__).resolve().parent / "fixtures" / "cloudtrail"


@pytest.fixture(scope="module")
def lab06_run(docker_engine, tmp_path_factory):
    return execute_lab(LAB, tmp_path_factory)


def test_notebook_runs_to_the_end(lab06_run):
    assert lab06_run["status"] == "passed", lab06_run["error"]
    assert lab06_run["results"]["mode"] == "local"


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab06_run):
    assert_checked_outputs_reproduced(lab06_run)


def test_every_request_of_the_table_got_its_expected_verdict_in_every_setup(lab06_run):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labs" / LAB))
    from guardrails import CASES

    results = lab06_run["results"]
    assert results["requests_evaluated"] == len(CASES) >= 50
    assert results["verdicts_evaluated"] == 3 * len(CASES)
    assert results["verdicts_matching"] == results["verdicts_evaluated"]
    assert results["verdicts_as_expected"] == 1.0


def test_the_secure_training_request_passes_the_guard_rails(lab06_run):
    """The request ModelTrainer builds with Networking, both KMS keys and isolation, mapped to condition keys."""
    assert lab06_run["results"]["secure_job_verdict"] == "Allow"


def test_the_isolated_container_trained_while_its_outbound_call_failed(lab06_run):
    results = lab06_run["results"]
    assert results["isolated_container_trained"] is True
    assert results["isolated_call_failed"] is True
    assert results["default_network_call_worked"] is True  # the same call works with a network: the contrast


def test_the_detective_control_stopped_exactly_the_jobs_without_a_vpc(lab06_run):
    """Every recorded event was handled; only the two running jobs without a full VPC configuration were stopped
    (not the compliant one, not the refused call, not the malformed events)."""
    results = lab06_run["results"]
    assert results["detective_events"] == len(list(EVENTS.glob("*.json"))) == 8
    assert results["detective_stopped"] == ["create_training_job_no_security_groups",
                                            "create_training_job_non_compliant"]


def test_the_templates_are_lint_clean(lab06_run):
    results = lab06_run["results"]
    assert results["cfn_lint_findings"] == 0
    if results["checkov"] is not None:  # present when checkov's test venv exists (tests/test_security_templates.py)
        assert results["checkov"]["failed"] == 0 and results["checkov"]["passed"] > 0


def test_nothing_is_left_running(lab06_run):
    assert_nothing_left_running(lab06_run)


def test_the_training_request_the_lab_writes_out_is_the_one_model_trainer_builds(lab06_run, tmp_path):
    """The guard rails judge a CreateTrainingJob request the notebook writes out in the API's names; ModelTrainer
    given the same settings (Compute, Networking, OutputDataConfig) must build that request. The SDK's request
    builder is private, which is why the notebook does not call it and this test does."""
    from sagemaker.core.training.configs import Compute, InputData, Networking, OutputDataConfig
    from sagemaker.train import ModelTrainer
    from sagemaker.train.model_trainer import Mode

    written = lab06_run["results"]["secure_job_request"]
    resources, vpc, output = written["ResourceConfig"], written["VpcConfig"], written["OutputDataConfig"]
    trainer = ModelTrainer(
        training_image=written["AlgorithmSpecification"]["TrainingImage"], role=written["RoleArn"],
        compute=Compute(instance_type=resources["InstanceType"], instance_count=1,
                        volume_kms_key_id=resources["VolumeKmsKeyId"]),
        networking=Networking(subnets=vpc["Subnets"], security_group_ids=vpc["SecurityGroupIds"],
                              enable_network_isolation=True, enable_inter_container_traffic_encryption=True),
        output_data_config=OutputDataConfig(s3_output_path=output["S3OutputPath"], kms_key_id=output["KmsKeyId"]),
        training_mode=Mode.LOCAL_CONTAINER, hyperparameters={"max_leaf_nodes": 5})
    sent = trainer._create_training_job_args(
        input_data_config=[InputData(channel_name="train", data_source=str(tmp_path))], boto3=True)
    for field, value in written.items():
        if field == "TrainingJobName":  # the SDK adds a timestamp to the base name
            continue
        if isinstance(value, dict):
            assert {k: sent[field].get(k) for k in value} == value, field
        else:
            assert sent[field] == value, field
