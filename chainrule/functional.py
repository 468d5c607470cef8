"""Composites: functions built from primitives, with no derivative rule of their own."""
from __future__ import annotations

import math
import warnings

from . import ops
from .ops._front import dim_args, norm_axis
from .ops.more_elementwise import sqrt_zero_safe
from .ops.shape import as_tensor


def _count(x, axis) -> int:
    return math.prod(x.shape[a] for a in norm_axis(axis, x.ndim))


def mean(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis`` (all axes if None). Over an empty axis it is NaN, with
    NumPy's "Mean of empty slice" warning (as ``np.mean`` and ``torch.mean``).

    >>> import numpy as np, chainrule as cr
    >>> cr.mean(cr.tensor([[1.0, 2.0], [3.0, 5.0]]), axis=0)
    tensor([2. , 3.5])
    """
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "mean")
    return _mean(as_tensor(x), axis, keepdims, warn=True)


def _mean(x, axis, keepdims, warn):
    n = _count(x, axis)
    if n:
        return ops.sum(x, axis, keepdims) * (1.0 / n)
    if warn:
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
    # the sum of nothing (0) over a count of 0: NaN, as NumPy's 0/0 (times NaN, since a
    # Python scalar divisor of 0 has no derivative rule)
    return ops.sum(x, axis, keepdims) * math.nan


def var(x, axis=None, keepdims: bool = False, ddof: int = 0, *, dim=None, keepdim=None):
    """Variance over ``axis``; ``ddof=0`` as NumPy (PyTorch's default is ``ddof=1``; the
    method ``t.var()`` follows PyTorch, see ``chainrule.torch_methods``). With no degrees of
    freedom left (``ddof`` ≥ the count, an empty axis included) it divides by 0, as NumPy
    does, with its "Degrees of freedom <= 0 for slice" warning: NaN (or inf).

    >>> import numpy as np, chainrule as cr
    >>> cr.var(cr.tensor([1.0, 2.0, 4.0]), ddof=1)
    tensor(2.3333333)
    """
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "var")
    x = as_tensor(x)
    centred = x - _mean(x, axis, keepdims=True, warn=False)
    squares = ops.sum(centred * centred, axis, keepdims)
    dof = _count(x, axis) - ddof
    if dof > 0:
        return squares * (1.0 / dof)
    warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
    return squares * math.inf  # as NumPy's division by 0: inf, or NaN where the sum is 0


def std(x, axis=None, keepdims: bool = False, ddof: int = 0, *, dim=None, keepdim=None):
    """Standard deviation over ``axis``; ``ddof=0`` as NumPy (the method ``t.std()`` follows
    PyTorch: ``ddof=1``). Where the spread is zero the gradient is 0 (as PyTorch; finite
    differences agree), not NaN.

    >>> import chainrule as cr
    >>> cr.std(cr.tensor([1.0, 3.0]))
    tensor(1.)
    """
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "std")
    return sqrt_zero_safe(var(x, axis, keepdims, ddof))


def log_softmax(x, axis: int = -1, *, dim=None):
    """x − logsumexp(x): log-probabilities along ``axis`` (``dim``), stable for any logits;
    one fused primitive (its gradient ȳ − softmax·Σȳ in one step). A −inf logit (a masked
    class) gets probability 0 and a zero gradient.

    >>> import chainrule as cr
    >>> [round(v, 4) for v in cr.log_softmax(cr.tensor([0.0, 0.0])).tolist()]
    [-0.6931, -0.6931]
    """
    return ops.reduce.log_softmax(x, axis if dim is None else dim)


def softmax(x, axis: int = -1, *, dim=None):
    """Probabilities exp(x)/Σexp(x) along ``axis`` (``dim``); one fused primitive.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    return ops.reduce.softmax(x, axis if dim is None else dim)
