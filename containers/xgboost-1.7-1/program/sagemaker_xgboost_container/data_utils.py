"""What users' scripts import from the real image's sagemaker_xgboost_container.data_utils (e.g.
`from sagemaker_xgboost_container.data_utils import get_dmatrix` in AWS's "XGBoost as a framework"
abalone example), backed by the twin's algorithm code (algorithm_mode/data.py, content_types.py).

get_dmatrix(data_path, content_type, csv_weights=0, is_pipe=False): a DMatrix of a folder (the files in it
and two levels of subfolders) or of one file, label in column 0; None when there is no data. Pipe mode
is not implemented by the twin.
"""
from pathlib import Path

from .algorithm_mode import data, train
from .algorithm_mode.content_types import CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF, VALID, get_content_type
from .algorithm_mode.errors import UserError

VALID_CONTENT_TYPES = VALID
__all__ = ["CSV", "LIBSVM", "PARQUET", "RECORDIO_PROTOBUF", "VALID_CONTENT_TYPES", "get_content_type",
           "get_dmatrix", "get_size", "validate_data_file_path", "check_data_redundancy"]


def get_dmatrix(data_path, content_type, csv_weights=0, is_pipe=False):
    if is_pipe:
        raise UserError("Pipe mode is not implemented by this local twin: use File mode")
    return data.dmatrix(Path(data_path), content_type.lower(), csv_weights)


def get_size(data_path, is_pipe=False):
    return data.size(data_path)


def validate_data_file_path(data_path, content_type):
    data.validate_first_lines(data_path, content_type.lower())


def check_data_redundancy(train_path, validate_path):
    train._warn_if_same_files(Path(train_path), Path(validate_path))
