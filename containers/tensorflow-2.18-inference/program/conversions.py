"""The real image's njs front (docker/build_artifacts/sagemaker/tensorflowServing.js in
aws/sagemaker-tensorflow-serving-container) in Python: how a POST /invocations body becomes a TF Serving
REST request, which model and method the custom attributes pick, and how the answer goes back.

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
NUMERIC_FIRST_FIELD = re.compile(r'\s*("|[\d.Ee+\-]+.*)')
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
    """One instance per line; a line with commas becomes a list. When the first field is not a number (or a
    quoted string), every field is sent as a JSON string."""
    quote = NUMERIC_FIRST_FIELD.match(text) is None
    rows = []
    for line in LINE_BREAK.split(text.strip()):
        line = line.strip()
        if not line:
            continue
        row = ",".join(json.dumps(field) for field in line.split(",")) if quote else line
        rows.append(f"[{row}]" if "," in line else row)
    return '{"instances":[' + ",".join(rows) + "]}"


def response(body, accept):
    """(body, content type) of TF Serving's answer as the front returns it: with a JSON Accept the newlines go
    and the first accepted type is the content type; otherwise application/json."""
    if accept is not None:
        accepted = accept.strip().replace(" ", "").split(",")
        if "application/jsonlines" in accepted or "application/json" in accepted:
            return body.replace(b"\n", b""), accepted[0]
    return body, DEFAULT_CONTENT_TYPE
