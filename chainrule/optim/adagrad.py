"""Adagrad: per-coordinate steps shrinking with the accumulated squared gradient."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, _check_nonneg


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch's update rule (``torch.optim.Adagrad``).

    With g = ±∇ + λθ at step t: clr = lr / (1 + (t - 1) · lr_decay); s ← s + g²;
    θ ← θ - clr · g / (√s + ε), s starting at ``initial_accumulator_value``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]   # first step: lr · sign(g)
    [0.5, -1.5]
    """

    def __init__(self, params: Iterable, lr: float = 0.01, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "lr_decay", "lr_decay value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        _check_nonneg(group, "initial_accumulator_value", "initial_accumulator_value value")
        _check_nonneg(group, "eps", "epsilon value")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            g = np.negative(g, out=a)
        wd = group["weight_decay"]
        if wd != 0:
            g = np.add(g, np.multiply(p, wd, out=b), out=a)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        s += np.square(g, out=b)
        std = np.sqrt(s, out=b)
        std += group["eps"]
        update = np.divide(g, std, out=b)
        update *= -clr
        p += update
