"""PyTorch-shaped shape methods: view, unsqueeze, flatten, transpose(d0, d1), expand, repeat,
chunk, split, and ``x.size`` that is both NumPy's int and PyTorch's callable."""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import ShapeError, describe
from ._common import _dim, _ints


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
