"""Adam and AdamW: bias-corrected first and second moment estimates."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, _check_nonneg
from .rmsprop import _lerp


def signed_decayed_grad(p, g, group, a, b):
    """The gradient Adam-like rules step with: negated under ``maximize``, plus λθ (L2) weight
    decay, or θ ← θ(1 − lr·λ) in place first when the decay is decoupled (AdamW's). ``a`` and
    ``b`` are scratch arrays shaped like ``p``."""
    if group["maximize"]:
        g = np.negative(g, out=a)
    wd = group["weight_decay"]
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p *= 1 - group["lr"] * wd
        else:
            g = np.add(g, np.multiply(p, wd, out=b), out=a)
    return g


class Adam(Optimizer):
    r"""Adam, PyTorch's update rule (``torch.optim.Adam``).

    With g = ±∇ + λθ at step t: m ← lerp(m, g, 1 - β₁), v ← β₂ v + (1 - β₂) g²
    (``amsgrad``: v̂ = max(v̂, v) replaces v below);
    θ ← θ - lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]   # first step: lr · sign(g)
    [0.9, -1.9]
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "eps", "epsilon value")
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas} (expected two numbers)")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_nonneg(group, "weight_decay", "weight_decay value")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        g = signed_decayed_grad(p, g, group, a, b)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp(m, g, 1 - beta1, b)
        v *= beta2
        np.square(g, out=b)
        b *= 1 - beta2
        v += b
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1 ** step)
        if step_size == 0:
            return
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        # θ ← θ - step_size · m / (√v / bc2_sqrt + ε), written as torch's capturable branch
        # does: denom = √v / (bc2_sqrt · -step_size) + ε / -step_size, θ ← θ + m / denom
        # (equal up to rounding; one pass over the arrays fewer).
        denom = np.sqrt(v, out=b)
        denom *= 1 / (bias_correction2_sqrt * -step_size)
        denom += group["eps"] / -step_size
        p += np.divide(m, denom, out=b)


class AdamW(Adam):
    r"""Adam with decoupled weight decay, PyTorch's rule (``torch.optim.AdamW``).

    θ ← θ (1 - lr · λ) first, then the Adam step on the plain gradient.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]   # w · (1 - 0.05) - 0.1 · sign(g)
    [0.85, -1.8]
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW is always decoupled (as in torch)
            group["decoupled_weight_decay"] = True
