"""Notebook hygiene and nbval: outputs stay stripped in git except the cells whose output is the
lesson (marked NBVAL_CHECK_OUTPUT); the lab tests compare those outputs on their one run of each notebook."""
import re

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


def _code(notebook):
    return [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]


# CONTRIBUTING.md: the first time a lab uses a SageMaker API, a cell shows the real call. A lab that uses a
# helper (left) has the call it stands for (right) written out in some cell of its own.
HELPER_AND_ITS_CALLS = {
    "lab.fit(": ("ModelTrainer(", "Compute(", "InputData(", ".train(input_data_config="),
    "lab.model_trainer(": ("ModelTrainer(", "Compute(", ".train(input_data_config="),
    "lab.train_input(": ("InputData(",),
    "lab.aws_image(": ("image_uris.retrieve(",),
    "lab.transform(": ("create_transform_job(",),
    "lab.invoke(": ("invoke_endpoint(",),
    "lab.deploy(": ("create_model(", "create_endpoint_config(", "create_endpoint("),
    "lab.process(": ("create_processing_job(",),
}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_helper_a_lab_uses_repeats_a_call_the_lab_writes_out(notebook):
    code = "\n".join(_code(notebook))
    missing = {helper: [call for call in calls if call not in code]
               for helper, calls in HELPER_AND_ITS_CALLS.items() if helper in code}
    assert {helper: calls for helper, calls in missing.items() if calls} == {}


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if "ModelTrainer(" in "\n".join(_code(n))],
                         ids=lambda p: p.stem)
def test_a_model_trainer_written_out_is_the_same_cell_in_both_modes(notebook):
    """The mode reaches ModelTrainer(...) through the lab object, never through a literal."""
    for cell in _code(notebook):
        if "ModelTrainer(" in cell:
            for argument in ("training_mode=lab.training_mode", "sagemaker_session=lab.sagemaker_session",
                             "compute=Compute(instance_type=lab.instance_type(", "tags=lab.sdk_tags"):
                assert argument in cell, f"{argument} missing in:\n{cell}"


# What each lab teaches by name (the labs' README objectives): these calls are in its cells.
SHOWN_CALLS = {
    "01_bring_your_own_container": ("docker_run.command(", "ServingContainer(", "ModelTrainer(", "InputData(",
                                    ".train(input_data_config=", "create_model(", "create_endpoint_config(",
                                    "create_endpoint(", "invoke_endpoint(", "delete_endpoint(",
                                    "delete_endpoint_config(", "delete_model("),
    "03a_pytorch_script_mode": ("image_uris.retrieve(", "SourceCode(", "ModelTrainer(", "Torchrun("),
    "03b_tensorflow_script_mode": ("image_uris.retrieve(", "SourceCode(", "ModelTrainer("),
    "03c_mxnet_legacy": ("image_uris.retrieve(", "SourceCode(", "ModelTrainer("),
    "04_builtin_xgboost": ("image_uris.retrieve(", "ModelTrainer(", 'content_type="text/csv"', "invoke_endpoint(",
                           "create_transform_job(", '"SplitType": "Line"', 'BatchStrategy="MultiRecord"',
                           "delete_endpoint(", "delete_endpoint_config(", "delete_model("),
    "05_fairness_explainability": ("image_uris.retrieve(", "ModelTrainer(", "clarify.DataConfig(", "clarify.BiasConfig(",
                                   "clarify.ModelConfig(", "clarify.SHAPConfig(", ".get_config()",
                                   "create_processing_job("),
}


@pytest.mark.parametrize("lab", sorted(SHOWN_CALLS))
def test_a_lab_writes_out_the_calls_it_teaches(lab):
    notebook, = runner.lab_notebooks([lab])
    code = "\n".join(_code(notebook))
    assert [call for call in SHOWN_CALLS[lab] if call not in code] == []


# CONTRIBUTING.md: cells do not branch on the mode. These still do, each where a step exists in one mode only;
# the list may only shrink.
CELLS_BRANCHING_ON_THE_MODE = {"03a_pytorch_script_mode": 1, "03c_mxnet_legacy": 1, "06_security": 3}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_branches_on_the_mode_but_the_known_few(notebook):
    branching = [cell for cell in _code(notebook) if re.search(r"\blab\.mode\b|\bMODE\s*==", cell)]
    assert len(branching) == CELLS_BRANCHING_ON_THE_MODE.get(notebook.stem, 0)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lab_uses_no_private_name_of_the_sdk_or_anything_else(notebook):
    """CONTRIBUTING.md: a learner copies what a cell does, so a cell calls public names only (`obj._name`
    may change or vanish in any SDK release)."""
    private = [(i, m.group(0)) for i, cell in enumerate(_code(notebook)) for m in re.finditer(r"\.(_[A-Za-z]\w*)", cell)]
    assert private == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_ci_checks_is_recorded_once_after_the_cleanup(notebook):
    """CONTRIBUTING.md: lab.record(...) in one cell, the last code cell, after lab.cleanup.run()."""
    code = _code(notebook)
    recording = [i for i, cell in enumerate(code) if "lab.record(" in cell]
    cleaning = [i for i, cell in enumerate(code) if "lab.cleanup.run()" in cell]
    assert recording == [len(code) - 1] and cleaning and cleaning[-1] < recording[0]


# Each notebook runs once per `./workshop test`: its lab test executes it, then compares the marked cells of
# that run the way `pytest --nbval-lax` does (smworkshop.notebooks.checked_output_differences).

@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lab_test_compares_the_checked_cells_of_its_run(notebook):
    lab_test = REPO / "tests" / f"test_lab{notebook.stem.split('_')[0]}_notebook.py"
    assert "assert_checked_outputs_reproduced(" in lab_test.read_text()


def _notebook_pair(tmp_path, stored_outputs, new_outputs, marked=True, new_source=None):
    """A committed notebook with one code cell and a run of it (papermill's injected cell included)."""
    source = ("# NBVAL_CHECK_OUTPUT\n" if marked else "") + "print(answer)"
    committed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42", execution_count=1),
                                                nbformat.v4.new_code_cell(source, execution_count=2,
                                                                          outputs=stored_outputs)])
    run = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("answer = 41", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("answer = 42", execution_count=2),
        nbformat.v4.new_code_cell(new_source or source, execution_count=3, outputs=new_outputs)])
    paths = tmp_path / "committed.ipynb", tmp_path / "run.ipynb"
    for path, nb in zip(paths, (committed, run)):
        nbformat.write(nb, path)
    return paths


def _stdout(*texts):
    return [nbformat.v4.new_output("stream", name="stdout", text=text) for text in texts]


def _figure(png):
    return [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]


def test_a_checked_cell_that_prints_the_same_lines_matches_however_the_stream_was_split(tmp_path):
    assert notebooks.checked_output_differences(*_notebook_pair(tmp_path, _stdout("42\nok\n"),
                                                                _stdout("42\n", "ok\n"))) == []


def test_a_checked_cell_that_prints_something_else_is_reported_with_a_diff(tmp_path):
    differences = notebooks.checked_output_differences(*_notebook_pair(tmp_path, _stdout("42\n"), _stdout("41\n")))
    assert len(differences) == 1
    assert "'print(answer)'" in differences[0] and "-[stdout] 42" in differences[0] and "+[stdout] 41" in differences[0]


def test_a_checked_cell_that_prints_nothing_now_is_reported(tmp_path):
    assert len(notebooks.checked_output_differences(*_notebook_pair(tmp_path, _stdout("42\n"), []))) == 1


def test_figures_are_not_compared_as_nbval_leaves_images_out(tmp_path):
    assert notebooks.checked_output_differences(*_notebook_pair(tmp_path, _figure("AAAA"), _figure("BBBB"))) == []


def test_cells_that_are_not_marked_may_print_anything(tmp_path):
    assert notebooks.checked_output_differences(*_notebook_pair(tmp_path, _stdout("42\n"), _stdout("41\n"),
                                                                marked=False)) == []


def test_a_run_of_another_notebook_is_not_compared(tmp_path):
    differences = notebooks.checked_output_differences(
        *_notebook_pair(tmp_path, _stdout("42\n"), _stdout("42\n"), new_source="# NBVAL_CHECK_OUTPUT\nprint(1)"))
    assert len(differences) == 1 and "is not a run of" in differences[0]
