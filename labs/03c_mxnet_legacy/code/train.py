"""Train a small Gluon classifier in SageMaker script mode (Lab 03c, LEGACY: Apache MXNet is retired).

SageMaker runs this file inside AWS's MXNet 1.9 training container (or the workshop's twin of it) and tells
it everything through the environment and the command line:
- hyperparameters arrive as command-line arguments (--epochs 30 --learning-rate 0.1 ...);
- each input channel is a folder, named in SM_CHANNEL_<NAME> (here TRAIN and VALIDATION: CSV, label first,
  labels 0, 1, 2, ...);
- whatever is written to SM_MODEL_DIR becomes model.tar.gz when the job ends;
- SM_NUM_CPUS, SM_HOSTS and SM_CURRENT_HOST describe the machine and the cluster.
The model is saved as the MXNet inference toolkit's default model_fn loads it: model-symbol.json,
model-0000.params and model-shapes.json (the input's name and shape); the archive still needs a
code/inference.py to serve, even an empty one (the lab adds it). It uses only APIs MXNet 1.9.0 (AWS's
image) and 1.9.1 (the twin) share.
"""
import argparse
import json
import os
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    # SageMaker's own locations, from the environment, so the same script runs anywhere.
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "data/validation"))
    return parser.parse_args()


def read_channel(folder):
    """Every CSV file in a channel folder: label in the first column, features after it."""
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no .csv file in channel folder {folder}")
    rows = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files]).astype("float32")
    return rows[:, 1:], rows[:, 0]


def build_net(hidden, classes):
    # Hybrid blocks can be exported as a symbol graph: the form the serving toolkit loads by default.
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(hidden, activation="relu"), gluon.nn.Dense(classes))
    return net


def evaluate(net, loss_fn, x, y):
    scores = net(mx.nd.array(x))
    loss = loss_fn(scores, mx.nd.array(y)).mean().asscalar()
    accuracy = float((scores.argmax(axis=1).asnumpy() == y).mean())
    return loss, accuracy


def save(net, model_dir, features):
    """model-symbol.json + model-0000.params (net.export) and model-shapes.json: the three files the
    MXNet inference toolkit's default model_fn reads."""
    os.makedirs(model_dir, exist_ok=True)
    net.export(os.path.join(model_dir, "model"), epoch=0)
    with open(os.path.join(model_dir, "model-shapes.json"), "w") as f:
        json.dump([{"name": "data", "shape": [1, features]}], f)


def main():
    args = parse_args()
    mx.random.seed(args.seed)
    np.random.seed(args.seed)
    print(f"host={os.environ.get('SM_CURRENT_HOST', 'local')} hosts={os.environ.get('SM_HOSTS', '[]')} "
          f"cpus={os.environ.get('SM_NUM_CPUS', os.cpu_count())} mxnet={mx.__version__}", flush=True)

    train_x, train_y = read_channel(args.train)
    val_x, val_y = read_channel(args.validation)
    classes = int(max(train_y.max(), val_y.max())) + 1
    net = build_net(args.hidden, classes)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": args.learning_rate})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    batches = gluon.data.DataLoader(gluon.data.ArrayDataset(train_x, train_y), batch_size=args.batch_size,
                                    shuffle=True)

    for epoch in range(1, args.epochs + 1):
        total, count = 0.0, 0
        for x, y in batches:
            with autograd.record():
                loss = loss_fn(net(x), y)
            loss.backward()
            trainer.step(x.shape[0])
            total, count = total + loss.sum().asscalar(), count + x.shape[0]
        val_loss, val_accuracy = evaluate(net, loss_fn, val_x, val_y)
        # One line per epoch, key=value: what a SageMaker metric definition's regex picks up.
        print(f"epoch={epoch} train_loss={total / count:.4f} validation_loss={val_loss:.4f} "
              f"validation_accuracy={val_accuracy:.4f}", flush=True)

    save(net, args.model_dir, train_x.shape[1])
    print(f"saved the model to {args.model_dir}: {sorted(os.listdir(args.model_dir))}", flush=True)


if __name__ == "__main__":
    main()
