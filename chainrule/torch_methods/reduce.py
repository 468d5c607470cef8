"""PyTorch-shaped reductions: argmax/argmin, max/min(dim) -> (values, indices), unbiased
var/std, all/any."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import functional, ops
from ..ops._front import norm_axis
from ..tensor import Tensor
from ._common import _dim
from .index import gather

# The results of x.max(dim) and x.min(dim), as torch.return_types: a tuple with names.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])



# -- reductions with indices ----------------------------------------------------------------
def _arg(fn, where):
    def method(self, dim=None, keepdim: bool = False):
        if dim is None:
            return Tensor._wrap(np.asarray(fn(self._data), dtype=np.int64))
        d = _dim(dim, self.ndim, where)
        return Tensor._wrap(fn(self._data, axis=d, keepdims=keepdim).astype(np.int64))
    method.__name__ = where
    method.__doc__ = (f"Indices of the {where[3:]}imum along ``dim`` (of the flattened tensor "
                      "if None), int64; not differentiable.")
    return method


argmax = _arg(np.argmax, "argmax")
argmin = _arg(np.argmin, "argmin")
argmax.__doc__ += """

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(1).tolist()
    [1, 0]
    """
argmin.__doc__ += """

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).argmin().item()
    0
    """


def _extreme(reduce, pick, argfn, result, where):
    def method(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        if isinstance(dim, Tensor) or (dim is not None and not isinstance(
                dim, (int, np.integer, tuple, list))):
            return pick(self, dim)  # x.max(other): the elementwise maximum, as PyTorch
        if axis is not None or keepdims is not None or isinstance(dim, (tuple, list)):
            # NumPy's keywords (or several axes): the values only, NumPy's meaning
            return reduce(self, axis if dim is None else dim, bool(keepdims or keepdim))
        if dim is None:
            return reduce(self)
        d = _dim(dim, self.ndim, where)
        idx = np.expand_dims(argfn(self._data, axis=d), d) if self.ndim else np.zeros((), int)
        values = gather(self, d, idx) if self.ndim else self
        if self.ndim and not keepdim:
            values, idx = ops.squeeze(values, d), np.squeeze(idx, d)
        return result(values, Tensor._wrap(idx.astype(np.int64)))
    method.__name__ = where
    return method


max_ = _extreme(ops.max, ops.maximum, np.argmax, max_result, "max")
min_ = _extreme(ops.min, ops.minimum, np.argmin, min_result, "min")
max_.__doc__ = """``x.max()``: the largest element; ``x.max(dim, keepdim=False)``: a named tuple
    ``(values, indices)`` as PyTorch (the gradient goes to the index picked);
    ``x.max(other)``: the elementwise maximum; ``x.max(axis=...)``: NumPy's values only.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]])
    >>> x.max().item(), x.max(0).values.tolist(), x.max(axis=0).tolist()
    (7.0, [7.0, 5.0], [7.0, 5.0])
    """
min_.__doc__ = """``x.min()``, ``x.min(dim)`` -> ``(values, indices)``, ``x.min(other)``,
    ``x.min(axis=...)``: as ``max``.

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).min(1).indices.tolist()
    [0, 1]
    """


def _var(self, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None,
         keepdims=None, ddof=None):
    numpy_style = axis is not None or keepdims is not None or ddof is not None
    if numpy_style:
        dof = 0 if ddof is None else ddof
    elif correction is not None:
        dof = correction
    else:
        dof = 0 if unbiased is False else 1
    return functional.var(self, axis if dim is None else dim, bool(keepdims or keepdim), dof)


def var(self, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Variance over ``dim``: unbiased (``correction=1``) as PyTorch; with NumPy's keywords
    (``axis=``, ``keepdims=``, ``ddof=``) ``ddof`` defaults to 0, as NumPy.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    >>> round(x.var().item(), 4), round(x.var(axis=0).item(), 4)
    (1.6667, 1.25)
    """
    return _var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                keepdims=keepdims, ddof=ddof)


def std(self, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Standard deviation, the square root of ``var`` (same conventions).

    >>> import chainrule as cr
    >>> round(cr.tensor([1.0, 2.0, 3.0, 4.0]).std(ddof=0).item(), 4)
    1.118
    """
    return ops.sqrt(_var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                         keepdims=keepdims, ddof=ddof))


def _logical(fn, where):
    def method(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        axis = norm_axis(axis if dim is None else dim, self.ndim)
        keep = bool(keepdim or keepdims)
        return Tensor._wrap(np.asarray(fn(self._data, axis=axis or None, keepdims=keep)
                                       if axis else self._data.astype(bool)))
    method.__name__ = where
    return method


all_ = _logical(np.all, "all")
any_ = _logical(np.any, "any")
all_.__doc__ = """Whether every element (along ``dim``) is true, a bool tensor.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 0], [1, 1]]).all(1).tolist(), cr.tensor([1, 0]).all().item()
    ([False, True], False)
    """
any_.__doc__ = """Whether some element (along ``dim``) is true, a bool tensor.

    >>> import chainrule as cr
    >>> cr.tensor([0, 0, 1]).any().item()
    True
    """
