"""Kernel SHAP with the `shap` library, set up the way the Clarify docs describe `methods.shap`
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html):

- baseline: the rows given in the config; otherwise the dataset's features clustered with K-means into
  `num_clusters` centres (`shap.kmeans`: centres rounded to values the data has, weighted by cluster size).
  Without `num_clusters` the docs say Clarify uses "an optimal number of clusters between 1 and 12"; how
  it finds it is not documented, so here it is the number from 2 to 12 with the best silhouette score of
  K-means on (a sample of) the data, or 1 when all rows are equal (`optimal_clusters`);
- `num_samples`: coalitions sampled per explained row; none given = KernelExplainer's "auto"
  (2 * features + 2048), which is what Clarify picks "according to the count of features";
- `use_logit`: explain log-odds (KernelExplainer link="logit"); `seed` seeds the sampling;
- every row of the dataset is explained; global values aggregate the local ones per feature with
  `agg_method`: mean_abs (mean of |SHAP|, the default), median (median of the SHAP values), mean_sq
  (mean of squared SHAP values);
- l1_reg=False: since shap 0.47 KernelExplainer keeps only 10 features by default ("num_features(10)");
  Clarify gives every feature a value;
- names: the explanations are keyed `label0`, `label1`, ... per model output, or by
  `predictor.label_headers` ("used to beautify the analysis report by replacing placeholders like
  'label0'", SDK ModelPredictedLabelConfig); explanations_shap/out.csv has one column per feature and
  output, `<feature>_<label>` (AWS's example notebooks strip "_label0" from its column names).
"""
import time

import numpy as np
import pandas as pd

from dataset import to_csv_lines
from errors import UserError

MAX_CLUSTERS = 12  # docs: "an optimal number of clusters between 1 and 12"
SILHOUETTE_SAMPLE = 2000  # rows the number of clusters is chosen on (silhouette costs rows squared)


def _numeric(frame, what):
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise UserError(f"SHAP needs numeric features in this container; {what} has text in: "
                        f"{', '.join(map(str, bad[:10]))}. Encode them as numbers (e.g. one-hot) before the analysis "
                        "(AWS's Clarify explains text columns with a K-prototypes baseline; this container does not)")
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


def optimal_clusters(data):
    """(number of clusters, why): 1 when every row is the same, else the k from 2 to MAX_CLUSTERS whose
    K-means clustering (as shap.kmeans makes it: scikit-learn, random_state 0) has the best silhouette
    score on up to SILHOUETTE_SAMPLE rows."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    sample = data.sample(n=SILHOUETTE_SAMPLE, random_state=0) if len(data) > SILHOUETTE_SAMPLE else data
    sample = sample.fillna(sample.mean())  # as shap.kmeans imputes missing values
    distinct = len(sample.drop_duplicates())
    if distinct < 2:
        return 1, "every row is the same"
    best, best_score = 2, None
    for k in range(2, min(MAX_CLUSTERS, distinct, len(sample) - 1) + 1):
        labels = KMeans(n_clusters=k, random_state=0, n_init=10).fit_predict(sample.to_numpy())
        score = silhouette_score(sample.to_numpy(), labels) if len(set(labels)) > 1 else -1
        if best_score is None or score > best_score:
            best, best_score = k, score
    return best, f"the best silhouette score ({best_score:.3f}) for 2 to {MAX_CLUSTERS} clusters"


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
        if "num_clusters" in settings:
            clusters, why = min(settings["num_clusters"], len(data.drop_duplicates())), "`num_clusters`"
        else:
            clusters, why = optimal_clusters(data)
        say(f"SHAP baseline: K-means with {clusters} clusters over {len(data)} rows ({why})")
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
    label_headers = config["predictor"].get("label_headers")
    if label_headers is not None and len(label_headers) != values.shape[2]:
        raise UserError(f"`predictor.label_headers` names {len(label_headers)} labels; the model gives "
                        f"{values.shape[2]} score(s) per row to explain")
    keys = [str(h) for h in label_headers] if label_headers else [f"label{k}" for k in range(values.shape[2])]
    labels = {}
    local = {}
    for k, key in enumerate(keys):
        global_values = aggregate(values[:, :, k], settings["agg_method"])
        labels[key] = {"global_shap_values": {str(name): float(v) for name, v in zip(features, global_values)},
                       "expected_value": float(expected[k])}
        for j, name in enumerate(features):
            local[f"{name}_{key}"] = values[:, j, k]
    return {"kernel_shap": labels}, pd.DataFrame(local)
