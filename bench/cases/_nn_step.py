"""Shared by the ``cr.nn`` cases (``lenet``, ``nn_mlp``): one training step of a model built
from layers, with the library's own loss and optimizer, next to the same ``torch.nn`` model.

A step is what a user's training loop runs: ``loss = cross_entropy(model(x), y)``,
``loss.backward()``, ``opt.step()``, ``opt.zero_grad()`` (gradients set to None, PyTorch's
default). chainrule's model starts from PyTorch's initial weights (``load_state_dict``); each
framework then trains its own copy on one fixed batch.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from timing import Stats, compare

import chainrule as cr
import chainrule.nn.functional as CF

LR = 0.01


def pair(build_cr: Callable[[], object], build_torch: Callable[[], torch.nn.Module], seed=0):
    """The chainrule model and the torch model, with the torch model's initial weights."""
    torch.manual_seed(seed)
    m_pt = build_torch()
    m_cr = build_cr()
    m_cr.load_state_dict({k: v.detach().numpy() for k, v in m_pt.state_dict().items()})
    names_cr = [k for k, _ in m_cr.named_parameters()]
    names_pt = [k for k, _ in m_pt.named_parameters()]
    assert names_cr == names_pt, f"parameter names differ: {names_cr} vs {names_pt}"
    return m_cr, m_pt


def step_chainrule(model, opt, x, y):
    loss = CF.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss


def step_torch(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


def check(name, build_cr, build_torch, x, y):
    """Same batch, same initial weights: equal loss and gradients (float32 tolerances), and
    one SGD step moves every parameter by -lr·grad in both frameworks."""
    m_cr, m_pt = pair(build_cr, build_torch)
    x_pt, y_pt = torch.from_numpy(x), torch.from_numpy(y)
    w0 = [p.detach().numpy().copy() for p in m_pt.parameters()]
    l_cr = CF.cross_entropy(m_cr(cr.tensor(x)), y)
    l_pt = F.cross_entropy(m_pt(x_pt), y_pt)
    assert l_cr.dtype == np.float32, f"{name}: chainrule loss is {l_cr.dtype}"
    assert np.isclose(l_cr.item(), l_pt.item(), rtol=1e-5), \
        f"{name}: losses differ {l_cr.item()} vs {l_pt.item()}"
    l_cr.backward()
    l_pt.backward()
    grads = []
    for (k, a), b in zip(m_cr.named_parameters(), m_pt.parameters(), strict=True):
        g_pt = b.grad.numpy()
        assert a.grad is not None and a.grad.dtype == np.float32, f"{name}: {k} grad dtype"
        assert np.allclose(a.grad.data, g_pt, rtol=1e-4, atol=1e-5 * np.abs(g_pt).max()), \
            f"{name}: gradient of {k} differs (max |Δ| " \
            f"{np.abs(a.grad.data - g_pt).max():.3g}, max |g| {np.abs(g_pt).max():.3g})"
        grads.append(g_pt.copy())
    opt_cr = cr.optim.SGD(m_cr.parameters(), lr=LR)
    opt_pt = torch.optim.SGD(m_pt.parameters(), lr=LR)
    opt_cr.step()
    opt_pt.step()
    opt_cr.zero_grad()
    opt_pt.zero_grad(set_to_none=True)
    for (k, a), b, q, g in zip(m_cr.named_parameters(), m_pt.parameters(), w0, grads,
                               strict=True):
        want = q - LR * g
        for got in (a.data, b.detach().numpy()):
            assert np.allclose(got, want, rtol=1e-5, atol=1e-6), f"{name}: bad update of {k}"
        assert a.grad is None and b.grad is None, f"{name}: zero_grad left a gradient on {k}"


def time_steps(build_cr, build_torch, x, y, budget, extra=None) -> dict[str, Stats]:
    """Median step times: fresh models from the same weights, each trained in its own block.
    ``extra`` adds more zero-argument implementations (a NumPy reference) to the same run."""
    m_cr, m_pt = pair(build_cr, build_torch)
    opt_cr = cr.optim.SGD(m_cr.parameters(), lr=LR)
    opt_pt = torch.optim.SGD(m_pt.parameters(), lr=LR)
    x_cr, x_pt, y_pt = cr.tensor(x), torch.from_numpy(x), torch.from_numpy(y)
    impls = {"cr": lambda: step_chainrule(m_cr, opt_cr, x_cr, y),
             "pt": lambda: step_torch(m_pt, opt_pt, x_pt, y_pt), **(extra or {})}
    return compare(impls, budget)
