"""The two-layer network, vectorized: backprop as four matrix formulas.

    z = W⁽¹⁾x,   h = σ(z),   y = W⁽²⁾h,   L = ½‖y − t‖²       x ∈ R⁴, h ∈ R³, y ∈ R²

Backward, one line per node, each the scalar chain rule written for a whole layer:

    ȳ     = y − t
    W̄⁽²⁾ = ȳ·hᵀ                 (an outer product: ∂L/∂W⁽²⁾[i, j] = ȳᵢ·hⱼ)
    h̄     = W⁽²⁾ᵀ·ȳ             (the transpose carries ȳ back across the layer)
    z̄     = h̄ ∘ σ'(z)           (elementwise: σ'(z) = σ(z)(1 − σ(z)))
    W̄⁽¹⁾ = z̄·xᵀ

`cr.gradient(L, [y, h, z, W1, W2])` returns the cotangents of the intermediate tensors
too, from the same single backward sweep, so each line can be compared on its own.
"""
import numpy as np

import chainrule as cr

X = np.array([0.5, -1.0, 2.0, 0.3])
T = np.array([1.0, -0.5])
W1 = np.array([[0.2, -0.4, 0.1, 0.6],
               [-0.3, 0.8, 0.5, -0.1],
               [0.7, 0.2, -0.6, 0.4]])
W2 = np.array([[0.5, -0.7, 0.3],
               [0.9, 0.1, -0.4]])


def hand_backprop(x, t, W1, W2) -> dict[str, np.ndarray]:
    """The docstring's five formulas in NumPy."""
    z = W1 @ x
    h = 1 / (1 + np.exp(-z))
    y_bar = W2 @ h - t
    h_bar = W2.T @ y_bar
    z_bar = h_bar * h * (1 - h)
    return {"ȳ": y_bar, "W̄⁽²⁾ = ȳhᵀ": np.outer(y_bar, h), "h̄ = W⁽²⁾ᵀȳ": h_bar,
            "z̄ = h̄ ∘ σ'(z)": z_bar, "W̄⁽¹⁾ = z̄xᵀ": np.outer(z_bar, x)}


def main() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    w1 = cr.tensor(W1, requires_grad=True, name="W1")
    w2 = cr.tensor(W2, requires_grad=True, name="W2")
    z = w1 @ X
    h = cr.sigmoid(z)
    y = w2 @ h
    L = 0.5 * cr.sum((y - T) ** 2)
    y_bar, h_bar, z_bar, w1_bar, w2_bar = (
        g.numpy() for g in cr.gradient(L, [y, h, z, w1, w2]))

    hand = hand_backprop(X, T, W1, W2)
    backprop = {"ȳ": y_bar, "W̄⁽²⁾ = ȳhᵀ": w2_bar, "h̄ = W⁽²⁾ᵀȳ": h_bar,
                "z̄ = h̄ ∘ σ'(z)": z_bar, "W̄⁽¹⁾ = z̄xᵀ": w1_bar}
    with np.printoptions(precision=6, suppress=True):  # local: leave NumPy's settings alone
        print(f"L = {L.item():.9f}")
        for name, value in backprop.items():
            print(f"{name} by backprop:\n{value}")
    for name, value in backprop.items():
        print(f"max |backprop − hand| = {np.max(np.abs(value - hand[name])):.1e}   {name}")
    return {name: (value, hand[name]) for name, value in backprop.items()}


if __name__ == "__main__":
    main()
