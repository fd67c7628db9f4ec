"""Lab 01 executed end to end in local mode with papermill, as `./workshop labs` runs it.

Asserts on the results the notebook records as data, and that nothing is left running.
(nbval re-checks the cells marked NBVAL_CHECK_OUTPUT: see test_notebook_outputs.py.)
"""
import pytest

from lab_runs import assert_checked_outputs_reproduced, assert_nothing_left_running, execute_lab
from smworkshop import cleanup

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "01_bring_your_own_container"


@pytest.fixture(scope="module")
def lab01_run(docker_engine, tmp_path_factory):
    # CI parameters: the smallest run that still teaches everything.
    return execute_lab(LAB, tmp_path_factory, LATENCY_REQUESTS=10)


def test_notebook_runs_to_the_end(lab01_run):
    assert lab01_run["status"] == "passed", lab01_run["error"]


def test_the_checked_cells_print_what_the_committed_notebook_shows(lab01_run):
    assert_checked_outputs_reproduced(lab01_run)


def test_held_out_accuracy_is_at_least_0_9(lab01_run):
    results = lab01_run["results"]
    assert results["mode"] == "local"
    assert results["test_rows"] == 45
    assert results["accuracy"] >= 0.9


def test_single_row_latency_stays_under_100_ms(lab01_run):
    """About 9 ms here, most of it the SDK's local runtime client (the container answers in under 1 ms):
    a model loaded per request or a server that serialises requests would cross 100 ms."""
    assert 0 < lab01_run["results"]["p50_latency_ms"] < 100


def test_nothing_is_left_running(lab01_run):
    assert_nothing_left_running(lab01_run)


def test_html_rendering_is_written(lab01_run):
    from pathlib import Path

    html = Path(lab01_run["html"]).read_text()
    assert "Bring your own container" in html and "accuracy on 45 held-out rows" in html


def test_a_lab_that_fails_midway_still_cleans_up(image, tmp_path):
    """papermill stops at the failing cell and shuts the kernel down; the exit hook deletes the endpoint."""
    import papermill
    from pathlib import Path

    from smworkshop import paths

    image("sklearn-byoc")
    notebook = Path(__file__).parent / "notebooks" / "fails_midway.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match="this lab fails here"):
        papermill.execute_notebook(str(notebook), str(tmp_path / "out.ipynb"), kernel_name="python3",
                                   progress_bar=False)
    executed = (tmp_path / "out.ipynb").read_text()
    assert "serving: setosa" in executed  # the endpoint really was up before the failure
    run_root = (paths.workspace("test_fails_midway") / "run_root.txt").read_text()
    assert cleanup.containers_under(run_root) == []
    assert cleanup.workshop_containers() == []
