"""Request bodies as DMatrix for framework mode's default input_fn (src/sagemaker_xgboost_container/
encoder.py on branch 1.7-1): text/csv, text/libsvm, text/x-libsvm, application/x-recordio-protobuf.

- csv_to_dmatrix: the delimiter sniffed from the first line's first 512 characters (an alphanumeric
  one means ","), "" -> NaN, no stripping (the caller strips), numpy's conversion errors as they are;
- libsvm_to_dmatrix: the body written to a temporary file that XGBoost reads;
- recordio_protobuf_to_dmatrix: features["values"] of each record (the twin's own reader instead of
  the real image's mlio);
- decode: the media type without parameters, compared exactly; any other one raises
  sagemaker-containers' UnsupportedFormatError, which its transformer answers with 415.
"""
import csv
import logging
import os
import tempfile

import numpy as np
import xgboost as xgb
from sagemaker_containers import _errors

from .algorithm_mode import recordio
from .algorithm_mode.content_types import parse_header


def _clean_csv_string(line, delimiter):
    return ["nan" if cell == "" else cell for cell in line.split(delimiter)]


def csv_to_dmatrix(body, dtype=None):
    text = body.decode() if isinstance(body, bytes) else body
    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    logging.info("Determined delimiter of CSV input is '%s'", delimiter)
    return xgb.DMatrix(np.array([_clean_csv_string(line, delimiter) for line in text.split("\n")]).astype(dtype))


def libsvm_to_dmatrix(body):
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(body)
    try:
        return xgb.DMatrix(handle.name)
    finally:
        os.remove(handle.name)


def recordio_protobuf_to_dmatrix(body):
    features, _ = recordio.to_matrix(list(recordio.split_records(bytes(body))), with_labels=False)
    return xgb.DMatrix(features)


DECODERS = {"text/csv": csv_to_dmatrix, "text/libsvm": libsvm_to_dmatrix, "text/x-libsvm": libsvm_to_dmatrix,
            "application/x-recordio-protobuf": recordio_protobuf_to_dmatrix}


def decode(obj, content_type):
    media_type, _ = parse_header(content_type)
    try:
        decoder = DECODERS[media_type]
    except KeyError:
        raise _errors.UnsupportedFormatError(media_type)
    return decoder(obj)
