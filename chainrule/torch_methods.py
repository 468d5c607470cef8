"""Tensor methods shaped like PyTorch's (``x.view(2, -1)``, ``x.max(1)``, ``x.float()``),
bound to the class by ``chainrule/methods.py``. Each is built from chainrule's ops, so it is
differentiable in both modes and at any order wherever PyTorch's is; ``clone`` is the one
primitive of its own.

Where NumPy and PyTorch give one method name two meanings, the method follows PyTorch and
NumPy's keywords select NumPy's meaning; the ``cr.`` function of the same name follows NumPy:

    ==================  =========================================  ===========================
    method              PyTorch's meaning (positional or dim=)     NumPy's (axis= keywords)
    ==================  =========================================  ===========================
    x.max(1)            (values, indices), a named tuple           x.max(axis=1): values
    x.transpose(0, 1)   swap two axes                              x.transpose((1, 0, 2)) or
                                                                   three or more axes: permute
    x.var(), x.std()    unbiased (correction=1)                    x.var(axis=0): ddof=0
    x.repeat(2, 3)      tile (as numpy.tile)                       (cr.repeat: numpy.repeat)
    x.flatten(1)        merge axes start_dim .. end_dim            x.flatten(): all axes
    x.split(2)          pieces of size 2                           (cr.split: 2 equal pieces)
    x.squeeze(0)        no-op where the axis is not of size 1      (cr.squeeze raises)
    x.size              (the number of elements, an int that is also callable:)
    x.size(), size(d)   the shape, or one dimension
    ==================  =========================================  ===========================

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
>>> values, indices = x.max(1)
>>> values.tolist(), indices.tolist()
([5.0, 7.0], [1, 0])
>>> x.size(), x.size(0), x.size, x.numel()
((2, 2), 2, 4, 4)
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import functional, ops
from .apply import apply
from .device import (
    DeviceError,
    bool_,
    check_device,
    device,
    float16,
    float32,
    float64,
    int32,
    int64,
    is_device,
)
from .errors import ShapeError, describe
from .ops._front import norm_axis
from .ops.shape import SCATTER
from .registry import linear, one_element
from .tensor import Tensor

# The results of x.max(dim) and x.min(dim), as torch.return_types: a tuple with names.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def _ints(args, where: str) -> tuple:
    """``f(1, 2)`` or ``f((1, 2))``, both as PyTorch accepts, as a tuple of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    if not all(isinstance(a, (int, np.integer)) for a in args):
        raise TypeError(f"{where}: expected integers, got {args!r}")
    return tuple(int(a) for a in args)


def _dim(d, ndim: int, where: str) -> int:
    """One axis as a non-negative int (0-d tensors accept dim 0 and -1, as PyTorch)."""
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or not -n <= d < n:
        raise IndexError(f"{where}: dim {d!r} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected an int in [{-n}, {n - 1}])")
    return int(d) % n


def _index_data(index, where: str) -> np.ndarray:
    idx = np.asarray(index.data if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{where}: index must hold integers (e.g. dtype cr.long), got "
                        f"{idx.dtype}")
    return idx


# -- shape --------------------------------------------------------------------------------------
def view(self, *shape):
    """A tensor with the same data and a new ``shape`` (one dimension may be -1), as
    ``torch.Tensor.view``; ``view(dtype)`` (reinterpreting bits) is not supported.

    >>> import chainrule as cr
    >>> cr.arange(6).view(2, -1).shape
    (2, 3)
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        raise TypeError(f"view: expected a shape, got {shape[0]!r}; to change the dtype use "
                        ".to(dtype) or .float()/.long()")
    return ops.reshape(self, *shape)


def view_as(self, other):
    """``self`` with ``other``'s shape.

    >>> import chainrule as cr
    >>> cr.arange(4).view_as(cr.zeros((2, 2))).shape
    (2, 2)
    """
    return ops.reshape(self, other.shape)


def reshape(self, *shape):
    """A tensor with a new shape, given as ``reshape(2, 3)`` or ``reshape((2, 3))``.

    >>> import chainrule as cr
    >>> cr.arange(6).reshape(3, 2).shape
    (3, 2)
    """
    return ops.reshape(self, *shape)


def unsqueeze(self, dim: int):
    """A new axis of size 1 at ``dim`` (negative: counted from the end of the result).

    >>> import chainrule as cr
    >>> cr.zeros(3).unsqueeze(-1).shape
    (3, 1)
    """
    return ops.expand_dims(self, _dim(dim, self.ndim + 1, "unsqueeze"))


def squeeze(self, dim=None):
    """Drop axes of size 1 (all, or those in ``dim``); an axis in ``dim`` whose size is not 1
    is kept, as PyTorch (``cr.squeeze`` raises instead, as NumPy).

    >>> import chainrule as cr
    >>> cr.zeros((2, 1)).squeeze(0).shape, cr.zeros((2, 1)).squeeze(1).shape
    ((2, 1), (2,))
    """
    if dim is None:
        return ops.squeeze(self)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(a for a in (_dim(d, self.ndim, "squeeze") for d in dims)
                 if self.ndim and self.shape[a] == 1)
    return ops.squeeze(self, axes) if axes else self


def flatten(self, start_dim: int = 0, end_dim: int = -1):
    """Merge the axes ``start_dim`` .. ``end_dim`` (inclusive) into one, as
    ``torch.flatten``; ``x.flatten()`` is every axis (NumPy's meaning too).

    >>> import chainrule as cr
    >>> cr.zeros((2, 3, 4)).flatten(1).shape, cr.zeros((2, 3, 4)).flatten().shape
    ((2, 12), (24,))
    """
    if self.ndim == 0:
        return ops.reshape(self, 1)
    s, e = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}) "
                         f"for {describe(self)}")
    return ops.reshape(self, self.shape[:s] + (-1,) + self.shape[e + 1:])


def transpose(self, *dims):
    """``x.transpose(d0, d1)`` swaps two axes (PyTorch); ``x.transpose()``,
    ``x.transpose(axes)`` with a tuple, or three or more axes permute them (NumPy).

    >>> import chainrule as cr
    >>> cr.zeros((2, 3, 4)).transpose(0, 2).shape, cr.zeros((2, 3, 4)).transpose().shape
    ((4, 3, 2), (4, 3, 2))
    """
    if len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
        perm = list(range(self.ndim))
        a, b = (_dim(d, self.ndim, "transpose") for d in dims)
        perm[a], perm[b] = perm[b], perm[a]
        return ops.transpose(self, perm)
    if not dims or dims == (None,):
        return ops.transpose(self)
    return ops.transpose(self, _ints(dims, "transpose"))


def permute(self, *dims):
    """The axes in the order ``dims`` (``permute(2, 0, 1)`` or ``permute((2, 0, 1))``).

    >>> import chainrule as cr
    >>> cr.zeros((2, 3, 4)).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    dims = _ints(dims, "permute")
    if len(dims) != self.ndim:
        raise ShapeError(f"permute: got {len(dims)} dims {dims} for {describe(self)}")
    return ops.transpose(self, dims)


def expand(self, *sizes):
    """Broadcast to ``sizes`` (-1 keeps a dimension), without copying, as PyTorch.

    >>> import chainrule as cr
    >>> cr.zeros((3, 1)).expand(-1, 4).shape, cr.zeros(3).expand(2, 3).shape
    ((3, 4), (2, 3))
    """
    sizes = _ints(sizes, "expand")
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for {describe(self)}: give at "
                         "least one size per dimension")
    shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    return ops.broadcast_to(self, shape)


def expand_as(self, other):
    """``self`` broadcast to ``other``'s shape.

    >>> import chainrule as cr
    >>> cr.zeros(3).expand_as(cr.zeros((2, 3))).shape
    (2, 3)
    """
    return ops.broadcast_to(self, other.shape)


def repeat(self, *sizes):
    """Tile: repeat the whole tensor ``sizes[i]`` times along axis i, as
    ``torch.Tensor.repeat`` and ``numpy.tile`` (NumPy's ``repeat``, which repeats each
    element, is ``cr.repeat``).

    >>> import chainrule as cr
    >>> cr.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    reps = _ints(sizes, "repeat")
    if len(reps) < self.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeat counts {reps} for {describe(self)}: "
                         "give one per dimension (or more, to add leading dimensions)")
    shape = (1,) * (len(reps) - self.ndim) + self.shape
    spread = sum(((1, n) for n in shape), ())  # (1, s0, 1, s1, ...)
    wide = sum(((r, n) for r, n in zip(reps, shape)), ())  # (r0, s0, r1, s1, ...)
    out = ops.broadcast_to(ops.reshape(self, spread), wide)
    return ops.reshape(out, tuple(r * n for r, n in zip(reps, shape)))


def chunk(self, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ceil(n / chunks) along ``dim`` (the last smaller, and
    fewer pieces where they run out), as PyTorch.

    >>> import chainrule as cr
    >>> [c.tolist() for c in cr.arange(5).chunk(3)]
    [[0, 1], [2, 3], [4]]
    """
    if int(chunks) <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    d = _dim(dim, self.ndim, "chunk")
    n = self.shape[d]
    return split(self, max(1, math.ceil(n / int(chunks))), d)


def split(self, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes in
    a list, as PyTorch (``cr.split`` is NumPy's: a count of equal pieces or cut indices).

    >>> import chainrule as cr
    >>> [c.tolist() for c in cr.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    >>> [c.tolist() for c in cr.arange(5).split([1, 4])]
    [[0], [1, 2, 3, 4]]
    """
    d = _dim(dim, self.ndim, "split")
    n = self.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - a) for a in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} do not add up to {n}, the size of dim "
                             f"{dim} of {describe(self)}")
    out, start = [], 0
    for s in sizes:
        out.append(ops.getitem(self, (slice(None),) * d + (slice(start, start + s),)))
        start += s
    return tuple(out)


# -- size and counts --------------------------------------------------------------------------
class Size(int):
    """``x.size``: the number of elements, as NumPy's ``size`` (an int), and callable as
    PyTorch's ``size``: ``x.size()`` is the shape, ``x.size(d)`` one dimension.

    >>> import chainrule as cr
    >>> x = cr.zeros((2, 3))
    >>> x.size, x.size(), x.size(-1)
    (6, (2, 3), 3)
    """

    def __new__(cls, shape: tuple):
        obj = super().__new__(cls, math.prod(shape))
        obj.shape = shape
        return obj

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[_dim(dim, len(self.shape), "size")]


def _size(self) -> Size:
    return Size(self._data.shape)


def numel(self) -> int:
    """The number of elements.

    >>> import chainrule as cr
    >>> cr.zeros((2, 3)).numel()
    6
    """
    return int(self._data.size)


def dim(self) -> int:
    """The number of dimensions (``x.ndim``).

    >>> import chainrule as cr
    >>> cr.zeros((2, 3)).dim()
    2
    """
    return self._data.ndim


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


# -- indexing -------------------------------------------------------------------------------
def _gather_key(self, d: int, idx: np.ndarray, where: str) -> tuple:
    """The NumPy index that picks ``self[i₀, …, idx[i₀, …], …]`` along axis ``d``."""
    if idx.ndim != self.ndim:
        raise ShapeError(f"{where}: index has {idx.ndim} dimensions, {describe(self)} has "
                         f"{self.ndim}; they must have the same number")
    if any(i != d and m > n for i, (m, n) in enumerate(zip(idx.shape, self.shape))):
        raise ShapeError(f"{where}: index of shape {idx.shape} is larger than "
                         f"{describe(self)} outside dim {d}")
    if idx.size and (idx.min() < 0 or idx.max() >= self.shape[d]):
        raise IndexError(f"{where}: index values must be in [0, {self.shape[d] - 1}] for dim "
                         f"{d} of {describe(self)}, got [{idx.min()}, {idx.max()}]")
    grid = np.indices(idx.shape, sparse=True)
    return tuple(idx if i == d else grid[i] for i in range(self.ndim))


def gather(self, dim: int, index):
    """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim), as
    ``torch.gather``; differentiable in ``self``.

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, cr.tensor([[1], [0]])).tolist()
    [[2.0], [3.0]]
    """
    d = _dim(dim, self.ndim, "gather")
    idx = _index_data(index, "gather")
    return ops.getitem(self, _gather_key(self, d, idx, "gather"))


def scatter_add(self, dim: int, index, src):
    """``self`` plus ``src`` added at ``index`` along ``dim`` (repeated indices add up), as
    ``torch.Tensor.scatter_add``; differentiable in ``self`` and ``src``.

    >>> import chainrule as cr
    >>> cr.zeros(3).scatter_add(0, cr.tensor([0, 2, 0]), cr.tensor([1.0, 2.0, 3.0])).tolist()
    [4.0, 0.0, 2.0]
    """
    d = _dim(dim, self.ndim, "scatter_add")
    idx = _index_data(index, "scatter_add")
    src = ops.as_tensor(src)
    if src.ndim != idx.ndim or any(m > n for m, n in zip(idx.shape, src.shape)):
        raise ShapeError(f"scatter_add: index of shape {idx.shape} must not be larger than "
                         f"src {describe(src)}")
    key = _gather_key(self, d, idx, "scatter_add")
    if src.shape != idx.shape:
        src = ops.getitem(src, tuple(slice(0, m) for m in idx.shape))
    # The transpose of gather (the existing scatter primitive): its own transpose is gather.
    spread = apply(SCATTER, (ops.astype(src, self.dtype),),
                   {"index": key, "shape": self.shape, "ndim_g": src.ndim, "basic": False})
    return self + spread


def index_select(self, dim: int, index):
    """The entries at ``index`` (1-D) along ``dim``.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4]]).index_select(1, cr.tensor([1, 1, 0])).tolist()
    [[2, 2, 1], [4, 4, 3]]
    """
    idx = _index_data(index, "index_select")
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {idx.shape}")
    return ops.take(self, idx.reshape(-1), axis=_dim(dim, self.ndim, "index_select"))


def masked_fill(self, mask, value):
    """``value`` where ``mask`` is true, ``self`` elsewhere (the mask broadcasts).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0, 3.0]).masked_fill(cr.tensor([True, False, True]), 0.0).tolist()
    [0.0, 2.0, 0.0]
    """
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}; "
                        "compare first, e.g. x.masked_fill(x < 0, 0.0)")
    if not isinstance(value, Tensor):
        value = Tensor._wrap(np.asarray(value, dtype=self.dtype))
    return ops.where(m, value, self)


def clamp(self, min=None, max=None):  # noqa: A002
    """Limit to [min, max] (either may be None); gradient 1 inside, 0 outside.

    >>> import chainrule as cr
    >>> cr.tensor([-2.0, 0.5, 3.0]).clamp(min=0.0, max=1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    return ops.clip(self, min, max)


# -- dtypes and devices -------------------------------------------------------------------------
def _cast(self, dtype):
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if dtype.kind == "f" and self.dtype.kind == "f":
        return ops.astype(self, dtype)  # differentiable: the gradient is cast back
    return Tensor._wrap(self._data.astype(dtype))  # to (or from) integers: no gradient


def _caster(dtype, name):
    def method(self):
        return _cast(self, dtype)
    method.__name__ = name
    method.__doc__ = (f"``self`` as {dtype} (``self`` itself if it already is).\n\n"
                      f"    >>> import chainrule as cr\n"
                      f"    >>> cr.tensor([1, 2]).{name}().dtype\n    dtype('{dtype}')\n")
    return method


CASTS = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
         "bool": bool_}


def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False):
    """``self`` converted to a dtype and/or device, as ``torch.Tensor.to``: ``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, or keywords. The device must
    be the CPU; the result is ``self`` when nothing changes (unless ``copy=True``).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0])
    >>> x.to("cpu") is x, x.to(cr.float64).dtype, x.to(cr.zeros(1, dtype=cr.long)).dtype
    (True, dtype('float64'), dtype('int64'))
    """
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif is_device(a):
            device = a
        else:
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"to: expected a dtype (e.g. cr.float32), a device ('cpu') or a "
                                f"tensor, got {a!r}") from None
    if device is not None:
        check_device(device, "Tensor.to")
    out = self if dtype is None else _cast(self, dtype)
    return clone(out) if copy and out is self else out


def cpu(self):
    """``self``: chainrule's tensors are always on the CPU.

    >>> import chainrule as cr
    >>> x = cr.ones(2)
    >>> x.cpu() is x
    True
    """
    return self


def cuda(self, *args, **kwargs):
    """Refused: chainrule runs on the CPU only."""
    raise DeviceError("Tensor.cuda(): chainrule runs on the CPU only (it computes with "
                      "NumPy); drop .cuda(), or use .to(device) with device='cpu'")


def _device(self) -> device:
    return device("cpu")


def _is_cuda(self) -> bool:
    return False


def contiguous(self):
    """``self`` if its memory is C-contiguous, else a contiguous copy (the same values).

    >>> import chainrule as cr
    >>> x = cr.zeros((2, 3))
    >>> x.contiguous() is x
    True
    """
    return self if self._data.flags.c_contiguous else clone(self)


CLONE = linear("clone", lambda x: x.copy(), lambda ops, g, out, x: g,
               formula="∂clone(x)/∂x = 1: the gradient passes through", sympy=one_element)


def clone(self):
    """A copy with its own memory that stays in the graph (the gradient passes through).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = x.clone()
    >>> (y * y).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0]
    """
    return apply(CLONE, (ops.as_tensor(self),))


# -- small ones ---------------------------------------------------------------------------------
def pow_(self, exponent):
    """``self ** exponent``.

    >>> import chainrule as cr
    >>> cr.tensor([2.0, 3.0]).pow(2).tolist()
    [4.0, 9.0]
    """
    return ops.power(self, exponent)


def _compare(op, name):
    def method(self, other):
        return op(self, other)
    method.__name__ = name
    method.__doc__ = f"``self {name} other``, elementwise: a bool tensor (no gradient)."
    return method


COMPARISONS = {
    "eq": _compare(lambda a, b: a == b, "eq"), "ne": _compare(lambda a, b: a != b, "ne"),
    "lt": _compare(lambda a, b: a < b, "lt"), "le": _compare(lambda a, b: a <= b, "le"),
    "gt": _compare(lambda a, b: a > b, "gt"), "ge": _compare(lambda a, b: a >= b, "ge"),
}


# -- PyTorch's function forms of names NumPy does not use (cr.flatten(x, 1), cr.cat) ----------
def _function(method, doc):
    def fn(input, *args, **kwargs):  # noqa: A002  (PyTorch's argument name)
        return method(ops.as_tensor(input), *args, **kwargs)
    fn.__name__ = method.__name__
    fn.__doc__ = doc
    return fn


flatten_fn = _function(flatten, """``torch.flatten``: merge the axes ``start_dim`` ..
    ``end_dim`` of ``input`` (default: all) into one.

    >>> import chainrule as cr
    >>> cr.flatten(cr.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """)
unsqueeze_fn = _function(unsqueeze, """``torch.unsqueeze``: a new axis of size 1 at ``dim``.

    >>> import chainrule as cr
    >>> cr.unsqueeze(cr.zeros(3), 0).shape
    (1, 3)
    """)
clamp_fn = _function(clamp, """``torch.clamp``: limit ``input`` to [min, max].

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-2.0, 3.0]), min=0.0).tolist()
    [0.0, 3.0]
    """)


def cat(tensors, dim: int = 0):
    """``torch.cat``: join tensors along the existing axis ``dim`` (``cr.concatenate``).

    >>> import chainrule as cr
    >>> cr.cat([cr.zeros((2, 3)), cr.ones((1, 3))], dim=0).shape
    (3, 3)
    """
    return ops.concatenate(tensors, axis=dim)


def _bitwise(fn, name):
    def method(self, other):
        return Tensor._wrap(np.asarray(fn(self._data, getattr(other, "_data", other))))
    method.__name__ = name
    method.__doc__ = f"``{fn.__name__}`` of bool or integer tensors (no gradient)."
    return method


def _invert(self):
    """``~x``: logical not of a bool tensor, bitwise not of an integer one (no gradient)."""
    return Tensor._wrap(np.asarray(np.invert(self._data)))


BITWISE = {"__and__": np.bitwise_and, "__or__": np.bitwise_or, "__xor__": np.bitwise_xor}


def install(cls) -> None:
    """Bind the methods above to ``cls`` (called by ``chainrule.methods.install``)."""
    for name in ("view view_as reshape unsqueeze squeeze flatten transpose permute expand "
                 "expand_as repeat chunk split numel dim argmax argmin var std gather "
                 "scatter_add index_select masked_fill clamp to cpu cuda contiguous "
                 "clone").split():
        setattr(cls, name, globals()[name])
    cls.max, cls.min, cls.all, cls.any, cls.pow = max_, min_, all_, any_, pow_
    cls.nelement = numel
    cls.size = property(_size, doc=Size.__doc__)
    cls.device = property(_device, doc="Always ``cr.device('cpu')``.")
    cls.is_cuda = property(_is_cuda, doc="Always False.")
    for name, dtype in CASTS.items():
        setattr(cls, name, _caster(dtype, name))
    for name, fn in COMPARISONS.items():
        setattr(cls, name, fn)
    for name, fn in BITWISE.items():  # (x > 0) & (x < 1), as PyTorch and NumPy
        setattr(cls, name, _bitwise(fn, name))
        setattr(cls, name.replace("__", "__r", 1), _bitwise(fn, name))
    cls.__invert__ = _invert
