"""Baseline only: the Flask version of the workshop container's HTTP routes (same model code).

Every bad request gets a 4xx with a one-line reason and the server keeps serving.
"""
import os

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

import model
import opt_ml

# SageMaker refuses invocation payloads over 6 MB; refuse them here too, before reading them.
MAX_PAYLOAD_BYTES = int(os.environ.get("MAX_PAYLOAD_BYTES", 6 * 1024 * 1024))
CSV = "text/csv"


def text(message, status):
    return Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def create_app(model_dir=None):
    tree, info = model.load(model_dir or opt_ml.MODEL_DIR)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_BYTES

    @app.get("/ping")
    def ping():
        # Reaching here means the model loaded: create_app fails otherwise.
        return text("healthy", 200)

    @app.get("/execution-parameters")
    def execution_parameters():
        # Batch transform asks for this to size its requests.
        return {"MaxConcurrentTransforms": os.cpu_count() or 1, "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": MAX_PAYLOAD_BYTES // (1024 * 1024)}

    @app.post("/invocations")
    def invocations():
        if request.mimetype != CSV:
            return text(f"unsupported content type {request.mimetype or '(none)'!r}: send {CSV}", 415)
        accept = request.headers.get("Accept", "").strip()
        if accept and not request.accept_mimetypes[CSV]:
            return text(f"cannot answer with {accept!r}: this model answers {CSV}", 406)
        body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
        if not body.strip():
            return text("empty request body: send one CSV row of features per line", 400)
        try:
            answer = model.predict_csv(tree, info, body.decode("utf-8"))
        except UnicodeDecodeError:
            return text("request body is not UTF-8 text", 400)
        except (opt_ml.ContractError, ValueError) as err:
            return text(f"bad request: {err}", 400)
        return Response(answer, mimetype=CSV)

    @app.errorhandler(HTTPException)
    def http_error(err):
        if err.code == 413:
            return text(f"payload too large: the limit is {MAX_PAYLOAD_BYTES} bytes", 413)
        return text(f"{err.code} {err.name}: {err.description}", err.code)

    return app


app = create_app()  # gunicorn's entry point: flask_app:app
