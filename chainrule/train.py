"""The training job behind ``chainrule train`` and ``chainrule demo``: data, models, the loop,
and checkpoints that resume to exactly the parameters of an uninterrupted run."""
from __future__ import annotations

import csv
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import data, io, nn, optim
from .engine import no_grad
from .nn import functional as F
from .tensor import Tensor

CHECKPOINT = "checkpoint.safetensors"
FIELDS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]


@dataclass
class Config:
    dataset: str = "digits"
    model: str = "mlp"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    seed: int = 0
    out: str = "chainrule-run"
    mnist_root: str = "data/mnist"


class Reshape(nn.Module):
    """Gives flat feature vectors the (C, H, W) or (C, L) layout a CNN expects."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)

    def extra_repr(self):
        return str(self.shape)


def load_dataset(cfg: Config):
    if cfg.dataset == "digits":
        return data.load_digits()
    if cfg.dataset == "mnist1d":
        return data.load_mnist1d()
    x_tr, y_tr, x_te, y_te = data.load_mnist(cfg.mnist_root)
    return x_tr.reshape(len(x_tr), -1), y_tr, x_te.reshape(len(x_te), -1), y_te


def build_model(cfg: Config, n_in: int, rng) -> nn.Module:
    """MLPs and CNNs sized for each dataset (the MNIST-1D CNN follows the paper's shape)."""
    L, C, R = nn.Linear, nn.Conv2d, nn.ReLU
    if cfg.model == "mlp":
        hidden = {"digits": [128], "mnist1d": [100, 100], "mnist": [256, 256]}[cfg.dataset]
        sizes = [n_in, *hidden, 10]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [L(a, b, rng=rng), R()]
        return nn.Sequential(*layers[:-1])
    if cfg.dataset == "mnist1d":
        c1 = nn.Conv1d
        return nn.Sequential(Reshape(1, n_in), c1(1, 25, 5, 2, 1, rng=rng), R(),
                             c1(25, 25, 3, 2, 1, rng=rng), R(), c1(25, 25, 3, 2, 1, rng=rng),
                             R(), nn.Flatten(), L(125, 10, rng=rng))
    if cfg.dataset == "digits":
        return nn.Sequential(Reshape(1, 8, 8), C(1, 16, 3, padding=1, rng=rng), R(),
                             nn.MaxPool2d(2), nn.Flatten(), L(256, 10, rng=rng))
    return nn.Sequential(Reshape(1, 28, 28), C(1, 8, 5, rng=rng), R(), nn.MaxPool2d(2),
                         C(8, 16, 5, rng=rng), R(), nn.MaxPool2d(2), nn.Flatten(),
                         L(256, 10, rng=rng))


def build_optimizer(cfg: Config, params):
    kinds = {"sgd": lambda: optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum),
             "adam": lambda: optim.Adam(params, lr=cfg.lr),
             "adamw": lambda: optim.AdamW(params, lr=cfg.lr),
             "rmsprop": lambda: optim.RMSprop(params, lr=cfg.lr),
             "adagrad": lambda: optim.Adagrad(params, lr=cfg.lr)}
    return kinds[cfg.optimizer]()


def _progress(iterable, total, desc):
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are an optional extra
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, mininterval=0.2,
                file=sys.stderr, dynamic_ncols=True)


def train_epoch(model, opt, loader, desc):
    model.train()
    total = correct = seen = 0
    bar = _progress(loader, len(loader), desc)
    for xb, yb in bar:
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        n = len(yb.data)
        total += loss.item() * n
        correct += int((logits.data.argmax(1) == yb.data).sum())
        seen += n
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.4f}")
    return total / seen, correct / seen


def evaluate(model, x, y, batch_size=1000):
    model.eval()
    total = correct = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(Tensor._wrap(x[i:i + batch_size]))
            yb = y[i:i + batch_size]
            total += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.data.argmax(1) == yb).sum())
    return total / len(x), correct / len(x)


def _save(path, model, opt, epoch, shuffle_rng, cfg):
    io.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
             "config": asdict(cfg), "rng": {"shuffle": shuffle_rng.bit_generator.state}},
            path)


def _plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    ep = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in ((a, "loss"), (b, "acc")):
        ax.plot(ep, [r[f"train_{key}"] for r in rows], "o-", label="train")
        ax.plot(ep, [r[f"test_{key}"] for r in rows], "s-", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _read_metrics(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def run(cfg: Config, resume: bool = False, log=print) -> dict:
    """Train as ``cfg`` says; returns the last epoch's metrics. Everything random comes from
    generators seeded by ``cfg.seed`` whose states the checkpoint keeps."""
    os.makedirs(cfg.out, exist_ok=True)
    ckpt_path = os.path.join(cfg.out, CHECKPOINT)
    metrics_path = os.path.join(cfg.out, "metrics.csv")
    x_tr, y_tr, x_te, y_te = load_dataset(cfg)
    init_rng, shuffle_rng = (np.random.default_rng([cfg.seed, k]) for k in (0, 1))
    model = build_model(cfg, x_tr.shape[1], init_rng)
    opt = build_optimizer(cfg, model.parameters())
    start = 1
    rows = _read_metrics(metrics_path) if resume else []
    if resume:
        state = io.load(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        shuffle_rng.bit_generator.state = state["rng"]["shuffle"]
        start = int(state["epoch"]) + 1
        rows = [r for r in rows if r["epoch"] < start]
        log(f"resuming from {ckpt_path} after epoch {start - 1}")
    loader = data.DataLoader(data.TensorDataset(x_tr, y_tr), cfg.batch_size, shuffle=True,
                             rng=shuffle_rng)
    row = rows[-1] if rows else {}
    for epoch in range(start, cfg.epochs + 1):
        t0 = time.perf_counter()
        tr_loss, tr_acc = train_epoch(model, opt, loader, f"epoch {epoch}/{cfg.epochs}")
        te_loss, te_acc = evaluate(model, x_te, y_te)
        row = dict(zip(FIELDS, (epoch, tr_loss, tr_acc, te_loss, te_acc,
                                time.perf_counter() - t0)))
        rows.append(row)
        log(f"epoch {epoch}/{cfg.epochs}  train_loss={tr_loss:.4f}  train_acc={tr_acc:.4f}  "
            f"test_loss={te_loss:.4f}  test_acc={te_acc:.4f}  time={row['seconds']:.2f}s")
        _save(ckpt_path, model, opt, epoch, shuffle_rng, cfg)
        with io.atomic_open(metrics_path) as f:
            text = ",".join(FIELDS) + "\n" + "".join(
                f"{int(r['epoch'])}," + ",".join(f"{r[k]:.6f}" for k in FIELDS[1:]) + "\n"
                for r in rows)
            f.write(text.encode())
        _plot(rows, os.path.join(cfg.out, "curves.png"))
    return row
