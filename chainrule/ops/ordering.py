"""Scans, order and statistics, as NumPy: cumsum (a linear primitive), cumprod, diff, sort and
partition (values gathered by indices, so the gradient is scattered back), argsort/argmax/
argmin/searchsorted/unique (indices: not differentiable), median, quantile, average, ptp and
the NaN-ignoring reductions."""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..registry import linear
from ..tensor import Tensor
from ._front import data as D
from ._front import norm_axis
from .elementwise import divide, multiply, subtract, where
from .reduce import max as _max
from .reduce import min as _min
from .reduce import prod as _prod
from .reduce import sum as _sum
from .shape import as_tensor, concatenate, expand_dims, getitem, reshape
from .structure import moveaxis, ravel, take_along_axis


def _ax(axis, ndim):
    return norm_axis(axis, ndim)[0] + ndim


def _cumsum(x, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    return np.cumsum(x, axis=axis)


# Linear: its transpose is the cumulative sum taken from the other end.
CUMSUM = linear("cumsum", _cumsum, lambda ops, g, out, x, axis, reverse: ops.apply(
    CUMSUM, (g,), {"axis": axis, "reverse": not reverse}),
    formula="the gradient is the cumulative sum from the other end")


def _flat_or(a, axis):
    a = as_tensor(a)
    if axis is None:
        return ravel(a), -1
    return a, norm_axis(axis, a.ndim)[0]


def cumsum(a, axis=None):
    """Cumulative sum along ``axis`` (of the flattened input if None), as ``numpy.cumsum``.

    >>> import chainrule as cr
    >>> cr.cumsum(cr.tensor([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, 6.0]
    """
    a, axis = _flat_or(a, axis)
    return apply(CUMSUM, (a,), {"axis": axis, "reverse": False})


def cumprod(a, axis=None):
    """Cumulative product along ``axis``: row i of a triangular table holds x₀..xᵢ and ones,
    and ``prod`` (exact where elements are zero) reduces it, so every order of derivative is
    exact, zeros included.

    >>> import chainrule as cr
    >>> cr.cumprod(cr.tensor([1.0, 2.0, 3.0])).tolist()
    [1.0, 2.0, 6.0]
    """
    a, axis = _flat_or(a, axis)
    x = moveaxis(a, axis, -1)
    n = x.shape[-1]
    table = where(np.tri(n, dtype=bool), expand_dims(x, -2), 1.0)
    return moveaxis(_prod(table, axis=-1), -1, axis)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th discrete difference along ``axis`` (``numpy.diff``).

    >>> import chainrule as cr
    >>> cr.diff(cr.tensor([1.0, 4.0, 9.0])).tolist()
    [3.0, 5.0]
    """
    a = as_tensor(a)
    ax = _ax(axis, a.ndim)
    parts = []
    for extra in (prepend,):
        if extra is not None:
            parts.append(_along(extra, a, ax))
    parts.append(a)
    if append is not None:
        parts.append(_along(append, a, ax))
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    pre = (slice(None),) * ax
    for _ in range(n):
        a = subtract(getitem(a, pre + (slice(1, None),)), getitem(a, pre + (slice(None, -1),)))
    return a


def _along(v, a, ax):
    v = as_tensor(v)
    if v.ndim == 0:
        shape = list(a.shape)
        shape[ax] = 1
        return multiply(v, np.ones(shape, a.dtype))
    return v


def sort(a, axis=-1):
    """Sorted values along ``axis`` (flattened if None); the gradient goes back to where each
    value came from.

    >>> import chainrule as cr
    >>> cr.sort(cr.tensor([3.0, 1.0, 2.0])).tolist()
    [1.0, 2.0, 3.0]
    """
    a, axis = _flat_or(a, axis)
    return take_along_axis(a, np.argsort(D(a), axis=axis, kind="stable"), axis)


def partition(a, kth, axis=-1):
    """Values partitioned around the ``kth`` element (``numpy.partition``); differentiable.

    >>> import chainrule as cr
    >>> cr.partition(cr.tensor([3.0, 1.0, 2.0]), 0)[0].item()
    1.0
    """
    a, axis = _flat_or(a, axis)
    return take_along_axis(a, np.argpartition(D(a), kth, axis=axis), axis)


def _index_result(v):
    return Tensor._wrap(np.asarray(v))


def argsort(a, axis=-1, kind=None, stable=None):
    """Indices that sort ``a`` along ``axis`` (an integer tensor: not differentiable).

    >>> import chainrule as cr
    >>> cr.argsort(cr.tensor([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
    """
    return _index_result(np.argsort(D(as_tensor(a)), axis=axis, kind=kind, stable=stable))


def argmax(a, axis=None, keepdims=False):
    """Index of the maximum (of the flattened input if ``axis`` is None); not differentiable.

    >>> import chainrule as cr
    >>> cr.argmax(cr.tensor([1.0, 3.0, 2.0])).item()
    1
    """
    return _index_result(np.argmax(D(as_tensor(a)), axis=axis, keepdims=keepdims))


def argmin(a, axis=None, keepdims=False):
    """Index of the minimum (of the flattened input if ``axis`` is None); not differentiable.

    >>> import chainrule as cr
    >>> cr.argmin(cr.tensor([3.0, 1.0, 2.0])).item()
    1
    """
    return _index_result(np.argmin(D(as_tensor(a)), axis=axis, keepdims=keepdims))


def searchsorted(a, v, side="left", sorter=None):
    """Insertion indices that keep ``a`` sorted (``numpy.searchsorted``); not differentiable.

    >>> import chainrule as cr
    >>> cr.searchsorted(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([2.5])).tolist()
    [2]
    """
    return _index_result(np.searchsorted(D(as_tensor(a)), D(as_tensor(v)), side=side,
                                         sorter=None if sorter is None else D(sorter)))


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """Sorted unique elements of the flattened input (``numpy.unique``). The values are
    gathered from the input, so they stay differentiable; the index, inverse and count arrays
    are integer tensors.

    >>> import chainrule as cr
    >>> cr.unique(cr.tensor([2.0, 1.0, 2.0])).tolist()
    [1.0, 2.0]
    """
    ar = as_tensor(ar)
    if axis is not None:
        raise NotImplementedError("unique: axis is not supported; flatten first")
    flat = ravel(ar)
    _, index, inverse, counts = np.unique(D(flat), return_index=True, return_inverse=True,
                                          return_counts=True)
    out = [getitem(flat, index)]
    if return_index:
        out.append(_index_result(index))
    if return_inverse:
        out.append(_index_result(inverse.reshape(ar.shape)))
    if return_counts:
        out.append(_index_result(counts))
    return out[0] if len(out) == 1 else tuple(out)


# -- statistics ---------------------------------------------------------------------------------
def quantile(a, q, axis=None, keepdims=False, method="linear"):
    """The ``q``-th quantile(s) along ``axis`` with linear interpolation (NumPy's default
    method); differentiable in ``a``, and in ``q`` when it is a Tensor (as PyTorch). ``q``
    may be an array: its shape comes first in the result, as NumPy.

    >>> import chainrule as cr
    >>> cr.quantile(cr.tensor([1.0, 2.0, 3.0, 4.0]), 0.5).item()
    2.5
    """
    if method != "linear":
        raise NotImplementedError(f"quantile: only method='linear' is supported, not {method!r}")
    a = as_tensor(a)
    qs = np.asarray(D(q), dtype=np.float64)  # never via float32: 0.1 must stay 0.1
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError("quantile: q must be in [0, 1]")
    if axis is None:
        x, ax_list = ravel(a), None
        x = reshape(x, (-1,))
    else:
        ax_list = norm_axis(axis, a.ndim)
        rest = [d for d in range(a.ndim) if d - a.ndim not in ax_list]
        x = moveaxis(a, [d + a.ndim for d in ax_list], list(range(-len(ax_list), 0)))
        x = reshape(x, tuple(a.shape[d] for d in rest) + (-1,))
    s = sort(x, axis=-1)
    n = s.shape[-1]
    pos = qs * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).astype(a.dtype if a.dtype.kind == "f" else np.float64).reshape(-1)
    if isinstance(q, Tensor):  # q·(n − 1) − ⌊q·(n − 1)⌋: differentiable in q too (as torch)
        frac = reshape(q, (-1,)) * (n - 1) - lo.reshape(-1).astype(frac.dtype)
    vlo = getitem(s, (Ellipsis, lo.reshape(-1)))
    vhi = getitem(s, (Ellipsis, hi.reshape(-1)))
    out = vlo + (vhi - vlo) * frac
    out = moveaxis(out, -1, 0)  # q's entries first
    out = reshape(out, qs.shape + out.shape[1:])
    if keepdims:
        kept = [1 if (ax_list is None or d - a.ndim in ax_list) else a.shape[d]
                for d in range(a.ndim)]
        out = reshape(out, qs.shape + tuple(kept))
    return out


def percentile(a, q, axis=None, keepdims=False, method="linear"):
    """``quantile`` with ``q`` in percent (``numpy.percentile``).

    >>> import chainrule as cr
    >>> cr.percentile(cr.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), 50).item()
    3.0
    """
    return quantile(a, np.asarray(D(q), dtype=np.float64) / 100.0, axis, keepdims,
                    method)


def median(a, axis=None, keepdims=False):
    """The median along ``axis``: the mean of the two middle values for an even count, as
    NumPy (PyTorch's median takes the lower one).

    >>> import chainrule as cr
    >>> cr.median(cr.tensor([3.0, 1.0, 4.0, 2.0])).item()
    2.5
    """
    return quantile(a, 0.5, axis, keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted mean along ``axis`` (``numpy.average``); differentiable in ``a`` and in
    ``weights``. A 1-D ``weights`` runs along a single ``axis``.

    >>> import chainrule as cr
    >>> cr.average(cr.tensor([1.0, 3.0]), weights=cr.tensor([3.0, 1.0])).item()
    1.5
    """
    a = as_tensor(a)
    if weights is None:
        total = _sum(a, axis, keepdims)
        count = a.size // max(total.size, 1)
        avg = total * (1.0 / count)
        scl = np.full(avg.shape, float(count), a.dtype)
        return (avg, Tensor._wrap(scl)) if returned else avg
    w = as_tensor(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: weights must have a's shape, or be 1-D along one axis")
        ax = _ax(axis, a.ndim)
        w = reshape(w, tuple(w.shape[0] if d == ax else 1 for d in range(a.ndim)))
        w = multiply(w, np.ones(a.shape, w.dtype))
    scl = _sum(w, axis, keepdims)
    avg = divide(_sum(multiply(a, w), axis, keepdims), scl)
    return (avg, scl) if returned else avg


def ptp(a, axis=None, keepdims=False):
    """Peak to peak: max − min along ``axis``.

    >>> import chainrule as cr
    >>> cr.ptp(cr.tensor([4.0, -1.0, 2.0])).item()
    5.0
    """
    return subtract(_max(a, axis, keepdims), _min(a, axis, keepdims))


def _nan_filled(a, value):
    a = as_tensor(a)
    return where(np.isnan(D(a)), value, a), a


def nansum(a, axis=None, keepdims=False):
    """Sum treating NaN as zero; NaN entries get gradient 0.

    >>> import chainrule as cr
    >>> cr.nansum(cr.tensor([1.0, float('nan'), 2.0])).item()
    3.0
    """
    x, _ = _nan_filled(a, 0.0)
    return _sum(x, axis, keepdims)


def nanmean(a, axis=None, keepdims=False):
    """Mean of the entries that are not NaN; NaN entries get gradient 0.

    >>> import chainrule as cr
    >>> cr.nanmean(cr.tensor([1.0, float('nan'), 2.0])).item()
    1.5
    """
    x, a = _nan_filled(a, 0.0)
    count = np.sum(~np.isnan(D(a)), axis=axis, keepdims=keepdims).astype(a.dtype)
    return divide(_sum(x, axis, keepdims), count)


def nanmax(a, axis=None, keepdims=False):
    """Maximum ignoring NaN; NaN entries get gradient 0.

    >>> import chainrule as cr
    >>> cr.nanmax(cr.tensor([1.0, float('nan'), 2.0])).item()
    2.0
    """
    x, _ = _nan_filled(a, -np.inf)
    return _max(x, axis, keepdims)


def nanmin(a, axis=None, keepdims=False):
    """Minimum ignoring NaN; NaN entries get gradient 0.

    >>> import chainrule as cr
    >>> cr.nanmin(cr.tensor([1.0, float('nan'), 2.0])).item()
    1.0
    """
    x, _ = _nan_filled(a, np.inf)
    return _min(x, axis, keepdims)
