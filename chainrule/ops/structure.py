"""Structure and joining, as NumPy: diagonals and triangles, stacking and splitting, axis
moves, rolls, rotations, repeats and tiles. All compositions of the linear shape primitives
(reshape, transpose, getitem, concatenate, pad, flip, broadcast_to) and of ``where``, so their
gradients are those primitives' transposes, to any order and in both modes."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, describe
from ..tensor import Tensor
from ..tensor import linspace as _plain_linspace
from ._front import data as D
from ._front import norm_axis
from .elementwise import add, multiply, where
from .reduce import sum as _sum
from .shape import (
    as_tensor,
    broadcast_to,
    concatenate,
    flip,
    getitem,
    pad,
    reshape,
    split,
    swapaxes,
    transpose,
)


def _ax(axis, ndim):
    return norm_axis(axis, ndim)[0] + ndim


# -- axes ---------------------------------------------------------------------------------------
def moveaxis(a, source, destination):
    """Move axes to new positions, the others keeping their order (``numpy.moveaxis``).

    >>> import chainrule as cr
    >>> cr.moveaxis(cr.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    a = as_tensor(a)
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    src = [_ax(s, a.ndim) for s in src]
    dst = [_ax(d, a.ndim) for d in dst]
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start`` (``numpy.rollaxis``).

    >>> import chainrule as cr
    >>> cr.rollaxis(cr.zeros((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    a = as_tensor(a)
    axis = _ax(axis, a.ndim)
    start = start + a.ndim if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start) if axis != start else a


def ravel(a):
    """The elements as a 1-D tensor (``numpy.ravel``); ``flatten`` is the same.

    >>> import chainrule as cr
    >>> cr.ravel(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    return reshape(as_tensor(a), -1)


flatten = ravel


def atleast_1d(*arys):
    """Inputs with at least one dimension (0-d become shape (1,)).

    >>> import chainrule as cr
    >>> cr.atleast_1d(cr.tensor(5.0)).shape
    (1,)
    """
    out = [reshape(a, (1,)) if a.ndim == 0 else a for a in map(as_tensor, arys)]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Inputs with at least two dimensions (a vector becomes a row).

    >>> import chainrule as cr
    >>> cr.atleast_2d(cr.tensor([1.0, 2.0])).shape
    (1, 2)
    """
    out = [reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a
           for a in map(as_tensor, arys)]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Inputs with at least three dimensions: (N,) -> (1, N, 1), (M, N) -> (M, N, 1).

    >>> import chainrule as cr
    >>> cr.atleast_3d(cr.zeros((2, 3))).shape
    (2, 3, 1)
    """
    def f(a):
        if a.ndim == 0:
            return reshape(a, (1, 1, 1))
        if a.ndim == 1:
            return reshape(a, (1, a.shape[0], 1))
        if a.ndim == 2:
            return reshape(a, a.shape + (1,))
        return a
    out = [f(as_tensor(a)) for a in arys]
    return out[0] if len(out) == 1 else out


# -- joining and splitting ----------------------------------------------------------------------
def vstack(tup):
    """Stack rows: concatenate along axis 0 after ``atleast_2d`` (``numpy.vstack``).

    >>> import chainrule as cr
    >>> cr.vstack([cr.ones(3), cr.zeros(3)]).shape
    (2, 3)
    """
    return concatenate([atleast_2d(t) for t in tup], axis=0)


row_stack = vstack


def hstack(tup):
    """Stack columns: along axis 1, or axis 0 for 1-D inputs (``numpy.hstack``).

    >>> import chainrule as cr
    >>> cr.hstack([cr.tensor([1.0]), cr.tensor([2.0, 3.0])]).tolist()
    [1.0, 2.0, 3.0]
    """
    xs = [atleast_1d(t) for t in tup]
    return concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def dstack(tup):
    """Stack along the third axis after ``atleast_3d`` (``numpy.dstack``).

    >>> import chainrule as cr
    >>> cr.dstack([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])]).tolist()
    [[[1.0, 3.0], [2.0, 4.0]]]
    """
    return concatenate([atleast_3d(t) for t in tup], axis=2)


def column_stack(tup):
    """1-D inputs become columns; then concatenate along axis 1 (``numpy.column_stack``).

    >>> import chainrule as cr
    >>> cr.column_stack([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])]).tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """
    xs = [as_tensor(t) for t in tup]
    return concatenate([reshape(x, (-1, 1)) if x.ndim < 2 else x for x in xs], axis=1)


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended (flattened first when ``axis`` is None).

    >>> import chainrule as cr
    >>> cr.append(cr.tensor([[1.0, 2.0]]), cr.tensor([3.0])).tolist()
    [1.0, 2.0, 3.0]
    """
    arr, values = as_tensor(arr), as_tensor(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


def array_split(ary, indices_or_sections, axis=0):
    """As ``split``, but sections need not divide the axis: the first ``n % k`` get one
    more element (``numpy.array_split``).

    >>> import chainrule as cr
    >>> [p.tolist() for p in cr.array_split(cr.arange(5.0), 2)]
    [[0.0, 1.0, 2.0], [3.0, 4.0]]
    """
    ary = as_tensor(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        n, k = ary.shape[_ax(axis, ary.ndim)], int(indices_or_sections)
        if k <= 0:
            raise ValueError("array_split: the number of sections must be positive")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        cuts = list(np.cumsum(sizes)[:-1])
        return split(ary, [int(c) for c in cuts], axis=axis)
    return split(ary, list(indices_or_sections), axis=axis)


def vsplit(ary, indices_or_sections):
    """Split along axis 0 (``numpy.vsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.vsplit(cr.zeros((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    return split(ary, indices_or_sections, axis=0)


def hsplit(ary, indices_or_sections):
    """Split along axis 1, or axis 0 for 1-D inputs (``numpy.hsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.hsplit(cr.zeros((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    ary = as_tensor(ary)
    return split(ary, indices_or_sections, axis=1 if ary.ndim > 1 else 0)


def dsplit(ary, indices_or_sections):
    """Split along axis 2 (``numpy.dsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.dsplit(cr.zeros((1, 2, 4)), 2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    return split(ary, indices_or_sections, axis=2)


# -- rearranging --------------------------------------------------------------------------------
def _roll1(a, shift, axis):
    n = a.shape[axis]
    if n == 0:
        return a
    s = int(shift) % n
    if s == 0:
        return a
    pre = (slice(None),) * axis
    return concatenate([getitem(a, pre + (slice(n - s, None),)),
                        getitem(a, pre + (slice(0, n - s),))], axis=axis)


def roll(a, shift, axis=None):
    """Shift elements along axes, wrapping around (``numpy.roll``).

    >>> import chainrule as cr
    >>> cr.roll(cr.tensor([1.0, 2.0, 3.0]), 1).tolist()
    [3.0, 1.0, 2.0]
    """
    a = as_tensor(a)
    if axis is None:
        return reshape(_roll1(ravel(a), shift, 0), a.shape)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    shifts = np.broadcast_to(np.asarray(shift), (len(axes),))
    for s, ax in zip(shifts, axes):
        a = _roll1(a, s, _ax(ax, a.ndim))
    return a


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90° ``k`` times in the plane of ``axes`` (``numpy.rot90``).

    >>> import chainrule as cr
    >>> cr.rot90(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[2.0, 4.0], [1.0, 3.0]]
    """
    m = as_tensor(m)
    a0, a1 = _ax(axes[0], m.ndim), _ax(axes[1], m.ndim)
    if a0 == a1:
        raise ValueError("rot90: the axes must differ")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    if k == 1:
        return swapaxes(flip(m, a1), a0, a1)
    return flip(swapaxes(m, a0, a1), a1)


def fliplr(m):
    """Reverse the columns (axis 1), as ``numpy.fliplr``.

    >>> import chainrule as cr
    >>> cr.fliplr(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[2.0, 1.0], [4.0, 3.0]]
    """
    return flip(m, 1)


def flipud(m):
    """Reverse the rows (axis 0), as ``numpy.flipud``.

    >>> import chainrule as cr
    >>> cr.flipud(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0, 4.0], [1.0, 2.0]]
    """
    return flip(m, 0)


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times (``numpy.repeat``); the gradient adds the copies.

    >>> import chainrule as cr
    >>> cr.repeat(cr.tensor([1.0, 2.0]), 2).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    a = as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _ax(axis, a.ndim)
    idx = np.repeat(np.arange(a.shape[axis]), D(as_tensor(repeats)).astype(np.int64)
                    if not isinstance(repeats, (int, np.integer)) else repeats)
    return getitem(a, (slice(None),) * axis + (idx,))


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis (``numpy.tile``).

    >>> import chainrule as cr
    >>> cr.tile(cr.tensor([1.0, 2.0]), 2).tolist()
    [1.0, 2.0, 1.0, 2.0]
    """
    A = as_tensor(A)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    nd = max(A.ndim, len(reps))
    shape = (1,) * (nd - A.ndim) + A.shape
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, tuple(v for n in shape for v in (1, n)))
    A = broadcast_to(A, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return reshape(A, tuple(r * n for r, n in zip(reps, shape)))


def select(condlist, choicelist, default=0):
    """Elements from ``choicelist`` by the first true condition, else ``default``.

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 0.0, 2.0])
    >>> cr.select([x < 0, x > 0], [-x, 10 * x]).tolist()
    [1.0, 0.0, 20.0]
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: condlist and choicelist must have the same length")
    out = default
    for cond, choice in zip(condlist[::-1], choicelist[::-1]):
        out = where(D(as_tensor(cond)), choice, out)
    return as_tensor(out)


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    """Coordinate grids from 1-D coordinate vectors (``numpy.meshgrid``).

    >>> import chainrule as cr
    >>> xs, ys = cr.meshgrid(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0, 5.0]))
    >>> xs.shape, ys[:, 0].tolist()
    ((3, 2), [3.0, 4.0, 5.0])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: indexing must be 'xy' or 'ij'")
    xs = [ravel(x) for x in xi]
    n = len(xs)
    shapes = []
    for i, x in enumerate(xs):
        s = [1] * n
        s[i] = x.shape[0]
        shapes.append(s)
    if indexing == "xy" and n > 1:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    out = [reshape(x, tuple(s)) for x, s in zip(xs, shapes)]
    if sparse:
        return out
    full = tuple(max(s[d] for s in shapes) for d in range(n))
    return [broadcast_to(o, full) for o in out]


def take_along_axis(arr, indices, axis):
    """Values at ``indices`` along ``axis`` (``numpy.take_along_axis``); differentiable in
    ``arr`` (the gradient is scattered back).

    >>> import chainrule as cr
    >>> a = cr.tensor([[10.0, 30.0], [40.0, 20.0]])
    >>> cr.take_along_axis(a, cr.argmax(a, axis=1, keepdims=True), axis=1).tolist()
    [[30.0], [40.0]]
    """
    arr = as_tensor(arr)
    idx = np.asarray(D(as_tensor(indices)))
    if axis is None:
        return getitem(ravel(arr), idx.reshape(-1))
    axis = _ax(axis, arr.ndim)
    if idx.ndim != arr.ndim:
        raise ShapeError(f"take_along_axis: indices need {arr.ndim} dimensions, got {idx.ndim}")
    # The other axes broadcast against each other, as NumPy.
    shape = np.broadcast_shapes(arr.shape[:axis] + (1,) + arr.shape[axis + 1:],
                                idx.shape[:axis] + (1,) + idx.shape[axis + 1:])
    shape = shape[:axis] + (idx.shape[axis],) + shape[axis + 1:]
    idx = np.broadcast_to(idx, shape)
    grids = np.ix_(*[np.arange(n) for n in shape])
    index = tuple(idx if d == axis else np.broadcast_to(
        grids[d] if arr.shape[d] != 1 else np.zeros_like(grids[d]), shape)
        for d in range(arr.ndim))
    return getitem(arr, index)


# -- diagonals and triangles --------------------------------------------------------------------
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal at ``offset`` of the planes of ``axis1``/``axis2``, as the last axis
    (``numpy.diagonal``).

    >>> import chainrule as cr
    >>> cr.diagonal(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
    [2.0]
    """
    a = as_tensor(a)
    if a.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got {describe(a)}")
    a1, a2 = _ax(axis1, a.ndim), _ax(axis2, a.ndim)
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 must differ")
    a = moveaxis(a, (a1, a2), (-2, -1))
    n, m = a.shape[-2:]
    rows = np.arange(max(0, -offset), n)
    cols = rows + offset
    keep = (cols >= 0) & (cols < m)
    return getitem(a, (Ellipsis, rows[keep], cols[keep]))


def trace(a, offset=0, axis1=0, axis2=1):
    """Sum along a diagonal (``numpy.trace``, with ``offset`` and the pair of axes).

    >>> import chainrule as cr
    >>> cr.trace(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """A 1-D input: the 2-D matrix with ``v`` on diagonal ``k``; a 2-D input: its ``k``-th
    diagonal (``numpy.diag``).

    >>> import chainrule as cr
    >>> cr.diag(cr.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    v = as_tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ShapeError(f"diag: input must be 1-D or 2-D, got {describe(v)}")
    n = v.shape[0]
    m = n + abs(k)
    # v_i sits at flat position start + i·(m + 1): a row of m zeros after each v_i, flattened,
    # lands every element there; then pad the start and cut to m·m.
    start = k if k >= 0 else -k * m
    rows = pad(reshape(v, (n, 1)), ((0, 0), (0, m)))
    flat = reshape(rows, -1)
    total = start + n * (m + 1)
    flat = pad(flat, ((start, max(0, m * m - total)),))
    return reshape(getitem(flat, (slice(0, m * m),)), (m, m))


def diagflat(v, k=0):
    """The flattened input on diagonal ``k`` of a 2-D matrix (``numpy.diagflat``).

    >>> import chainrule as cr
    >>> cr.diagflat(cr.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    return diag(ravel(v), k)


def tril(m, k=0):
    """The lower triangle (on and below diagonal ``k``) of the last two axes; the rest 0.

    >>> import chainrule as cr
    >>> cr.tril(cr.ones((2, 2))).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    m = as_tensor(m)
    mask = np.tri(*m.shape[-2:], k=k, dtype=bool)
    return multiply(m, mask.astype(m.dtype) if m.dtype.kind == "f" else mask)


def triu(m, k=0):
    """The upper triangle (on and above diagonal ``k``) of the last two axes; the rest 0.

    >>> import chainrule as cr
    >>> cr.triu(cr.ones((2, 2))).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    m = as_tensor(m)
    mask = ~np.tri(*m.shape[-2:], k=k - 1, dtype=bool)
    return multiply(m, mask.astype(m.dtype) if m.dtype.kind == "f" else mask)


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle (NumPy arrays: not differentiable).

    >>> import chainrule as cr
    >>> [i.tolist() for i in cr.tril_indices(2)]
    [[0, 1, 1], [0, 0, 1]]
    """
    return np.tril_indices(n, k, m)


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle (NumPy arrays: not differentiable).

    >>> import chainrule as cr
    >>> [i.tolist() for i in cr.triu_indices(2)]
    [[0, 0, 1], [0, 1, 1]]
    """
    return np.triu_indices(n, k, m)


def linspace(start, stop, num=50, endpoint=True, *, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from ``start`` to ``stop``; differentiable in ``start``
    and ``stop`` when they are Tensors (numbers give a new leaf, as before).

    >>> import chainrule as cr
    >>> a = cr.tensor(0.0, requires_grad=True)
    >>> cr.linspace(a, 1.0, 5).sum().backward()
    >>> a.grad.item()   # Σ (1 − t) over t = 0, ¼, ½, ¾, 1
    2.5
    """
    if not any(isinstance(v, (Tensor, np.ndarray)) for v in (start, stop)):
        if endpoint:
            return _plain_linspace(start, stop, num, dtype=dtype, requires_grad=requires_grad)
        vals = np.linspace(start, stop, num, endpoint=False)
        return as_tensor(vals.astype(dtype or _plain_linspace(0, 1, 1).dtype))
    start, stop = as_tensor(start), as_tensor(stop)
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64) / max(div, 1)
    dt = dtype or np.result_type(start.dtype, stop.dtype, np.float32)
    shape = np.broadcast_shapes(start.shape, stop.shape)
    steps = steps.reshape((num,) + (1,) * len(shape)).astype(dt)
    out = add(start, multiply(stop - start, steps))
    if num == 1:
        out = broadcast_to(start, (1,) + shape) + 0 * stop
    return out
