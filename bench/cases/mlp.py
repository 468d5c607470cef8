"""(b)/(c) One SGD step of a ReLU MLP with softmax cross-entropy, float32.

forward, loss, backward, ``p -= lr * p.grad`` and the gradients reset. Weights are (out, in)
as in PyTorch's ``Linear`` and start from the same values in every framework; each framework
then trains its own copy (the timed loop is a real training loop, one fixed batch).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from jax_steps import init  # the weights (there: that process must not import PyTorch)
from timing import Row, compare

import chainrule as cr
import chainrule.nn.functional as CF

LR = 0.01


def loss_chainrule(params, x, y, rows):
    h = x
    for i in range(0, len(params), 2):
        h = CF.linear(h, params[i], params[i + 1])  # what nn.Linear runs, as in PyTorch
        if i + 2 < len(params):
            h = cr.relu(h)
    return CF.cross_entropy(h, y)


def step_chainrule(params, x, y, rows):
    loss = loss_chainrule(params, x, y, rows)
    loss.backward()
    with cr.no_grad():
        for p in params:
            p.data -= LR * p.grad.data
            p.grad = None
    return loss


def loss_torch(params, x, y):
    h = x
    for i in range(0, len(params), 2):
        h = F.linear(h, params[i], params[i + 1])  # what nn.Linear runs: x @ W.T + b, fused
        if i + 2 < len(params):
            h = torch.relu(h)
    return F.cross_entropy(h, y)


def step_torch(params, x, y):
    loss = loss_torch(params, x, y)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss


def loss_and_grads_numpy(params, x, y, rows):
    """Hand-written forward and backward of the same network."""
    hs, h = [x], x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            h = np.maximum(h, 0)
        hs.append(h)
    z = h - h.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    g = np.exp(logp)  # d loss / d logits = (softmax − onehot) / B
    g[rows, y] -= 1
    g /= len(y)
    grads = [None] * len(params)
    for i in reversed(range(0, len(params), 2)):
        h_in = hs[i // 2]
        grads[i], grads[i + 1] = g.T @ h_in, g.sum(axis=0)
        if i > 0:
            g = (g @ params[i]) * (h_in > 0)
    return -logp[rows, y].mean(), grads


def step_numpy(params, x, y, rows):
    loss, grads = loss_and_grads_numpy(params, x, y, rows)
    for p, g in zip(params, grads, strict=True):
        p -= LR * g
    return loss


def check(sizes, batch):
    """From the same weights: loss and gradients agree, and one step updates p by -lr·grad."""
    p0, x, y = init(sizes, batch)
    rows = np.arange(batch)
    p_cr = [cr.tensor(p, requires_grad=True) for p in p0]
    p_pt = [torch.tensor(p, requires_grad=True) for p in p0]
    x_pt, y_pt = torch.from_numpy(x), torch.from_numpy(y)
    l_cr, l_pt = loss_chainrule(p_cr, x, y, rows), loss_torch(p_pt, x_pt, y_pt)
    l_cr.backward()
    l_pt.backward()
    l_np, g_np = loss_and_grads_numpy(p0, x, y, rows)
    losses = (l_cr.item(), l_pt.item(), float(l_np))
    assert np.allclose(losses, losses[1], rtol=1e-5), f"mlp {sizes}: losses differ {losses}"
    for k, (a, b, c) in enumerate(zip(p_cr, p_pt, g_np, strict=True)):
        g_pt = b.grad.numpy()
        tol = dict(rtol=1e-4, atol=1e-5 * np.abs(g_pt).max())
        assert a.grad.dtype == c.dtype == np.float32, (a.grad.dtype, c.dtype)
        assert np.allclose(a.grad.data, g_pt, **tol), f"mlp {sizes}: chainrule grad {k} wrong"
        assert np.allclose(c, g_pt, **tol), f"mlp {sizes}: NumPy grad {k} != PyTorch"
    p_np = [p.copy() for p in p0]
    for p in p_cr + p_pt:
        p.grad = None
    step_chainrule(p_cr, x, y, rows), step_torch(p_pt, x_pt, y_pt), step_numpy(p_np, x, y, rows)
    for a, b, c, q, g in zip(p_cr, p_pt, p_np, p0, g_np, strict=True):
        want = q - LR * g
        for got in (a.data, b.detach().numpy(), c):
            assert np.allclose(got, want, rtol=1e-5, atol=1e-6), f"mlp {sizes}: bad update"


def run_mlp(name, sizes, batch, unit, scale, target, budget):
    check(sizes, batch)
    p0, x, y = init(sizes, batch)
    rows = np.arange(batch)
    p_cr = [cr.tensor(p, requires_grad=True) for p in p0]
    p_pt = [torch.tensor(p, requires_grad=True) for p in p0]
    p_np = [p.copy() for p in p0]
    x_pt, y_pt = torch.from_numpy(x), torch.from_numpy(y)
    s = compare({"cr": lambda: step_chainrule(p_cr, x, y, rows),
                 "pt": lambda: step_torch(p_pt, x_pt, y_pt),
                 "np": lambda: step_numpy(p_np, x, y, rows)}, budget)
    arch = "-".join(map(str, sizes))
    return Row(f"{name} ({arch}, batch {batch}, SGD step)", unit, scale,
               s["cr"], s["pt"], s["np"], target=target)


def run(budget=None) -> list[Row]:
    return [run_mlp("mlp_small", (64, 32, 32, 10), 16, "µs/step", 1e6, 0.5,
                    budget),
            run_mlp("mlp_step", (784, 256, 256, 10), 128, "ms/step", 1e3, 1.05,
                    budget)]
