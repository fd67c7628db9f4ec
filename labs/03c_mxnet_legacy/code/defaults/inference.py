"""Serving code that defines no hook at all, so that every hook is the MXNet inference toolkit's default.

The MXNet container needs this file: at worker start its handler service imports the module `inference`
from code/ in the model archive, and a missing module is an error, not "use the defaults"
(sagemaker-mxnet-inference v1.5.5 handler_service.py:48-53). With the module present and empty, the toolkit
loads model-symbol.json, model-0000.params and model-shapes.json as an MXNet Module (default_model_fn) and
answers its raw output for JSON, CSV or NPY rows.
"""
