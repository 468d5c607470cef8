"""Composites: functions built from primitives, with no derivative rule of their own."""
from __future__ import annotations

import math

import numpy as np

from . import ops
from .ops._front import dim_args, norm_axis
from .ops.shape import as_tensor


def _count(x, axis) -> int:
    return math.prod(x.shape[a] for a in norm_axis(axis, x.ndim))


def mean(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis`` (all axes if None)."""
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "mean")
    x = as_tensor(x)
    return ops.sum(x, axis, keepdims) * (1.0 / _count(x, axis))


def var(x, axis=None, keepdims: bool = False, ddof: int = 0, *, dim=None, keepdim=None):
    """Variance over ``axis``; ``ddof=0`` as NumPy (PyTorch's default is ``ddof=1``; the
    method ``t.var()`` follows PyTorch, see ``chainrule.torch_methods``)."""
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "var")
    x = as_tensor(x)
    centred = x - mean(x, axis, keepdims=True)
    return ops.sum(centred * centred, axis, keepdims) * (1.0 / (_count(x, axis) - ddof))


def std(x, axis=None, keepdims: bool = False, ddof: int = 0, *, dim=None, keepdim=None):
    """Standard deviation over ``axis``; ``ddof=0`` as NumPy (the method ``t.std()`` follows
    PyTorch: ``ddof=1``)."""
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "std")
    return ops.sqrt(var(x, axis, keepdims, ddof))


def log_softmax(x, axis: int = -1, *, dim=None):
    """x − logsumexp(x): log-probabilities, stable for any logits.

    Computed as (x − m) − logsumexp(x − m) with m the (constant) maximum: the same function,
    since log_softmax is shift-invariant, but without the rounding of a large logsumexp.
    """
    axis = axis if dim is None else dim  # PyTorch's name for the one axis
    x = as_tensor(x)
    shifted = x - np.max(x.data, axis=axis, keepdims=True)
    return shifted - ops.logsumexp(shifted, axis, keepdims=True)


def softmax(x, axis: int = -1, *, dim=None):
    """exp(log_softmax(x)): probabilities along ``axis`` (``dim``)."""
    return ops.exp(log_softmax(x, axis, dim=dim))
