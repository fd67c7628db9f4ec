"""The model this container trains and serves: a scikit-learn decision tree on numeric CSV rows.

Data format (same as the built-in algorithms use for CSV): no header, label in column 0,
features after it. The label may be text (for example an Iris species) or a number.
"""
import csv
import io
import json

import joblib
import numpy as np
from sklearn.tree import DecisionTreeClassifier

from opt_ml import ContractError

MODEL_FILE = "model.joblib"
INFO_FILE = "model-info.json"

# Each hyperparameter: how to parse the string SageMaker sends, and what values are valid.
CRITERIA = ("gini", "entropy", "log_loss")
HYPERPARAMETERS = {
    "max_leaf_nodes": (int, lambda v: v >= 2, "an integer of at least 2"),
    "max_depth": (int, lambda v: v >= 1, "an integer of at least 1"),
    "min_samples_leaf": (int, lambda v: v >= 1, "an integer of at least 1"),
    "criterion": (str, lambda v: v in CRITERIA, f"one of {', '.join(CRITERIA)}"),
    "random_state": (int, lambda v: v >= 0, "a non-negative integer"),
}


def parse_hyperparameters(raw):
    """Turn SageMaker's string values into typed tree settings; refuse unknown or invalid ones."""
    unknown = sorted(set(raw) - set(HYPERPARAMETERS))
    if unknown:
        raise ContractError(
            f"unknown hyperparameter(s) {unknown}; this algorithm accepts {sorted(HYPERPARAMETERS)}"
        )
    settings = {"random_state": 0}
    for name, text in raw.items():
        kind, valid, expected = HYPERPARAMETERS[name]
        try:
            value = kind(str(text).strip().strip('"'))
        except ValueError:
            raise ContractError(f"hyperparameter {name}={text!r} must be {expected}") from None
        if not valid(value):
            raise ContractError(f"hyperparameter {name}={text!r} must be {expected}")
        settings[name] = value
    return settings


def parse_rows(text, expected_features=None, source="request"):
    """Parse headerless CSV into a list of rows of strings, with errors that say where."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ContractError(f"{source} has no CSV rows")
    width = expected_features if expected_features is not None else len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ContractError(
                f"{source} row {number} has {len(row)} values; expected {width}"
                + (" (the model's feature count)" if expected_features is not None else "")
            )
    return rows


def to_numbers(rows, source="request"):
    try:
        return np.asarray(rows, dtype=np.float64)
    except ValueError:
        for number, row in enumerate(rows, start=1):
            for column, cell in enumerate(row, start=1):
                try:
                    float(cell)
                except ValueError:
                    raise ContractError(
                        f"{source} row {number}, column {column}: {cell!r} is not a number"
                    ) from None
        raise


def train(csv_texts, hyperparameters):
    """Fit a tree on the labelled rows of one or more CSV files; return the model and its info."""
    rows = []
    for name, text in csv_texts:
        rows.extend(parse_rows(text, source=name))
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ContractError(f"training files disagree on the number of columns: {sorted(widths)}")
    if widths.pop() < 2:
        raise ContractError("training rows need a label in column 0 and at least one feature")
    labels = [row[0].strip() for row in rows]
    features = to_numbers([row[1:] for row in rows], source="training data")
    tree = DecisionTreeClassifier(**parse_hyperparameters(hyperparameters))
    tree.fit(features, labels)
    info = {
        "n_features": int(features.shape[1]),
        "classes": [str(c) for c in tree.classes_],
        "n_leaves": int(tree.get_n_leaves()),
        "depth": int(tree.get_depth()),
        "training_rows": len(rows),
        "training_accuracy": float(tree.score(features, labels)),
    }
    return tree, info


def save(tree, info, model_dir):
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(tree, model_dir / MODEL_FILE)
    (model_dir / INFO_FILE).write_text(json.dumps(info, indent=2))


def load(model_dir):
    path = model_dir / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no model at {path}: was the model.tar.gz built by this container's train?")
    return joblib.load(path), json.loads((model_dir / INFO_FILE).read_text())


def predict_csv(tree, info, text):
    """CSV rows of features in, one predicted label per line out."""
    features = to_numbers(parse_rows(text, expected_features=info["n_features"]))
    if not np.isfinite(features).all():
        raise ContractError("request has a value that is not a finite number (nan or inf)")
    return "".join(f"{label}\n" for label in tree.predict(features))
