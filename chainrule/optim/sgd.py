"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, _check_nonneg, required


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's update rule (``torch.optim.SGD``).

    With g = ±∇ + λθ (``maximize`` flips the sign, λ = ``weight_decay``):
    b₁ = g, bₜ = μ bₜ₋₁ + (1 - τ) g (μ momentum, τ dampening); then
    θ ← θ - lr · (g + μ bₜ if ``nesterov`` else bₜ)  (θ ← θ - lr · g when μ = 0).

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> cr.sum(w * w).backward()       # gradient 2w
    >>> opt.step()
    >>> w.tolist()                      # w - 0.1 * 2w
    [0.8, -1.6]
    >>> opt.zero_grad()
    >>> w.grad is None
    True
    """

    def __init__(self, params: Iterable, lr: float = required, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "momentum", "momentum value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if group["maximize"]:
            g = np.negative(g, out=a)
        wd = group["weight_decay"]
        if wd != 0:
            np.multiply(p, wd, out=b)
            g = np.add(g, b, out=a)
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # torch: the first buffer is the gradient itself
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += np.multiply(g, 1 - group["dampening"], out=b)
            if group["nesterov"]:
                g = np.add(g, np.multiply(buf, momentum, out=b), out=a)
            else:
                g = buf
        p += np.multiply(g, -group["lr"], out=b)
