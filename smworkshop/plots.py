"""Figures the labs show: where a person would rather look than read."""
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay


def confusion_matrix(y_true, y_pred, title="Predictions on the held-out test set"):
    figure, axes = plt.subplots(figsize=(5, 4.2))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=axes, cmap="Blues", colorbar=False)
    axes.set_title(title)
    figure.tight_layout()
    return figure
