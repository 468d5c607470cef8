"""The vector chain rule: the Jacobian of a composition is the product of Jacobians.

    x ∈ R³  --g-->  u = tanh(A·x) ∈ R⁴  --h-->  y = [Σᵢ uᵢ²,  Πᵢ uᵢ] ∈ R²

    J_yx = J_yu · J_ux        (2×3) = (2×4)·(4×3)

By hand, with A fixed:
    J_ux[i, j] = (1 − uᵢ²)·A[i, j]            i.e. diag(1 − u²)·A   (tanh' = 1 − tanh²)
    J_yu[0, i] = 2uᵢ                          (gradient of the sum of squares)
    J_yu[1, i] = Πⱼ≠ᵢ uⱼ                      (gradient of the product)

`cr.jacobian` builds the matrices two ways: mode="reverse" pulls one row per output
(a vector-Jacobian product vᵀJ each, as backprop does), mode="forward" pushes one column
per input (a Jacobian-vector product J·v each). Same matrix, different cost: reverse wins
when there are fewer outputs than inputs, forward when there are fewer inputs.
"""
import numpy as np

import chainrule as cr

A = np.array([[0.5, -0.3, 0.2],
              [0.1, 0.4, -0.6],
              [-0.7, 0.2, 0.3],
              [0.3, 0.3, 0.3]])
X = np.array([0.4, -0.5, 0.9])


def g(x: cr.Tensor) -> cr.Tensor:
    return cr.tanh(A @ x)


def h(u: cr.Tensor) -> cr.Tensor:
    return cr.stack([cr.sum(u ** 2), cr.prod(u)])


def hand_jacobians(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J_yu, J_ux) from the closed forms in the docstring, in plain NumPy."""
    u = np.tanh(A @ x)
    J_ux = (1 - u ** 2)[:, None] * A
    others = [np.prod(np.delete(u, i)) for i in range(u.size)]  # Πⱼ≠ᵢ uⱼ, no division
    J_yu = np.stack([2 * u, np.array(others)])
    return J_yu, J_ux


def main() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x = cr.tensor(X, dtype=cr.float64)
    u = g(x)
    J_yu_hand, J_ux_hand = hand_jacobians(X)
    J_yx_hand = J_yu_hand @ J_ux_hand

    results = {}
    for mode in ("reverse", "forward"):
        J_ux = cr.jacobian(g, mode=mode)(x).numpy()
        J_yu = cr.jacobian(h, mode=mode)(u).numpy()
        # The composition differentiated as a whole, without naming u.
        J_yx = cr.jacobian(lambda x: h(g(x)), mode=mode)(x).numpy()
        results[f"J_ux {mode} vs hand"] = (J_ux, J_ux_hand)
        results[f"J_yu {mode} vs hand"] = (J_yu, J_yu_hand)
        results[f"J_yx {mode} vs hand"] = (J_yx, J_yx_hand)
        results[f"J_yx {mode} vs J_yu @ J_ux"] = (J_yx, J_yu @ J_ux)

    with np.printoptions(precision=6, suppress=True):  # local: leave NumPy's settings alone
        print(f"x = {X},  u = tanh(A·x) = {u.numpy()}")
        print(f"J_yx by backprop (reverse mode):\n{results['J_yx reverse vs hand'][0]}")
        print(f"J_yu·J_ux by hand:\n{J_yx_hand}")
    for name, (backprop, hand) in results.items():
        print(f"{name:28s}  max |diff| = {np.max(np.abs(backprop - hand)):.1e}")
    return results


if __name__ == "__main__":
    main()
