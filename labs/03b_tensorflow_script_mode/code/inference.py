"""Pre- and post-processing around TensorFlow Serving, in the TensorFlow inference container's contract.

Without this file the container hands each request to TensorFlow Serving's REST API and returns its answer
as it is: {"predictions": [[p_malignant, p_benign], ...]}. With it, the container calls
input_handler(data, context) -> POSTs the result to TensorFlow Serving at context.rest_uri ->
output_handler(response, context), which returns (body, content_type). Here: CSV or JSON rows in, a
diagnosis and its probability per row out. An exception in a handler becomes a 500 with its message: that is
how this container's Python service answers errors in user code (TensorFlow Serving's own errors are 4xx).

The handlers run in the container's own Python (gunicorn + falcon), not in TensorFlow's: AWS's TensorFlow
inference image has no tensorflow and no numpy there, only requests, boto3, grpcio, protobuf, gevent, falcon and
gunicorn. Hence only `json` here; a package beyond those goes into code/requirements.txt, which the container
pip-installs when it starts.
"""
import json

CLASSES = ("malignant", "benign")  # scikit-learn's load_breast_cancer: target 0 and 1


def input_handler(data, context):
    """The request body as TensorFlow Serving's row format, {"instances": [[...], ...]}."""
    body = data.read().decode("utf-8")
    if context.request_content_type == "text/csv":
        try:
            rows = [[float(value) for value in line.split(",")] for line in body.splitlines() if line.strip()]
        except ValueError as err:
            raise ValueError(f"a CSV row is not all numbers: {err}") from None
        return json.dumps({"instances": rows})
    if context.request_content_type == "application/json":
        return body  # already {"instances": ...}
    raise ValueError(f"send text/csv or application/json, not {context.request_content_type}")


def output_handler(response, context):
    """TensorFlow Serving's answer as one {"diagnosis", "probability"} per row; its errors passed on."""
    if response.status_code != 200:
        raise ValueError(response.content.decode("utf-8"))
    rows = response.json()["predictions"]
    answer = [{"diagnosis": CLASSES[int(p[1] >= p[0])], "probability": round(max(p), 4)} for p in rows]
    return json.dumps({"predictions": answer}), "application/json"
