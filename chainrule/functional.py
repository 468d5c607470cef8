"""Composites: functions built from primitives, with no derivative rule of their own."""
from __future__ import annotations

import math

from . import ops
from .ops._front import norm_axis
from .ops.shape import as_tensor


def _count(x, axis) -> int:
    return math.prod(x.shape[a] for a in norm_axis(axis, x.ndim))


def mean(x, axis=None, keepdims: bool = False):
    """Arithmetic mean over ``axis`` (all axes if None)."""
    x = as_tensor(x)
    return ops.sum(x, axis, keepdims) * (1.0 / _count(x, axis))


def var(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Variance over ``axis``; ``ddof=0`` as NumPy (PyTorch's default is ``ddof=1``)."""
    x = as_tensor(x)
    centred = x - mean(x, axis, keepdims=True)
    return ops.sum(centred * centred, axis, keepdims) * (1.0 / (_count(x, axis) - ddof))


def std(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Standard deviation over ``axis``; ``ddof=0`` as NumPy."""
    return ops.sqrt(var(x, axis, keepdims, ddof))


def log_softmax(x, axis: int = -1):
    """x − logsumexp(x): log-probabilities along ``axis``, stable for any logits; one fused
    primitive (its gradient ȳ − softmax·Σȳ in one step).

    >>> import chainrule as cr
    >>> [round(v, 4) for v in cr.log_softmax(cr.tensor([0.0, 0.0])).tolist()]
    [-0.6931, -0.6931]
    """
    return ops.reduce.log_softmax(x, axis)


def softmax(x, axis: int = -1):
    """Probabilities exp(x)/Σexp(x) along ``axis``; one fused primitive.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    return ops.reduce.softmax(x, axis)
