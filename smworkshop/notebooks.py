"""Notebook hygiene: outputs are stripped in git except cells marked NBVAL_CHECK_OUTPUT.

python -m smworkshop.notebooks strip labs/*/*.ipynb
python -m smworkshop.notebooks keep-checked SOURCE.ipynb EXECUTED.ipynb   (refresh checked outputs)

The marked cells are compared the way `pytest --nbval-lax` compares them, on the run a lab test already made
(`checked_output_differences`), so CI executes every notebook once.
"""
import difflib
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


def _ran_code_cells(notebook):
    # papermill inserts an "injected-parameters" cell after the parameters cell: not in the source
    return [c for c in notebook.cells
            if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]


# The output keys nbval leaves out of its comparison (nbval 0.11 plugin.py IPyNbFile.__init__, without
# --nbdime): counts, metadata and tracebacks vary between runs, and figures are compared by eye.
NBVAL_SKIPPED_KEYS = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                      "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def _comparable(outputs):
    """Outputs as nbval compares them: streams of one name joined (its coalesce_streams), then every
    remaining key, and every MIME type of `data`, mapped to the list of its values in order."""
    from nbval.plugin import coalesce_streams, transform_streams_for_comparison

    flat = {}
    for output in transform_streams_for_comparison(coalesce_streams(nbformat.from_dict(outputs))):
        for key, value in output.items():
            if key == "data":
                for mime, content in value.items():
                    if mime not in NBVAL_SKIPPED_KEYS:
                        flat.setdefault(mime, []).append(content)
            elif key not in NBVAL_SKIPPED_KEYS:
                flat.setdefault(key, []).append(value)
    return flat


def checked_output_differences(source, executed):
    """For each marked cell of SOURCE whose output the run EXECUTED did not reproduce: a unified diff of
    the stored output against the new one. An empty list means every marked cell came out the same."""
    src, run = nbformat.read(source, as_version=4), nbformat.read(executed, as_version=4)
    src_cells, run_cells = _ran_code_cells(src), _ran_code_cells(run)
    if [c.source for c in src_cells] != [c.source for c in run_cells]:
        return [f"{executed} is not a run of {source}: their code cells differ"]
    differences = []
    for number, (cell, ran) in enumerate(zip(src_cells, run_cells), start=1):
        stored, new = _comparable(cell.outputs), _comparable(ran.outputs)
        if checked(cell) and stored != new:
            def lines(flat):
                return [f"[{key}] {line}" for key in sorted(flat) for value in flat[key]
                        for line in str(value).splitlines()]
            diff = difflib.unified_diff(lines(stored), lines(new), "stored output", "this run", lineterm="")
            first_line = next((line for line in cell.source.splitlines() if MARK not in line), "")
            differences.append(f"code cell {number} ({first_line[:60]!r}):\n" + "\n".join(diff))
    return differences


def keep_checked(source, executed):
    """Copy the outputs of marked cells from an executed copy into the source notebook."""
    src, run = nbformat.read(source, as_version=4), nbformat.read(executed, as_version=4)
    for cell, ran in zip(_ran_code_cells(src), _ran_code_cells(run)):
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
