"""Train a small digit classifier in SageMaker script mode (Lab 03a).

SageMaker runs this file inside AWS's PyTorch training container (or the workshop's twin of it) and tells it
everything through the environment and the command line:
- hyperparameters arrive as command-line arguments (--epochs 20 --learning-rate 0.05 ...);
- each input channel is a folder, named in SM_CHANNEL_<NAME> (here TRAIN and VALIDATION: CSV, label first);
- whatever is written to SM_MODEL_DIR becomes model.tar.gz when the job ends;
- SM_NUM_CPUS, SM_HOSTS and SM_CURRENT_HOST describe the machine and the cluster.
With torchrun (SDK v3's Torchrun distribution) one process per host is started, and RANK / WORLD_SIZE /
MASTER_ADDR are set: the script then trains with DistributedDataParallel over gloo, each rank on its own
share of the rows, and rank 0 alone reports and saves.
"""
import argparse
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from model import DigitNet


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
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
    rows = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
    return torch.tensor(rows[:, 1:], dtype=torch.float32), torch.tensor(rows[:, 0], dtype=torch.long)


def main():
    args = parse_args()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("gloo")  # gloo: the CPU backend; nccl would need GPUs
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    # One process per host here: let it use the host's CPUs (SM_NUM_CPUS), no more.
    torch.set_num_threads(max(1, int(os.environ.get("SM_NUM_CPUS", os.cpu_count() or 1)) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))))
    host = os.environ.get("SM_CURRENT_HOST", socket.gethostname())
    print(f"worker host={host} rank={rank} world_size={world} hosts={os.environ.get('SM_HOSTS', '[]')} "
          f"threads={torch.get_num_threads()}", flush=True)

    torch.manual_seed(args.seed)  # the same initial weights on every rank
    train_x, train_y = read_channel(args.train)
    val_x, val_y = read_channel(args.validation)
    mine_x, mine_y = train_x[rank::world], train_y[rank::world]  # each rank its own share of the rows

    model = DigitNet(train_x.shape[1], args.hidden, int(train_y.max()) + 1)
    trained = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    optimizer = torch.optim.SGD(trained.parameters(), lr=args.learning_rate, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed + rank)

    for epoch in range(1, args.epochs + 1):
        trained.train()
        total, count = torch.zeros(2), 0
        for batch in torch.randperm(len(mine_x), generator=generator).split(args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(trained(mine_x[batch]), mine_y[batch])
            loss.backward()  # with DDP, gradients are averaged across ranks here
            optimizer.step()
            total += torch.tensor([loss.item() * len(batch), len(batch)])
        if distributed:
            dist.all_reduce(total)  # the loss over every rank's rows
        model.eval()
        with torch.no_grad():
            logits = model(val_x)
            val_loss = loss_fn(logits, val_y).item()
            val_accuracy = (logits.argmax(1) == val_y).float().mean().item()
        if rank == 0:
            # One line per epoch, key=value: the notebook (and a metric definition on AWS) reads these.
            print(f"epoch={epoch} train_loss={total[0] / total[1]:.4f} validation_loss={val_loss:.4f} "
                  f"validation_accuracy={val_accuracy:.4f}", flush=True)

    if rank == 0:
        save(model, args, train_x.shape[1], int(train_y.max()) + 1)
    if distributed:
        dist.destroy_process_group()


def save(model, args, features, classes):
    """The weights, the shape needed to rebuild the network, and the serving code, in SM_MODEL_DIR.

    The serving code goes under code/: the PyTorch inference container imports code/inference.py from the
    model archive, so the archive this job produces can be deployed as it is.
    """
    model_dir = Path(args.model_dir)
    torch.save(model.state_dict(), model_dir / "model.pt")
    (model_dir / "model.json").write_text(json.dumps({"features": features, "hidden": args.hidden,
                                                      "classes": classes}))
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in ("inference.py", "model.py"):
        shutil.copy(here / name, code / name)
    print(f"saved model.pt, model.json and code/ to {model_dir}", flush=True)


if __name__ == "__main__":
    main()
