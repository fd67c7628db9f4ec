"""Shared by the lab tests: run one lab as `./workshop labs` does, check it left nothing, and import
a lab folder's own scripts."""
import importlib.util

from smworkshop import cleanup, notebooks, runner
from smworkshop.paths import LABS


def load_lab_module(lab, filename):
    """Import labs/LAB/FILENAME (lab folders are not packages)."""
    spec = importlib.util.spec_from_file_location(filename.removesuffix(".py"), LABS / lab / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_RUNS = []  # every lab run of this test session: the site test renders them all (tests/test_site.py)


def execute_lab(lab, tmp_path_factory, **parameters):
    """Execute labs/LAB/LAB.ipynb in local mode with PARAMETERS (the small CI settings)."""
    notebook, = runner.lab_notebooks([lab])
    run = runner.execute(notebook, tmp_path_factory.mktemp(lab), parameters=parameters)
    _RUNS.append(run)
    return run


def completed_runs():
    """The summary rows of the labs this session has run so far, in the order they ran."""
    return list(_RUNS)


def assert_nothing_left_running(run):
    assert run["results"]["containers_left"] == 0  # what the notebook itself saw after its cleanup
    assert run["containers_left_running"] == 0      # what the runner saw after the kernel stopped
    assert cleanup.workshop_containers() == []


def assert_checked_outputs_reproduced(run):
    """The cells marked NBVAL_CHECK_OUTPUT printed what the committed notebook shows, compared as
    `pytest --nbval-lax` compares them, on this run (so CI executes each notebook once)."""
    differences = notebooks.checked_output_differences(run["source"], run["executed"])
    assert differences == [], "\n\n".join(differences)
