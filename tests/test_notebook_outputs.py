"""Notebook hygiene and nbval: outputs stay stripped in git except the cells whose output is the
lesson (marked NBVAL_CHECK_OUTPUT), and those outputs still come out the same when re-run."""
import re
import subprocess
import sys

import nbformat
import pytest

from smworkshop import notebooks, runner
from smworkshop.__main__ import KERNEL_NAME
from smworkshop.paths import REPO

NOTEBOOKS = runner.lab_notebooks()


def test_there_are_lab_notebooks():
    assert NOTEBOOKS, "no lab notebooks found under labs/"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_stripped_except_checked_cells(notebook):
    assert notebooks.unstripped_cells(notebook) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_conventions(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Lab ")
    for words in ("**Time**", "**Cost in `aws` mode**", "**Prerequisites**"):
        assert words in nb.cells[0].source
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and 'MODE = "auto"' in parameters[0].source
    # The first thing a lab does is check the machine and say what to fix (smworkshop.preflight).
    after_parameters = nb.cells[nb.cells.index(parameters[0]) + 1]
    assert "ws.preflight.verify(MODE)" in after_parameters.source
    checked = [c for c in nb.cells if notebooks.checked(c)]
    assert checked and all(c.outputs for c in checked), "checked cells must keep their stored output"
    assert any("cleanup.run()" in c.source for c in nb.cells if c.cell_type == "code")
    # Learners pick the workshop's kernel (`./workshop kernel`), not Studio's default Python.
    assert nb.metadata.kernelspec.name == KERNEL_NAME


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_resource_a_notebook_creates_carries_the_workshop_tags(notebook):
    """`./workshop sweep` finds what a lab left in an account by these tags, so no create call may omit them.
    (lab.deploy, lab.fit and the other helpers tag what they create themselves: tests/test_helpers.py.)"""
    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    calls = re.findall(r"\.(create_\w+)\(((?:[^()]|\([^()]*\))*)\)", code)
    assert calls or "lab.deploy(" in code, "expected create_* calls or lab.deploy"
    untagged = [name for name, args in calls if "Tags=lab.tags" not in args]
    assert untagged == []


@pytest.mark.docker
@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_checked_outputs_are_reproduced(docker_engine, notebook):
    """nbval --nbval-lax runs the notebook and compares the marked cells' outputs."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                             "--nbval-cell-timeout=1200", str(notebook)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
