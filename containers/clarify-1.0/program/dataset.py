"""The dataset under /opt/ml/processing/input/data as one table, and which columns play which part.

- text/csv: every file in the folder and its subfolders (names starting with "." are skipped), in name
  order. The developer guide's `headers` entry: "If a value for `headers` is not provided, then the
  Clarify processing job reads the headers from the dataset. If the dataset doesn't have headers, then
  the Clarify processing job will automatically generate placeholder names based on zero-based column
  index ... column_0, column_1". How Clarify tells a header row from a data row is not documented, so
  this container decides per file from the first row and up to SAMPLE_ROWS rows after it
  (`header_row_evidence`), and refuses where the evidence is missing or contradictory instead of
  guessing: a number is never read as a column name, and a name is never read as a data value.
  With `headers` in the config, a first row equal to `headers` is skipped; a first row that looks like
  a header row but differs from `headers` (also only in upper/lower case) is an error.
  `label`, `predicted_label`, `facet`, `group_variable` and `excluded_columns` are column names or
  0-based column indices.
- application/jsonlines: one JSON object per line; `features` is a JMESPath to the list of feature values,
  `label` (and `predicted_label`) JMESPaths to single values. `headers` names the features, then the
  label, then the predicted label (each when there is one), as the developer guide's note says; without
  `headers` the features are named column_0, column_1, ... and the label label0 (the guide's JSON Lines
  SHAP example: "generic names like column_0 or column_1 for feature headers, and label0 for a label
  header"). A facet or group variable is a feature name or a 0-based index into the features.

The model is sent every column except the label, the predicted label and the excluded columns, in
dataset order (facets and the group variable too, unless excluded).
"""
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jmespath
import pandas as pd

from errors import UserError


@dataclass
class Dataset:
    frame: pd.DataFrame
    features: list
    label: str = None
    predicted_label: str = None
    facets: list = field(default_factory=list)  # [(column name, value_or_threshold or None)]
    group_variable: str = None
    files: list = field(default_factory=list)


def data_files(folder):
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise UserError(f"no data: {folder} holds no files (the processing input `dataset` must be mounted there)")
    return files


SAMPLE_ROWS = 1000  # rows after the first one that decide what each column holds
# Cells that pandas reads as missing: no evidence for or against a header row.
MISSING = {"", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None", "#N/A", "<NA>"}
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def placeholder_names(count):
    """The developer guide's placeholder column names: column_0, column_1, ..."""
    return [f"column_{i}" for i in range(count)]


def _head(path):
    """The first row of PATH (cells stripped) and up to SAMPLE_ROWS rows after it; (None, []) when empty."""
    rows = []
    with open(path, newline="") as stream:
        for row in csv.reader(stream, skipinitialspace=True):
            if row:
                rows.append([cell.strip() for cell in row])
            if len(rows) > SAMPLE_ROWS:
                break
    return (rows[0], rows[1:]) if rows else (None, [])


def _kind(cell):
    if cell in MISSING:
        return "missing"
    return "number" if NUMBER.fullmatch(cell) else "text"


def header_row_evidence(first, rest):
    """What the first row's cells say, column by column: {"header"|"data": {"strong"|"weak": [reasons]}}.

    Strong: a number in the first row is a data value (a column name is never read from a number); a text
    above a column of numbers is a column name. Weak: a text that occurs again further down its column is
    a data value; a text that is not one of the values of a column whose values repeat (a categorical
    column) is a column name. A missing cell, or a text above texts that never repeat (free text,
    identifiers), says nothing."""
    evidence = {"header": {"strong": [], "weak": []}, "data": {"strong": [], "weak": []}}
    for index, cell in enumerate(first):
        column = [row[index] for row in rest if index < len(row) and _kind(row[index]) != "missing"]
        if _kind(cell) == "number":
            evidence["data"]["strong"].append(f"column {index} starts with the number {cell}")
        elif _kind(cell) == "missing" or not column:
            continue
        elif all(_kind(value) == "number" for value in column):
            evidence["header"]["strong"].append(f"column {index} holds numbers under the text {cell!r}")
        elif cell in column:
            evidence["data"]["weak"].append(f"{cell!r} occurs again in column {index}")
        elif len(set(column)) < len(column):
            evidence["header"]["weak"].append(f"{cell!r} is not one of column {index}'s values")
    return evidence


def first_row_is_header(first, rest):
    """True, False, or a UserError's reason (str) when the evidence is contradictory or missing: strong
    evidence decides against weak; strong against strong, weak against weak, or none at all is refused."""
    evidence = header_row_evidence(first, rest)
    for strength in ("strong", "weak"):
        header, data = evidence["header"][strength], evidence["data"][strength]
        if header and data:
            return f"{header[0]}, but {data[0]}"
        if header or data:
            return bool(header)
    return ("no column holds numbers under it, and none of its texts is either a value of its column or "
            "missing from a column of repeated values")


def _csv_names(path, first, rest, headers):
    """(column names, whether the first row is a header row) for one CSV file; a UserError where that
    cannot be told safely."""
    if headers and first == list(headers):
        return list(headers), True
    shown = ",".join(first)[:200]
    same_but_case = bool(headers) and [c.lower() for c in first] == [h.lower() for h in headers]
    verdict = True if same_but_case else first_row_is_header(first, rest)
    if isinstance(verdict, str):
        raise UserError(f"{path.name}: cannot tell whether the first row ({shown}) is a header row or data: "
                        f"{verdict}. " + ("Remove the header row or make it equal to `headers`" if headers else
                                          "Give the column names in `headers`"))
    if verdict and headers:
        raise UserError(f"{path.name}: the first row ({shown}) is a header row but differs from `headers` "
                        f"({','.join(headers)[:200]})" + (" only in upper/lower case" if same_but_case else "")
                        + ": make them equal, or remove the row from the file")
    if verdict:
        if any(_kind(cell) == "missing" for cell in first) or len(set(first)) < len(first):
            raise UserError(f"{path.name}: the header row ({shown}) has an empty or repeated column name")
        return first, True
    return (list(headers) if headers else placeholder_names(len(first))), False


def _read_csv(files, headers):
    parts, names_by_file = [], {}
    for path in files:
        first, rest = _head(path)
        if first is None:
            continue  # an empty file adds no rows
        if headers and len(first) != len(headers):
            raise UserError(f"{path.name}: rows have {len(first)} columns but `headers` names {len(headers)}")
        names, has_header = _csv_names(path, first, rest, headers)
        names_by_file[path.name] = (names, has_header)
        try:
            part = pd.read_csv(path, header=None, names=names, skiprows=1 if has_header else 0,
                               skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as err:
            raise UserError(f"{path.name} cannot be read as CSV: {err}") from None
        parts.append(part)
    if not parts:
        raise UserError("the dataset files are empty")
    if not headers and len({tuple(names) for names, _ in names_by_file.values()}) > 1:
        described = "; ".join(f"{name}: {'header row ' + ','.join(names)[:80] if has_header else 'no header row'}"
                              for name, (names, has_header) in names_by_file.items())
        raise UserError(f"the dataset files do not have the same columns ({described}): give every file the same "
                        "header row, or none and the column names in `headers`")
    return pd.concat(parts, ignore_index=True)


def _jmespath(expression, what):
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as err:
        raise UserError(f"`{what}` {expression!r} is not a valid JMESPath: {err}") from None


def _read_jsonlines(files, config):
    features_path = _jmespath(config["features"], "features")
    paths = {key: _jmespath(config[key], key) for key in ("label", "predicted_label")
             if isinstance(config.get(key), str)}
    for key in ("label", "predicted_label"):
        if isinstance(config.get(key), int):
            raise UserError(f"`{key}` must be a JMESPath for dataset_type application/jsonlines, not {config[key]}")
    rows, extra = [], {key: [] for key in paths}
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path.name} line {number} is not JSON: {err}") from None
            values = features_path.search(record)
            if not isinstance(values, list):
                raise UserError(f"{path.name} line {number}: `features` {config['features']!r} gives "
                                f"{json.dumps(values)[:80]}, not a list")
            rows.append(values)
            for key, compiled in paths.items():
                extra[key].append(compiled.search(record))
    if not rows:
        raise UserError("the dataset files hold no JSON lines")
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise UserError(f"the rows have different numbers of features: {sorted(widths)}")
    width = widths.pop()
    # headers: the feature names, then the label's, then the predicted label's (each when there is one)
    extras = [key for key in ("label", "predicted_label") if key in paths]
    headers = config.get("headers")
    if headers and len(headers) not in (width, width + len(extras)):
        raise UserError(f"`headers` names {len(headers)} columns; the rows have {width} features"
                        + "".join(f" and a {key.replace('_', ' ')}" for key in extras)
                        + " (headers: the feature names, then " + " and ".join(extras or ["nothing else"]) + ")")
    names = list(headers[:width]) if headers else placeholder_names(width)
    extra_names = dict(zip(extras, headers[width:])) if headers and len(headers) > width else {}
    label_name = extra_names.get("label", "label0") if "label" in paths else None
    frame = pd.DataFrame(rows, columns=names)
    # Numbers that came as JSON numbers stay numbers; let pandas find the best type per column.
    frame = frame.infer_objects()
    if "label" in paths:
        frame[label_name] = pd.Series(extra["label"]).infer_objects()
    predicted_name = None
    if "predicted_label" in paths:
        predicted_name = extra_names.get("predicted_label", config["predicted_label"])
        frame[predicted_name] = pd.Series(extra["predicted_label"]).infer_objects()
    return frame, names, label_name, predicted_name


def _column(columns, ref, what, index_space=None):
    """The column name for REF (a name, or a 0-based index into INDEX_SPACE, default all columns)."""
    space = list(index_space if index_space is not None else columns)
    if isinstance(ref, int):
        if not 0 <= ref < len(space):
            raise UserError(f"`{what}` is column index {ref}, but there are {len(space)} columns (0-{len(space) - 1})")
        return space[ref]
    if ref not in columns:
        shown = ", ".join(map(str, list(columns)[:30])) + (" ..." if len(columns) > 30 else "")
        raise UserError(f"`{what}` names column {ref!r}, which the dataset does not have (columns: {shown})")
    return ref


def read(config, folder):
    files = data_files(folder)
    if config["dataset_type"] == "text/csv":
        frame = _read_csv(files, config.get("headers"))
        columns = list(frame.columns)
        label = _column(columns, config["label"], "label") if "label" in config else None
        predicted = (_column(columns, config["predicted_label"], "predicted_label")
                     if "predicted_label" in config else None)
        index_space = columns
    else:
        frame, feature_names, label, predicted = _read_jsonlines(files, config)
        columns = list(frame.columns)
        index_space = feature_names
    if frame.empty:
        raise UserError("the dataset has no rows")
    excluded = [_column(columns, ref, "excluded_columns", index_space) for ref in config.get("excluded_columns", [])]
    features = [c for c in (index_space if config["dataset_type"] != "text/csv" else columns)
                if c not in {label, predicted, *excluded}]
    if not features:
        raise UserError("no feature columns are left for the model (all are label, predicted label or excluded)")
    facets = [(_column(columns, f["name_or_index"], "facet.name_or_index", index_space), f.get("value_or_threshold"))
              for f in config.get("facet", [])]
    group = (_column(columns, config["group_variable"], "group_variable", index_space)
             if "group_variable" in config else None)
    if label is not None and frame[label].isna().all():
        raise UserError(f"the label column {label!r} has no values")
    return Dataset(frame=frame, features=features, label=label, predicted_label=predicted, facets=facets,
                   group_variable=group, files=[str(p) for p in files])


def to_csv_lines(frame):
    """Rows of FRAME as CSV lines without header or index (what text/csv models are sent)."""
    text = frame.to_csv(header=False, index=False, lineterminator="\n")
    lines = text.split("\n")[:-1]
    if len(lines) != len(frame):  # a value with a newline inside quotes: take the slow, exact way
        lines = []
        for row in frame.itertuples(index=False):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(row)
            lines.append(buffer.getvalue())
    return lines
