"""Training data: the files of a channel, their first-line checks, and the XGBoost DMatrix built from them.

Follows src/sagemaker_xgboost_container/data_utils.py on branch 1.7-1 of
github.com/aws/sagemaker-xgboost-container (File mode):
- get_size: a file whose name starts with "." anywhere under the channel stops the job with
  "Hidden file found in the data path! Remove that before training." An empty channel has size 0.
- validate_data_file_path: the files of the first folder without subfolders are checked, skipping names
  that start with "." or "_": CSV -> the first line must let csv.Sniffer find a delimiter; LIBSVM -> every
  line up to the first one with more than one feature must read `<label>(:<weight>) <index>:<value> ...`.
- _get_file_mode_files_path: the files of the channel folder and of up to two levels of subfolders are
  gathered into one folder of links (deeper ones are left out with a warning); XGBoost then reads that
  folder, so for CSV and LIBSVM every gathered file counts, "_"-prefixed ones too.
- CSV: no header, label in column 0, delimiter sniffed from the first line of a file, weights in
  column 1 when csv_weights is 1 (XGBoost's own CSV reader: "?format=csv&label_column=0&delimiter=,").
- LIBSVM: XGBoost's own reader (`<label>(:<weight>) <index>:<value> ...`).
- Parquet: read_table(...).to_pandas().to_numpy(), column 0 is the label, the others the features. A
  pandas index stored in the file (pandas writes any index but a plain RangeIndex as a column,
  `__index_level_0__`) goes back to being the index, so it is never a feature. Files named "_..." are
  skipped, as pyarrow's dataset reader does.
- RecordIO-protobuf: features["values"] and label["values"] of each record.
- A matrix without labels: "Got input data without labels. ..."
"""
import csv
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xgboost as xgb

from . import recordio
from .content_types import CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF
from .errors import UserError, short_message

log = logging.getLogger("xgboost-twin")
MAX_FOLDER_DEPTH = 3  # the channel folder itself is depth 1
NO_LABELS = ("Got input data without labels. Please check the input data set. If training job is running on "
             "multiple instances, please switch to using single instance if number of records in the data set "
             "is less than number of workers (16 * number of instance) in the cluster.")


def size(path):
    """Bytes under PATH (0 when it does not exist); a hidden file anywhere is an error."""
    path = Path(path)
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in sorted(files):
            if name.startswith("."):
                found = (Path(root) / name).relative_to(path)
                raise UserError("Hidden file found in the data path! Remove that before training. "
                                f"(found {path.name}/{found})")
            total += (Path(root) / name).stat().st_size
    return total


def files(path):
    """The files XGBoost will read: the channel folder and two levels of subfolders, sorted (or PATH
    itself when it is a file)."""
    if Path(path).is_file():
        return [Path(path)]
    found, too_deep = [], []

    def walk(folder, depth):
        for item in sorted(Path(folder).iterdir()):
            if item.is_file():
                found.append(item)
            elif item.is_dir():
                if depth + 1 > MAX_FOLDER_DEPTH:
                    too_deep.append(item)
                else:
                    walk(item, depth + 1)

    walk(path, 1)
    for folder in too_deep:
        log.warning("Files under %s are not loaded: more than %d levels of folders below the channel",
                    folder, MAX_FOLDER_DEPTH - 1)
    return found


def _is_data_file(path):
    name = path.name
    return not (name.startswith(".") or name.startswith("_")
                or (".cache" in name and ("dtrain" in name or "dval" in name)))


def csv_delimiter(line):
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except csv.Error as err:
        raise UserError(f"Could not determine delimiter on line {line[:50]}:\n{err}") from None
    log.info("Determined delimiter of CSV input is '%s'", delimiter)
    return delimiter


def libsvm_features(line):
    """Number of `index:value` features of one LIBSVM line, -1 when the line is not LIBSVM."""
    tokens = line.split(" ")
    label = tokens[0].split(":")
    if len(label) > 2:
        return -1
    for part in label:
        try:
            float(part)
        except ValueError:
            return -1
    features = tokens[1:]
    if any(":" not in token for token in features):
        return -1
    if features and len(features[0].split(":")) != 2:
        return -1
    return len(features)


def validate_first_lines(path, content_type):
    path = Path(path)
    if path.is_file():
        candidates = [path]
    else:
        leaf = next((Path(root) for root, dirs, _ in sorted(os.walk(path)) if not dirs), path)
        candidates = [p for p in sorted(leaf.iterdir()) if p.is_file() and _is_data_file(p)]
    for candidate in candidates:
        with open(candidate, errors="ignore") as handle:
            if content_type == CSV:
                csv_delimiter(handle.readline())
            elif content_type == LIBSVM:
                _validate_libsvm(handle, candidate.name)


def _validate_libsvm(lines, name):
    for line in lines:
        count = libsvm_features(line)
        if count > 1:
            return
        if count < 0:
            raise UserError(f"First line '{line[:50]}...' of file '{name}' is not 'LIBSVM' format. "
                            "Please ensure the file is in 'LIBSVM' format.")
    log.warning("File %s is not an invalid LIBSVM file but has no features. Accepting simple validation.", name)


def _linked(paths):
    """One temporary folder with a link to each file (unique names, original prefixes kept)."""
    folder = Path(tempfile.mkdtemp(prefix="sagemaker_xgboost_input_data_"))
    for number, path in enumerate(paths):
        (folder / f"{path.name}.{number}").symlink_to(path.resolve())
    return folder


def dmatrix(path, content_type, csv_weights=0):
    """The DMatrix of one channel, or None when the channel has no data."""
    paths = files(path)
    if not paths:
        return None
    loaders = {CSV: _csv, LIBSVM: _libsvm, PARQUET: _parquet, RECORDIO_PROTOBUF: _recordio}
    matrix = loaders[content_type](paths, csv_weights)
    if matrix is not None and matrix.get_label().size == 0:
        raise UserError(NO_LABELS)
    return matrix


def _csv(paths, csv_weights):
    folder = _linked(paths)
    try:
        with open(paths[0], errors="ignore") as handle:
            delimiter = csv_delimiter(handle.readline())
        uri = f"{folder}?format=csv&label_column=0&delimiter={delimiter}"
        if csv_weights == 1:
            uri += "&weight_column=1"
        try:
            return xgb.DMatrix(uri)
        except Exception as err:  # noqa: BLE001 - XGBoost's parser says what is wrong
            raise UserError(f"Failed to load csv data with exception:\n{short_message(err)}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _libsvm(paths, csv_weights):
    folder = _linked(paths)
    try:
        return xgb.DMatrix(f"{folder}?format=libsvm")
    except Exception as err:  # noqa: BLE001
        raise UserError(f"Failed to load libsvm data with exception:\n{short_message(err)}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parquet(paths, csv_weights):
    import pyarrow.parquet as pq

    blocks = []
    try:
        for path in paths:
            if path.name.startswith(("_", ".")):
                continue
            # to_pandas() turns the index columns named in the file's pandas metadata back into the index.
            blocks.append(pq.read_table(path).to_pandas().to_numpy(dtype=np.float64))
        data = np.vstack(blocks) if blocks else np.empty((0, 1))
        if data.shape[1] < 1:
            raise ValueError("the table has no columns")
        return xgb.DMatrix(data[:, 1:], label=data[:, 0])
    except Exception as err:  # noqa: BLE001
        raise UserError(f"Failed to load parquet data with exception:\n{short_message(err)}") from None


def _recordio(paths, csv_weights):
    try:
        payloads = [payload for path in paths for payload in recordio.split_records(path.read_bytes())]
        features, labels = recordio.to_matrix(payloads, with_labels=True)
        return None if features is None else xgb.DMatrix(features, label=labels)
    except Exception as err:  # noqa: BLE001
        raise UserError(f"Failed to load recordio-protobuf data with exception:\n{short_message(err)}") from None
