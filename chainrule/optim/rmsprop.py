"""RMSprop: gradients divided by a running root mean square."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, _check_nonneg


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch's update rule (``torch.optim.RMSprop``).

    With g = ±∇ + λθ: v ← α v + (1 - α) g²; when ``centered``, ḡ ← lerp(ḡ, g, 1 - α) and
    v̂ = v - ḡ², else v̂ = v; then θ ← θ - lr · g / (√v̂ + ε), or with momentum μ:
    b ← μ b + g / (√v̂ + ε), θ ← θ - lr · b.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]   # first step: lr · sign(g) / √(1 - α)
    [0.9, -1.9]
    """

    def __init__(self, params: Iterable, lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "eps", "epsilon value")
        _check_nonneg(group, "momentum", "momentum value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        _check_nonneg(group, "alpha", "alpha value")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        if group["maximize"]:
            g = np.negative(g, out=a)
        wd = group["weight_decay"]
        if wd != 0:
            g = np.add(g, np.multiply(p, wd, out=b), out=a)
        alpha = group["alpha"]
        sq = state["square_avg"]
        sq *= alpha
        np.square(g, out=b)
        b *= 1 - alpha
        sq += b
        if group["centered"]:
            _lerp(state["grad_avg"], g, 1 - alpha, b)
            ga = state["grad_avg"]
            np.subtract(sq, np.multiply(ga, ga, out=b), out=b)
            avg = np.sqrt(b, out=b)
        else:
            avg = np.sqrt(sq, out=b)
        avg += group["eps"]
        step = np.divide(g, avg, out=b)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += step
            step = np.multiply(buf, -group["lr"], out=b)
        else:
            step *= -group["lr"]
        p += step


def _lerp(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start ← start + weight · (end - start)`` in place, in PyTorch's two-sided form
    (ATen ``lerp``: for weight ≥ 0.5 it computes ``end - (end - start)(1 - weight)``)."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=start)
