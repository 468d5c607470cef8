"""(d) Full Hessian of the Rosenbrock function at a random float64 point in R^100.

f(x) = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)². chainrule's ``cr.hessian`` (forward-over-reverse) is
compared with PyTorch's ``torch.autograd.functional.hessian(..., vectorize=True)`` and, for
reference, ``torch.func.hessian``; the NumPy reference is the closed-form tridiagonal matrix.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.autograd.functional as AF
from timing import Row, compare

import chainrule as cr

N = 100


def rosenbrock(x):  # works on chainrule and torch tensors alike
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def hessian_numpy(x):
    """∂²f: diagonal 1200xᵢ² − 400xᵢ₊₁ + 2 (+200 for i ≥ 1), off-diagonal −400xᵢ."""
    h = np.zeros((len(x), len(x)))
    d = np.zeros(len(x))
    d[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    i = np.arange(len(x))
    h[i, i] = d
    h[i[:-1], i[1:]] = h[i[1:], i[:-1]] = -400 * x[:-1]
    return h


def run(budget=None) -> list[Row]:
    x0 = np.random.default_rng(0).standard_normal(N)
    x_cr, x_pt = cr.tensor(x0), torch.tensor(x0)
    h_cr = cr.hessian(rosenbrock)
    h_func = torch.func.hessian(rosenbrock)
    impls = {"cr": lambda: h_cr(x_cr),
             "pt": lambda: AF.hessian(rosenbrock, x_pt, vectorize=True),
             "func": lambda: h_func(x_pt),
             "np": lambda: hessian_numpy(x0)}
    ref = hessian_numpy(x0)
    for name, fn in impls.items():
        h = np.asarray(fn().detach() if name in ("pt", "func") else fn())
        if h.shape != (N, N) or h.dtype != np.float64 or not np.allclose(h, ref, rtol=1e-10):
            raise AssertionError(f"hessian: {name} disagrees with the closed form "
                                 f"(max |diff| {np.abs(h - ref).max():.3g}, {h.dtype})")
    s = compare(impls, budget)
    case = f"hessian (Rosenbrock, n={N}, float64)"
    return [Row(case + " vs autograd.functional", "ms", 1e3, s["cr"], s["pt"], s["np"],
                target=1.0),
            Row(case + " vs torch.func.hessian", "ms", 1e3, s["cr"], s["func"], s["np"],
                note="reference")]
