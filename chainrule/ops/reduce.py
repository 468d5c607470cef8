"""Reductions, one kind for all: each declares g·∂out/∂x (``registry.reduction``)."""
from __future__ import annotations

import warnings

import numpy as np

from ..apply import apply
from ..registry import general, one_element, reduction
from ..tensor import Tensor
from ._front import blas_sum, dim_args, norm_axis
from ._front import data as D
from .elementwise import abs as _abs
from .elementwise import exp
from .shape import as_tensor

_MAX, _SUM = np.maximum.reduce, np.add.reduce  # the ufuncs' reduce: half the methods' cost

# Each rule is g·∂out/∂x, with g and out broadcast back over the reduced axes (registry.py).
def _sum(x, axis, keepdims, shape_in):
    if x.dtype.kind == "f":  # the ufunc's reduce: np.sum's own path, without its dispatch
        return _SUM(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)  # small ints widen (np.sum's rule)


SUM = reduction("sum", _sum,
                lambda ops, g, out, x, **p: g, saves=False,
                formula="∂(Σx)/∂xᵢ = 1: the gradient is broadcast back", sympy=one_element)


def _extreme_rule(ops, g, out, x, axis, **p):
    """1/k on the k positions that attain the max (or min), 0 elsewhere (as torch.amax)."""
    hit = D(x) == D(out)
    return g * (hit / hit.sum(axis=axis, keepdims=True)).astype(D(x).dtype)


def _extreme(name, fn, formula):
    def forward(x, axis, keepdims, shape_in):
        if x.size == 0 and x.dtype.kind in "fc" and 0 in (x.shape[a] for a in axis):
            # NumPy raises here (no identity): NaN instead, warned as np.mean warns
            warnings.warn(f"{name} of empty slice", RuntimeWarning, stacklevel=2)
            return np.full(np.sum(x, axis=axis, keepdims=keepdims).shape, np.nan, x.dtype)
        return fn(x, axis=axis, keepdims=keepdims)

    return reduction(name, forward, _extreme_rule, uses_out=True, formula=formula)


MAX = _extreme("max", np.max, "∂max(x)/∂xᵢ = [xᵢ = max] / (number of maxima)")
MIN = _extreme("min", np.min, "∂min(x)/∂xᵢ = [xᵢ = min] / (number of minima)")


def _prod_others(ops, x, out, axis):
    """∏_{j≠i} xⱼ within each reduced group, valid even where some xⱼ are zero."""
    if (D(x) != 0).all():
        return out / x
    # With zeros, divide-free: row i of an n×n table is the group with xᵢ replaced by 1.
    nd = x.ndim
    keep = [i for i in range(nd) if i - nd not in axis]
    red = [i + nd for i in axis]
    perm = keep + red
    xt = ops.transpose(x, perm)
    kept_shape = tuple(x.shape[i] for i in keep)
    n = int(np.prod([x.shape[i] for i in red]))
    table = ops.where(np.eye(n, dtype=bool), 1, ops.expand_dims(ops.reshape(
        xt, kept_shape + (n,)), -2))
    others = ops.reshape(ops.prod(table, axis=-1), xt.shape)
    return ops.transpose(others, np.argsort(perm))


PROD = reduction("prod", lambda x, axis, keepdims, shape_in: np.prod(x, axis=axis,
                                                                    keepdims=keepdims),
                 lambda ops, g, out, x, axis, **p: g * _prod_others(ops, x, out, axis),
                 uses_out=True, formula="∂(∏x)/∂xᵢ = ∏_{j≠i} xⱼ")


def _lse(x, axis, keepdims, shape_in):
    empty_ok = {"initial": -np.inf} if x.dtype.kind == "f" else {}  # empty: log Σ∅ = -inf
    m = np.max(x, axis=axis, keepdims=True, **empty_ok)
    m = np.where(np.isfinite(m), m, 0)  # all -inf groups stay -inf, not NaN
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


LOGSUMEXP = reduction("logsumexp", _lse, lambda ops, g, out, x, **p: g * ops.exp(x - out),
                      uses_out=True, formula="∂logΣeˣ/∂xᵢ = softmax(x)ᵢ")
# x/‖x‖, taken as 0 where ‖x‖ = 0 (the subgradient PyTorch picks).
NORM = reduction("norm", lambda x, axis, keepdims, shape_in: np.sqrt(np.sum(
    x * x, axis=axis, keepdims=keepdims)),
    lambda ops, g, out, x, **p: g * (x / (out + (D(out) == 0))),
    uses_out=True, formula="∂‖x‖/∂xᵢ = xᵢ/‖x‖")


# -- the front end ----------------------------------------------------------------------------
def _reduction(prim, x, axis, keepdims, dim=None, keepdim=None):
    if dim is not None or keepdim is not None:
        axis, keepdims = dim_args(axis, keepdims, dim, keepdim, prim.name)
    x = as_tensor(x)
    axis = norm_axis(axis, x.ndim)
    return apply(prim, (x,), {"axis": axis, "keepdims": bool(keepdims), "shape_in": x.shape})


def sum(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A001
    """Sum over ``axis`` (all axes if None), keeping reduced axes as size 1 if ``keepdims``.

    >>> import chainrule as cr
    >>> cr.sum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).tolist()
    [4.0, 6.0]
    """
    return _reduction(SUM, x, axis, keepdims, dim, keepdim)


def max(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A001
    """Maximum over ``axis``; ties share the gradient equally (as ``torch.amax``).

    >>> import chainrule as cr
    >>> cr.max(cr.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).tolist()
    [5.0, 3.0]
    """
    return _reduction(MAX, x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A001
    """Minimum over ``axis``; ties share the gradient equally (as ``torch.amin``).

    >>> import chainrule as cr
    >>> cr.min(cr.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).tolist()
    [1.0, 2.0]
    """
    return _reduction(MIN, x, axis, keepdims, dim, keepdim)


def prod(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """Product over ``axis``; the gradient is exact where elements are zero.

    >>> import chainrule as cr
    >>> cr.prod(cr.tensor([2.0, 3.0, 4.0])).item()
    24.0
    """
    return _reduction(PROD, x, axis, keepdims, dim, keepdim)


def logsumexp(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):
    """log Σ exp(x) over ``axis``, computed without overflow.

    >>> import chainrule as cr
    >>> round(cr.logsumexp(cr.tensor([0.0, 0.0])).item(), 4)
    0.6931
    """
    return _reduction(LOGSUMEXP, x, axis, keepdims, dim, keepdim)


def norm(x, ord=None, axis=None, keepdims: bool = False, *, dim=None,  # noqa: A002
         keepdim=None):
    """Vector norm over ``axis`` (all elements if None): 2 (default), 1, inf, or any p > 0.

    The 2-norm has its own rule, with gradient 0 at the origin (as PyTorch).

    >>> import chainrule as cr
    >>> cr.norm(cr.tensor([3.0, 4.0])).item()
    5.0
    >>> cr.norm(cr.tensor([3.0, -4.0]), 1).item()
    7.0
    """
    axis, keepdims = dim_args(axis, keepdims, dim, keepdim, "norm")
    if ord in (None, 2, "fro"):
        return _reduction(NORM, x, axis, keepdims)
    if ord == 1:
        return sum(_abs(x), axis, keepdims)
    if ord == np.inf:
        return max(_abs(x), axis, keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        return sum(_abs(x) ** ord, axis, keepdims) ** (1.0 / ord)
    raise ValueError(f"norm: unsupported ord {ord!r}")


# -- fused softmax cross-entropy ---------------------------------------------------------------
def _softmax_minus_target(ops, x, onehot):
    """softmax(x) − onehot along the last axis; the max is a constant shift (softmax is
    shift-invariant), so the expression differentiates exactly."""
    w = ops.exp(x - D(x).max(axis=-1, keepdims=True))
    return w / ops.sum(w, axis=-1, keepdims=True) - onehot


def _sce_forward(x, onehot, scale):
    shifted = x - x.max(axis=-1, keepdims=True)
    lse = np.log(_row_sum(np.exp(shifted), -1))  # the same sums as the rule's (cr.compile)
    picked = np.where(onehot != 0, shifted, 0) * onehot  # -inf·0 of a masked class: 0, not NaN
    return np.asarray(scale * (_total(lse) - _total(picked)), dtype=x.dtype)


def _total(a):
    """Σ of every element: for float32/64 one BLAS product (``blas_sum``)."""
    return blas_sum(a.reshape(-1), 0) if a.dtype.char in "fd" else _SUM(a, axis=None)


# General: a loss, not a reduction of one input by one rule: it reduces over two axes with
# a constant (the one-hot targets) inside, and its jvp contracts the tangent with the rule.
SOFTMAX_CE = general(
    "softmax_cross_entropy", _sce_forward,
    vjp=[lambda ops, g, out, x, onehot, scale: _softmax_minus_target(ops, x, onehot)
         * (g * scale)],
    jvp=lambda ops, g, out, x, onehot, scale: ops.sum(
        g[0] * _softmax_minus_target(ops, x, onehot), axis=(-2, -1)) * scale,
    formula="∂L/∂xᵢ = (softmax(x)ᵢ − [i = target]) · scale")


def softmax_cross_entropy(logits, onehot, scale: float):
    """scale · Σₙ (logsumexp(xₙ) − xₙ·onehotₙ) for logits (N, C): the loss of a classifier
    in one primitive (``nn.functional.cross_entropy`` uses it for mean and sum reductions)."""
    x = as_tensor(logits)
    return apply(SOFTMAX_CE, (x,), {"onehot": onehot.astype(x.dtype, copy=False),
                                   "scale": float(scale)})


# -- fused softmax and log-softmax -------------------------------------------------------------


def _row_max(x, axis):
    """The shift that keeps exp from overflowing (softmax is shift-invariant): the row's
    maximum. A row whose maximum is not finite (all −inf, or +inf) gives NaN either way, so
    it needs no special case; an empty axis has no maximum, and any shift does."""
    if x.shape[axis] == 0:
        return np.zeros((), x.dtype)
    return _MAX(x, axis=axis, keepdims=True)


def _row_sum(e, axis):
    """Σ over ``axis`` with the axis kept; over the last axis of a float32/64 array, one BLAS
    product (``blas_sum``: on short rows, 16×10 logits, a third cheaper than the ufunc)."""
    if axis != -1 or e.dtype.char not in "fd" or not e.ndim:
        return _SUM(e, axis=axis, keepdims=True)
    return blas_sum(e, -1)


def _log_softmax_forward(x, axis):
    shifted = x - _row_max(x, axis)  # shift-invariant: no overflow
    lse = np.log(_row_sum(np.exp(shifted), axis))
    if shifted.dtype == lse.dtype:  # a fresh array of the result's dtype: reuse it
        np.subtract(shifted, lse, out=shifted)
        return shifted
    return shifted - lse


def _softmax_forward(x, axis):
    e = np.exp(x - _row_max(x, axis))
    e /= _row_sum(e, axis)
    return e


def _log_softmax_jvp(ops, g, out, x, axis):
    dx = g[0]
    if dx is None:
        return None
    return dx - ops.sum(ops.exp(out) * dx, axis=axis, keepdims=True)


def _softmax_rule(ops, g, out, x, axis):
    """J = diag(s) − s·sᵀ is symmetric: the same map is the vjp and the jvp."""
    return out * (g - ops.sum(g * out, axis=axis, keepdims=True))


# General: one row-wise map, not elementwise (every output depends on the whole row) and not
# a reduction (the shape is kept). One node instead of six (max shift, exp, sum, log, two
# broadcast subtractions), the rule written with the output: ȳ − softmax·Σȳ.
LOG_SOFTMAX = general(
    "log_softmax", _log_softmax_forward, batch="lead", param="axis",
    vjp=[lambda ops, g, out, x, axis: g - ops.exp(out) * ops.sum(g, axis=axis, keepdims=True)],
    jvp=_log_softmax_jvp, uses_out=True,
    formula="∂log_softmax/∂x: x̄ = ȳ − softmax(x)·Σȳ")
SOFTMAX = general(
    "softmax", _softmax_forward, vjp=[_softmax_rule], batch="lead", param="axis",
    jvp=lambda ops, g, out, x, axis: None if g[0] is None else _softmax_rule(
        ops, g[0], out, x, axis), uses_out=True,
    formula="∂softmax/∂x: x̄ = s·(ȳ − Σȳ·s)")


def _row_axis(x, axis, name):
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    return norm_axis(axis, x.ndim)[0]


def log_softmax(x, axis: int = -1):
    """x − logsumexp(x) along ``axis``: log-probabilities, stable for any logits (one fused
    primitive; over all elements, ``axis=None``, as the composite x − logsumexp(x))."""
    if type(axis) is int and axis == -1 and type(x) is Tensor and x._data.ndim:  # hot case
        return apply(LOG_SOFTMAX, (x,), {"axis": -1})
    x = as_tensor(x)
    if axis is None or isinstance(axis, tuple):
        shifted = x - np.max(x._data, axis=axis, keepdims=True)
        return shifted - logsumexp(shifted, axis, keepdims=True)
    return apply(LOG_SOFTMAX, (x,), {"axis": _row_axis(x, axis, "log_softmax")})


def softmax(x, axis: int = -1):
    """exp(x) / Σ exp(x) along ``axis``, stable for any logits (one fused primitive)."""
    if type(axis) is int and axis == -1 and type(x) is Tensor and x._data.ndim:  # hot case
        return apply(SOFTMAX, (x,), {"axis": -1})
    x = as_tensor(x)
    if axis is None or isinstance(axis, tuple):
        return exp(log_softmax(x, axis))
    return apply(SOFTMAX, (x,), {"axis": _row_axis(x, axis, "softmax")})
