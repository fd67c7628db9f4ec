"""The two kinds of failure the real algorithm reports (sagemaker_algorithm_toolkit/exceptions.py).

UserError: the caller can fix it (a hyperparameter, a channel, the data). AlgorithmError: anything else.
Neither is the training toolkit's ClientError, so the real image reports both the same way: a failure
file that starts with "framework error: " and exit code 1 (training.py writes it).
"""


class UserError(Exception):
    """Bad input from the caller: hyperparameters, channels, data, a request."""


class AlgorithmError(Exception):
    """A failure the caller could not have avoided with other input."""


def short_message(err):
    """An exception's text without the native stack trace XGBoost appends to its errors."""
    return str(err).split("\nStack trace:")[0].strip()
