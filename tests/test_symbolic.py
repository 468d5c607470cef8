"""cr.symbolic: SymPy's closed form next to backprop, for the same program."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import chainrule as cr
from chainrule.registry import BUILTIN, PRIMITIVES


def test_closed_form_and_gradient_of_the_neuron():
    s = cr.symbolic(lambda w, b: 0.5 * (cr.sigmoid(w * 1.5 + b) - 1.0) ** 2, "w", "b")
    w, b = s.symbols
    sig = 1 / (1 + sp.exp(-(sp.Rational(3, 2) * w + b)))
    assert sp.simplify(s.expr - (sig - 1) ** 2 / 2) == 0
    assert sp.simplify(s.grad["b"] - sp.diff((sig - 1) ** 2 / 2, b)) == 0
    checked = s.check(w=0.5, b=-0.2)
    assert set(checked) == {"w", "b"}
    assert "\\frac{\\partial f}{\\partial w}" in s.latex()


@pytest.mark.parametrize("f,text", [
    (lambda x: cr.exp(cr.sin(x ** 2)), "exp(sin(x**2))"),
    (lambda x: cr.exp(cr.sqrt(x)), "exp(sqrt(x))"),
    # sympy.simplify takes minutes on this one's exact gradient (gelu's erf beside tanh)
    (lambda x: cr.gelu(x) + cr.softplus(x) + cr.tanh(x) / (1 + x * x), None),
])
def test_gradients_agree_with_backprop(f, text):
    s = cr.symbolic(f, "x", simplify=text is not None)
    if text:
        assert sp.simplify(s.expr - sp.sympify(text, locals={"x": s.symbols[0]})) == 0
    s.check(x=0.7)


def test_two_variables_and_a_disagreement_is_an_error():
    s = cr.symbolic(lambda x, y: x ** 2 + cr.sin(x * y), "x", "y")
    s.check(x=0.3, y=1.1)
    s.grad["x"] = s.grad["x"] + 1  # corrupt it: check must notice
    with pytest.raises(cr.ChainruleError, match="differ"):
        s.check(x=0.3, y=1.1)


def test_every_scalar_elementwise_primitive_has_a_sympy_counterpart():
    elementwise = {n for n in BUILTIN if PRIMITIVES[n].kind == "elementwise"}
    missing = {n for n in elementwise if PRIMITIVES[n].sympy is None}
    assert not missing, f"no SymPy rule for {sorted(missing)}"


def test_an_extension_op_takes_part_through_its_declared_sympy_counterpart():
    @cr.extend.elementwise(lambda ops, g, out, x: g * 3 * x * x, name="cube_for_symbolic",
                           sympy=lambda sp, a: a ** 3)
    def cube(x):
        return x ** 3

    s = cr.symbolic(lambda x: cube(cr.sin(x)), "x")
    x = s.symbols[0]
    assert sp.simplify(s.grad["x"] - 3 * sp.sin(x) ** 2 * sp.cos(x)) == 0
    s.check(x=0.7)

    @cr.extend.elementwise(lambda ops, g, out, x: g * 2 * x, name="square_without_sympy")
    def plain(x):
        return x * x

    with pytest.raises(cr.ChainruleError, match="square_without_sympy declares no SymPy"):
        cr.symbolic(lambda x: plain(x), "x")


def test_numeric_parameters_are_exact_rationals():
    x = sp.Symbol("x", real=True)
    s = cr.symbolic(lambda x: cr.leaky_relu(x, 0.1), "x")
    assert s.expr == sp.Piecewise((x, x > 0), (sp.Rational(1, 10) * x, True))
    assert s.grad["x"] == sp.Piecewise((1, x > 0), (sp.Rational(1, 10), True))
    assert not s.expr.atoms(sp.Float)
    for f in (lambda x: cr.elu(x, 0.3), lambda x: cr.softplus(x, beta=2.5),
              lambda x: cr.clip(x, -0.5, 1.5), lambda x: cr.sum(cr.reshape(x * 0.25, (1, 1)))):
        s = cr.symbolic(f, "x")
        assert not s.expr.atoms(sp.Float), s.expr
        s.check(x=0.7)
    assert cr.symbolic(lambda x: cr.clip(x, -0.5, 1.5), "x").expr == sp.Min(
        sp.Rational(3, 2), sp.Max(sp.Rational(-1, 2), x))


def test_value_matches_numerically():
    s = cr.symbolic(lambda x: cr.log1p(x) * cr.cos(x), "x")
    assert np.isclose(float(s.expr.subs(s.symbols[0], 0.4)), np.log1p(0.4) * np.cos(0.4))


def test_simplify_false_keeps_sympy_diff_and_still_checks():
    s = cr.symbolic(lambda x: cr.sin(x) ** 2 + cr.cos(x) ** 2, "x", simplify=False)
    x = s.symbols[0]
    assert s.grad["x"] == sp.diff(sp.sin(x) ** 2 + sp.cos(x) ** 2, x)  # simplify would give 0
    s.check(x=0.3)


@pytest.mark.parametrize("f,names,counts", [
    # x·y: one product; backward ḡ·y and ḡ·x; the partials y and x cost nothing
    (lambda x, y: x * y, "xy", dict(function=1, symbolic=0, forward=1, backward=2)),
    # x·x is x²; x is used twice: ḡ·x twice, then one sum where the two paths meet
    (lambda x: x * x, "x", dict(function=1, symbolic=1, forward=1, backward=3)),
    # the seed neuron: 1.5w (× and the ÷ of 3/2), +b, σ (4 ops), −1, ², ½· = 10 forward;
    # back: ½·ḡ, 2u·ū (2), σ(1 − σ)·ȳ (3), 1.5·z̄ (2) = 8; the + nodes pass ḡ on for free
    (lambda w, b: 0.5 * (cr.sigmoid(w * 1.5 + b) - 1.0) ** 2, "wb",
     dict(forward=10, backward=8)),
])
def test_op_counts_by_hand(f, names, counts):
    got = cr.symbolic(f, *names).op_counts()
    assert {k: getattr(got, k) for k in counts} == counts
    assert got.backprop == got.forward + got.backward


def test_op_counts_of_the_neuron_match_sympy_on_its_own_formula():
    w, b = sp.symbols("w b", real=True)
    loss = (1 / (1 + sp.exp(-(sp.Rational(3, 2) * w + b))) - 1) ** 2 / 2
    partials = [sp.diff(loss, w), sp.diff(loss, b)]
    shared, reduced = sp.cse(partials)
    got = cr.symbolic(lambda w, b: 0.5 * (cr.sigmoid(w * 1.5 + b) - 1.0) ** 2, "w", "b",
                      simplify=False).op_counts()
    assert got.function == sp.count_ops(loss)
    assert got.symbolic == sum(map(sp.count_ops, partials))
    assert got.symbolic_cse == (sum(sp.count_ops(e) for _, e in shared)
                                + sum(map(sp.count_ops, reduced)))
