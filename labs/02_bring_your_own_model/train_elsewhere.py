"""Train a small image classifier *outside* SageMaker and export it the way you would hand it over.

Lab 02 treats what this script writes as "a model someone gave you": TorchScript (so the serving side
needs the weights only, not this Python class) plus a label map.

    python train_elsewhere.py --out model_artifacts [--epochs 8]

Data: scikit-learn's bundled handwritten digits (1,797 grey 8x8 images, no download), upscaled to
32x32 so the network sees something closer to real image sizes. About 10 seconds on 2 CPU cores.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn import functional as F

IMAGE_SIZE = 32
SEED = 7


def load_data(held_out_fraction=0.2):
    """Digits as float images in [0, 1], shape (n, 1, 32, 32), split the same way every time."""
    digits = load_digits()
    small = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    images = F.interpolate(small, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    labels = torch.tensor(digits.target)
    index = np.arange(len(labels))
    train_index, held_out_index = train_test_split(index, test_size=held_out_fraction, random_state=SEED,
                                                   stratify=digits.target)
    return (images[train_index], labels[train_index]), (images[held_out_index], labels[held_out_index])


class DigitNet(nn.Module):
    """Two convolution blocks and a small classifier head: about 140 thousand weights."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 16 x 16
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 8 x 8
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        return self.head(self.features(x))


def accuracy(model, images, labels):
    with torch.no_grad():
        return (model(images).argmax(dim=1) == labels).float().mean().item()


def train(epochs=8, batch_size=64, learning_rate=2e-3):
    torch.manual_seed(SEED)
    (train_x, train_y), (held_x, held_y) = load_data()
    model = DigitNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train_y))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        print(f"epoch {epoch}: loss {loss.item():.3f}, held-out accuracy {accuracy(model, held_x, held_y):.3f}",
              flush=True)
    return model.eval(), accuracy(model, held_x, held_y)


def export(model, out):
    """TorchScript + label map: everything a serving container needs, nothing it does not."""
    out.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    torch.jit.save(torch.jit.trace(model, example), str(out / "model.pt"))
    labels = {str(i): str(i) for i in range(10)}
    (out / "labels.json").write_text(json.dumps({"labels": labels, "image_size": IMAGE_SIZE,
                                                 "input": "grey image, ink bright on dark, scaled to [0, 1]"},
                                                indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("model_artifacts"))
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.monotonic()
    model, held_out_accuracy = train(epochs=args.epochs)
    export(model, args.out)
    print(f"trained in {time.monotonic() - started:.1f} s; held-out accuracy {held_out_accuracy:.3f}; "
          f"wrote {sorted(p.name for p in args.out.iterdir())} to {args.out}")


if __name__ == "__main__":
    main()
