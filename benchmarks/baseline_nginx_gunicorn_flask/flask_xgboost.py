"""Baseline only: the XGBoost twin's routes written as a Flask app behind nginx + gunicorn, which is how
AWS's own XGBoost image serves (Flask app, gunicorn, nginx). Same parsing, prediction and encoding code
as the twin (its `predictions` module), so the benchmark compares only the serving stacks.
"""
import json
import os

# As AWS's serving entry point does (serving.py), and as the twin does: one OpenMP thread per worker.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from flask import Flask, Response, request  # noqa: E402

from sagemaker_xgboost_container.algorithm_mode import predictions  # noqa: E402
from sagemaker_xgboost_container.algorithm_mode.errors import UserError  # noqa: E402
from sagemaker_xgboost_container.algorithm_mode.inference import parse_accept  # noqa: E402

MAX_BYTES = int(os.environ.get("MAX_CONTENT_LENGTH", "6291456"))


def create_app():
    model = predictions.load("/opt/ml/model")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BYTES

    @app.get("/ping")
    def ping():
        return Response(b"", status=200)

    @app.get("/execution-parameters")
    def execution_parameters():
        return Response(json.dumps({"MaxConcurrentTransforms": os.cpu_count() or 1, "BatchStrategy": "MULTI_RECORD",
                                    "MaxPayloadInMB": MAX_BYTES // (1024 ** 2)}), mimetype="application/json")

    @app.post("/invocations")
    def invocations():
        body = request.get_data()
        if not body:
            return Response(b"", status=204)
        try:
            dtest, kind = predictions.parse(body, request.headers.get("Content-Type"))
        except (UserError, predictions.BadPayload) as err:
            return Response(str(err), status=415)
        try:
            predicted = predictions.predict(model, dtest, kind)
        except Exception as err:  # noqa: BLE001
            return Response(f"Unable to evaluate payload provided: {err}", status=400)
        try:
            accept = parse_accept(request.headers.get("Accept"))
        except ValueError as err:
            return Response(str(err), status=406)
        return Response(predictions.encode(predicted, accept, False), mimetype=accept)

    return app


app = create_app()  # gunicorn's entry point: flask_xgboost:app
