"""Datasets: anything with ``__len__`` and ``__getitem__``; ``TensorDataset`` over arrays."""
from __future__ import annotations

import numpy as np

from ..errors import ChainruleError
from ..tensor import Tensor

__all__ = ["Dataset", "DatasetError", "TensorDataset"]


class DatasetError(ChainruleError, ValueError):
    """A data file is malformed or fails its checksum; the message names the file."""


class Dataset:
    """Base class of map-style datasets: ``len(ds)`` samples, ``ds[i]`` the i-th one.

    A sample is a value or a tuple of values (arrays, Tensors or numbers); the
    :class:`~chainrule.data.DataLoader` stacks samples into batches. A dataset that can fetch
    a whole batch at once may also define ``get_batch(indices) -> tuple of arrays``; the
    loader then uses it instead of a per-sample loop.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return float(i), i * i
    >>> Squares()[3]
    (3.0, 9)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples ``i`` of several arrays with the same first dimension: ``(x[i], y[i], ...)``.

    Tensors are used through their ``.data`` and arrays as they are (no copy).

    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 1]))
    >>> len(ds), ds[2]
    (3, (tensor([4., 5.], dtype=float64), tensor(1)))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        for k, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} is 0-d (a scalar); every array "
                                 "needs a first dimension that indexes the samples")
        sizes = [len(a) for a in self.arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(f"array {k}: {a.shape}" for k, a in enumerate(self.arrays))
            raise ValueError(f"TensorDataset: arrays must have the same first dimension (the "
                             f"number of samples), got {shapes}")

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The arrays as constant Tensors (sharing memory)."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(Tensor._wrap(np.asarray(a[index])) for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """All arrays indexed by one index array: one NumPy call per array, no Python loop."""
        return tuple(a[indices] for a in self.arrays)
