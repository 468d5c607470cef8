"""The Hessian of the Rosenbrock function, by backprop and by hand.

    f(x) = Σ_{i=0}^{n−2}  100·(x_{i+1} − x_i²)² + (1 − x_i)²

Differentiating twice, only neighbouring coordinates interact, so H is tridiagonal:

    H[i, i]   = 2 − 400·(x_{i+1} − 3x_i²)   [term i, present for i < n−1]
              + 200                         [term i−1, present for i > 0]
    H[i, i+1] = H[i+1, i] = −400·x_i

`cr.hessian` is forward-over-reverse: the gradient comes from one backward pass, and its
Jacobian from one batched forward-mode pass through that backward pass.
"""
import numpy as np

import chainrule as cr

N = 5


def rosenbrock(x: cr.Tensor) -> cr.Tensor:
    return cr.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def hand_hessian(x: np.ndarray) -> np.ndarray:
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        if i < n - 1:
            H[i, i] += 2 - 400 * (x[i + 1] - 3 * x[i] ** 2)
            H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        if i > 0:
            H[i, i] += 200
    return H


def main() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x0 = np.random.default_rng(0).uniform(-1.5, 1.5, size=N)  # fixed seed: reproducible
    backprop = cr.hessian(rosenbrock)(cr.tensor(x0, dtype=cr.float64)).numpy()
    hand = hand_hessian(x0)

    with np.printoptions(precision=4, suppress=True):  # local: leave NumPy's settings alone
        print(f"x = {x0}")
        print(f"H by backprop (cr.hessian):\n{backprop}")
        print(f"H by hand (tridiagonal closed form):\n{hand}")
    diff = np.max(np.abs(backprop - hand))
    print(f"Hessian of Rosenbrock, n={N}:  max |backprop − hand| = {diff:.1e}")
    return {"Hessian": (backprop, hand)}


if __name__ == "__main__":
    main()
