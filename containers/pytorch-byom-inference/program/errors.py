"""Errors that carry an HTTP status (Lab 02's image only). Any exception with an integer `status_code`
attribute is answered with that status, so a user's inference.py can define its own without importing
anything from this container. That is this image's own rule: AWS's inference toolkit, which the framework
twins run, honours a status only for sagemaker_inference.errors.BaseInferenceToolkitError and answers 500
to every other exception."""


class InferenceError(Exception):
    status_code = 500

    def __init__(self, message, status_code=None):
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


class BadRequest(InferenceError):
    status_code = 400


class UnsupportedMediaType(InferenceError):
    status_code = 415


class NotAcceptable(InferenceError):
    status_code = 406
