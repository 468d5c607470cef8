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


TEMPLATES = {"linear": _linear, "relu": _relu, "add": _add,
             "softmax_cross_entropy": _sce}
HELPERS = {"_sce_grad": _sce_grad}


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
        if not (isinstance(got, np.ndarray) and isinstance(want, np.ndarray)
                and got.dtype == want.dtype and got.shape == want.shape
                and np.array_equal(got, want, equal_nan=True)):
            return None
    return exprs
