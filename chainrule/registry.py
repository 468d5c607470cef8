"""Primitives and the helpers that declare them, by kind, so that one rule gives both modes.

Vocabulary, used everywhere in the package:
    x, y     primal inputs          out   the primal output
    g        the incoming cotangent (reverse mode)
    dx, dy   tangents (forward mode); ``None`` is a symbolic zero
    ops      the namespace a rule computes with: ``RAW`` (NumPy on ndarrays, for a plain
             ``backward()``) or ``TENSOR`` (chainrule ops on Tensors, when the backward pass
             must itself be differentiable). Rules are written once, against ``ops``.

Every primitive has
    forward(*arrays, **params) -> ndarray
    vjp(ops, g, xs, out, params, needs) -> list of cotangents (None where not needed)
    jvp(xs, dxs, out, params) -> tangent Tensor or None        (always Tensor mode)
Linear primitives are written so that their forward also works on inputs with extra
*leading* dimensions (a batch of tangents): axes are negative and shapes are suffixes.
"""
from __future__ import annotations

import types

import numpy as np

PRIMITIVES: dict[str, Primitive] = {}

# A derivative that is the constant one: the vjp passes ``g`` through without multiplying.
ONE = 1
_NO_PARAMS: dict = {}


class Primitive:
    __slots__ = ("name", "kind", "forward", "vjp", "jvp", "formula", "uses_out", "sympy",
                 "nondiff")

    def __init__(self, name, kind, forward, vjp, jvp, formula="", uses_out=False, sympy=None,
                 nondiff=()):
        self.name = name
        self.kind = kind
        self.forward = forward
        self.vjp = vjp
        self.jvp = jvp
        self.formula = formula
        self.uses_out = uses_out
        self.sympy = sympy
        self.nondiff = nondiff  # indices of inputs that are never differentiated (masks, ints)

    def __repr__(self):
        return f"<primitive {self.name} ({self.kind})>"


def register(prim: Primitive, *, replace: bool = False) -> Primitive:
    if prim.name in PRIMITIVES and not replace:
        raise ValueError(f"a primitive named {prim.name!r} is already registered")
    PRIMITIVES[prim.name] = prim
    return prim


# ---------------------------------------------------------------------------------------------
# The two namespaces rules compute with.

def _raw_apply(prim, xs, params=None):
    return prim.forward(*xs, **params) if params else prim.forward(*xs)


RAW = types.SimpleNamespace(
    is_tensor=False,
    apply=_raw_apply,
    exp=np.exp, log=np.log, sqrt=np.sqrt, sin=np.sin, cos=np.cos, tanh=np.tanh,
    sign=np.sign, square=np.square, reciprocal=np.reciprocal,
    where=np.where, matmul=np.matmul, einsum=np.einsum, abs=np.abs,
    # Methods, not NumPy's module functions: those add ~0.5–1 µs of dispatch to every call.
    sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    reshape=lambda x, shape: x.reshape(shape),
    swapaxes=lambda x, axis1, axis2: x.swapaxes(axis1, axis2),
    transpose=lambda x, axes=None: x.transpose(axes),
)

# Filled by ``chainrule.ops`` once the Tensor-level functions exist (import order).
TENSOR = types.SimpleNamespace(is_tensor=True)


def one_element(sp, a, **params):
    """SymPy counterpart of a shape op (reshape, sum, ...) on the one-element values
    ``cr.symbolic`` works with: the element itself."""
    return a


def fit(ops, gx, shape):
    """Sum a cotangent back to an input's shape where the op broadcast it internally."""
    return gx if gx.shape == shape else ops.sum_to(gx, shape)


# ---------------------------------------------------------------------------------------------
# Declaration helpers, one per kind.

def elementwise(name, forward, *derivs, formula="", uses_out=False, sympy=None,
                replace=False):
    """An elementwise op of n inputs of equal shape.

    ``derivs[i](ops, *xs, out, **params)`` is ∂out/∂xᵢ (``ONE`` for the constant 1, ``None``
    for an input that is not differentiable). vjp: gᵢ = g·∂out/∂xᵢ; jvp: Σᵢ dxᵢ·∂out/∂xᵢ.
    """
    nondiff = tuple(i for i, d in enumerate(derivs) if d is None)
    if len(derivs) == 1:  # the common unary case, without loops (hot path)
        d0 = derivs[0]
        if d0 is ONE:
            def vjp(ops, g, xs, out, params, needs):
                return [g]

            def jvp(xs, dxs, out, params):
                return dxs[0]
        else:
            def vjp(ops, g, xs, out, params, needs):
                return [g * (d0(ops, xs[0], out, **params) if params else d0(ops, xs[0], out))]

            def jvp(xs, dxs, out, params):
                dx = dxs[0]
                if dx is None:
                    return None
                return dx * (d0(TENSOR, xs[0], out, **params) if params else
                             d0(TENSOR, xs[0], out))

        return register(Primitive(name, "elementwise", forward, vjp, jvp, formula, uses_out,
                                  sympy, nondiff), replace=replace)

    def vjp(ops, g, xs, out, params, needs):
        params = params or _NO_PARAMS
        res = []
        for d, need in zip(derivs, needs):
            if not need or d is None:
                res.append(None)
            elif d is ONE:
                res.append(g)
            else:
                res.append(g * d(ops, *xs, out, **params))
        return res

    def jvp(xs, dxs, out, params):
        params = params or _NO_PARAMS
        total = None
        for d, dx in zip(derivs, dxs):
            if dx is None or d is None:
                continue
            term = dx if d is ONE else dx * d(TENSOR, *xs, out, **params)
            total = term if total is None else total + term
        return total

    return register(Primitive(name, "elementwise", forward, vjp, jvp, formula, uses_out,
                              sympy, nondiff), replace=replace)


def linear(name, forward, transpose, *, formula="", nondiff=(), sympy=None, replace=False):
    """An op linear in its inputs: ``transpose(ops, g, params) -> list`` gives the vjp, and the
    jvp is the op itself applied to the tangents (zeros where a tangent is absent)."""

    def vjp(ops, g, xs, out, params, needs):
        return transpose(ops, g, params, needs)

    def jvp(xs, dxs, out, params):
        if all(dx is None for dx in dxs):
            return None
        if any(dx is None for dx in dxs):
            from .ops.shape import zero_fill_tangents
            dxs = zero_fill_tangents(xs, dxs)
        from .engine import apply
        return apply(PRIMITIVES[name], tuple(dxs), params)

    return register(Primitive(name, "linear", forward, vjp, jvp, formula, False, sympy,
                              nondiff), replace=replace)


def bilinear(name, forward, transpose_x, transpose_y, *, tensor_fn, formula="", sympy=None):
    """An op linear in each of its two inputs separately (mul, matmul).

    ``transpose_x(ops, g, y, params)`` is x̄ and ``transpose_y(ops, g, x, params)`` is ȳ;
    jvp = op(dx, y) + op(x, dy), computed with ``tensor_fn`` (the broadcasting front end).
    """

    def vjp(ops, g, xs, out, params, needs):
        x, y = xs
        gx = fit(ops, transpose_x(ops, g, y, params), x.shape) if needs[0] else None
        gy = fit(ops, transpose_y(ops, g, x, params), y.shape) if needs[1] else None
        return [gx, gy]

    def jvp(xs, dxs, out, params):
        (x, y), (dx, dy) = xs, dxs
        fn = tensor_fn()
        params = params or _NO_PARAMS
        # A batched tangent's leading dims must not meet the other operand's batch dims:
        # give the tangent as many core dims as the other operand has.
        if dx is not None and y.ndim > x.ndim:
            dx = pad_core(dx, x.ndim, y.ndim)
        if dy is not None and x.ndim > y.ndim:
            dy = pad_core(dy, y.ndim, x.ndim)
        a = fn(dx, y, **params) if dx is not None else None
        b = fn(x, dy, **params) if dy is not None else None
        return b if a is None else a if b is None else a + b

    return register(Primitive(name, "bilinear", forward, vjp, jvp, formula, False, sympy))


def pad_core(d, core, target):
    lead = d.shape[:d.ndim - core]
    if not lead:
        return d
    return d.reshape(lead + (1,) * (target - core) + d.shape[d.ndim - core:])


def general(name, forward, vjp, jvp, *, formula="", uses_out=False, sympy=None, nondiff=(),
            replace=False):
    """Any other op: explicit vjp and jvp, both written with ``ops``/chainrule functions."""
    return register(Primitive(name, "general", forward, vjp, jvp, formula, uses_out, sympy,
                              nondiff), replace=replace)
