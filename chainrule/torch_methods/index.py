"""PyTorch-shaped indexing: gather, scatter_add, index_select, masked_fill, clamp."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..apply import apply
from ..errors import ShapeError, describe
from ..ops.shape import SCATTER
from ..tensor import Tensor
from ._common import _dim, _index_data


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
