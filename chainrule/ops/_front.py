"""What the front-end functions share: argument normalisation and explicit broadcasting.

Broadcasting and dtype promotion happen here, as ``broadcast_to``/``astype`` ops, so that no
primitive ever sees operands of unequal shape or dtype and no rule has to unbroadcast.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..engine import STATE, apply
from ..errors import ShapeError, describe
from ..tensor import Tensor, as_tensor

_PY_NUMBERS = (float, int, bool)


def is_scalar(v) -> bool:
    """A Python number (kept weakly typed: it never upcasts a tensor)."""
    t = type(v)
    if t is Tensor or t is np.ndarray:
        return False
    return t in _PY_NUMBERS or (isinstance(v, numbers.Number) and not isinstance(v, np.generic))


def tracked(t: Tensor) -> bool:
    return bool((t._requires_grad and STATE.grad_enabled) or t._tangents)


def data(v):
    """The ndarray behind a Tensor; anything else unchanged (for locally constant masks)."""
    return v.data if isinstance(v, Tensor) else v


def broadcast_shape(*shapes: tuple) -> tuple | None:
    """The broadcast of ``shapes``, or None when they do not broadcast. (As
    ``np.broadcast_shapes``, at a third of its cost on the short tuples ops meet.)"""
    ndim = max(map(len, shapes))
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            m = out[i]
            if m == 1:
                out[i] = n
            elif n != 1 and n != m:
                return None
    return tuple(out)


def unify(opname: str, *xs: Tensor) -> tuple:
    """Broadcast and promote ``xs`` to one shape and dtype, as graph ops when tracked."""
    shape = broadcast_shape(*[x.shape for x in xs])
    if shape is None:
        names = ", ".join(describe(x) for x in xs)
        raise ShapeError(f"{opname}: operands cannot be broadcast together: {names}")
    if not any(tracked(x) for x in xs):
        return xs  # NumPy broadcasts and promotes by itself; nothing to differentiate
    dtype = xs[0].dtype
    if any(x.dtype != dtype for x in xs):
        dtype = np.result_type(*[x.dtype for x in xs])
    from .shape import astype, broadcast_to
    out = []
    for x in xs:
        if x.dtype != dtype:
            x = astype(x, dtype)
        if x.shape != shape:
            x = broadcast_to(x, shape)
        out.append(x)
    return tuple(out)


def promoted(*xs: Tensor) -> tuple:
    """``xs`` cast to their common dtype by ``astype`` ops when any is tracked, so a
    primitive's rules meet one dtype; untracked operands are left to NumPy's promotion."""
    if not any(tracked(x) for x in xs):
        return xs
    from .shape import astype
    dtype = np.result_type(*[x.dtype for x in xs])
    return tuple(astype(x, dtype) for x in xs)


def check_batch_dims(opname: str, x: Tensor, y: Tensor) -> None:
    """Matrix ops: the dimensions before the last two must broadcast."""
    if broadcast_shape(x.shape[:-2], y.shape[:-2]) is None:
        raise ShapeError(f"{opname}: batch dimensions cannot be broadcast: {describe(x)}, "
                         f"{describe(y)}")


def nary(prim, *xs, params=None):
    xs = tuple(as_tensor(x) for x in xs)
    first = xs[0]
    if any(x.shape != first.shape or x.dtype != first.dtype for x in xs[1:]):
        xs = unify(prim.name, *xs)
    return apply(prim, xs, params)


def norm_axis(axis, ndim: int) -> tuple:
    """Axes as a sorted tuple of negative ints (negative so they also fit batched tangents)."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a - ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(out))
