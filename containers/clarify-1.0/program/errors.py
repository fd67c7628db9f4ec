"""The two ways a job fails: the person's input (config, data, model answers) or our own bug."""


class UserError(Exception):
    """A problem with the analysis config, the dataset or the model's answers, said so a person can fix it.

    The message goes to /opt/ml/output/message (the processing job's ExitMessage) as it is, without a
    traceback."""


class ModelError(UserError):
    """The model answered a request with an error (HTTP status, InvokeEndpoint error) or with an answer that
    does not fit the rows sent. For a batch of rows the job then asks again one row per request, as
    Clarify does ("Fallback to per-record prediction because of model error")."""
