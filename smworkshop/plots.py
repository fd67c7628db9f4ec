"""Figures the labs show: where a person would rather look than read."""
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay


def confusion_matrix(y_true, y_pred, title="Predictions on the held-out test set"):
    figure, axes = plt.subplots(figsize=(5, 4.2))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=axes, cmap="Blues", colorbar=False)
    axes.set_title(title)
    figure.tight_layout()
    return figure


def image_grid(images, titles, wrong=(), columns=8, title=None):
    """Small grey images in a row or grid, each with a caption; captions in red where WRONG is true."""
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    wrong = list(wrong) or [False] * len(images)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption, bad in zip(axes.flat, images, titles, wrong):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(caption, fontsize=9, color="#b03030" if bad else "black")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def per_class_accuracy(y_true, y_pred, title="Held-out accuracy per class"):
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = sorted(set(y_true))
    scores = [float((y_pred[y_true == c] == c).mean()) for c in classes]
    figure, axes = plt.subplots(figsize=(7, 3))
    axes.bar([str(c) for c in classes], scores, color="#4c72b0")
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("true class")
    axes.set_ylabel("accuracy")
    axes.set_title(title)
    for x, score in enumerate(scores):
        axes.text(x, score + 0.01, f"{score:.2f}", ha="center", fontsize=8)
    figure.tight_layout()
    return figure
