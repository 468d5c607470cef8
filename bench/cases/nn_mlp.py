"""(f) One SGD training step of the 784-256-256-10 ReLU MLP built from ``cr.nn`` layers.

``nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)``, batch 128, float32, softmax
cross-entropy, ``cr.optim.SGD(lr=0.01)`` step and ``zero_grad``, vs the same ``torch.nn``
model with ``torch.optim.SGD``. Same network as ``mlp_step``, which calls the functional ops
on raw tensors: the difference between the two rows is the cost of modules and optimizer.
The NumPy reference is ``mlp_step``'s hand-written step on the same weights.
"""
from __future__ import annotations

import numpy as np
import torch
from timing import Row

import chainrule as cr
from cases import _nn_step, mlp

SIZES = (784, 256, 256, 10)
BATCH = 128


def layers(nn):
    """The same stack from ``chainrule.nn`` or ``torch.nn``."""
    mods = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        mods += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*mods[:-1])


def build_chainrule():
    return layers(cr.nn)


def build_torch():
    return layers(torch.nn)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, SIZES[0])).astype(np.float32),
            rng.integers(0, SIZES[-1], BATCH))


def run(budget=None) -> list[Row]:
    x, y = batch()
    _nn_step.check("nn_mlp", build_chainrule, build_torch, x, y)
    _, m_pt = _nn_step.pair(build_chainrule, build_torch)
    p_np = [p.detach().numpy().copy() for p in m_pt.parameters()]  # W1, b1, W2, b2, W3, b3
    rows = np.arange(BATCH)
    s = _nn_step.time_steps(build_chainrule, build_torch, x, y, budget,
                            extra={"np": lambda: mlp.step_numpy(p_np, x, y, rows)})
    arch = "-".join(map(str, SIZES))
    return [Row(f"nn_mlp ({arch} cr.nn, batch {BATCH}, SGD step)", "ms/step", 1e3,
                s["cr"], s["pt"], s["np"], target=1.05)]
