"""Errors that carry an HTTP status. Any exception with an integer `status_code` attribute is answered
with that status, as in SageMaker's inference toolkit (BaseInferenceToolkitError), so a user's
inference.py can define its own without importing anything from this container."""


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
