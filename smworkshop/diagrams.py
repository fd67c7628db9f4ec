"""Diagrams for the docs and notebooks, drawn from code so they stay editable.

python -m smworkshop.diagrams   rewrites images/*.png
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from .paths import REPO  # noqa: E402

IMAGES = REPO / "images"
BLUE, ORANGE, GREEN, GREY = "#dbe9f6", "#fde3c8", "#dff0d8", "#eeeeee"


def _box(ax, x, y, w, h, text, color, size=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#555555", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight, wrap=True)


def _arrow(ax, start, end, text="", color="#333333"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color, linewidth=1.3))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, text, ha="center", fontsize=7.5,
                color=color)


def _canvas(width, height):
    figure, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return figure, ax


def opt_ml_contract():
    """What SageMaker puts under /opt/ml for `train`, what it takes back, and what `serve` sees."""
    figure, ax = _canvas(11, 5.6)
    ax.text(0.2, 5.3, "The /opt/ml contract: one image, two programs", fontsize=13, weight="bold")
    _box(ax, 0.2, 2.2, 2.3, 1.6, "Training job\nCreateTrainingJob /\nModelTrainer.train()", GREY, 9)
    _box(ax, 3.3, 0.5, 4.2, 4.4, "", BLUE)
    ax.text(5.4, 4.6, "docker run IMAGE train", ha="center", fontsize=10, weight="bold")
    rows = [("input/config/hyperparameters.json", "values are strings", ORANGE),
            ("input/config/inputdataconfig.json", "channels and content types", ORANGE),
            ("input/data/train/  (channel files)", "S3 or local files", ORANGE),
            ("model/  -> model.tar.gz", "written by train", GREEN),
            ("output/failure", "reason, if train fails", GREEN)]
    for i, (path, note, color) in enumerate(rows):
        y = 3.9 - i * 0.7
        _box(ax, 3.5, y, 3.8, 0.55, f"/opt/ml/{path}\n{note}", color, 8)
    _arrow(ax, (2.5, 3.3), (3.45, 3.9))
    ax.text(2.2, 4.1, "writes config + data", fontsize=7.5)
    _arrow(ax, (3.45, 1.2), (2.5, 2.4), "exit code, failure reason", "#b03030")
    _box(ax, 8.3, 2.2, 2.5, 1.6, "Endpoint container\ndocker run IMAGE serve\n/opt/ml/model = unpacked\nmodel.tar.gz",
         GREY, 8.5)
    _arrow(ax, (7.35, 2.0), (8.3, 2.7), "model.tar.gz")
    figure.tight_layout()
    return figure


def request_flow():
    """An invocation from a client to the model and back, and where each limit applies."""
    figure, ax = _canvas(11, 3.4)
    ax.text(0.2, 3.1, "An invocation, end to end", fontsize=13, weight="bold")
    width = 1.8
    boxes = [(0.2, "Client\nboto3 invoke_endpoint\n(sagemaker-runtime)", GREY),
             (2.4, "SageMaker endpoint\nauth, 6 MB payload,\n60 s timeout", ORANGE),
             (4.6, "Container :8080\ngunicorn, 1 sync\nworker per core", BLUE),
             (6.8, "WSGI app\n/ping  /invocations\nCSV in, CSV out", BLUE),
             (9.0, "Decision tree\nfrom /opt/ml/model", GREEN)]
    for x, text, color in boxes:
        _box(ax, x, 1.0, width, 1.3, text, color, 8.5)
    for (x1, _, _), (x2, _, _) in zip(boxes, boxes[1:]):
        _arrow(ax, (x1 + width, 1.8), (x2, 1.8))
        _arrow(ax, (x2, 1.4), (x1 + width, 1.4), color="#777777")
    ax.text(5.5, 0.45, "errors travel back the same way: 400 bad CSV, 406 bad Accept, 413 too large, "
            "415 wrong content type", ha="center", fontsize=8, color="#b03030")
    figure.tight_layout()
    return figure


def write_all():
    IMAGES.mkdir(exist_ok=True)
    written = []
    for name, draw in (("byoc_opt_ml_contract", opt_ml_contract), ("byoc_request_flow", request_flow)):
        figure = draw()
        target = IMAGES / f"{name}.png"
        figure.savefig(target, dpi=110)
        plt.close(figure)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
