"""Shared by the notebook tests: run one lab as `./workshop labs` does, and check it left nothing."""
from smworkshop import cleanup, runner


def execute_lab(lab, tmp_path_factory, **parameters):
    """Execute labs/LAB/LAB.ipynb in local mode with PARAMETERS (the small CI settings)."""
    notebook, = runner.lab_notebooks([lab])
    return runner.execute(notebook, tmp_path_factory.mktemp(lab), parameters=parameters)


def assert_nothing_left_running(run):
    assert run["results"]["containers_left"] == 0  # what the notebook itself saw after its cleanup
    assert run["containers_left_running"] == 0      # what the runner saw after the kernel stopped
    assert cleanup.workshop_containers() == []
