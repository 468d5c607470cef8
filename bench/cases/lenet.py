"""(g) One SGD training step of a LeNet-like CNN built from ``cr.nn`` layers, float32.

conv 5×5 1→8, ReLU, max-pool 2, conv 5×5 8→16, ReLU, max-pool 2, flatten, linear 256→10;
batch 64 of 1×28×28, softmax cross-entropy, ``cr.optim.SGD(lr=0.01)`` step and
``zero_grad``; PyTorch runs the identical ``torch.nn`` model with ``torch.optim.SGD``.
No NumPy reference (a hand-written CNN backward would measure the reference, not the gap).
"""
from __future__ import annotations

import numpy as np
import torch
from timing import Row

import chainrule as cr
from cases import _nn_step

BATCH = 64


def layers(nn):
    """The same stack from ``chainrule.nn`` or ``torch.nn`` (same names, same arguments)."""
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(256, 10))


def build_chainrule():
    return layers(cr.nn)


def build_torch():
    return layers(torch.nn)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, BATCH))


def run(budget=None) -> list[Row]:
    x, y = batch()
    _nn_step.check("lenet", build_chainrule, build_torch, x, y)
    s = _nn_step.time_steps(build_chainrule, build_torch, x, y, budget)
    return [Row(f"lenet (cr.nn CNN, batch {BATCH}×1×28×28, SGD step)", "ms/step", 1e3,
                s["cr"], s["pt"], None, target=1.4)]
