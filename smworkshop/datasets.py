"""Small data sets that need no network, written in the layouts SageMaker containers expect."""
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split


def iris(folder, test_fraction=0.3, seed=7):
    """Iris (bundled with scikit-learn) as headerless CSV with the species in column 0.

    Writes FOLDER/train/iris_train.csv and FOLDER/test/iris_test.csv (stratified split) and
    returns the two DataFrames. This is the layout of the built-in algorithms' CSV input.
    """
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.insert(0, "species", [data.target_names[t] for t in data.target])
    train, test = train_test_split(frame, test_size=test_fraction, random_state=seed, stratify=frame["species"])
    for name, part in (("train", train), ("test", test)):
        target = Path(folder) / name
        target.mkdir(parents=True, exist_ok=True)
        part.to_csv(target / f"iris_{name}.csv", header=False, index=False)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def to_csv_body(features):
    """Feature rows (DataFrame or array) as the text/csv body of an invocation: no header, no index."""
    return pd.DataFrame(features).to_csv(header=False, index=False)


def to_png(image_01):
    """A grey image with values in [0, 1] as PNG bytes (what a client would upload)."""
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.uint8(np.round(np.asarray(image_01) * 255))).save(buffer, format="PNG")
    return buffer.getvalue()


ADULT_FOLDER = Path(__file__).resolve().parent.parent / "data" / "adult"
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
                 "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
                 "native_country", "income"]


def adult():
    """UCI Adult (data/adult, CC BY 4.0): the (train, test) DataFrames of the original split.

    Column names from adult.names; `income` is '>50K' or '<=50K' in both parts (the test file's labels
    end with a full stop, removed here); '?' becomes missing.
    """
    parts = []
    for name in ("adult.data.gz", "adult.test.gz"):
        frame = pd.read_csv(ADULT_FOLDER / name, header=None, names=ADULT_COLUMNS, skipinitialspace=True,
                            na_values="?", comment="|")
        frame["income"] = frame["income"].str.rstrip(".")
        parts.append(frame)
    return tuple(parts)


def adult_features(frame):
    """Adult rows as model inputs: (features, label) with label 1 for income >50K.

    Drops `fnlwgt` (the census sampling weight, not a property of the person) and `education` (the
    same information as `education_num`); categorical columns become one 0/1 column per value, with
    missing values as a value of their own ("Unknown"). Call it on train and test together, so both get
    the same columns.
    """
    label = (frame["income"] == ">50K").astype(int)
    features = frame.drop(columns=["income", "fnlwgt", "education"])
    categorical = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    features[categorical] = features[categorical].fillna("Unknown")
    features = pd.get_dummies(features, columns=categorical, dtype=int)
    return features, label


def write_label_first_csv(features, label, path):
    """The built-in algorithms' CSV: no header, no index, label in column 0. Returns PATH."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([label.rename("label"), features], axis=1).to_csv(path, header=False, index=False)
    return path
