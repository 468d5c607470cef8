"""The cost of a gradient: backprop against finite differences as the parameters grow.

Central differences estimate each of the n partial derivatives separately,

    ∂f/∂θᵢ ≈ (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε,

so one gradient costs 2n evaluations of f. Backprop gets all n partials from one forward
and one backward pass. When one evaluation of f touches O(n) numbers (as here), that is
O(n²) work for finite differences against O(n) for backprop.

f is the Rosenbrock function, Σᵢ 100·(θᵢ₊₁ − θᵢ²)² + (1 − θᵢ)², whose gradient is known in
closed form:

    ∂f/∂θᵢ = −400·θᵢ·(θᵢ₊₁ − θᵢ²) − 2·(1 − θᵢ)   [for i < n−1]
            + 200·(θᵢ − θᵢ₋₁²)                  [for i > 0]

The script counts the calls of f each method makes, times them, and plots both against n
(log-log) into chainrule-examples/gradient_cost.png.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import chainrule as cr

SIZES = (10, 30, 100, 300, 1000, 3000, 10_000, 100_000, 1_000_000)
FD_UP_TO = 3000  # beyond this, finite differences would take seconds: predicted, not run
REPEATS = 3  # timings are the best of this many runs


def rosenbrock(theta: cr.Tensor) -> cr.Tensor:
    return cr.sum(100 * (theta[1:] - theta[:-1] ** 2) ** 2 + (1 - theta[:-1]) ** 2)


def hand_gradient(theta: np.ndarray) -> np.ndarray:
    """The docstring's closed form."""
    g = np.zeros_like(theta)
    inner = theta[1:] - theta[:-1] ** 2
    g[:-1] += -400 * theta[:-1] * inner - 2 * (1 - theta[:-1])
    g[1:] += 200 * inner
    return g


def counted(f):
    """f, with a count of its calls in ``.calls``."""
    def wrapper(*args):
        wrapper.calls += 1
        return f(*args)
    wrapper.calls = 0
    return wrapper


def backprop(theta0: np.ndarray) -> tuple[np.ndarray, int]:
    """(gradient, calls of f): one forward pass and one backward pass."""
    f = counted(rosenbrock)
    theta = cr.tensor(theta0, requires_grad=True)
    f(theta).backward()
    return theta.grad.numpy(), f.calls


def finite_differences(theta0: np.ndarray) -> tuple[np.ndarray, int]:
    """(gradient, calls of f) by ``cr.numerical_grad`` (central differences)."""
    f = counted(rosenbrock)
    return cr.numerical_grad(f, theta0), f.calls


def one_call(theta0: np.ndarray) -> None:
    with cr.no_grad():  # what each of the finite differences' calls costs
        rosenbrock(cr.tensor(theta0))


def timed(fn, repeats: int = REPEATS):
    """(fn()'s result, its best wall time in seconds over ``repeats`` runs)."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def plot(path: Path, n, bp_time, f_time, fd_n, fd_time) -> None:
    import matplotlib
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    left.loglog(n, 2 * n + 1, "o-", label="finite differences: 2n + 1")
    left.loglog(n, np.ones_like(n), "s-", label="backprop: 1, plus one backward pass")
    left.set(xlabel="number of parameters n", ylabel="evaluations of f per gradient",
             title="Evaluations of f")
    right.loglog(fd_n, fd_time, "o", color="C0", label="finite differences, measured")
    right.loglog(n, (2 * n + 1) * f_time, "--", color="C0",
                 label="finite differences, predicted: (2n + 1) × one f")
    right.loglog(n, bp_time, "s-", color="C1", label="backprop (forward + backward)")
    right.loglog(n, f_time, ":", color="gray", label="one evaluation of f")
    right.set(xlabel="number of parameters n", ylabel="seconds per gradient",
              title="Wall time")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("The cost of one gradient of the n-parameter Rosenbrock function")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def duration(seconds: float) -> str:
    for unit, scale in (("h", 3600), ("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            return f"{seconds / scale:.3g} {unit}"


def main(out: str | Path = "chainrule-examples") -> dict[str, tuple]:
    rng = np.random.default_rng(0)  # fixed seed: reproducible
    results, bp_times, f_times, fd_times = {}, [], [], []
    print("            calls of f per gradient        wall time per gradient")
    print(f"{'n':>9s}  {'FD':>9s} {'backprop':>9s}  {'one f call':>10s} {'backprop':>10s}"
          f" {'FD':>10s}  {'FD / backprop':>13s}")
    for n in SIZES:
        theta0 = rng.uniform(-1.5, 1.5, size=n)
        (bp, bp_calls), bp_time = timed(lambda: backprop(theta0))
        _, f_time = timed(lambda: one_call(theta0))
        results[f"backprop gradient, n={n}"] = (bp, hand_gradient(theta0))
        results[f"calls of f by backprop, n={n}"] = (bp_calls, 1)
        if n <= FD_UP_TO:
            (fd, fd_calls), fd_time = timed(lambda: finite_differences(theta0), repeats=1)
            fd_times.append(fd_time)
            # numerical_grad calls f once more, at θ itself, to learn the output's shape
            results[f"calls of f by finite differences, n={n}"] = (fd_calls, 2 * n + 1)
            # Central differences carry truncation and rounding error: compare loosely.
            results[f"finite differences ≈ backprop, n={n}"] = (fd, bp, 1e-6)
            fd_text = duration(fd_time)
        else:  # predicted, marked ≈
            fd_calls, fd_time = 2 * n + 1, (2 * n + 1) * f_time
            fd_text = "≈ " + duration(fd_time)
        bp_times.append(bp_time)
        f_times.append(f_time)
        print(f"{n:9d}  {fd_calls:9d} {bp_calls:9d}  {duration(f_time):>10s}"
              f" {duration(bp_time):>10s} {fd_text:>10s}  {fd_time / bp_time:12.0f}×")
    path = Path(out) / "gradient_cost.png"
    n = np.asarray(SIZES, dtype=float)
    plot(path, n, np.array(bp_times), np.array(f_times), n[:len(fd_times)], fd_times)
    print("≈: predicted as (2n + 1) × one f call (too slow to run). At every n backprop takes "
          "the time of a few\nf calls, finite differences that of 2n + 1: once f's O(n) "
          "arithmetic outweighs its fixed per-op\ncost (n ≳ 10⁴ here), that is O(n²) work "
          "against O(n).")
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
