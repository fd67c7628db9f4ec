"""The real image's njs front in Python: how a POST /invocations body becomes a TF Serving REST request,
which model and method the custom attributes pick, and how the answer goes back. Source:
aws/deep-learning-containers @ ff2b6404fe1ef44c150e1b3c1984470c8beb7e5e,
tensorflow/inference/docker/build_artifacts/sagemaker/tensorflowServing.js (line numbers below are that file's).
JavaScript's String.replace with a text pattern replaces the FIRST occurrence only; where the njs code relies on
it, so does this file (count=1), quirks included.

Like the original, the conversion works on the text, not on parsed JSON: a body that is not valid JSON is
passed on and TF Serving says what is wrong with it (a 400), which is what a caller of the real image sees.
"""
import json
import re

CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
JSON_TYPES = ("application/json", "application/jsonlines", "application/jsons")
CSV_TYPE = "text/csv"
DEFAULT_CONTENT_TYPE = "application/json"

ATTRIBUTE = re.compile(r"tfs-[a-z\-]+=[^,]+")
TFS_JSON = re.compile(r'"(instances|inputs|examples)"\s*:')
JSON_LINES = re.compile(r"[}\]]\s*[\[{]")            # a closing bracket, then an opening one: several documents
LIST_OF_LISTS = re.compile(r"\s*\[\s*\[")
NUMERIC_FIRST_FIELD = re.compile(r'\s*("|[\d.Ee+\-]+.*)', re.ASCII)  # JavaScript's \d is ASCII
LINE_BREAK = re.compile(r"\r?\n")


class UnsupportedMediaType(Exception):
    status_code = 415


def custom_attributes(header):
    """`tfs-model-name=half,tfs-model-version=2,tfs-method=predict` -> a dict; other attributes are ignored."""
    attributes = {}
    for match in ATTRIBUTE.findall(header or ""):
        parts = match.split("=")
        if len(parts) == 2:
            attributes[parts[0]] = parts[1]
    return attributes


def tfs_path(attributes, default_model, with_method=True):
    """/v1/models/<name>[/versions/<v>][:<method>]: the TF Serving REST path the attributes ask for."""
    path = f"/v1/models/{attributes.get('tfs-model-name') or default_model}"
    if "tfs-model-version" in attributes:
        path += f"/versions/{attributes['tfs-model-version']}"
    if with_method:
        path += f":{attributes.get('tfs-method') or 'predict'}"
    return path


def request_body(content_type, body):
    """The TF Serving request body for an /invocations body of CONTENT_TYPE (the header's exact value)."""
    if content_type in JSON_TYPES:
        return json_body(body.decode("utf-8"))
    if content_type == CSV_TYPE:
        return csv_body(body.decode("utf-8"))
    raise UnsupportedMediaType(f"Unsupported Media Type: {content_type or 'Unknown'}")


def json_body(text):
    if TFS_JSON.search(text):
        return text                                   # already a TF Serving request: passed through
    if JSON_LINES.search(text):
        return json_lines_body(text)
    if not LIST_OF_LISTS.match(text):
        text = f"[{text}]"                            # one instance
    return '{"instances":' + text + "}"


def json_lines_body(text):
    lines = LINE_BREAK.split(text.strip())
    items = ",".join(line.strip() for line in lines if line.strip())
    return '{"instances":' + (items if len(lines) == 1 else f"[{items}]") + "}"


def csv_body(text):
    """csv_request (lines 191-234): one instance per line, in brackets when the line has a comma. When the body
    does not start with a number or a quote, each line is quoted as njs does it: the first '"' escaped and the
    first ',' turned into '","', so `a,b,c` is ["a","b,c"] (two fields) and `x,"y"` is not valid JSON."""
    quote = NUMERIC_FIRST_FIELD.match(text) is None
    rows = []
    for line in LINE_BREAK.split(text.strip()):
        line = line.strip()
        if not line:
            continue
        row = '"' + line.replace('"', '\\"', 1).replace(",", '","', 1) + '"' if quote else line
        rows.append(f"[{row}]" if "," in line else row)
    return '{"instances":[' + ",".join(rows) + "]}"


def response(status, body, accept):
    """tfs_json_request's callback (lines 73-88): (body, content type) of TF Serving's answer as the front
    returns it. A 400's first `\\'instances\\'` loses its backslashes. With an Accept header, only its FIRST space
    is removed before it is split on commas; if application/jsonlines or application/json is then one of the
    items, the newlines go and the FIRST item is the content type. Otherwise nginx's default_type,
    application/json."""
    if status == 400:
        body = body.replace(b"\\'instances\\'", b"'instances'", 1)
    if accept is not None:
        accepted = accept.strip().replace(" ", "", 1).split(",")
        if "application/jsonlines" in accepted or "application/json" in accepted:
            return body.replace(b"\n", b""), accepted[0]
    return body, DEFAULT_CONTENT_TYPE
