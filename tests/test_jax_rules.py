"""custom_jvp, custom_vjp (forward calling f itself; nondiff_argnums), stop_gradient,
checkpoint, jacfwd/jacrev: values and gradients against PyTorch and finite differences."""
from __future__ import annotations

import functools
import gc
import tracemalloc

import numpy as np
import pytest
import torch

import chainrule as cr


def f64(v):
    return cr.tensor(v, dtype=cr.float64)


# -- custom_jvp ------------------------------------------------------------------------------
@cr.custom_jvp
def log1pexp(x):
    return cr.log(1 + cr.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return log1pexp(x), dx * cr.sigmoid(x)  # the rule calls the function itself


def test_custom_jvp_rule_is_used_in_both_modes_and_all_orders():
    x = f64([-2.0, 0.0, 3.0])
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(cr.jvp(log1pexp, (x,), (f64([1.0, 2.0, 3.0]),))[1].data,
                               s * [1, 2, 3])
    g = cr.grad(lambda x: log1pexp(x).sum())
    np.testing.assert_allclose(g(x).data, s)  # reverse mode: the jvp rule, transposed
    np.testing.assert_allclose(cr.hessian(lambda x: log1pexp(x).sum())(x).data,
                               np.diag(s * (1 - s)))
    assert cr.gradcheck(log1pexp, x, order=2)
    # The rule wins where the plain formula would fail: exp(1000) overflows, sigmoid does not.
    with np.errstate(over="ignore"):
        assert cr.grad(log1pexp)(f64(1000.0)).item() == 1.0


def test_custom_jvp_several_inputs_and_nondiff_argnums():
    def scaled_mul(k, x, y):
        return k * x * y

    f = cr.custom_jvp(scaled_mul, nondiff_argnums=(0,))
    f.defjvp(lambda k, p, t: (f(k, *p), k * (t[0] * p[1] + p[0] * t[1])))
    gx, gy = cr.grad(lambda x, y: f(3.0, x, y).sum(), argnums=(0, 1))(f64([2.0]), f64([5.0]))
    assert (gx.item(), gy.item()) == (15.0, 6.0)
    with pytest.raises(TypeError, match="defjvp"):
        cr.custom_jvp(lambda x: x)(1.0)


def test_custom_jvp_under_vmap():
    xs = f64([[0.0, 1.0], [2.0, -1.0]])
    got = cr.vmap(cr.grad(lambda x: log1pexp(x).sum()))(xs)
    np.testing.assert_allclose(got.data, 1 / (1 + np.exp(-xs.data)))


# -- custom_vjp ------------------------------------------------------------------------------
def test_custom_vjp_forward_may_call_the_function_itself():
    """The documented idiom recursed until RecursionError (issue: at home for JAX users)."""
    @cr.custom_vjp
    def f(x):
        return cr.sin(x) * 2

    def f_fwd(x):
        return f(x), cr.cos(x)

    def f_bwd(cos_x, g):
        return (2 * g * cos_x,)

    f.defvjp(f_fwd, f_bwd)
    x = f64(0.7)
    assert np.isclose(f(x).item(), 2 * np.sin(0.7))
    assert np.isclose(cr.grad(f)(x).item(), 2 * np.cos(0.7))
    assert np.isclose(cr.grad(cr.grad(f))(x).item(), -2 * np.sin(0.7))


def test_custom_vjp_nondiff_argnums():
    def clip_gradient(lo, hi, x):
        return x

    f = cr.custom_vjp(clip_gradient, nondiff_argnums=(0, 1))
    f.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, res, g: (cr.clip(g, lo, hi),))
    g = cr.grad(lambda x: (f(-1.0, 1.0, x) * f64([0.5, 3.0, -4.0])).sum())(f64([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g.data, [0.5, 1.0, -1.0])
    # functools.partial works as the decorator form
    deco = functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
    h = deco(lambda n, x: x ** n)
    h.defvjp(lambda n, x: (x ** n, x), lambda n, x, g: (g * n * x ** (n - 1),))
    assert cr.grad(lambda x: h(3, x))(f64(2.0)).item() == 12.0


# -- stop_gradient, jacfwd/jacrev ------------------------------------------------------------
def test_stop_gradient_blocks_both_modes_and_keeps_the_value():
    f = lambda x: x * cr.stop_gradient(x * x)  # noqa: E731
    assert cr.grad(f)(f64(3.0)).item() == 9.0
    assert cr.jvp(f, (f64(3.0),), (f64(1.0),))[1].item() == 9.0
    tree = cr.stop_gradient({"a": cr.tensor(1.0, requires_grad=True), "n": 2})
    assert not tree["a"].requires_grad and tree["n"] == 2


def test_jacfwd_and_jacrev_match_torch():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda x: cr.sin(x) * x.sum() + x[0] * x  # noqa: E731
    tf = lambda x: torch.sin(x) * x.sum() + x[0] * x  # noqa: E731
    ref = torch.func.jacrev(tf)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(cr.jacfwd(f)(f64(x)).data, ref, rtol=1e-12)
    np.testing.assert_allclose(cr.jacrev(f)(f64(x)).data, ref, rtol=1e-12)
    g = lambda x, y: x * y  # noqa: E731
    jx, jy = cr.jacrev(g, argnums=(0, 1))(f64([1.0, 2.0]), f64([3.0, 4.0]))
    np.testing.assert_allclose(jx.data, np.diag([3.0, 4.0]))
    np.testing.assert_allclose(jy.data, np.diag([1.0, 2.0]))


# -- checkpoint -----------------------------------------------------------------------------
def _mlp(depth, width, rng):
    return [f64(rng.standard_normal((width, width)) / np.sqrt(width)) for _ in range(depth)]


def _block(h, w):
    return cr.tanh(h @ w)


def test_checkpoint_gives_the_same_gradients_in_every_mode():
    rng = np.random.default_rng(3)
    ws = _mlp(4, 5, rng)
    x = f64(rng.standard_normal((2, 5)))
    block = cr.checkpoint(_block)

    def loss(ws, step):
        h = x
        for w in ws:
            h = step(h, w)
        return (h ** 2).sum()

    plain = cr.grad(lambda ws: loss(ws, _block))(ws)
    remat = cr.grad(lambda ws: loss(ws, block))(ws)
    for a, b in zip(plain, remat):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    assert cr.gradcheck(lambda w: block(x, w), ws[0], order=2)
    leaves = [f64(w.data).requires_grad_() for w in ws]
    loss(leaves, block).backward()
    np.testing.assert_allclose(leaves[0].grad.data, plain[0].data, rtol=1e-12)
    _, t = cr.jvp(lambda w: loss([w] + ws[1:], block), (ws[0],), (f64(np.ones((5, 5))),))
    assert np.isclose(t.item(), plain[0].data.sum())


def _silu_layers(h, *ws):
    for w in ws:
        z = h @ w
        h = z * cr.sigmoid(z)  # the graph keeps three activation-sized arrays a layer
    return h


def test_checkpoint_keeps_only_the_inputs():
    """Peak memory of a forward and backward pass falls: a checkpointed layer keeps one
    array (its input) where a plain one keeps three. A ratio, not a timing."""
    rng = np.random.default_rng(4)
    ws = [w.requires_grad_() for w in _mlp(24, 32, rng)]
    x = f64(rng.standard_normal((2048, 32)))  # activations outweigh the weights' gradients
    block = cr.checkpoint(_silu_layers)

    def peak(step):
        tracemalloc.start()
        h = x
        for w in ws:
            h = step(h, w)
        (h * h).sum().backward()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    plain, remat = peak(_silu_layers), peak(block)
    assert remat < 0.6 * plain


def test_transforms_leave_no_reference_cycles():
    """Regression: pytree flattening by a closure that called itself made a cycle, which
    kept every flattened tensor (and checkpointed activations) alive until gc ran."""
    x = f64(np.ones(3))
    calls = [
        lambda: cr.grad(lambda p: (p["a"] * p["b"][0]).sum())({"a": x, "b": (x,)}),
        lambda: cr.vmap(cr.grad(lambda v: (v * v).sum()))(f64(np.ones((4, 3)))),
        lambda: cr.jacobian(lambda v: v * v)(x),
        lambda: cr.grad(lambda v: cr.checkpoint(_silu_layers)(v[None], x[:, None]).sum())(x),
        lambda: cr.vjp(lambda p: {"y": p["a"] * 2}, {"a": x})[1]({"y": x}),
    ]
    for call in calls:
        call()  # warm: first calls may build caches
    gc.collect()
    gc.disable()
    try:
        for call in calls:
            call()
            assert gc.collect() == 0
    finally:
        gc.enable()
