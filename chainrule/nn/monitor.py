"""Gradient diagnostics during training: per-layer gradient norms and update/weight ratios,
the numbers that show vanishing or exploding gradients (and a plot of them)."""
from __future__ import annotations

import numpy as np


class GradientMonitor:
    """Watch a module's weight matrices (parameters with ≥ 2 dimensions), layer by layer.

    Call ``record()`` after ``loss.backward()`` (gradient norms) and again with
    ``after_step=True`` after ``optimizer.step()`` (the update/weight ratio ‖Δw‖/‖w‖, which
    is healthy around 1e-3).

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 1))
    >>> mon = cr.nn.utils.GradientMonitor(net)
    >>> net(cr.ones(2, 3)).sum().backward()
    >>> mon.record()
    >>> sorted(mon.grad_norms)
    ['0.weight', '2.weight']
    """

    def __init__(self, module):
        self.params = [(n, p) for n, p in module.named_parameters() if p.ndim >= 2]
        self.grad_norms = {n: [] for n, _ in self.params}
        self.update_ratios = {n: [] for n, _ in self.params}
        self._before = None

    def record(self, after_step: bool = False) -> None:
        """Record each watched weight's gradient norm (call after ``backward()``), or with
        ``after_step=True`` (after ``optimizer.step()``) its update/weight ratio ‖Δw‖/‖w‖.

        Raises:
            RuntimeError: ``after_step=True`` without a gradient record before the step.
        """
        if after_step:
            if self._before is None:
                raise RuntimeError("GradientMonitor: record() the gradients before the step")
            for (n, p), old in zip(self.params, self._before):
                w = np.linalg.norm(old)
                self.update_ratios[n].append(float(np.linalg.norm(p.data - old) / (w or 1.0)))
            self._before = None
            return
        for n, p in self.params:
            g = 0.0 if p.grad is None else float(np.linalg.norm(p.grad.data))
            self.grad_norms[n].append(g)
        self._before = [p.data.copy() for _, p in self.params]

    def mean_grad_norms(self) -> dict:
        """Each layer's mean recorded gradient norm; layers with no record are left out."""
        return {n: float(np.mean(v)) for n, v in self.grad_norms.items() if v}

    def plot(self, path, title: str = "gradient norm per layer", first_step: int = 0) -> None:
        """A PNG: mean gradient norm per layer (log scale; layers with no record left out),
        and update ratios over time (``first_step`` numbers the first recorded step, e.g. in
        a resumed run). Raises ``RuntimeError`` if nothing has been recorded."""
        means = self.mean_grad_norms()
        if not means:
            raise RuntimeError("GradientMonitor: nothing to plot; record() the gradients "
                               "after backward() first")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
        a.semilogy(range(len(means)), list(means.values()), "o-")
        a.set_xticks(range(len(means)), list(means), rotation=60, fontsize=7)
        a.set_ylabel("mean ‖∂L/∂W‖")
        a.set_title(title)
        drawn = [n for n in self.update_ratios if self.update_ratios[n]]
        for n in drawn:
            steps = range(first_step, first_step + len(self.update_ratios[n]))
            b.semilogy(steps, self.update_ratios[n], label=n)
        b.set_xlabel("step")
        b.set_ylabel("‖ΔW‖ / ‖W‖")
        if 0 < len(drawn) <= 12:
            b.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
