"""Content types: the names the algorithm accepts for data, in training channels and in requests.

Follows src/sagemaker_xgboost_container/data_utils.py (get_content_type, VALID_CONTENT_TYPES) on branch
1.7-1 of github.com/aws/sagemaker-xgboost-container:
- no content type at all means libsvm;
- csv | text/csv (with an optional label_size parameter, which must be 1), libsvm | text/libsvm |
  text/x-libsvm, parquet | application/x-parquet, recordio-protobuf | application/x-recordio-protobuf;
- parameters such as charset are allowed and ignored; the comparison ignores case.
"""
from .errors import UserError

CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF = "csv", "libsvm", "parquet", "recordio-protobuf"
NAMES = {
    CSV: [CSV, "text/csv"],
    LIBSVM: [LIBSVM, "text/libsvm", "text/x-libsvm"],
    PARQUET: [PARQUET, "application/x-parquet"],
    RECORDIO_PROTOBUF: [RECORDIO_PROTOBUF, "application/x-recordio-protobuf"],
}
# The order in which the real image lists them (its error message and its channel definitions).
VALID = [CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF, "text/csv", "text/libsvm", "text/x-libsvm",
         "application/x-parquet", "application/x-recordio-protobuf"]
# File mode takes them all; Pipe mode takes no libsvm.
VALID_PIPED = [CSV, PARQUET, RECORDIO_PROTOBUF, "text/csv", "application/x-parquet", "application/x-recordio-protobuf"]


def parse_header(value):
    """'text/csv; label_size=1; charset="utf-8"' -> ('text/csv', {'label_size': '1', 'charset': 'utf-8'}).

    The same reading as the standard library's old cgi.parse_header (deprecated, gone in Python 3.13):
    ';' separates parameters except inside double quotes, names are lower-cased, quotes removed.
    """
    parts, current, quoted = [], "", False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    params = {}
    for part in parts[1:]:
        name, sep, param = part.partition("=")
        if not sep:
            continue
        param = param.strip()
        if len(param) >= 2 and param[0] == param[-1] == '"':
            param = param[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        params[name.strip().lower()] = param
    return parts[0].strip(), params


def get_content_type(value):
    """The data format a content type names (csv, libsvm, parquet, recordio-protobuf), or a UserError."""
    if value is None:
        return LIBSVM
    media_type, params = parse_header(value.lower())
    for kind, names in NAMES.items():
        if media_type in names:
            if kind == CSV and params.get("label_size", "1") != "1":
                raise UserError(f"{value} is not an accepted csv ContentType. "
                                "Optional parameter label_size must be equal to 1")
            return kind
    raise UserError(f"{value} is not an accepted ContentType: {', '.join(VALID)}.")
