"""Backward rules written out as NumPy lines, for the rules that dominate training steps.

A replayed rule call goes through the kind's wrapper (``registry.py``) and the vocabulary:
several Python calls around each NumPy call. For the common rules this module gives the same
NumPy calls as one line of text. Each is *verified* while tracing: the line runs on the traced
arrays and must give bitwise the arrays the rule gave, or the generic call is written instead
(so a rule that changes can never make the replay differ from eager execution).

A template maps the names ``g`` (cotangent), ``out``, ``x0, x1, ...`` (inputs) and the rule's
params to expressions for the cotangents of the inputs, in order (``None``: not computed).
"""
from __future__ import annotations

import numpy as np

from ..ops.shape import _sum_to


def _linear(needs, xs, params):
    if xs[0].ndim != 2 or params:
        return None
    exprs = ["np.matmul(g, x1)", "np.matmul(g.T, x0)", "g.sum(axis=0)"]
    return [e if n else None for e, n in zip(exprs, needs)]


def _relu(needs, xs, params):
    return ["g * (x0 > 0)"]


def _add(needs, xs, params):
    return ["g" if n else None for n in needs]


def _sce(needs, xs, params):
    return ["_sce_grad(g, x0, onehot, scale)"]


def _sce_grad(g, x, onehot, scale):
    w = np.exp(x - x.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True) - onehot) * (g * scale)


def _sum(needs, xs, params):
    if params["keepdims"]:
        return ["np.broadcast_to(g, shape_in)"]
    kept = tuple(1 if i - len(params["shape_in"]) in params["axis"] else n
                 for i, n in enumerate(params["shape_in"]))
    return [f"np.broadcast_to(g.reshape({kept!r}), shape_in)"]


TEMPLATES = {
    "linear": _linear, "relu": _relu, "add": _add, "softmax_cross_entropy": _sce,
    "sum": _sum,
    "log_softmax": lambda needs, xs, p: ["g - np.exp(out) * g.sum(axis=axis, keepdims=True)"],
    "broadcast_to": lambda needs, xs, p: ["_sum_to(g, shape_in, shape)"],
    "multiply": lambda needs, xs, p: ["g * x1" if needs[0] else None,
                                      "g * x0" if needs[1] else None],
    "subtract": lambda needs, xs, p: ["g" if needs[0] else None, "-g" if needs[1] else None],
    "mul_scalar": lambda needs, xs, p: ["g * c"],
    "div_scalar": lambda needs, xs, p: ["g / c"],
    "add_scalar": lambda needs, xs, p: ["g"],
    "neg": lambda needs, xs, p: ["-g"],
    "tanh": lambda needs, xs, p: ["g * (1 - out * out)"],
}
HELPERS = {"_sce_grad": _sce_grad, "_sum_to": _sum_to}


def inline_vjp(prim, g, out, xs, params, needs, gis):
    """The rule's cotangents as expressions of (g, out, x0...; params by name), verified on
    the traced arrays, or None."""
    template = TEMPLATES.get(prim.name)
    if template is None or (params and not all(k.isidentifier() for k in params)):
        return None
    exprs = template(needs, xs, params)
    if exprs is None or len(exprs) != len(gis):
        return None
    scope = {"np": np, "g": g, "out": out, **HELPERS, **(params or {}),
             **{f"x{i}": x for i, x in enumerate(xs)}}
    for e, want in zip(exprs, gis):
        if (e is None) != (want is None):
            return None
        if e is None:
            continue
        got = eval(e, scope)  # noqa: S307  (our own template text)
        if not (type(got) is type(want) and got.dtype == want.dtype  # (arrays or scalars)
                and got.shape == want.shape and np.array_equal(got, want, equal_nan=True)):
            return None
    return exprs
