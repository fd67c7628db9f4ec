"""The network, shared by training (train.py) and serving (inference.py)."""
import torch


class DigitNet(torch.nn.Sequential):
    """8x8 grey digits (64 values in [0, 1]) -> 10 class scores: one hidden layer is plenty for them."""

    def __init__(self, features=64, hidden=64, classes=10):
        super().__init__(torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
