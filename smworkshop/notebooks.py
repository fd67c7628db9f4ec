"""Notebook hygiene: outputs are stripped in git except cells marked NBVAL_CHECK_OUTPUT.

python -m smworkshop.notebooks strip labs/*/*.ipynb
python -m smworkshop.notebooks keep-checked SOURCE.ipynb EXECUTED.ipynb   (refresh checked outputs)
"""
import sys

import nbformat

MARK = "NBVAL_CHECK_OUTPUT"


def checked(cell):
    return cell.cell_type == "code" and MARK in cell.source


def strip(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            # nbval compares only cells that ran: checked cells keep their count and outputs
            if not checked(cell):
                cell.execution_count = None
                cell.outputs = []
            cell.metadata.pop("execution", None)
            cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, path)


def unstripped_cells(path):
    """Indexes of code cells that keep outputs although they are not marked to."""
    nb = nbformat.read(path, as_version=4)
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs and not checked(c)]


def keep_checked(source, executed):
    """Copy the outputs of marked cells from an executed copy into the source notebook."""
    src, run = nbformat.read(source, as_version=4), nbformat.read(executed, as_version=4)
    # papermill inserts an "injected-parameters" cell after the parameters cell: not in the source
    run_cells = [c for c in run.cells
                 if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    for cell, ran in zip((c for c in src.cells if c.cell_type == "code"), run_cells):
        if checked(cell):
            cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
    nbformat.write(src, source)
    strip(source)


if __name__ == "__main__":
    command, *files = sys.argv[1:]
    if command == "strip":
        for f in files:
            strip(f)
    elif command == "keep-checked":
        keep_checked(*files)
    else:
        sys.exit(__doc__)
