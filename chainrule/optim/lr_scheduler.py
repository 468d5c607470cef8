"""Learning-rate schedules: ``StepLR``, ``CosineAnnealingLR`` (as in PyTorch) and
``LinearWarmup`` (chainrule's own).

As in PyTorch, constructing a scheduler sets each group's ``lr`` to the schedule's value at
``last_epoch = 0`` (and records ``initial_lr`` in the group); each ``step()``, called after
``optimizer.step()``, advances ``last_epoch`` by one and sets the next value.

>>> import chainrule as cr
>>> from chainrule.optim import SGD
>>> from chainrule.optim.lr_scheduler import StepLR
>>> opt = SGD([cr.tensor(1.0, requires_grad=True)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for _ in range(5):
...     lrs.append(sched.get_last_lr()[0])
...     opt.step()
...     sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""
from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the lrs for the current ``last_epoch``.

    A subclass sets ``get_lr``; here a schedule that halves the lr on every step:

    >>> import chainrule as cr
    >>> from chainrule.optim.lr_scheduler import LRScheduler
    >>> class Halve(LRScheduler):
    ...     def get_lr(self):
    ...         return [g["lr"] * (1 if self.last_epoch == 0 else 0.5)
    ...                 for g in self.optimizer.param_groups]
    >>> opt = cr.optim.SGD([cr.tensor(1.0, requires_grad=True)], lr=0.8)
    >>> sched = Halve(opt)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.2]
    """

    # Attributes saved by state_dict (plain numbers and lists of numbers), besides these.
    _hyper: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._initial = True  # the constructor's step (torch's _initial_mode)
        self.step()
        self._initial = False

    def get_lr(self) -> list[float]:
        """The learning rates, one per parameter group, for the current ``last_epoch``;
        ``step()`` writes them into the optimizer. Every schedule defines it."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()`` (or the constructor)."""
        return self._last_lr

    def step(self) -> None:
        """Advance the schedule by one (call after ``optimizer.step()``)."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers only: ``last_epoch``, ``base_lrs``, the last lrs, hyperparameters."""
        sd = {"last_epoch": self.last_epoch, "_step_count": self._step_count,
              "base_lrs": list(self.base_lrs), "_last_lr": list(self._last_lr)}
        sd.update({k: getattr(self, k) for k in self._hyper})
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``'s values (the optimizer's lrs come from its own state)."""
        n = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if key in state_dict and len(state_dict[key]) != n:
                raise ValueError(f"{type(self).__name__}.load_state_dict: {key} has "
                                 f"{len(state_dict[key])} entries, but the optimizer has {n} "
                                 "parameter group(s)")
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected entries "
                             f"{sorted(unknown)}")
        for key, value in state_dict.items():
            setattr(self, key, list(value) if isinstance(value, (list, tuple)) else value)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps (``torch.optim.lr_scheduler``).

    lr_t = lr_{t-1} · γ when t > 0 and t mod step_size = 0, else lr_{t-1}; i.e.
    base_lr · γ^⌊t / step_size⌋ when nothing else changes the lr. Computed recursively,
    as in PyTorch, so it composes with changes made to the groups' lr.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _hyper = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"Invalid step_size: {step_size} (expected a positive integer)")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The lrs for step ``last_epoch``: the previous lr, times ``gamma`` every
        ``step_size`` steps."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` steps.

    lr_t = η_min + (base_lr - η_min) · (1 + cos(π t / T_max)) / 2 — the closed form of
    PyTorch's recursion (equal to it within ~1e-15 relative, tested), which also continues
    the same way past T_max (the lr rises again, period 2·T_max).

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.8536, 0.5, 0.1464, 0.0]
    """

    _hyper = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_max <= 0:
            raise ValueError(f"Invalid T_max: {T_max} (expected a positive number of steps)")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The lrs for step ``last_epoch``: η_min + (base_lr − η_min)(1 + cos(π t / T_max)) / 2."""
        if self._initial:  # as torch: construction keeps the groups' lr
            return [group["lr"] for group in self.optimizer.param_groups]
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


class LinearWarmup(LRScheduler):
    """Linear warmup (chainrule's own; PyTorch's ``LinearLR`` is similar): the lr goes
    linearly from ``start_factor · base_lr`` (set on construction) to ``base_lr``, reached
    after ``warmup_steps`` calls to ``step()``, and stays there.

    lr_t = base_lr · (start_factor + (1 - start_factor) · min(t, warmup_steps) / warmup_steps)

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor(1.0, requires_grad=True)], lr=0.1)
    >>> sched = LinearWarmup(opt, warmup_steps=4)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(5):
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 10))
    >>> lrs
    [0.0, 0.025, 0.05, 0.075, 0.1, 0.1]
    """

    _hyper = ("warmup_steps", "start_factor")

    def __init__(self, optimizer: Optimizer, warmup_steps: int, start_factor: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"Invalid warmup_steps: {warmup_steps} (expected an integer "
                             ">= 0)")
        if not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"Invalid start_factor: {start_factor} (expected a number in "
                             "[0, 1])")
        self.warmup_steps = warmup_steps
        self.start_factor = start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The lrs for step ``last_epoch``: base_lr scaled linearly from ``start_factor``
        to 1 over the warmup."""
        if self.last_epoch >= self.warmup_steps:
            return list(self.base_lrs)
        f = self.start_factor + (1 - self.start_factor) * self.last_epoch / self.warmup_steps
        return [base * f for base in self.base_lrs]
