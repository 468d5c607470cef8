"""The kernels under the step cases, timed alone: where chainrule's time goes, not a target.

- ``mlp_step GEMMs``: the matrix products (and bias adds/sums) of one 784-256-256-10 training
  step, as chainrule's fused ``linear`` runs them, next to the same products in PyTorch and
  plain NumPy. It shows what bounds ``mlp_step``/``nn_mlp``: NumPy's BLAS against PyTorch's.
- ``conv2d`` and ``max_pool2d`` layers of the LeNet case, forward + backward on their own.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from timing import Row, compare

import chainrule as cr
import chainrule.nn.functional as CF
from chainrule.ops.linalg import LINEAR, _linear_forward
from chainrule.ops.vocab import RAW

SIZES, BATCH = (784, 256, 256, 10), 128


def _mlp_arrays(seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)).astype(np.float32) for i, o in zip(SIZES, SIZES[1:])]
    bs = [rng.standard_normal(o).astype(np.float32) for o in SIZES[1:]]
    hs = [rng.standard_normal((BATCH, n)).astype(np.float32) for n in SIZES[:-1]]
    gs = [rng.standard_normal((BATCH, n)).astype(np.float32) for n in SIZES[1:]]
    return ws, bs, hs, gs


def gemms_chainrule(ws, bs, hs, gs):
    """Forward of each layer, then its vjp (the first layer's input needs no gradient)."""
    for k, (w, b, h, g) in enumerate(zip(ws, bs, hs, gs, strict=True)):
        _linear_forward(h, w, b)
        LINEAR.vjp(RAW, g, None, (h, w, b), None, (k > 0, True, True))


def gemms_torch(ws, bs, hs, gs):
    for k, (w, b, h, g) in enumerate(zip(ws, bs, hs, gs, strict=True)):
        F.linear(h, w, b)
        if k > 0:
            g.mm(w)
        g.t().mm(h), g.sum(0)


def gemms_numpy(ws, bs, hs, gs):
    for k, (w, b, h, g) in enumerate(zip(ws, bs, hs, gs, strict=True)):
        h @ w.T + b
        if k > 0:
            g @ w
        g.T @ h, g.sum(axis=0)


def gemm_row(budget) -> Row:
    arrays = _mlp_arrays()
    t_arrays = [[torch.from_numpy(a) for a in group] for group in arrays]
    s = compare({"cr": lambda: gemms_chainrule(*arrays), "pt": lambda: gemms_torch(*t_arrays),
                 "np": lambda: gemms_numpy(*arrays)}, budget)
    return Row("mlp_step GEMMs alone (8 products + bias, 784-256-256-10, batch 128)", "ms",
               1e3, s["cr"], s["pt"], s["np"], note="kernel")


def layer_row(case, unit, scale, fn_cr, fn_pt, x, budget) -> Row:
    """Forward + backward of one layer with a fixed cotangent, in both frameworks."""
    x_cr, x_pt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = fn_cr(x_cr)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    g_pt = torch.from_numpy(g)
    assert np.allclose(out.data, fn_pt(x_pt).detach().numpy(), rtol=1e-4, atol=1e-4), case

    def step_cr():
        x_cr.grad = None
        fn_cr(x_cr).backward(g)

    def step_pt():
        x_pt.grad = None
        fn_pt(x_pt).backward(g_pt)

    s = compare({"cr": step_cr, "pt": step_pt}, budget)
    return Row(case, unit, scale, s["cr"], s["pt"], None, note="kernel")


def conv_row(n, c, hw, o, budget) -> Row:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = rng.standard_normal((o, c, 5, 5)).astype(np.float32) * 0.1
    b = rng.standard_normal(o).astype(np.float32)
    w_cr, b_cr = cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)
    w_pt, b_pt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    return layer_row(f"conv2d 5×5 {c}→{o} on {n}×{c}×{hw}×{hw}, fwd+bwd", "ms", 1e3,
                     lambda t: CF.conv2d(t, w_cr, b_cr), lambda t: F.conv2d(t, w_pt, b_pt),
                     x, budget)


def pool_row(budget) -> Row:
    x = np.random.default_rng(0).standard_normal((64, 8, 24, 24)).astype(np.float32)
    return layer_row("max_pool2d 2×2 on 64×8×24×24, fwd+bwd", "ms", 1e3,
                     lambda t: CF.max_pool2d(t, 2), lambda t: F.max_pool2d(t, 2), x, budget)


def run(budget=None) -> list[Row]:
    return [gemm_row(budget), conv_row(64, 1, 28, 8, budget), conv_row(64, 8, 12, 16, budget),
            pool_row(budget)]
