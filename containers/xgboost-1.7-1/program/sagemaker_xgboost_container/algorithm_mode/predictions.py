"""Serving: load the model, read a request body, predict, and write the answer in the accepted format.

Follows, on branch 1.7-1 of github.com/aws/sagemaker-xgboost-container,
src/sagemaker_xgboost_container/algorithm_mode/serve_utils.py and encoder.py, and the CSV encoder of
sagemaker-containers v2.8.6.post2 (_encoders.array_to_csv):
- every file in the model folder whose name does not start with "." is a model
  (SAGEMAKER_INFERENCE_ENSEMBLE, default "true"; otherwise only the first): a pickled Booster, else a
  file Booster.load_model reads; each gets nthread=1; several models are averaged (a per-row vote for
  multi:softmax and binary:hinge). One deliberate difference: a tar archive there is skipped. SageMaker
  SDK local mode unpacks model.tar.gz next to itself and mounts that folder, so the real image would try
  the archive as a model and fail its /ping; on SageMaker the folder never holds the archive;
- CSV bodies: stripped, the delimiter sniffed from the first line (an alphanumeric one means ","),
  lines split on "\n", empty fields are missing values, no label column;
- LIBSVM bodies: `index:value` pairs per line (a leading label is ignored), column count = largest
  index + 1; RecordIO-protobuf bodies: features["values"] of each record;
- a body that cannot be read: "Loading csv data failed with Exception, ..." (the real image answers 415);
- pickled boosters check the column count ("Feature size of csv inference data N is not consistent
  with feature size of trained model M.", one column fewer is allowed); XGBoost itself refuses more
  columns than the model has and fills in fewer as missing values;
- outputs: text/csv one prediction per line with a trailing newline (rows of class probabilities
  comma-joined), application/json {"predictions": [{"score": ...}, ...]}; SAGEMAKER_BATCH: str() of
  each prediction per line, whatever the Accept; SAGEMAKER_INFERENCE_OUTPUT: the selected keys.
"""
import csv
import io
import json
import logging
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import xgboost as xgb

from . import recordio
from .content_types import CSV, LIBSVM, RECORDIO_PROTOBUF, get_content_type
from .errors import short_message

log = logging.getLogger("xgboost-twin")
PKL_FORMAT, XGB_FORMAT = "pkl_format", "xgb_format"

# Selectable inference (SAGEMAKER_INFERENCE_OUTPUT): the keys each objective can answer.
PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES = "predicted_label", "labels", "probability", "probabilities"
RAW_SCORE, RAW_SCORES, PREDICTED_SCORE = "raw_score", "raw_scores", "predicted_score"
KEY_ORDER = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES, PREDICTED_SCORE]
_CLASSIFIER_KEYS = [PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES]
VALID_OBJECTIVES = {
    "reg:squarederror": [PREDICTED_SCORE], "reg:logistic": [PREDICTED_SCORE], "reg:gamma": [PREDICTED_SCORE],
    "reg:absoluteerror": [PREDICTED_SCORE], "reg:tweedie": [PREDICTED_SCORE],
    "binary:logistic": [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES],
    "binary:logitraw": _CLASSIFIER_KEYS, "binary:hinge": _CLASSIFIER_KEYS, "multi:softmax": _CLASSIFIER_KEYS,
    "multi:softprob": [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES],
}


class BadPayload(ValueError):
    """The body cannot be read as the content type it claims (the real image answers 415)."""


# ---- the model ----------------------------------------------------------------------------------

class Model:
    def __init__(self, boosters, formats):
        self.boosters, self.formats = boosters, formats
        config = json.loads(boosters[0].save_config())
        self.objective = config["learner"]["objective"]["name"]
        self.num_class = config["learner"]["learner_model_param"].get("num_class", "")


def load(model_dir, ensemble=True):
    """Every non-dot file of MODEL_DIR (or only the first one without ensemble) as a Booster."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise RuntimeError(f"no model folder at {model_dir}")
    paths = []
    for path in sorted(model_dir.iterdir()):
        if path.is_file():
            if path.name.startswith("."):
                log.warning("Ignoring dotfile '%s' found in model directory - please exclude dotfiles from "
                            "model archives", path)
            elif tarfile.is_tarfile(path):
                # SageMaker SDK local mode unpacks model.tar.gz next to itself and mounts that folder.
                log.info("Skipping the archive %s: its unpacked files are the model", path)
            else:
                paths.append(path)
    if not paths:
        raise RuntimeError(f"no model file in {model_dir} (a training job saves xgboost-model there)")
    boosters, formats = [], []
    for path in paths if ensemble else paths[:1]:
        log.info("Loading the model from %s", path)
        try:
            with open(path, "rb") as handle:
                booster, kind = pickle.load(handle), PKL_FORMAT
            if not isinstance(booster, xgb.Booster):
                raise TypeError(f"the pickle holds a {type(booster).__name__}, not an xgboost Booster")
        except Exception as pickle_error:  # noqa: BLE001 - then it should be XGBoost's own format
            try:
                booster, kind = xgb.Booster(), XGB_FORMAT
                booster.load_model(str(path))
            except Exception as xgb_error:  # noqa: BLE001
                raise RuntimeError(f"Model {path} cannot be loaded:\nPickle load error={pickle_error}"
                                   f"\nXGB load model error={short_message(xgb_error)}") from None
        booster.set_param("nthread", 1)
        boosters.append(booster)
        formats.append(kind)
    return Model(boosters, formats)


# ---- request bodies -----------------------------------------------------------------------------

def parse(body, content_type_header):
    """(DMatrix, data format) of a request body; UserError (unsupported type) or BadPayload."""
    kind = get_content_type(content_type_header)
    if kind == CSV:
        try:
            return xgb.DMatrix(csv_to_array(body.strip().decode("utf-8"))), kind
        except Exception as err:  # noqa: BLE001
            raise BadPayload("Loading csv data failed with Exception, please ensure data is in csv format:\n"
                             f" {type(err)}\n {short_message(err)}") from None
    if kind == LIBSVM:
        try:
            return xgb.DMatrix(libsvm_to_sparse(body.strip().decode("utf-8"))), kind
        except Exception as err:  # noqa: BLE001
            raise BadPayload("Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n"
                             f" {type(err)}\n {short_message(err)}") from None
    if kind == RECORDIO_PROTOBUF:
        try:
            features, _ = recordio.to_matrix(recordio.split_records(body), with_labels=False)
            if features is None:
                raise ValueError("no records in the body")
            return xgb.DMatrix(features), kind
        except Exception as err:  # noqa: BLE001
            raise BadPayload("Loading recordio-protobuf data failed with Exception, please ensure data is in "
                             f"recordio-protobuf format: {type(err)} {short_message(err)}") from None
    raise BadPayload(f"Content-type {content_type_header} is not supported.")


def csv_to_array(text):
    """Rows of a CSV body as floats: sniffed delimiter, "" -> NaN, every row as wide as the first."""
    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if cell == "" else cell for cell in line.split(delimiter)] for line in text.split("\n")]
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} values, row 1 has {width} "
                             f"(delimiter {delimiter!r})")
    try:
        # The real encoder builds an array of strings and casts it (np.array(rows).astype(dtype)); numpy 1.24
        # converts each cell with Python's float() either way, so the values are the same, and going straight
        # to floats takes a quarter of the time (13 vs 57 ms for 1,000 rows of 91 columns: the cast was 90 %
        # of the time an answer takes). benchmarks/serving_benchmark.py measures it.
        return np.array(rows, dtype=float)
    except ValueError:
        for number, row in enumerate(rows, start=1):
            for column, cell in enumerate(row, start=1):
                try:
                    float(cell)
                except ValueError:
                    raise ValueError(f"row {number}, column {column}: {cell!r} is not a number") from None
        raise


def libsvm_to_sparse(text):
    """`[label] index:value ...` lines -> CSR matrix with max(index) + 1 columns (labels ignored)."""
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":")[:2]
                rows.append(row)
                cols.append(int(index))
                values.append(float(value))
    if not rows:
        raise ValueError("no index:value pairs in the body")
    return csr_matrix((values, (rows, cols)))


# ---- prediction ---------------------------------------------------------------------------------

def predict(model, dtest, kind):
    first, first_format = model.boosters[0], model.formats[0]
    if first_format == PKL_FORMAT:
        expected = first.num_features()
        got = len(dtest.feature_names) if dtest.feature_names is not None else dtest.num_col()
        if kind == LIBSVM and got > expected + 1:
            raise ValueError(f"Feature size of libsvm inference data {got} is larger than feature size of "
                             f"trained model {expected}.")
        if kind in (CSV, RECORDIO_PROTOBUF) and not (got == expected or expected == got + 1):
            raise ValueError(f"Feature size of {kind} inference data {got} is not consistent with feature "
                             f"size of trained model {expected}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ntree_limit is deprecated in 1.7; the real image uses it
        outputs = [booster.predict(dtest, ntree_limit=getattr(booster, "best_ntree_limit", 0),
                                   validate_features=False) for booster in model.boosters]
    if len(outputs) == 1:
        return outputs[0]
    if model.objective in ("multi:softmax", "binary:hinge"):
        return _vote(np.stack(outputs))
    return np.mean(outputs, axis=0)


def _vote(stacked):
    """Per prediction the most common value over the models (the smallest one on a tie)."""
    out = np.empty(stacked.shape[1:], dtype=stacked.dtype)
    for index in np.ndindex(*stacked.shape[1:]):
        values, counts = np.unique(stacked[(slice(None), *index)], return_counts=True)
        out[index] = values[np.argmax(counts)]
    return out


# ---- answers ------------------------------------------------------------------------------------

class UnsupportedFormat(ValueError):
    """An answer type sagemaker-containers' encoder cannot write (its UnsupportedFormatError)."""

    def __init__(self, content_type):
        super().__init__(f"Content type {content_type} is not supported by this framework.\n\n"
                         "Please implement input_fn to to deserialize the request data or an output_fn to\n"
                         "serialize the response. For more information, see the SageMaker Python SDK README.")


def encode(predictions, accept, batch):
    """The default answer (no SAGEMAKER_INFERENCE_OUTPUT): serve.py's encode_predictions_as_json for
    application/json, else sagemaker-containers' _encoders.encode, which writes text/csv (array_to_csv)
    and application/x-npy (np.save of the list) and raises UnsupportedFormatError for anything else."""
    values = predictions.tolist()
    if batch:
        return "".join(f"{value}\n" for value in values)
    if accept == "application/json":
        return json.dumps({"predictions": [{"score": value} for value in values]})
    if accept == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, values)
        return buffer.getvalue()
    if accept != "text/csv":
        raise UnsupportedFormat(accept)
    # text/csv: one row per prediction (array_to_csv)
    rows = values if predictions.ndim > 1 else [[value] for value in values]
    return "".join(",".join(str(cell) for cell in row) + "\n" for row in rows)


def selected_keys():
    return os.environ["SAGEMAKER_INFERENCE_OUTPUT"].replace(" ", "").lower().split(",")


def select(predictions, keys, objective, num_class=""):
    """One dict per prediction with the requested keys (NaN for keys the objective cannot answer)."""
    if objective not in VALID_OBJECTIVES:
        raise ValueError(f"Objective `{objective}` unsupported for selectable inference predictions.")
    valid = [key for key in KEY_ORDER if key in keys and key in VALID_OBJECTIVES[objective]]
    invalid = [key for key in dict.fromkeys(keys) if key not in VALID_OBJECTIVES[objective]]
    if invalid:
        log.warning("Selected key(s) %s incompatible for objective '%s'. Please use list of compatible "
                    "selectable inference predictions: %s", invalid, objective, VALID_OBJECTIVES[objective])
    out = []
    for raw in predictions:
        answer = {key: _selected(key, objective, raw, num_class) for key in valid}
        answer.update({key: float("nan") for key in invalid})
        out.append(answer)
    return out


def _selected(key, objective, raw, num_class):
    multi_prob = objective == "multi:softprob"
    if key == PREDICTED_LABEL:
        if objective in ("binary:hinge", "multi:softmax"):
            return raw.item()
        if objective == "binary:logistic":
            return int(raw > 0.5)
        if objective == "binary:logitraw":
            return int(raw > 0)
        return int(np.argmax(raw))  # multi:softprob
    if key == LABELS:
        if objective.startswith("binary:"):
            return [0, 1]
        return list(range(int(num_class))) if objective.startswith("multi:") and num_class else float("nan")
    if key == PROBABILITY:
        return max(raw).item() if multi_prob else raw.item()
    if key == PROBABILITIES:
        return raw.tolist() if multi_prob else [1.0 - raw.item(), raw.item()]
    if key == RAW_SCORE:
        return max(raw).item() if multi_prob else raw.item()
    if key == RAW_SCORES:
        return raw.tolist() if multi_prob else [1.0 - raw.item(), raw.item()]
    return raw.item()  # PREDICTED_SCORE


def encode_selected(answers, keys, accept, batch):
    """Selectable-inference answers as JSON, JSON Lines, CSV or RecordIO-protobuf."""
    if accept == "application/json":
        return json.dumps({"predictions": answers})
    if accept == "application/jsonlines":
        return "".join(json.dumps(answer) + "\n" for answer in answers)
    if accept == "application/x-recordio-protobuf":
        return b"".join(recordio.frame(recordio.serialize_record(
            label={key: value if isinstance(value, list) else [value] for key, value in answer.items()}))
            for answer in answers)
    # text/csv: lists are quoted as their Python text; no newline after the last row unless in batch
    lines = [",".join(f'"{answer[key]}"' if isinstance(answer[key], list) else str(answer[key]) for key in keys)
             for answer in answers]
    return "\n".join(lines) + ("\n" if batch else "")
