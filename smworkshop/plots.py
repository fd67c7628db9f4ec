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


def income_overview(frame, label="income", positive=">50K"):
    """Four panels of the Adult data: who earns more than 50K, by age, education, hours and sex."""
    high = frame[label] == positive
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for ax, column, bins in ((axes[0], "age", range(17, 91, 4)), (axes[2], "hours_per_week", range(0, 100, 5))):
        ax.hist([frame.loc[~high, column], frame.loc[high, column]], bins=list(bins), stacked=True,
                label=[f"not {positive}", positive], color=["#9db4d6", "#c0504d"])
        ax.set_xlabel(column.replace("_", " "))
        ax.set_ylabel("people")
    share = high.groupby(frame["education_num"]).mean()
    axes[1].bar(share.index, share.values, color="#c0504d")
    axes[1].set_xlabel("education (years, education_num)")
    axes[1].set_ylabel(f"share {positive}")
    by_sex = high.groupby(frame["sex"]).mean()
    axes[3].bar(by_sex.index, by_sex.values, color="#c0504d")
    axes[3].set_ylabel(f"share {positive}")
    axes[3].set_title("the label is unbalanced by sex (Lab 05 measures it)", fontsize=9)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Adult census data: {len(frame):,} people, {high.mean():.0%} earn {positive}")
    figure.tight_layout()
    return figure


def training_curves(history, title="AUC per boosting round"):
    """Columns of HISTORY (rounds x `<data>:<metric>`) as lines, with the best validation round marked."""
    figure, axes = plt.subplots(figsize=(7, 3.6))
    for column in history.columns:
        axes.plot(history.index, history[column], label=column)
    validation = [c for c in history.columns if c.startswith("validation:")]
    if validation:
        best = history[validation[0]].idxmax()
        axes.axvline(best, color="grey", linestyle=":", label=f"best validation round: {best}")
    axes.set_xlabel("boosting round")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    return figure


def loss_curves(history, title="Loss and accuracy per epoch"):
    """HISTORY's *_loss columns on the left axis and *_accuracy columns on the right, by epoch."""
    figure, left = plt.subplots(figsize=(7, 3.6))
    for column in [c for c in history.columns if c.endswith("loss")]:
        left.plot(history.index, history[column], marker=".", label=column.replace("_", " "))
    left.set_xlabel("epoch")
    left.set_ylabel("loss (cross-entropy)")
    lines, labels = left.get_legend_handles_labels()
    accuracy = [c for c in history.columns if c.endswith("accuracy")]
    if accuracy:
        right = left.twinx()
        for column in accuracy:
            right.plot(history.index, history[column], color="#55a868", linestyle="--",
                       label=column.replace("_", " "))
        right.set_ylabel("accuracy")
        right.set_ylim(0, 1.02)
        more_lines, more_labels = right.get_legend_handles_labels()
        lines, labels = lines + more_lines, labels + more_labels
    left.legend(lines, labels, loc="center right")
    left.set_title(title)
    figure.tight_layout()
    return figure


def roc_curve(y_true, scores, title="ROC curve on the test set"):
    from sklearn.metrics import RocCurveDisplay

    figure, axes = plt.subplots(figsize=(4.6, 4.2))
    RocCurveDisplay.from_predictions(y_true, scores, ax=axes, name="XGBoost")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.set_title(title)
    axes.legend(loc="lower right")
    figure.tight_layout()
    return figure


def sweep(results, parameter, metric, title=None):
    """One bar per value of PARAMETER in the RESULTS DataFrame, labelled with METRIC."""
    figure, axes = plt.subplots(figsize=(6, 3.2))
    labels = [str(v) for v in results[parameter]]
    axes.bar(labels, results[metric], color="#4c72b0")
    low = results[metric].min()
    axes.set_ylim(max(0, low - 0.02), min(1, results[metric].max() + 0.01))
    for x, value in enumerate(results[metric]):
        axes.text(x, value + 0.001, f"{value:.4f}", ha="center", fontsize=8)
    axes.set_xlabel(parameter)
    axes.set_ylabel(metric)
    axes.set_title(title or f"{metric} for each {parameter}")
    figure.tight_layout()
    return figure


# Bias metrics whose fair value is 1 (a ratio); every other Clarify metric is a difference, fair at 0.
RATIO_METRICS = {"DI"}


def bias_metrics(metrics, title="Bias metrics", compare=None, compare_label="after", label="before"):
    """Clarify's metrics list ([{"name", "description", "value"}]) as horizontal bars, with the fair value
    marked (0 for differences, 1 for DI); COMPARE, a second list, is drawn next to it."""
    import numpy as np

    names = [m["name"] for m in metrics if m.get("value") is not None]
    values = {m["name"]: m["value"] for m in metrics}
    figure, axes = plt.subplots(figsize=(7.5, 0.38 * len(names) + 1.2))
    y = np.arange(len(names))
    height = 0.38 if compare else 0.7
    axes.barh(y, [values[n] - (1 if n in RATIO_METRICS else 0) for n in names], height=height,
              color="#4c72b0", label=label if compare else None)
    if compare:
        others = {m["name"]: m["value"] for m in compare}
        axes.barh(y + height, [(others.get(n) or 0) - (1 if n in RATIO_METRICS else 0) for n in names],
                  height=height, color="#dd8452", label=compare_label)
        axes.legend()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(y + (height / 2 if compare else 0))
    axes.set_yticklabels([f"{n} (−1)" if n in RATIO_METRICS else n for n in names])
    axes.invert_yaxis()
    axes.set_xlabel("distance from the fair value (0; DI is shown as DI − 1)")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def shap_importance(global_shap_values, top=15, title="Mean |SHAP value| per feature"):
    """The TOP features of Clarify's global_shap_values dict, largest first."""
    ranked = sorted(global_shap_values.items(), key=lambda item: abs(item[1]), reverse=True)[:top]
    figure, axes = plt.subplots(figsize=(7, 0.32 * len(ranked) + 1.2))
    axes.barh([name for name, _ in ranked], [value for _, value in ranked], color="#55a868")
    axes.invert_yaxis()
    axes.set_xlabel("mean |SHAP value| (change in the predicted probability)")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def local_explanation(shap_row, features_row, top=8, title="Why this prediction"):
    """One row's SHAP values: the TOP features by size, positive pushing towards the positive class."""
    ranked = sorted(shap_row.items(), key=lambda item: abs(item[1]), reverse=True)[:top]
    figure, axes = plt.subplots(figsize=(6.5, 0.34 * len(ranked) + 1.2))
    axes.barh([f"{name} = {features_row[name]:g}" for name, _ in ranked], [value for _, value in ranked],
              color=["#c0504d" if value > 0 else "#4c72b0" for _, value in ranked])
    axes.axvline(0, color="black", linewidth=0.8)
    axes.invert_yaxis()
    axes.set_xlabel("SHAP value (towards >50K when positive)")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
