"""code/inference.py, as the real image's Python service loads and calls it (python_service.py, tfs_utils.py in
aws/sagemaker-tensorflow-serving-container): either `handler(data, context)`, or `input_handler(data, context)`
whose result is POSTed to TF Serving at `context.rest_uri`, and `output_handler(response, context)`. Both return
`(body, content_type)`. `data` is the request body as a stream (`data.read()`)."""
import collections
import importlib.util
import logging
import sys

import requests

log = logging.getLogger("inference.py")

# The field names and their order are the real image's.
Context = collections.namedtuple(
    "Context", "model_name, model_version, method, rest_uri, grpc_port, channel, custom_attributes, "
               "request_content_type, accept_header, content_length")


def load_handler(code_dir):
    """The function that answers /invocations, or None when the archive has no code/inference.py."""
    script = code_dir / "inference.py"
    if not script.is_file():
        return None
    # As gunicorn's --pythonpath in the real image: code/ first, then code/lib.
    for folder in (code_dir / "lib", code_dir):
        if folder.is_dir():
            sys.path.insert(0, str(folder))
    if (code_dir / "requirements.txt").is_file() and not (code_dir / "lib").is_dir():
        log.warning("code/requirements.txt is not installed by this twin (offline, reproducible starts): "
                    "the packages must be in the image or in code/lib")
    spec = importlib.util.spec_from_file_location("inference", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "handler"):
        return module.handler
    if hasattr(module, "input_handler") and hasattr(module, "output_handler"):
        def handler(data, context):
            processed = module.input_handler(data, context)
            response = requests.post(context.rest_uri, data=processed)
            return module.output_handler(response, context)
        return handler
    raise NotImplementedError("Handlers are not implemented correctly in user script.")
