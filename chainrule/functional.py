"""Composites: functions built from primitives, with no derivative rule of their own."""
from __future__ import annotations

import math

import numpy as np

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


def _max_kept(a, axis):
    """The maximum along ``axis``, kept as a size-1 axis: a constant shift (its own function
    so that ``cr.compile`` can record it)."""
    return np.max(a, axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1):
    """x − logsumexp(x): log-probabilities, stable for any logits.

    Computed as (x − m) − logsumexp(x − m) with m the (constant) maximum: the same function,
    since log_softmax is shift-invariant, but without the rounding of a large logsumexp.
    """
    x = as_tensor(x)
    shifted = x - _max_kept(x.data, axis)
    return shifted - ops.logsumexp(shifted, axis, keepdims=True)


def softmax(x, axis: int = -1):
    """exp(log_softmax(x)): probabilities along ``axis``."""
    return ops.exp(log_softmax(x, axis))
