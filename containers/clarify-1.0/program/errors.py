"""The two ways a job fails: the person's input (config, data, model answers) or our own bug."""


class UserError(Exception):
    """A problem with the analysis config, the dataset or the model's answers, said so a person can fix it.

    The message goes to /opt/ml/output/message (the processing job's ExitMessage) as it is, without a
    traceback."""
