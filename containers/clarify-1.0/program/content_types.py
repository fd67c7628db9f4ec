"""Model requests and answers, as Clarify writes and reads them.

Requests (`predictor.content_type`): text/csv, one row per line, features only, no header; or
application/jsonlines, one line per row made from `content_template` with `$features` replaced by the
row's JSON list. Rows go in batches whose bodies stay under InvokeEndpoint's 6 MB payload limit
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).

Answers (`predictor.accept_type`), per the Clarify docs
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html):
- text/csv: one line per row. `label` and `probability` are column indices; a field holding a list
  (`"[0.1, 0.9]"`) is parsed as one. "If the label is not provided in the CSV accept_type case, then
  Clarify assumes that the model output is a single numeric value corresponding to the score or
  probability."
- application/jsonlines: one JSON value per line; `label` and `probability` are JMESPaths into it.
- application/json: one document for the whole batch; `label` and `probability` are JMESPaths that give
  one value per row (e.g. "predictions[*].score" for the built-in XGBoost's JSON).
"""
import csv
import json

import jmespath
import numpy as np

from errors import ModelError, UserError

MAX_BODY_BYTES = 6_000_000  # below 6 MB (and 6 MiB): InvokeEndpoint's payload limit


def encode_rows(lines, content_type, content_template=None):
    """CSV lines of feature values -> one request line each, in CONTENT_TYPE."""
    if content_type == "text/csv":
        return lines
    # application/jsonlines: the row as a JSON list in the template
    out = []
    for line in lines:
        values = next(csv.reader([line]))
        out.append(content_template.replace("$features", json.dumps([_number_or_text(v) for v in values])))
    return out


def batches(lines, limit=MAX_BODY_BYTES):
    """Split request lines into (first row, row count, body) batches, each body at most LIMIT bytes."""
    batch, size, start = [], 0, 0
    for index, line in enumerate(lines):
        encoded = line.encode() + b"\n"
        if len(encoded) > limit:
            raise UserError(f"row {index} alone is {len(encoded)} bytes, over the {limit}-byte request limit")
        if batch and size + len(encoded) > limit:
            yield start, len(batch), b"".join(batch)
            batch, size, start = [], 0, index
        batch.append(encoded)
        size += len(encoded)
    if batch:
        yield start, len(batch), b"".join(batch)


def _number_or_text(value):
    if isinstance(value, (int, float)) or value is None:
        return value
    text = str(value).strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _list_or_value(value):
    """A CSV field or JSON value: a list stays a list (also when written as a string "[...]")."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return _number_or_text(value) if isinstance(value, str) else value


class ModelOutput:
    """What the model said for a batch of rows: labels (or None) and scores (or None)."""

    def __init__(self, labels=None, scores=None):
        self.labels, self.scores = labels, scores


def decode(body, accept_type, rows, label=None, probability=None):
    """Parse an answer for ROWS rows into ModelOutput(labels, scores)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if accept_type == "application/json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"the model's application/json answer is not JSON: {err}: {text[:200]!r}") from None
        records = None
        labels = _search_all(document, label, "label", rows) if label is not None else None
        scores = _search_all(document, probability, "probability", rows) if probability is not None else None
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) != rows:
            raise ModelError(f"the model answered {len(lines)} line(s) for {rows} row(s) (accept_type {accept_type}): "
                            f"{text[:200]!r}")
        if accept_type == "text/csv":
            records = [next(csv.reader([line])) for line in lines]
            pick = _pick_index
        else:
            try:
                records = [json.loads(line) for line in lines]
            except json.JSONDecodeError as err:
                raise UserError(f"the model's application/jsonlines answer is not JSON Lines: {err}: {text[:200]!r}") from None
            pick = _pick_path
        labels = [pick(r, label, "label") for r in records] if label is not None else None
        scores = [pick(r, probability, "probability") for r in records] if probability is not None else None
        if label is None and probability is None:
            scores = [_single_value(r, accept_type) for r in records]
    return ModelOutput(labels=labels, scores=_as_scores(scores) if scores is not None else None)


def _single_value(record, accept_type):
    if accept_type == "text/csv":
        if len(record) != 1:
            raise UserError(f"the model's text/csv answer has {len(record)} fields per line ({','.join(record)[:100]}); "
                            "without `predictor.label` or `predictor.probability` Clarify expects one number per line")
        value = _list_or_value(record[0])
    else:
        value = record
    if isinstance(value, dict):
        raise UserError(f"the model answered {json.dumps(value)[:100]}: set `predictor.label` or "
                        "`predictor.probability` to the JMESPath of the prediction")
    return value


def _pick_index(fields, index, what):
    if index >= len(fields):
        raise UserError(f"`predictor.{what}` is index {index}, but the model's CSV answer has {len(fields)} field(s): "
                        f"{','.join(fields)[:100]}")
    return _list_or_value(fields[index])


def _pick_path(record, path, what):
    value = jmespath.search(path, record)
    if value is None:
        raise UserError(f"`predictor.{what}` {path!r} finds nothing in the model's answer {json.dumps(record)[:150]}")
    return _list_or_value(value)


def _search_all(document, path, what, rows):
    values = jmespath.search(path, document)
    if not isinstance(values, list) or len(values) != rows:
        got = f"{len(values)} values" if isinstance(values, list) else json.dumps(values)[:100]
        raise ModelError(f"`predictor.{what}` {path!r} must give one value per row ({rows}) of the application/json "
                        f"answer; it gives {got}")
    return [_list_or_value(v) for v in values]


def _as_scores(values):
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"the model's scores are not numbers: {values[:3]!r} ...") from None
    if array.ndim not in (1, 2):
        raise UserError(f"the model's scores have shape {array.shape}; one number or one list per row is expected")
    return array
