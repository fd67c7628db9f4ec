"""Kernel SHAP with the `shap` library, set up the way the Clarify docs describe `methods.shap`
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html):

- baseline: the rows given in the config; otherwise the dataset's features clustered with K-means into
  `num_clusters` centres (`shap.kmeans`: centres rounded to values the data has, weighted by cluster size);
- `num_samples`: coalitions sampled per explained row; none given = KernelExplainer's "auto"
  (2 * features + 2048), which is what Clarify picks "according to the count of features";
- `use_logit`: explain log-odds (KernelExplainer link="logit"); `seed` seeds the sampling;
- every row of the dataset is explained; global values aggregate the local ones per feature with
  `agg_method`: mean_abs (mean of |SHAP|, the default), median (median of the SHAP values), mean_sq
  (mean of squared SHAP values);
- l1_reg=False: since shap 0.47 KernelExplainer keeps only 10 features by default ("num_features(10)");
  Clarify gives every feature a value.
"""
import time

import numpy as np
import pandas as pd

from dataset import to_csv_lines
from errors import UserError

DEFAULT_NUM_CLUSTERS = 10  # Clarify's own default is not documented


def _numeric(frame, what):
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise UserError(f"SHAP needs numeric features here; {what} has text in: {', '.join(map(str, bad[:10]))}. "
                        "Encode them as numbers (e.g. one-hot) before the analysis (K-prototypes baselines for "
                        "text columns are not implemented)")
    return frame.astype(float)


def baseline_frame(config, dataset, features):
    """The baseline as a DataFrame of feature rows, or None when it is to be clustered."""
    rows = config["shap"].get("baseline")
    if rows is None:
        return None
    if config["dataset_type"] == "application/jsonlines":
        import jmespath

        rows = [jmespath.search(config["features"], row) if isinstance(row, dict) else row for row in rows]
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(features):
            raise UserError(f"`methods.shap.baseline` row {number} has "
                            f"{len(row) if isinstance(row, list) else 'no list of'} values; the model takes "
                            f"{len(features)} features ({', '.join(map(str, features[:10]))}{' ...' if len(features) > 10 else ''})")
    return _numeric(pd.DataFrame(rows, columns=features), "the baseline")


def model_function(model, features, predictor, say, counter):
    """f(X) -> scores, as KernelExplainer wants it, calling the endpoint."""

    def f(array):
        array = np.asarray(array, dtype=float)
        frame = pd.DataFrame(array, columns=features)
        # Whole-number columns (one-hot, counts) go as "1" rather than "1.0": half the bytes to write and send.
        whole = np.all(np.mod(array, 1) == 0, axis=0)
        if whole.any():
            frame[[c for c, w in zip(features, whole) if w]] = frame.loc[:, whole].astype(np.int64)
        out = model.predict_lines(to_csv_lines(frame))
        counter["rows"] += len(frame)
        if out.scores is not None and ("probability" in predictor or out.labels is None):
            return out.scores
        try:
            return np.asarray(out.labels, dtype=float)
        except (TypeError, ValueError):
            raise UserError("SHAP explains numbers: `predictor.label` gives text labels; set `predictor.probability` "
                            "to the model's score") from None

    return f


def aggregate(values, method):
    if method == "mean_abs":
        return np.mean(np.abs(values), axis=0)
    if method == "median":
        return np.median(values, axis=0)
    if method == "mean_sq":
        return np.mean(np.square(values), axis=0)
    raise UserError(f"unknown agg_method {method!r}")


def explain(dataset, config, model, say=print):
    """(explanations section of analysis.json, local SHAP values DataFrame)."""
    import shap

    settings = config["shap"]
    features = dataset.features
    data = _numeric(dataset.frame[features], "the dataset")
    baseline = baseline_frame(config, dataset, features)
    if baseline is None:
        clusters = min(settings.get("num_clusters", DEFAULT_NUM_CLUSTERS), len(data.drop_duplicates()))
        say(f"SHAP baseline: K-means with {clusters} clusters over {len(data)} rows")
        background = shap.kmeans(data, clusters)
    else:
        say(f"SHAP baseline: {len(baseline)} row(s) from the config")
        background = baseline.to_numpy()
    counter = {"rows": 0}
    f = model_function(model, features, config["predictor"], say, counter)
    if "seed" in settings:
        np.random.seed(settings["seed"])
    explainer = shap.KernelExplainer(f, background, link="logit" if settings["use_logit"] else "identity")
    nsamples = settings.get("num_samples", "auto")
    say(f"SHAP: explaining {len(data)} row(s), {len(features)} features, num_samples={nsamples}")
    started, last = time.monotonic(), time.monotonic()
    parts, chunk = [], max(1, min(50, len(data) // 20 or 1))
    for start in range(0, len(data), chunk):
        values = explainer.shap_values(data.iloc[start:start + chunk], nsamples=nsamples, l1_reg=False, silent=True)
        parts.append(np.asarray(values))
        done = min(start + chunk, len(data))
        now = time.monotonic()
        if now - last > 10 or done == len(data):
            elapsed = now - started
            left = elapsed / done * (len(data) - done)
            say(f"SHAP: {done}/{len(data)} rows ({100 * done // len(data)}%), {elapsed:.0f} s, about {left:.0f} s left, "
                f"{counter['rows']} model rows so far")
            last = now
    values = np.concatenate(parts, axis=0)  # (rows, features) or (rows, features, outputs)
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    if values.ndim == 2:
        values = values[:, :, None]
    labels = {}
    local = {}
    for k in range(values.shape[2]):
        key = f"label{k}"
        global_values = aggregate(values[:, :, k], settings["agg_method"])
        labels[key] = {"global_shap_values": {str(name): float(v) for name, v in zip(features, global_values)},
                       "expected_value": float(expected[k])}
        for j, name in enumerate(features):
            local[str(name) if values.shape[2] == 1 else f"{name}_{key}"] = values[:, j, k]
    return {"kernel_shap": labels}, pd.DataFrame(local)
