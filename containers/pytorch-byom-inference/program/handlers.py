"""The user's code/inference.py hooks, with the defaults filling in what it leaves out.

The contract is the one SageMaker's PyTorch inference toolkit defines
(https://github.com/aws/sagemaker-pytorch-inference-toolkit, sagemaker_inference/transformer.py):
- model_fn(model_dir) runs once at start; input_fn(body, content_type) -> predict_fn(data, model)
  -> output_fn(prediction, accept) run per request; or transform_fn(model, body, content_type, accept)
  alone (combining it with the other three is an error);
- every hook may take one extra trailing `context` argument, detected by its parameter count;
- the body reaches input_fn as str for application/json and text/csv, as bytes otherwise;
- a missing Accept (or */*) means SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, default application/json;
- output_fn may return (body, content_type); otherwise the content type is the accept value.
"""
import importlib
import inspect
import logging
import sys
from pathlib import Path

import default_handlers
import environment

log = logging.getLogger("handlers")
TEXT_TYPES = ("application/json", "text/csv")
REQUEST_HOOKS = ("input_fn", "predict_fn", "output_fn")


class Context:
    """Passed to hooks that ask for it: a small subset of TorchServe's context object."""

    def __init__(self, model_dir):
        self.system_properties = {"model_dir": str(model_dir), "gpu_id": None, "batch_size": 1}
        self.request_headers = {}


def load_user_module(code_dir=environment.CODE_DIR, program=environment.PROGRAM):
    """Import code/<SAGEMAKER_PROGRAM> if the archive has it; None means "use every default"."""
    name = program[:-3] if program.endswith(".py") else program
    if not (Path(code_dir) / f"{name}.py").exists():
        log.info("no %s/%s.py: using the default handlers", code_dir, name)
        return None
    if (Path(code_dir) / "requirements.txt").exists():
        log.warning("code/requirements.txt is not installed: this image installs nothing at start "
                    "(offline, reproducible starts); build the packages into the image instead")
    sys.path.insert(0, str(code_dir))
    return importlib.import_module(name)


def call(function, *args, context):
    """Call a hook with or without the trailing context, as its signature asks."""
    count = len(inspect.signature(function).parameters)
    if count == len(args):
        return function(*args)
    if count == len(args) + 1:
        return function(*args, context)
    raise TypeError(f"{function.__name__} takes {count} arguments; the contract passes {len(args)} "
                    f"(or {len(args) + 1} with context)")


class Handlers:
    def __init__(self, module, model_dir=environment.MODEL_DIR):
        self.context = Context(model_dir)
        self.transform_fn = getattr(module, "transform_fn", None)
        defined = [hook for hook in REQUEST_HOOKS if hasattr(module, hook)]
        if self.transform_fn and defined:
            raise ValueError(f"inference.py defines transform_fn together with {defined}: use one or the other")
        self.hooks = {}
        self.sources = {}
        for hook in ("model_fn",) + REQUEST_HOOKS:
            user_hook = getattr(module, hook, None)
            self.hooks[hook] = user_hook or getattr(default_handlers, hook)
            self.sources[hook] = "inference.py" if user_hook else "default"
        if self.transform_fn:
            self.sources.update({hook: "inference.py (transform_fn)" for hook in REQUEST_HOOKS})
        self.model = call(self.hooks["model_fn"], str(model_dir), context=self.context)

    def transform(self, body, content_type, accept, headers=None):
        """One request through the hooks; returns (body bytes, content type)."""
        self.context.request_headers = dict(headers or {})  # one request at a time per worker process
        if content_type in TEXT_TYPES:
            body = body.decode("utf-8")  # UnicodeDecodeError: the caller answers 400
        accept = accept if accept and accept.strip() not in ("*/*",) else environment.DEFAULT_ACCEPT
        if self.transform_fn:
            result = call(self.transform_fn, self.model, body, content_type, accept, context=self.context)
        else:
            data = call(self.hooks["input_fn"], body, content_type, context=self.context)
            prediction = call(self.hooks["predict_fn"], data, self.model, context=self.context)
            result = call(self.hooks["output_fn"], prediction, accept, context=self.context)
        answer, answer_type = result if isinstance(result, tuple) else (result, accept)
        return (answer.encode("utf-8") if isinstance(answer, str) else bytes(answer)), answer_type
