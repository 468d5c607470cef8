"""Adadelta: steps scaled by the ratio of running RMS of updates to running RMS of gradients."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, _check_nonneg


class Adadelta(Optimizer):
    r"""Adadelta, PyTorch's update rule (``torch.optim.Adadelta``).

    With g = ±∇ + λθ: v ← ρ v + (1 − ρ) g²; Δ = √(u + ε) / √(v + ε) · g;
    u ← ρ u + (1 − ρ) Δ²; θ ← θ − lr · Δ (v, u start at zero).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = Adadelta([w], lr=1.0)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]   # first step: √ε / √(0.1 g² + ε) · g ≈ ±0.00316
    [0.996838, -1.996838]
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        _check_nonneg(group, "lr", "learning rate")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        _check_nonneg(group, "eps", "epsilon value")
        _check_nonneg(group, "weight_decay", "weight_decay value")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        if group["maximize"]:
            g = np.negative(g, out=a)
        wd = group["weight_decay"]
        if wd != 0:
            g = np.add(g, np.multiply(p, wd, out=b), out=a)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        # Δ = √(u + ε) / √(v + ε) · g, in torch's order of operations
        delta = np.sqrt(np.add(u, eps, out=b), out=b)
        delta /= np.sqrt(v + eps)
        delta *= g
        u *= rho
        u += (1 - rho) * delta * delta
        delta *= -group["lr"]
        p += delta
