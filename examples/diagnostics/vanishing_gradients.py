"""Vanishing gradients, measured: a 10-layer sigmoid network next to the same network with ReLU
and He (kaiming) initialisation.

Backprop multiplies one local derivative per layer: σ'(z) ≤ 1/4, so through ten sigmoid layers
the gradient reaching the first layers shrinks by orders of magnitude, while ReLU (derivative 1
where active) with He initialisation keeps its scale. ``GradientMonitor`` records ‖∂L/∂W‖ per
layer; the plot is written to vanishing_gradients.png.
"""
from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def network(activation, he: bool, rng):
    layers = []
    for i in range(10):
        lin = nn.Linear(32 if i else 64, 32 if i < 9 else 10, rng=rng)
        if he:
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu", rng=rng)
        layers += [lin, activation()] if i < 9 else [lin]
    return nn.Sequential(*layers)


def measure(model, x, y, steps=20):
    monitor = nn.utils.GradientMonitor(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.record()
        opt.step()
        monitor.record(after_step=True)
    return monitor


def main(plot: str | None = None) -> dict:
    rng = np.random.default_rng(0)
    x_train, y_train, _, _ = cr.data.load_digits()
    x, y = cr.tensor(x_train[:256]), y_train[:256]
    results = {}
    for label, act, he in (("sigmoid", nn.Sigmoid, False), ("relu+he", nn.ReLU, True)):
        mon = measure(network(act, he, rng), x, y)
        norms = list(mon.mean_grad_norms().values())
        results[label] = norms
        print(f"{label:8s} first-layer ‖∂L/∂W‖ = {norms[0]:.2e}, last = {norms[-1]:.2e}, "
              f"ratio first/last = {norms[0] / norms[-1]:.1e}")
        if plot:
            mon.plot(plot.replace(".png", f"_{label.replace('+', '_')}.png"),
                     title=f"{label}: gradient norm per layer")
    return results


if __name__ == "__main__":
    main(plot="vanishing_gradients.png")  # writes vanishing_gradients_<net>.png here
