"""Run lab notebooks in local mode: executed notebook, HTML rendering and a summary table.

Used by `./workshop labs` and by the notebook tests, so both run a lab the same way.
"""
import json
import time
from pathlib import Path

from . import cleanup, results
from .paths import LABS, OUTPUT


def lab_notebooks(selected=()):
    """labs/NN[x]_topic/NN[x]_topic.ipynb in order; SELECTED filters by folder name or number (`03` selects
    03a, 03b and 03c; `03a` only 03a)."""
    found = sorted(p for p in LABS.glob("[0-9][0-9]*_*/[0-9][0-9]*_*.ipynb") if p.stem == p.parent.name)
    if selected:
        found = [p for p in found if any(p.stem == s or p.stem.split("_")[0].startswith(s) for s in selected)]
    return found


def execute(notebook, output_dir=OUTPUT, parameters=None, timeout_per_cell=1800):
    """Execute one lab with papermill in its own folder; return a summary row (never raises)."""
    import papermill

    notebook = Path(notebook)
    lab = notebook.stem
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    results.clear(lab)
    row = {"lab": lab, "status": "passed", "error": None}
    started = time.monotonic()
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters={"MODE": "local", **(parameters or {})},
                                   cwd=str(notebook.parent), kernel_name="python3", progress_bar=False,
                                   log_output=False, execution_timeout=timeout_per_cell)
    except Exception as err:  # papermill keeps the executed notebook up to the failing cell
        row.update(status="failed", error=f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}")
    row["seconds"] = round(time.monotonic() - started, 1)
    row["containers_left_running"] = len(cleanup.workshop_containers())
    recorded = results.load(lab) or {}
    key = recorded.get("key_metric")
    row["key_metric"] = f"{key} = {recorded[key]:.3f}" if key in recorded else "-"
    row["results"] = recorded
    row["html"] = str(_to_html(executed)) if executed.exists() else None
    return row


def _to_html(executed):
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    target = executed.with_suffix(".html")
    target.write_text(body)
    return target


def summary_table(rows):
    lines = ["| lab | status | duration | key metric | containers left running |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lab']} | {r['status']} | {r['seconds']:.0f} s | {r['key_metric']} | "
                     f"{r['containers_left_running']} |")
    return "\n".join(lines)


def run_labs(selected=(), parameters=None, output_dir=OUTPUT, say=print):
    notebooks = lab_notebooks(selected)
    if not notebooks:
        raise SystemExit(f"no lab notebooks match {list(selected)} under {LABS}")
    rows = []
    for notebook in notebooks:
        say(f"running {notebook.relative_to(LABS.parent)} (local mode) ...")
        row = execute(notebook, output_dir, parameters)
        say(f"  {row['status']} in {row['seconds']:.0f} s; {row['key_metric']}" + (f"; {row['error']}" if row["error"] else ""))
        rows.append(row)
    table = summary_table(rows)
    (output_dir / "summary.md").write_text("# Lab run summary (local mode)\n\n" + table + "\n")
    (output_dir / "summary.json").write_text(json.dumps(rows, indent=2, default=str))
    say("\n" + table + f"\n\nexecuted notebooks, HTML and summary: {output_dir}")
    return rows
