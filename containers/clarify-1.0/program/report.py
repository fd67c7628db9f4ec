"""The report asked for with `methods.report`: NAME.html (figures embedded as PNG) and NAME.ipynb (the same
content as a notebook whose cells already carry their outputs, so it opens without being run).

Clarify writes report.ipynb plus a PDF/HTML rendering of it; this container writes the notebook and an
HTML page, with a figure per bias section and one of the global SHAP values.
"""
import base64
import html
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOP_FEATURES = 20


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _bias_figure(title, entries):
    rows = [(f"{m['name']} ({facet} = {entry['value_or_threshold']})", m["value"])
            for facet, facet_entries in entries.items() for entry in facet_entries for m in entry["metrics"]
            if isinstance(m.get("value"), (int, float))]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
    names = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    axes.barh(names, values, color=["#c0392b" if v < 0 else "#2e86c1" for v in values])
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_title(title)
    axes.set_xlabel("metric value (0 = no difference between the groups for most metrics; DI: 1)")
    return _png(figure)


def _shap_figure(label, values):
    top = sorted(values.items(), key=lambda kv: abs(kv[1]), reverse=True)[:TOP_FEATURES][::-1]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(top) + 1.2))
    axes.barh([str(k) for k, _ in top], [v for _, v in top], color="#2e86c1")
    axes.set_title(f"Global SHAP values ({label}), top {len(top)}")
    axes.set_xlabel("aggregated SHAP value")
    return _png(figure)


def _metric_table(entries):
    lines = ["| facet | value or threshold | metric | description | value |", "|---|---|---|---|---|"]
    for facet, facet_entries in entries.items():
        for entry in facet_entries:
            for m in entry["metrics"]:
                value = m.get("value")
                shown = f"{value:.4g}" if isinstance(value, (int, float)) else (m.get("error") or str(value))
                lines.append(f"| {facet} | {entry['value_or_threshold']} | {m['name']} | {m['description']} | "
                             f"{shown.replace('|', '/')} |")
    return "\n".join(lines)


def sections(analysis, title):
    """[(markdown text, PNG base64 or None)] in report order."""
    out = [(f"# {title}\n\nWritten by the workshop's open Clarify-compatible processing container from "
            "`analysis.json` (the same numbers).", None)]
    for key, heading in (("pre_training_bias_metrics", "Pre-training bias"),
                         ("post_training_bias_metrics", "Post-training bias")):
        if key in analysis:
            part = analysis[key]
            out.append((f"## {heading}\n\nLabel `{part['label']}`, positive outcome: "
                        f"`{part['label_value_or_threshold']}`.\n\n{_metric_table(part['facets'])}",
                        _bias_figure(heading, part["facets"])))
    for label, part in analysis.get("explanations", {}).get("kernel_shap", {}).items():
        table = "\n".join(["| feature | value |", "|---|---|"] + [
            f"| {k} | {v:.4g} |" for k, v in sorted(part["global_shap_values"].items(), key=lambda kv: -abs(kv[1]))])
        out.append((f"## Kernel SHAP, {label}\n\nExpected value (the model's average output over the baseline): "
                    f"{part['expected_value']:.4g}.\n\n{table}", _shap_figure(label, part["global_shap_values"])))
    return out


def _markdown_to_html(text):
    """Just enough Markdown for the report: headings, paragraphs, pipe tables, `code`."""
    out, table = [], []

    def inline(s):
        parts = html.escape(s).split("`")
        return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))

    def flush():
        if table:
            head, *body = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = lambda r: [c.strip() for c in r.strip().strip("|").split("|")]  # noqa: E731
            out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells(head)) + "</tr>" + "".join(
                "<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells(r)) + "</tr>" for r in body) + "</table>")
            table.clear()

    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith("|") for line in lines):
            table.extend(lines)
            flush()
        elif block.startswith("#"):
            level = len(block) - len(block.lstrip("#"))
            out.append(f"<h{level}>{inline(block[level:].strip())}</h{level}>")
        else:
            out.append(f"<p>{inline(block)}</p>")
    return "\n".join(out)


def write(analysis, folder, name="report", title="SageMaker Analysis Report"):
    """Write FOLDER/NAME.html and FOLDER/NAME.ipynb; return their paths."""
    parts = sections(analysis, title)
    body = []
    for text, png in parts:
        body.append(_markdown_to_html(text))
        if png:
            body.append(f'<img alt="figure" src="data:image/png;base64,{png}">')
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}img{max-width:100%}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    html_path = folder / f"{name}.html"
    html_path.write_text(page)
    cells = []
    for number, (text, png) in enumerate(parts):
        cells.append({"cell_type": "markdown", "id": f"text-{number}", "metadata": {}, "source": text})
        if png:
            cells.append({"cell_type": "code", "id": f"figure-{number}", "metadata": {}, "execution_count": None,
                          "source": "# figure drawn by the analysis container (its output is stored, not computed)",
                          "outputs": [{"output_type": "display_data", "metadata": {},
                                       "data": {"image/png": png, "text/plain": "<figure>"}}]})
    notebook = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                             "language_info": {"name": "python"}}}
    notebook_path = folder / f"{name}.ipynb"
    notebook_path.write_text(json.dumps(notebook, indent=1))
    return html_path, notebook_path
