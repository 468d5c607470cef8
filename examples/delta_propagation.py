"""Backprop layer by layer over a batch: the δ recursion.

A 4-5-3-2 sigmoid network on a batch of B = 6 examples, one example per column:

    z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,   a⁽ˡ⁾ = σ(z⁽ˡ⁾),   a⁽⁰⁾ = X,   C = (1/2B)·Σ ‖a⁽³⁾ − Y‖²

With δ⁽ˡ⁾ = ∂C/∂z⁽ˡ⁾ (one column per example), backprop is four equations:

    δ⁽³⁾ = (a⁽³⁾ − Y)/B ∘ σ'(z⁽³⁾)
    δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ∘ σ'(z⁽ˡ⁾)              for l = 2, 1
    ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ                          (the product sums over the batch)
    ∂C/∂b⁽ˡ⁾ = Σ over the batch's columns of δ⁽ˡ⁾

The bias (one column) was broadcast across the batch in the forward pass, so its gradient
is summed back across the batch. `register_hook` on each z⁽ˡ⁾ reads δ⁽ˡ⁾ as the backward
pass goes by.
"""
import numpy as np

import chainrule as cr

SIZES = (4, 5, 3, 2)
BATCH = 6
_rng = np.random.default_rng(0)  # fixed seed: the same numbers on every run
X = _rng.normal(size=(SIZES[0], BATCH))
Y = _rng.uniform(size=(SIZES[-1], BATCH))
WEIGHTS = [_rng.normal(scale=0.8, size=(m, n)) for n, m in zip(SIZES, SIZES[1:])]
BIASES = [_rng.normal(scale=0.1, size=(m, 1)) for m in SIZES[1:]]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def sup(n: int) -> str:
    """The layer index as a superscript: 3 -> ⁽³⁾."""
    return "⁽" + str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"


def hand_backprop(X, Y, weights, biases) -> dict[str, np.ndarray]:
    """The docstring's recursion in NumPy: {"δ⁽ˡ⁾" | "∂C/∂W⁽ˡ⁾" | "∂C/∂b⁽ˡ⁾": array}."""
    a, zs = [X], []
    for W, b in zip(weights, biases):
        zs.append(W @ a[-1] + b)
        a.append(sigmoid(zs[-1]))
    out = {}
    delta = (a[-1] - Y) / X.shape[1] * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    for layer in range(len(weights), 0, -1):
        out[f"δ{sup(layer)}"] = delta
        out[f"∂C/∂W{sup(layer)}"] = delta @ a[layer - 1].T
        out[f"∂C/∂b{sup(layer)}"] = delta.sum(axis=1, keepdims=True)
        if layer > 1:
            s = sigmoid(zs[layer - 2])
            delta = (weights[layer - 1].T @ delta) * s * (1 - s)
    return out


def main() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    Ws = [cr.tensor(W, requires_grad=True) for W in WEIGHTS]
    bs = [cr.tensor(b, requires_grad=True) for b in BIASES]
    deltas = {}
    a = cr.tensor(X)
    for layer, (W, b) in enumerate(zip(Ws, bs), start=1):
        z = W @ a + b
        # Runs when z's cotangent ∂C/∂z = δ is complete; returning None leaves it unchanged.
        z.register_hook(lambda g, layer=layer: deltas.__setitem__(layer, g.numpy().copy()))
        a = cr.sigmoid(z)
    C = cr.sum((a - Y) ** 2) / (2 * BATCH)
    C.backward()

    hand = hand_backprop(X, Y, WEIGHTS, BIASES)
    backprop = {}
    for layer in range(len(Ws), 0, -1):  # the order the backward pass visits the layers
        backprop[f"δ{sup(layer)}"] = deltas[layer]
        backprop[f"∂C/∂W{sup(layer)}"] = Ws[layer - 1].grad.numpy()
        backprop[f"∂C/∂b{sup(layer)}"] = bs[layer - 1].grad.numpy()
    print(f"C = {C.item():.9f} on a batch of {BATCH}")
    for name, value in backprop.items():
        print(f"{name:9s} shape {str(value.shape):7s} ‖·‖ = {np.linalg.norm(value):.6f}"
              f"   max |backprop − hand| = {np.max(np.abs(value - hand[name])):.1e}")
    # local: leave NumPy's settings alone
    with np.printoptions(formatter={"float": lambda v: f"{v: .2e}"}):
        print(f"δ⁽¹⁾, one column per example:\n{deltas[1]}")
        print(f"∂C/∂b⁽¹⁾, the sum of those columns:\n{bs[0].grad.numpy()}")
    return {name: (value, hand[name]) for name, value in backprop.items()}


if __name__ == "__main__":
    main()
