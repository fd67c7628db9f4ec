"""Lab 03c (LEGACY MXNet) executed end to end in local mode with papermill, as `./workshop labs` runs it: a
Gluon script on the MXNet 1.9 training twin; its exported model refused by the inference twin without
code/inference.py, served with the serving toolkit's defaults once an empty inference.py is added, then with
inference.py hooks added to the archive."""
import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "03c_mxnet_legacy"


@pytest.fixture(scope="module")
def lab03c_run(docker_engine, tmp_path_factory):
    return execute_lab(LAB, tmp_path_factory)


def test_notebook_runs_to_the_end(lab03c_run):
    assert lab03c_run["status"] == "passed", lab03c_run["error"]


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab03c_run):
    assert_checked_outputs_reproduced(lab03c_run)


def test_the_endpoint_with_hooks_classifies_at_least_90_percent_of_the_30_test_flowers(lab03c_run):
    results = lab03c_run["results"]
    assert results["mode"] == "local" and results["test_rows"] == 30  # 20% of iris's 150
    assert results["test_accuracy"] >= 0.90


def test_the_archive_without_inference_py_is_refused_at_start(lab03c_run):
    """The MXNet handler service imports the user module or fails: ValueError('import_module exception: ...')
    (github.com/aws/sagemaker-mxnet-inference-toolkit v1.5.5, handler_service.py:48-53)."""
    assert lab03c_run["results"]["bare_archive_refused"] is True


def test_the_default_handlers_answer_one_raw_score_per_class(lab03c_run):
    """With an inference.py that defines no hook the MXNet serving toolkit's default predict_fn returns the
    Module's output: for iris, 3 scores per row (github.com/aws/sagemaker-mxnet-inference-toolkit v1.5.5,
    default_inference_handler.py:192-204)."""
    assert lab03c_run["results"]["default_scores_per_row"] == 3


def test_every_epoch_was_read_from_the_jobs_log(lab03c_run):
    assert lab03c_run["results"]["epochs"] == 30  # the notebook's EPOCHS


def test_the_pytorch_translation_learns_the_same_task(lab03c_run):
    assert lab03c_run["results"]["pytorch_accuracy"] >= 0.90


def test_nothing_is_left_running(lab03c_run):
    assert_nothing_left_running(lab03c_run)
