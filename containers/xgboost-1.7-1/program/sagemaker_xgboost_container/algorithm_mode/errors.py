"""The two kinds of failure the real algorithm reports (sagemaker_algorithm_toolkit/exceptions.py).

UserError: the caller can fix it (a hyperparameter, a channel, the data). AlgorithmError: anything else.
Both take an optional CAUSED_BY exception, and then say so at the end of their message:
"Hyperparameter num_round: could not parse value (caused by ValueError)" (BaseToolkitError's
_format_exception_message). Neither is the training toolkit's ClientError, so sagemaker-containers'
_trainer reports both the same way: a failure file that starts with "framework error: " and exit code 1.
"""


class ToolkitError(Exception):
    def __init__(self, message=None, caused_by=None):
        if not message:
            message = str(caused_by) if caused_by else "unknown error occurred"
        if caused_by:
            message += f" (caused by {caused_by.__class__.__name__})"
        super().__init__(message)
        self.message, self.caused_by = message, caused_by


class UserError(ToolkitError):
    """Bad input from the caller: hyperparameters, channels, data, a request."""


class AlgorithmError(ToolkitError):
    """A failure the caller could not have avoided with other input."""


def short_message(err):
    """An exception's text without the native stack trace XGBoost appends to its errors."""
    return str(err).split("\nStack trace:")[0].strip()
