"""The dataset under /opt/ml/processing/input/data as one table, and which columns play which part.

- text/csv: every file in the folder and its subfolders (names starting with "." are skipped), in name
  order. With `headers` in the config, a file whose first row equals `headers` has that row skipped
  (a header row); otherwise every row is data. Without `headers`, the first row of each file names the
  columns. `label`, `predicted_label`, `facet`, `group_variable` and `excluded_columns` are column names or
  0-based column indices.
- application/jsonlines: one JSON object per line; `features` is a JMESPath to the list of feature values,
  `label` (and `predicted_label`) JMESPaths to single values. `headers` names the features, with the
  label's name last when there is a label (as the Clarify docs say); without `headers` the features are
  named "0", "1", ... A facet or group variable is a feature name or a 0-based index into the features.

The model is sent every column except the label, the predicted label and the excluded columns, in
dataset order (facets and the group variable too, unless excluded).
"""
import csv
import io
import json
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


def _first_row(path):
    with open(path, newline="") as stream:
        for row in csv.reader(stream):
            return [cell.strip() for cell in row]
    return None


def _read_csv(files, headers):
    parts = []
    for path in files:
        first = _first_row(path)
        if first is None:
            continue  # an empty file adds no rows
        if headers:
            has_header = first == list(headers)
            names = list(headers)
        else:
            has_header, names = True, first
        if len(first) != len(names):
            raise UserError(f"{path.name}: rows have {len(first)} columns but `headers` names {len(names)}")
        try:
            part = pd.read_csv(path, header=None, names=names, skiprows=1 if has_header else 0,
                               skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as err:
            raise UserError(f"{path.name} cannot be read as CSV: {err}") from None
        parts.append(part)
    if not parts:
        raise UserError("the dataset files are empty")
    if not headers and len({tuple(p.columns) for p in parts}) > 1:
        raise UserError("the dataset files have different header rows")
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
    headers = config.get("headers")
    label_name = None
    if headers:
        if "label" in paths and len(headers) == width + 1:
            names, label_name = list(headers[:-1]), headers[-1]
        elif len(headers) == width:
            names = list(headers)
        else:
            raise UserError(f"`headers` names {len(headers)} columns; the rows have {width} features"
                            + (" and a label (its name goes last)" if "label" in paths else ""))
    else:
        names = [str(i) for i in range(width)]
    frame = pd.DataFrame(rows, columns=names)
    # Numbers that came as JSON numbers stay numbers; let pandas find the best type per column.
    frame = frame.infer_objects()
    if "label" in paths:
        label_name = label_name or config["label"]
        frame[label_name] = pd.Series(extra["label"]).infer_objects()
    if "predicted_label" in paths:
        frame[config["predicted_label"]] = pd.Series(extra["predicted_label"]).infer_objects()
    return frame, names, label_name


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
        frame, feature_names, label = _read_jsonlines(files, config)
        columns = list(frame.columns)
        predicted = config.get("predicted_label")
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
