"""Pre- and post-training bias metrics, computed by AWS's open-source smclarify library (0.5).

Each facet entry of analysis.json is exactly what `smclarify.bias.report.bias_report` returns
([{"value_or_threshold": ..., "metrics": [{"name", "description", "value"}, ...]}]; a metric smclarify
could not compute carries its "error" instead of a value, as smclarify reports it). smclarify decides
whether a label or facet is categorical or continuous (`common.series_datatype`: floats and integer columns
with more than 5% distinct values are continuous; then `value_or_threshold` / `label_values_or_threshold`
is a threshold and the group is the values above it).

Predicted labels for post-training metrics come from a dataset column (`predicted_label`) or from the
model: a label the model returns is used as it is; a score (one number) for a categorical label becomes
1 when it is above `probability_threshold` (default 0.5) and 0 otherwise, as the SDK's
ModelPredictedLabelConfig describes ("apply a threshold of 0.5 to obtain a predicted label in {0, 1}");
a list of scores becomes the index of the largest (or that entry of `label_headers`).
"""
import numpy as np
import pandas as pd
from smclarify.bias import report as smclarify_report
from smclarify.bias.metrics import common

from errors import UserError

PREDICTED = "_predicted_label"


def label_is_categorical(series, label_values):
    return common.series_datatype(series, list(label_values)) == common.DataType.CATEGORICAL


def _all_numbers(values):
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def predicted_labels(output, label_series, label_values, threshold, label_headers=None):
    """The model's answers (content_types.ModelOutput) as a Series of predicted labels."""
    if output.labels is not None:
        values = list(output.labels)
    elif output.scores is not None and output.scores.ndim == 2:
        best = output.scores.argmax(axis=1)
        if label_headers:
            if len(label_headers) != output.scores.shape[1]:
                raise UserError(f"`predictor.label_headers` names {len(label_headers)} labels; the model gives "
                                f"{output.scores.shape[1]} scores per row")
            return pd.Series([label_headers[i] for i in best], index=label_series.index)
        return pd.Series(best, index=label_series.index)
    elif output.scores is not None:
        values = list(output.scores)
    else:
        raise UserError("the model's answers hold no label and no score")
    if any(isinstance(v, list) for v in values):
        raise UserError("`predictor.label` gives lists; point it at one predicted label per row "
                        "(or use `predictor.probability` for the scores)")
    series = pd.Series(values, index=label_series.index)
    if not _all_numbers(values) or not label_is_categorical(label_series, label_values):
        return series  # labels, or a regression's predictions compared with the label threshold
    observed = set(pd.to_numeric(label_series, errors="coerce").dropna().unique())
    if set(series.unique()) <= observed:
        return series.astype(label_series.dtype) if observed else series
    # scores: threshold them into 1 / 0
    if not any(str(v) in ("1", "1.0") for v in label_values):
        raise UserError(f"the model returns scores, which become predicted labels 1 (score > probability_threshold "
                        f"{threshold}) or 0; `label_values_or_threshold` {label_values} does not name 1, so no "
                        "prediction could match it: use 0/1 labels, or have the model return labels")
    return (series > threshold).astype(int)


def _frame_for(dataset, facet):
    columns = list(dict.fromkeys([*dataset.features, facet, dataset.label]))
    return dataset.frame[columns]


def section(dataset, config, stage, metrics, predicted=None):
    """The pre_training_bias_metrics or post_training_bias_metrics section of analysis.json."""
    label_values = list(config["label_values_or_threshold"])
    label_series = dataset.frame[dataset.label]
    try:
        label_text = smclarify_report.label_value_or_threshold(label_series, list(label_values))
    except Exception as err:
        raise UserError(f"label {dataset.label!r} with label_values_or_threshold {label_values}: {err}") from None
    group = dataset.frame[dataset.group_variable] if dataset.group_variable else None
    facets = {}
    for facet, values in dataset.facets:
        df = _frame_for(dataset, facet)
        predicted_column = None
        if stage == "post_training":
            name = dataset.predicted_label or PREDICTED
            predicted_column = smclarify_report.LabelColumn(name, predicted, list(label_values))
        try:
            result = smclarify_report.bias_report(
                df,
                smclarify_report.FacetColumn(facet, list(values) if values else None),
                smclarify_report.LabelColumn(dataset.label, label_series, list(label_values)),
                smclarify_report.StageType.PRE_TRAINING if stage == "pre_training" else smclarify_report.StageType.POST_TRAINING,
                predicted_label_column=predicted_column,
                metrics=list(metrics),
                group_variable=group,
            )
        except UserError:
            raise
        except Exception as err:  # smclarify's checks (no positive labels, facet value absent, ...)
            raise UserError(f"{stage.replace('_', '-')} bias for facet {facet!r}"
                            f"{f' {values}' if values else ''}: {err}") from None
        facets.setdefault(str(facet), []).extend(result)
    return {"label": str(dataset.label), "label_value_or_threshold": label_text, "facets": facets}
