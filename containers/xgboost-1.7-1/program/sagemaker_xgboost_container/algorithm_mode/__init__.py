"""The built-in algorithm (no user code): hyperparameters, channels, data, training, serving."""
