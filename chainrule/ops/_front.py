"""What the front-end functions share: argument tests and normalisation (no ops here;
broadcasting and promotion, which record ops, are ``unify``/``promoted`` in ``shape.py``)."""
from __future__ import annotations

import numbers

import numpy as np

from ..engine import STATE
from ..errors import ShapeError, describe
from ..registry import broadcast_shape
from ..tensor import Tensor

_PY_NUMBERS = (float, int, bool)


def is_scalar(v) -> bool:
    """A Python number (kept weakly typed: it never upcasts a tensor). Complex numbers are
    refused here, at the boundary (complex support is a later issue)."""
    t = type(v)
    if t is Tensor or t is np.ndarray:
        return False
    if t in _PY_NUMBERS:
        return True
    if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real):
        raise TypeError(f"complex number {v!r}: chainrule tensors are real (complex data is "
                        "not supported yet)")
    return isinstance(v, numbers.Number) and not isinstance(v, np.generic)


_ONES: dict = {}  # (shape, dtype char) -> read-only ones, for ``blas_sum``
ONES_MAX = 1 << 16  # longer sums: the ufunc (the cache holds at most 65 × 512 KiB)


def mat_product(a, b):
    """``np.matmul(a, b)``; two plain matrices through ``ndarray.dot``, the same BLAS call with
    less around it (``np.matmul`` is a generalized ufunc, ``.dot`` a direct call): the natural
    small MLP step went from 1.056 to 1.043 M instructions (``bench/instructions.py``).

    >>> import numpy as np
    >>> mat_product(np.eye(2), np.arange(4.0).reshape(2, 2)).tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 == b.ndim:
        return a.dot(b)  # (not on vmap's batched arrays: np.dot's N-d rules are not matmul's)
    return np.matmul(a, b)


def blas_sum(x, axis: int):
    """Σ of a float32/float64 array over ``axis`` as one BLAS product with a vector of ones:
    over the last axis, kept (a softmax's row sums), or over the first axis, dropped (a
    bias's gradient, Σ over the batch; a vector's total). On the small arrays of a training
    step this costs about half of ``np.add.reduce`` (whose setup is most of its cost). The
    order of the additions is BLAS's, so the rounding differs from the ufunc's by about an
    ulp. Sums of more than ``ONES_MAX`` terms run the ufunc's reduce.

    >>> import numpy as np
    >>> blas_sum(np.arange(6.0).reshape(2, 3), 0).tolist()
    [3.0, 5.0, 7.0]
    """
    n = x.shape[axis]
    key = (n, x.dtype.char, axis)
    ones = _ONES.get(key)
    if ones is None:
        if n > ONES_MAX:  # the reduce's setup is a small share there; and no big vector kept
            return np.add.reduce(x, axis=axis, keepdims=axis == -1)
        if len(_ONES) > 64:  # many lengths (varying sequence lengths): stay small
            _ONES.clear()
        ones = _ONES[key] = np.ones((n, 1) if axis == -1 else n, x.dtype)
        ones.flags.writeable = False
    # The method, not np.dot: the same BLAS call with less around it (1.6k instructions).
    return x.dot(ones) if axis == -1 else ones.dot(x)


def result_dtype(*dtypes) -> np.dtype:
    """The dtype of an op on ``dtypes``: a floating dtype wins over integers and booleans
    (float32 with int64 stays float32, as in PyTorch and JAX); otherwise NumPy's promotion."""
    floats = [d for d in dtypes if d.kind == "f"]
    if floats and len(floats) < len(dtypes):
        return np.result_type(*floats)
    return np.result_type(*dtypes)


def tracked(t: Tensor) -> bool:
    return bool((t._requires_grad and STATE.mode.grad_enabled) or t._tangents)


def data(v):
    """The ndarray behind a Tensor; anything else unchanged (for locally constant masks)."""
    return v._data if isinstance(v, Tensor) else v


def check_batch_dims(opname: str, x: Tensor, y: Tensor) -> None:
    """Matrix ops: the dimensions before the last two must broadcast."""
    if broadcast_shape(x.shape[:-2], y.shape[:-2]) is None:
        raise ShapeError(f"{opname}: batch dimensions cannot be broadcast: {describe(x)}, "
                         f"{describe(y)}")


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


def dim_args(axis, keepdims, dim, keepdim, where: str):
    """NumPy's ``axis=``/``keepdims=`` or PyTorch's ``dim=``/``keepdim=``: every front end that
    takes the first pair takes the second (``cr.sum(x, dim=1, keepdim=True)``)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{where}: give axis= (NumPy's name) or dim= (PyTorch's), not both")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{where}: give keepdims= (NumPy's name) or keepdim= (PyTorch's), "
                            "not both")
        keepdims = keepdim
    return axis, keepdims
