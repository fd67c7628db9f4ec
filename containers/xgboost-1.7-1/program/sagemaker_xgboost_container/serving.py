"""Framework-mode serving: SAGEMAKER_PROGRAM names the user's module, which serves through its hooks.

Follows src/sagemaker_xgboost_container/serving.py on branch 1.7-1 (main, _user_module_transformer,
the default_* functions) on top of sagemaker-containers 2.8.6.post2, installed in the image:
- `serve` first downloads or copies SAGEMAKER_SUBMIT_DIRECTORY (default /opt/ml/code) to /opt/ml/code
  and pip-installs it (_server.start -> _modules.import_module), then starts the workers;
- each worker builds its app on the first request: the user's module is imported, its model_fn loads
  the model from /opt/ml/model, and sagemaker-containers' Worker (a Flask app) answers /ping and
  /invocations through its Transformer;
- hooks the module does not define take the defaults: input_fn reads text/csv, text/libsvm,
  text/x-libsvm and RecordIO-protobuf bodies as a DMatrix (encoder.py), predict_fn is
  model.predict(data, validate_features=False), output_fn encodes with sagemaker-containers' encoders
  (application/json, text/csv, application/x-npy); model_fn has no default ("Please provide a
  model_fn implementation.");
- transform_fn together with input_fn, predict_fn or output_fn is refused.
"""
import importlib
import logging

from sagemaker_containers.beta.framework import encoders, env, transformer, worker

from . import encoder as xgb_encoders
from .algorithm_mode.errors import UserError


def default_model_fn(model_dir):
    return transformer.default_model_fn(model_dir)


def default_input_fn(input_data, content_type):
    return xgb_encoders.decode(input_data, content_type)


def default_predict_fn(input_data, model):
    return model.predict(input_data, validate_features=False)


def default_output_fn(prediction, accept):
    return worker.Response(encoders.encode(prediction, accept), mimetype=accept)


def _user_module_transformer(user_module):
    model_fn = getattr(user_module, "model_fn", default_model_fn)
    hooks = {name: getattr(user_module, name, None) for name in ("input_fn", "predict_fn", "output_fn")}
    transform_fn = getattr(user_module, "transform_fn", None)
    if transform_fn and any(hooks.values()):
        raise UserError("Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn")
    if transform_fn is not None:
        return transformer.Transformer(model_fn=model_fn, transform_fn=transform_fn)
    return transformer.Transformer(model_fn=model_fn, input_fn=hooks["input_fn"] or default_input_fn,
                                   predict_fn=hooks["predict_fn"] or default_predict_fn,
                                   output_fn=hooks["output_fn"] or default_output_fn)


_app = None


def _build():
    global _app
    if _app is None:
        module_name = env.ServingEnv().module_name
        user_transformer = _user_module_transformer(importlib.import_module(module_name))
        user_transformer.initialize()
        _app = worker.Worker(transform_fn=user_transformer.transform, module_name=module_name)
    return _app


def warm_up():
    """Build the app when the worker starts (the twin's documented difference: the real image waits for
    the first request); a failure is logged and the build is tried again on each request, as there."""
    try:
        _build()
    except Exception:  # noqa: BLE001 - the first request reports it, with a 500
        logging.exception("The user module could not serve yet")


def main(environ, start_response):
    """The WSGI app of one worker; until the user's module and model load, each request tries again and
    fails with a 500, as in the real image."""
    return _build()(environ, start_response)
