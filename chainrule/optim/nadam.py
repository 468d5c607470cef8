"""NAdam: Adam with Nesterov momentum (Dozat, 2016), with the momentum decay schedule."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .adam import Adam, signed_decayed_grad
from .optimizer import Optimizer
from .rmsprop import _lerp


class NAdam(Optimizer):
    r"""NAdam, PyTorch's update rule (``torch.optim.NAdam``).

    With g = ±∇ + λθ (or θ ← θ(1 − lr·λ) first when ``decoupled_weight_decay``) at step t:
    μₜ = β₁ (1 − ½ · 0.96^(t·ψ)) with ψ the ``momentum_decay``, Πₜ = ∏_{s≤t} μₛ;
    m ← lerp(m, g, 1 − β₁), v ← β₂ v + (1 − β₂) g², d = √(v / (1 − β₂ᵗ)) + ε;
    θ ← θ − lr (1 − μₜ)/(1 − Πₜ) · g/d − lr μₜ₊₁/(1 − Πₜ μₜ₊₁) · m/d.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = NAdam([w], lr=0.1)
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]   # as torch.optim.NAdam's first step
    [0.8944, -1.8944]
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        Adam._check_group(self, group)
        if not 0.0 <= group["momentum_decay"]:
            raise ValueError(f"Invalid momentum_decay value: {group['momentum_decay']}")

    def _update(self, p, g, state, group):
        a, b = self._scratch(p)
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        lr, eps, psi = group["lr"], group["eps"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        g = signed_decayed_grad(p, g, group, a, b)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp(m, g, 1 - beta1, b)
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(np.divide(v, 1 - beta2 ** step, out=b), out=b)
        denom += eps
        p += g / denom * (-lr * (1.0 - mu) / (1.0 - mu_product))
        p += m / denom * (-lr * mu_next / (1.0 - mu_product * mu_next))
