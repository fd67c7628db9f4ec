"""Lab 03b executed end to end in local mode with papermill, as `./workshop labs` runs it: a Keras script on
the TensorFlow 2.18 training twin, its SavedModel served by the inference twin with no code (JSON, CSV, JSON
lines, custom attributes) and then with input/output handlers added to the archive."""
import ast
import sys

import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab
from smworkshop.paths import LABS

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "03b_tensorflow_script_mode"


@pytest.fixture(scope="module")
def lab03b_run(docker_engine, tmp_path_factory):
    return execute_lab(LAB, tmp_path_factory)


def test_notebook_runs_to_the_end(lab03b_run):
    assert lab03b_run["status"] == "passed", lab03b_run["error"]


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab03b_run):
    assert_checked_outputs_reproduced(lab03b_run)


def test_the_endpoint_classifies_at_least_90_percent_of_the_114_test_tumours(lab03b_run):
    results = lab03b_run["results"]
    assert results["mode"] == "local" and results["test_rows"] == 114  # 20% of scikit-learn's 569 cases
    assert results["test_accuracy"] >= 0.90


def test_csv_and_json_lines_reach_tensorflow_serving_as_the_same_instances(lab03b_run):
    """The front turns CSV lines and JSON lines into {"instances": [...]} (aws/deep-learning-containers
    @ ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e, tensorflow/inference/docker/build_artifacts/sagemaker/
    tensorflowServing.js lines 140-234): the same rows give the same predictions."""
    assert lab03b_run["results"]["formats_agree"] is True


# What AWS's TensorFlow 2.18 inference image installs for its Python service, and what those pull in
# (deep-learning-containers @ ff2b640, tensorflow/inference/docker/2.18/py3/Dockerfile.cpu lines 92-103, 185-187):
# no tensorflow, no numpy.
DLC_PYTHON_SERVICE_MODULES = {"awscli", "boto3", "botocore", "Cython", "gevent", "greenlet", "requests", "urllib3",
                              "grpc", "google", "packaging", "tensorflow_serving", "falcon", "gunicorn", "yaml"}


def test_the_handlers_import_only_what_the_real_images_python_service_has():
    """The lab's inference.py runs in the image's Python service, which has the standard library and the DLC's
    packages only: an import of anything else (numpy, tensorflow, pandas) would stop the endpoint on AWS."""
    tree = ast.parse((LABS / LAB / "code" / "inference.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and imported <= set(sys.stdlib_module_names) | DLC_PYTHON_SERVICE_MODULES, imported


def test_the_handlers_diagnose_as_the_raw_probabilities_say(lab03b_run):
    assert lab03b_run["results"]["handler_labels_agree"] is True


def test_every_epoch_was_read_from_the_jobs_log(lab03b_run):
    assert lab03b_run["results"]["epochs"] == 30  # the notebook's EPOCHS
    assert lab03b_run["results"]["final_validation_accuracy"] >= 0.90


def test_nothing_is_left_running(lab03b_run):
    assert_nothing_left_running(lab03b_run)
