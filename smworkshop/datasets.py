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
