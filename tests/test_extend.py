"""Users declare primitives from outside the package, with rules in chainrule ops, and the
new ops take part in every transform, to second order."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


@cr.extend.elementwise(lambda ops, g, out, x: g * out * (1 - out) * 2, formula="d/dx σ(2x)",
                       uses_out=True)
def sigmoid2(x):
    return 1.0 / (1.0 + np.exp(-2.0 * x))


@cr.extend.linear(lambda ops, g, out, x: ops.apply(cumsum_rev.primitive, (g,)),
                  name="cumsum_fwd")
def cumsum_fwd(x):
    return np.cumsum(x, axis=-1)


@cr.extend.linear(lambda ops, g, out, x: ops.apply(cumsum_fwd.primitive, (g,)),
                  name="cumsum_rev")
def cumsum_rev(x):
    return np.flip(np.cumsum(np.flip(x, -1), axis=-1), -1)


def _softclip_vjp(ops, g, out, x):
    return g / (1 + x * x)


def _softclip_jvp(ops, g, out, x):
    return g[0] / (1 + x * x)


@cr.extend.primitive(vjp=[_softclip_vjp], jvp=_softclip_jvp, formula="d/dx atan x = 1/(1+x²)")
def arctan_custom(x):
    return np.arctan(x)


def test_a_users_op_never_replaces_one_of_chainrules():
    with pytest.raises(ValueError, match="one of chainrule's own"):
        cr.extend.elementwise(lambda ops, g, out, x: g, name="tanh")(np.tanh)
    assert cr.registry.PRIMITIVES["tanh"].forward is np.tanh  # unchanged


def test_extended_ops_to_second_order():
    x = cr.tensor([0.3, -0.4, 1.1], dtype=cr.float64)
    for fn in (sigmoid2, arctan_custom, lambda t: cumsum_fwd(t) ** 2, lambda t: cumsum_rev(t * t)):
        assert cr.gradcheck(fn, x, order=2)
    assert np.isclose(cr.grad(cr.grad(arctan_custom))(0.5).item(), -2 * 0.5 / (1 + 0.25) ** 2)
    h = cr.hessian(lambda t: cr.sum(sigmoid2(t)))(x)
    s = 1 / (1 + np.exp(-2 * x.data))
    np.testing.assert_allclose(np.diag(h.data), 4 * s * (1 - s) * (1 - 2 * s), rtol=1e-12)


def test_custom_vjp_replaces_the_reverse_rule_and_keeps_higher_orders():
    @cr.custom_vjp
    def log1pexp(x):
        return cr.log(1 + cr.exp(x))

    def fwd(x):
        return log1pexp.fun(x), x

    def bwd(x, g):  # the stable rule: σ(x), which never overflows
        return (g * cr.sigmoid(x),)

    log1pexp.defvjp(fwd, bwd)
    x = cr.tensor([-3.0, 0.0, 2.0], dtype=cr.float64)
    g = cr.grad(lambda t: cr.sum(log1pexp(t)))(x)
    np.testing.assert_allclose(g.data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    assert cr.gradcheck(log1pexp, x, order=2)
    big = cr.grad(lambda t: cr.sum(log1pexp(t)))(cr.tensor([800.0], dtype=cr.float64))
    assert big.item() == 1.0  # the composite's own gradient would be inf/inf = NaN
    _, t = cr.jvp(log1pexp, (x,), (cr.ones_like(x),))  # forward mode differentiates f itself
    np.testing.assert_allclose(t.data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    assert math.isclose(cr.grad(cr.grad(lambda t: log1pexp(t)))(0.0).item(), 0.25)
