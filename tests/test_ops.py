"""Every op of the spec table, checked: forward against PyTorch, reverse and forward mode
against central differences in float64, the adjoint identity ⟨v, J·u⟩ = ⟨Jᵀ·v, u⟩, the same
at second order, and gradients of both orders against ``torch.autograd.grad``."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.engine import toposort
from chainrule.registry import BUILTIN, PRIMITIVES

from .op_specs import SPECS

EPS = 1e-6


def _rng(spec):
    """Inputs from a stable hash of the spec id, so a failure replays in any process
    (``hash()`` of a str is randomised per process)."""
    return np.random.default_rng(zlib.crc32(spec.id.encode()))


def _tensors(arrays, requires_grad=False):
    return [cr.tensor(a, requires_grad=requires_grad) for a in arrays]


def _out(spec, xs):
    return cr.tensor(spec.fn(*xs)) if not isinstance(spec.fn(*xs), cr.Tensor) \
        else spec.fn(*xs)


def _value(f, arrays):
    with cr.no_grad():
        return np.asarray(f(*[cr.Tensor._wrap(a) for a in arrays]).data, dtype=np.float64)


def _directional(f, arrays, us):
    plus = [a + EPS * u for a, u in zip(arrays, us)]
    minus = [a - EPS * u for a, u in zip(arrays, us)]
    return (_value(f, plus) - _value(f, minus)) / (2 * EPS)


def _first_derivative(spec, v):
    """x ↦ ∂⟨v, f(x)⟩/∂x, all inputs concatenated: the function whose derivative is order 2."""
    n = len(spec.make_inputs(_rng(spec)))
    contract = cr.grad(lambda *xs: cr.sum(spec.fn(*xs) * v), argnums=tuple(range(n)))
    return lambda *xs: cr.concatenate([cr.reshape(g, -1) for g in contract(*xs)])


def _check_modes(f, arrays, rng, spec):
    """fd vs vjp, fd vs jvp, and the adjoint identity, for one function."""
    out = _value(f, arrays)
    v = rng.standard_normal(out.shape)
    us = [rng.standard_normal(a.shape) for a in arrays]
    _, pullback = cr.vjp(f, *[cr.tensor(a) for a in arrays])
    vjps = pullback(cr.tensor(v))
    vjp_dot = sum(float(np.sum(g.data * u)) for g, u in zip(vjps, us))
    _, tangent = cr.jvp(f, [cr.tensor(a) for a in arrays], [cr.tensor(u) for u in us])
    jvp_dot = float(np.sum(v * tangent.data))
    tol = max(1e-9, spec.rtol)
    assert np.isclose(vjp_dot, jvp_dot, rtol=tol, atol=tol), "⟨v, J·u⟩ ≠ ⟨Jᵀ·v, u⟩"
    if spec.fd:
        numeric = _directional(f, arrays, us)
        np.testing.assert_allclose(tangent.data, numeric, rtol=spec.rtol, atol=spec.atol * 10,
                                   err_msg="jvp vs central differences")
        assert np.isclose(vjp_dot, float(np.sum(v * numeric)), rtol=spec.rtol,
                          atol=spec.atol * 10), "vjp vs central differences"


@pytest.fixture(params=SPECS, ids=[s.id for s in SPECS])
def spec(request):
    return request.param


def test_forward_matches_torch(spec):
    arrays = spec.make_inputs(_rng(spec))
    ours = spec.fn(*_tensors(arrays))
    theirs = spec.torch_fn(*[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32(spec):
    arrays = [a.astype(np.float32) for a in spec.make_inputs(_rng(spec))]
    ours = spec.fn(*_tensors(arrays, requires_grad=True))
    theirs = spec.torch_fn(*[torch.tensor(a) for a in arrays])
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_first_order_modes(spec):
    rng = _rng(spec)
    _check_modes(spec.fn, spec.make_inputs(rng), rng, spec)


SECOND_ORDER = [s for s in SPECS if s.order >= 2]  # the rest sit on kinks or ties


@pytest.mark.parametrize("spec", SECOND_ORDER, ids=[s.id for s in SECOND_ORDER])
def test_second_order_modes(spec):
    rng = _rng(spec)
    arrays = spec.make_inputs(rng)
    v = rng.standard_normal(_value(spec.fn, arrays).shape)
    _check_modes(_first_derivative(spec, v), arrays, rng, spec)


def test_gradients_match_torch_autograd(spec):
    rng = _rng(spec)
    arrays = spec.make_inputs(rng)
    xs = _tensors(arrays, requires_grad=True)
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = spec.fn(*xs), spec.torch_fn(*txs)
    v = rng.standard_normal(out.shape)
    gs = cr.gradient(cr.sum(out * v), xs, create_graph=True)
    tgs = torch.autograd.grad((tout * torch.tensor(v)).sum(), txs, create_graph=True,
                              allow_unused=True)
    for g, tg in zip(gs, tgs):
        expect = np.zeros(g.shape) if tg is None else tg.detach().numpy()
        np.testing.assert_allclose(g.data, expect, rtol=1e-9, atol=1e-10)
    if spec.order < 2:
        return
    ws = [rng.standard_normal(g.shape) for g in gs]
    live = [(g, tg, w) for g, tg, w in zip(gs, tgs, ws) if tg is not None and tg.requires_grad]
    if not live:
        return
    second = sum(cr.sum(g * w) for g, _, w in live)
    tsecond = sum((tg * torch.tensor(w)).sum() for _, tg, w in live)
    if not second.requires_grad:  # linear ops: the second derivative is identically zero
        return
    hs = cr.gradient(second, xs)
    ths = torch.autograd.grad(tsecond, txs, allow_unused=True)
    for h, th in zip(hs, ths):
        expect = np.zeros(h.shape) if th is None else th.numpy()
        np.testing.assert_allclose(h.data, expect, rtol=1e-8, atol=1e-9)


def test_jacobian_forward_equals_reverse(spec):
    arrays = spec.make_inputs(_rng(spec))
    nums = tuple(range(len(arrays)))
    fwd = cr.jacobian(spec.fn, nums, mode="forward")(*_tensors(arrays))
    rev = cr.jacobian(spec.fn, nums, mode="reverse")(*_tensors(arrays))
    for a, b in zip(fwd, rev):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)


def test_every_registered_primitive_has_a_spec():
    """Each builtin primitive appears in the forward or the (create_graph) backward graph of
    some spec, so nothing registered ships untested."""
    seen = set()
    for spec in SPECS:
        rng = _rng(spec)
        xs = _tensors(spec.make_inputs(rng), requires_grad=True)
        out = spec.fn(*xs)
        gs = cr.gradient(cr.sum(out * rng.standard_normal(out.shape)), xs, create_graph=True)
        roots = [t._node for t in (out, *gs) if t._node is not None]
        seen |= {n.prim.name for n in toposort(roots) if n.prim is not None}
    builtin = {name for name in BUILTIN if name in PRIMITIVES}
    assert builtin - seen == set(), f"primitives with no spec: {sorted(builtin - seen)}"
