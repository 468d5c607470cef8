"""(a) Per-op overhead: 1,000 tiny elementwise ops, forward + backward, in µs per op.

A 16-element float32 vector goes through ``* 1.0001``, ``+ 0.001``, ``tanh`` in turn; then
``y.sum().backward()``. The arrays are so small that the time is almost all framework
overhead (Python dispatch, graph recording, the backward sweep), not arithmetic.
"""
from __future__ import annotations

import numpy as np
import torch
from timing import Row, compare

import chainrule as cr

N_OPS = 1000
SIZE = 16


def chain(y, tanh):
    for i in range(N_OPS):
        k = i % 3
        y = y * 1.0001 if k == 0 else y + 0.001 if k == 1 else tanh(y)
    return y


def step_chainrule(x):
    x.grad = None
    chain(x, cr.tanh).sum().backward()
    return x.grad.data


def step_torch(x):
    x.grad = None
    chain(x, torch.tanh).sum().backward()
    return x.grad.numpy()


def step_numpy(x):
    """Hand-written forward (keep what the backward needs) and backward."""
    tanhs = []
    y = x
    for i in range(N_OPS):
        k = i % 3
        if k == 0:
            y = y * 1.0001
        elif k == 1:
            y = y + 0.001
        else:
            y = np.tanh(y)
            tanhs.append(y)
    _ = y.sum()
    g = np.ones_like(y)
    for i in reversed(range(N_OPS)):
        k = i % 3
        if k == 0:
            g = g * 1.0001
        elif k == 2:
            t = tanhs.pop()
            g = g * (1 - t * t)
    return g


def run(budget=None) -> list[Row]:
    x0 = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32)
    x_cr = cr.tensor(x0, requires_grad=True)
    x_pt = torch.tensor(x0, requires_grad=True)
    g_cr, g_pt, g_np = step_chainrule(x_cr), step_torch(x_pt), step_numpy(x0)
    assert g_cr.dtype == g_pt.dtype == g_np.dtype == np.float32, (g_cr.dtype, g_np.dtype)
    assert np.allclose(g_cr, g_pt, rtol=1e-4, atol=1e-6), "op_overhead: chainrule != PyTorch"
    assert np.allclose(g_np, g_pt, rtol=1e-4, atol=1e-6), "op_overhead: NumPy ref != PyTorch"
    s = compare({"cr": lambda: step_chainrule(x_cr), "pt": lambda: step_torch(x_pt),
                 "np": lambda: step_numpy(x0)}, budget)
    return [Row(f"op_overhead ({N_OPS} ops, n={SIZE}, fwd+bwd)", "µs/op", 1e6 / N_OPS,
                s["cr"], s["pt"], s["np"], target=0.45)]
