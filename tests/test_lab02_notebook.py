"""Lab 02 executed end to end in local mode with papermill, as `./workshop labs` runs it."""
import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "02_bring_your_own_model"


@pytest.fixture(scope="module")
def lab02_run(docker_engine, tmp_path_factory):
    # CI parameters: fewer timed requests; the model and the held-out set stay full size.
    return execute_lab(LAB, tmp_path_factory, LATENCY_REQUESTS=10)


def test_notebook_runs_to_the_end(lab02_run):
    assert lab02_run["status"] == "passed", lab02_run["error"]


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab02_run):
    assert_checked_outputs_reproduced(lab02_run)


def test_held_out_accuracy_through_the_endpoint_is_at_least_0_9(lab02_run):
    results = lab02_run["results"]
    assert results["mode"] == "local" and results["held_out_images"] == 360
    assert results["accuracy"] >= 0.9


def test_new_serving_code_was_deployed_without_retraining(lab02_run):
    assert lab02_run["results"]["update_code_version"] == "2"
    assert lab02_run["results"]["update_label_matches"] is True


def test_nothing_is_left_running(lab02_run):
    assert_nothing_left_running(lab02_run)


def test_the_client_script_answers_like_the_endpoint_and_fails_on_the_non_image(lab02_run):
    """invoke_client.py prints one label per image and exits 1 if any image was refused (its docstring)."""
    results = lab02_run["results"]
    assert results["client_exit_code"] == 1
    assert results["client_refused"] == ["notes.png"]
    assert len(results["client_labels"]) == 3 and results["client_labels_match_endpoint"] is True
