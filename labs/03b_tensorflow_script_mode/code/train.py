"""Train a small Keras 3 classifier in SageMaker script mode (Lab 03b).

SageMaker runs this file inside AWS's TensorFlow training container (or the workshop's twin of it) and tells
it everything through the environment and the command line:
- hyperparameters arrive as command-line arguments (--epochs 30 --learning-rate 0.01 ...);
- each input channel is a folder, named in SM_CHANNEL_<NAME> (here TRAIN and VALIDATION: CSV, no header,
  label first, labels 0, 1, 2, ...);
- whatever is written to SM_MODEL_DIR becomes model.tar.gz when the job ends;
- SM_OUTPUT_DATA_DIR is for anything else worth keeping (here metrics.json).
The model is saved as a TensorFlow SavedModel in SM_MODEL_DIR/1/: TensorFlow Serving (and AWS's TensorFlow
inference container) looks for SavedModels in numbered version folders and names the model after the folder
above the number, so this archive serves as model "model", version 1, with no code of yours. The feature
scaling is a layer of the model, so the served model takes the raw feature values.
"""
import argparse
import json
import os
from pathlib import Path

import keras
import numpy as np


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    # SageMaker's own locations, from the environment, so the same script runs anywhere.
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "data/validation"))
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "output"))
    # AWS's TensorFlow toolkit adds --model_dir (a checkpoint location, often S3) in tuning jobs, and the SDK's
    # TensorFlow estimator always does: accepted so the script does not fail; this script keeps no checkpoints.
    parser.add_argument("--model_dir", dest="checkpoint_dir", default=None)
    return parser.parse_args()


def read_channel(folder):
    """Every CSV file in a channel folder: label in the first column, features after it."""
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no .csv file in channel folder {folder}")
    rows = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files]).astype("float32")
    return rows[:, 1:], rows[:, 0].astype("int32")


def build_model(train_x, classes, hidden):
    """Scaling learnt from the training rows, one hidden layer, a probability per class."""
    scale = keras.layers.Normalization(name="scale")
    scale.adapt(train_x)
    return keras.Sequential([
        keras.Input(shape=(train_x.shape[1],), name="features"),
        scale,
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(classes, activation="softmax", name="probabilities"),
    ])


class EpochLine(keras.callbacks.Callback):
    """One line per epoch, key=value: the notebook (and a metric definition on AWS) reads these."""

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch={epoch + 1} train_loss={logs['loss']:.4f} validation_loss={logs['val_loss']:.4f} "
              f"validation_accuracy={logs['val_accuracy']:.4f}", flush=True)


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)  # the same weights and batch order on every run
    train_x, train_y = read_channel(args.train)
    val_x, val_y = read_channel(args.validation)
    classes = int(train_y.max()) + 1
    print(f"train rows={len(train_x)} validation rows={len(val_x)} features={train_x.shape[1]} classes={classes} "
          f"keras={keras.__version__} backend={keras.backend.backend()}", flush=True)

    model = build_model(train_x, classes, args.hidden)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_x, train_y, validation_data=(val_x, val_y), epochs=args.epochs,
                        batch_size=args.batch_size, verbose=0, callbacks=[EpochLine()])

    # <model_dir>/1/saved_model.pb: version 1 of the model TensorFlow Serving calls "model".
    export_dir = Path(args.model_dir) / "1"
    model.export(str(export_dir), verbose=False)
    print(f"saved a SavedModel to {export_dir}", flush=True)

    final = {key: round(float(values[-1]), 4) for key, values in history.history.items()}
    Path(args.output_data_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.output_data_dir) / "metrics.json").write_text(json.dumps({"epochs": args.epochs, **final}))


if __name__ == "__main__":
    main()
