"""Lab 03b executed end to end in local mode with papermill, as `./workshop labs` runs it: a Keras script on
the TensorFlow 2.18 training twin, its SavedModel served by the inference twin with no code (JSON, CSV, JSON
lines, custom attributes) and then with input/output handlers added to the archive."""
import pytest

from lab_runs import assert_nothing_left_running, execute_lab

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "03b_tensorflow_script_mode"


@pytest.fixture(scope="module")
def lab03b_run(docker_engine, tmp_path_factory):
    return execute_lab(LAB, tmp_path_factory)


def test_notebook_runs_to_the_end(lab03b_run):
    assert lab03b_run["status"] == "passed", lab03b_run["error"]


def test_the_endpoint_classifies_at_least_90_percent_of_the_114_test_tumours(lab03b_run):
    results = lab03b_run["results"]
    assert results["mode"] == "local" and results["test_rows"] == 114  # 20% of scikit-learn's 569 cases
    assert results["test_accuracy"] >= 0.90


def test_csv_and_json_lines_reach_tensorflow_serving_as_the_same_instances(lab03b_run):
    """The front turns CSV lines and JSON lines into {"instances": [...]} (tensorflowServing.js in
    github.com/aws/sagemaker-tensorflow-serving-container): the same rows give the same predictions."""
    assert lab03b_run["results"]["formats_agree"] is True


def test_the_handlers_diagnose_as_the_raw_probabilities_say(lab03b_run):
    assert lab03b_run["results"]["handler_labels_agree"] is True


def test_every_epoch_was_read_from_the_jobs_log(lab03b_run):
    assert lab03b_run["results"]["epochs"] == 30  # the notebook's EPOCHS
    assert lab03b_run["results"]["final_validation_accuracy"] >= 0.90


def test_nothing_is_left_running(lab03b_run):
    assert_nothing_left_running(lab03b_run)
