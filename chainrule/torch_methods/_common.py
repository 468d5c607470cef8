"""What the PyTorch-shaped methods share: argument normalisation."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


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
