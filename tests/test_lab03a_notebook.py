"""Lab 03a executed end to end in local mode with papermill, as `./workshop labs` runs it: script mode on the
PyTorch training twin (one instance, then two with torchrun), the job's archive served by the inference twin
with its inference.py hooks, and an image extended FROM the training image's URI."""
import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "03a_pytorch_script_mode"
EPOCHS = 30  # the notebook's default


@pytest.fixture(scope="module")
def lab03a_run(docker_engine, tmp_path_factory):
    return execute_lab(LAB, tmp_path_factory, EPOCHS=EPOCHS)


def test_notebook_runs_to_the_end(lab03a_run):
    assert lab03a_run["status"] == "passed", lab03a_run["error"]


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab03a_run):
    assert_checked_outputs_reproduced(lab03a_run)


def test_the_endpoint_classifies_at_least_90_percent_of_the_360_test_digits(lab03a_run):
    results = lab03a_run["results"]
    assert results["mode"] == "local" and results["test_images"] == 360  # 20% of scikit-learn's 1,797 digits
    assert results["test_accuracy"] >= 0.90


def test_refused_requests_keep_the_toolkits_status_and_a_plain_exception_is_a_500(lab03a_run):
    """The lab's hooks raise GenericInferenceToolkitError(400/415) for what they refuse and leave json.loads
    unguarded; AWS's toolkit answers a BaseInferenceToolkitError with its status and anything else with 500
    (github.com/aws/sagemaker-pytorch-inference-toolkit v2.0.25 src/sagemaker_inference/transformer.py:167-176)."""
    assert lab03a_run["results"]["refused_statuses"] == [400, 400, 415, 500]


def test_every_epoch_the_script_printed_was_read_from_the_jobs_log(lab03a_run):
    assert lab03a_run["results"]["epochs"] == EPOCHS
    assert lab03a_run["results"]["final_validation_accuracy"] >= 0.90


def test_both_hosts_took_part_in_the_distributed_job(lab03a_run):
    """Each rank prints its SM_CURRENT_HOST; with instance_count=2 they are algo-1 and algo-2 (SageMaker's
    host names: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html)."""
    results = lab03a_run["results"]
    assert results["distributed_hosts"] == ["algo-1", "algo-2"]
    assert results["distributed_accuracy"] >= 0.90


def test_the_extended_image_has_the_added_library_and_keeps_the_toolkit(lab03a_run):
    assert lab03a_run["results"]["extended_has_tqdm"] is True


def test_nothing_is_left_running(lab03a_run):
    assert_nothing_left_running(lab03a_run)


def test_the_requirements_file_sourcecode_names_was_pip_installed_before_the_script(lab03a_run):
    """SDK v3 installs a requirements file only when SourceCode(requirements=...) names it (sagemaker-train
    1.27.0, sagemaker/train/model_trainer.py: INSTALL_REQUIREMENTS is added only `if source_code.requirements`);
    numpy is in the image, so pip confirms it instead of downloading."""
    assert lab03a_run["results"]["requirements_confirmed"] is True
