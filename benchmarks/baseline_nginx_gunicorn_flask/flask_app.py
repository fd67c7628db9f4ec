"""Baseline only: the workshop container's HTTP routes written as a Flask app, the way the classic
sample writes them. Same model code, same answers; the limits and helpers come from the workshop's
own inference module, which this image inherits.
"""
import os

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

import model
import opt_ml
from inference import CSV, MAX_PAYLOAD_BYTES, text


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
