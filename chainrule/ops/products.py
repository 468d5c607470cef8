"""NumPy's products with NumPy's semantics: tensordot, inner, vdot, kron, cross and ``dot``
for any number of dimensions. Compositions of einsum, matmul and shape ops: multilinear, so
their derivatives (of every order, both modes) come from those primitives' rules."""
from __future__ import annotations

import string

import numpy as np

from ..errors import ShapeError, describe
from .elementwise import multiply
from .linalg import einsum, matmul
from .shape import as_tensor, reshape, stack
from .shape import getitem as _getitem
from .structure import moveaxis


def _axes_pair(a, b, axes):
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    ax_a, ax_b = axes
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ShapeError(f"tensordot: axes {axes!r} pair {len(ax_a)} with {len(ax_b)} axes")
    return [int(i) % a.ndim for i in ax_a], [int(i) % b.ndim for i in ax_b]


def tensordot(a, b, axes=2):
    """Sum products over the given axes, as ``numpy.tensordot`` (``axes`` an int N: the last
    N of ``a`` with the first N of ``b``; or a pair of axis lists).

    >>> import chainrule as cr
    >>> cr.tensordot(cr.ones((2, 3)), cr.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    a, b = as_tensor(a), as_tensor(b)
    ax_a, ax_b = _axes_pair(a, b, axes)
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: axis {i} of {describe(a)} and axis {j} of "
                             f"{describe(b)} differ in length")
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [
        c for j, c in enumerate(sb) if j not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def dot(a, b):
    """``numpy.dot``: scalars multiply, vectors give the inner product, matrices the matrix
    product, and N-d arrays sum over the last axis of ``a`` and the second-to-last of ``b``.

    >>> import chainrule as cr
    >>> cr.dot(cr.ones((2, 3, 4)), cr.ones((5, 4, 6))).shape
    (2, 3, 5, 6)
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, ([-1], [-2 if b.ndim >= 2 else -1]))


def inner(a, b):
    """Sum over the last axes of ``a`` and ``b`` (``numpy.inner``); scalars multiply.

    >>> import chainrule as cr
    >>> cr.inner(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, ([-1], [-1]))


def vdot(a, b):
    """The dot product of the flattened inputs (``numpy.vdot`` for real data).

    >>> import chainrule as cr
    >>> cr.vdot(cr.ones((2, 2)), cr.ones((4,))).item()
    4.0
    """
    a, b = reshape(as_tensor(a), -1), reshape(as_tensor(b), -1)
    if a.shape != b.shape:
        raise ShapeError(f"vdot: {describe(a)} and {describe(b)} have different sizes")
    return einsum("i,i->", a, b)


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] · b`` (``numpy.kron``).

    >>> import chainrule as cr
    >>> cr.kron(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 10.0])).tolist()
    [1.0, 10.0, 2.0, 20.0]
    """
    a, b = as_tensor(a), as_tensor(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    inter_a = tuple(v for n in sa for v in (n, 1))
    inter_b = tuple(v for n in sb for v in (1, n))
    prod = multiply(reshape(a, inter_a), reshape(b, inter_b))
    return reshape(prod, tuple(m * n for m, n in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors along an axis (``numpy.cross``), broadcasting the rest.

    >>> import chainrule as cr
    >>> cr.cross(cr.tensor([1.0, 0.0, 0.0]), cr.tensor([0.0, 1.0, 0.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    a, b = as_tensor(a), as_tensor(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _move_last(a, axisa), _move_last(b, axisb)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ShapeError(f"cross: vectors must have 3 components along the axis, got "
                         f"{describe(a)} and {describe(b)}")

    def c(v, i):
        return _getitem(v, (Ellipsis, i))
    out = stack([c(a, 1) * c(b, 2) - c(a, 2) * c(b, 1), c(a, 2) * c(b, 0) - c(a, 0) * c(b, 2),
                 c(a, 0) * c(b, 1) - c(a, 1) * c(b, 0)], axis=-1)
    return _move_from_last(out, axisc)


def _move_last(x, axis):
    return moveaxis(x, axis, -1)


def _move_from_last(x, axis):
    return moveaxis(x, -1, axis)
