"""``DataLoader``: batches of a dataset as tuples of Tensors, shuffled by a seeded generator.

Index order comes from a sampler (an object with ``__iter__`` over indices and ``__len__``);
:class:`Sampler` subclasses may return the whole epoch as one array from ``indices()``, and
get ``set_epoch(epoch)``, the hook a distributed sampler needs to shuffle the same way on every
rank.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np

from ..tensor import Tensor, default_rng, get_default_dtype
from .dataset import Dataset

__all__ = ["DataLoader", "RandomSampler", "Sampler", "SequentialSampler"]


class Sampler:
    """Base class of index orders. Subclasses define ``__len__`` and ``indices()``, the
    epoch's indices as an integer array (``__iter__`` walks it).

    >>> import numpy as np
    >>> from chainrule.data import Sampler
    >>> class EvensFirst(Sampler):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __len__(self):
    ...         return self.n
    ...     def indices(self):
    ...         return np.r_[np.arange(0, self.n, 2), np.arange(1, self.n, 2)]
    >>> list(EvensFirst(5))
    [0, 2, 4, 1, 3]
    """

    epoch = 0

    def indices(self) -> np.ndarray:
        """This epoch's sample indices, in order, as an integer array (subclasses define it)."""
        raise NotImplementedError(f"{type(self).__name__} must define indices()")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def set_epoch(self, epoch: int) -> None:
        """Record the epoch; samplers whose order is a function of (seed, epoch) use it."""
        self.epoch = int(epoch)


class SequentialSampler(Sampler):
    """Visit the ``n`` samples in their stored order: ``0, 1, ..., n - 1``, every epoch.

    >>> list(SequentialSampler(3))
    [0, 1, 2]
    """

    def __init__(self, n: int):
        self.n = int(n)

    def __len__(self) -> int:
        return self.n

    def indices(self) -> np.ndarray:
        """The indices ``0 .. n - 1`` in order."""
        return np.arange(self.n)


class RandomSampler(Sampler):
    """A fresh permutation of ``range(n)`` from ``rng`` each time it is iterated.

    >>> import numpy as np
    >>> s = RandomSampler(5, rng=np.random.default_rng(0))
    >>> sorted(s)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, n: int, rng: np.random.Generator | None = None):
        self.n = int(n)
        self.rng = rng if rng is not None else _derived_rng()

    def __len__(self) -> int:
        return self.n

    def indices(self) -> np.ndarray:
        """A new permutation of ``0 .. n - 1``, drawn from the sampler's generator."""
        return self.rng.permutation(self.n)


def _derived_rng() -> np.random.Generator:
    """An independent child of chainrule's default generator (``cr.manual_seed`` makes it
    reproducible). Spawning does not draw from the parent, so creating a loader does not
    shift the random numbers that model initialisation gets afterwards."""
    parent = default_rng()
    try:
        return parent.spawn(1)[0]
    except (AttributeError, TypeError):  # a generator without a SeedSequence
        return np.random.default_rng(parent.integers(2**63))


class DataLoader:
    """Iterate over ``dataset`` in batches; each batch is a tuple of constant Tensors.

    ``shuffle=True`` draws a new order every epoch (every ``iter(loader)``) from ``rng`` (a
    ``numpy.random.Generator``; default: one derived from chainrule's default generator, so
    ``cr.manual_seed`` makes runs repeatable). ``drop_last`` drops a final short batch.
    ``sampler`` replaces the order entirely (it cannot be combined with ``shuffle``).
    ``len(loader)`` is the number of batches.

    A :class:`TensorDataset` (any dataset with ``get_batch``) is indexed with one index array
    per batch; other datasets are read sample by sample and stacked with ``np.stack``.

    >>> import numpy as np
    >>> from chainrule.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader)
    3
    >>> [y.tolist() for x, y in loader]
    [[0, 1], [2, 3], [4]]
    >>> shuffled = DataLoader(ds, batch_size=5, shuffle=True, rng=np.random.default_rng(0))
    >>> x, y = next(iter(shuffled))
    >>> sorted(y.tolist()), x.shape
    ([0, 1, 2, 3, 4], (5, 2))
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, rng: np.random.Generator | None = None,
                 sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: give either shuffle=True or a sampler, not both "
                             "(the sampler decides the order)")
        if sampler is not None and rng is not None:
            raise ValueError("DataLoader: rng is used only for shuffle=True; a sampler "
                             "brings its own randomness")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"DataLoader: rng must be a numpy.random.Generator, got "
                            f"{type(rng).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        if sampler is None:
            n = len(dataset)
            sampler = RandomSampler(n, rng) if shuffle else SequentialSampler(n)
        self.sampler = sampler

    @property
    def rng(self) -> np.random.Generator | None:
        """The shuffling generator (its ``bit_generator.state`` can go into a checkpoint)."""
        return getattr(self.sampler, "rng", None)

    def set_epoch(self, epoch: int) -> None:
        """Forwarded to the sampler (a no-op for samplers without ``set_epoch``)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _epoch_indices(self) -> np.ndarray:
        s = self.sampler
        if isinstance(s, Sampler):
            idx = np.asarray(s.indices())
        else:
            idx = np.fromiter(iter(s), dtype=np.int64, count=-1)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError(f"DataLoader: the sampler must give integer indices, got an array "
                            f"of dtype {idx.dtype} and shape {idx.shape}")
        return idx

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        idx = self._epoch_indices()
        bs = self.batch_size
        stop = len(idx) - len(idx) % bs if self.drop_last else len(idx)
        get_batch = getattr(self.dataset, "get_batch", None)
        for start in range(0, stop, bs):
            batch_idx = idx[start:start + bs]
            arrays = get_batch(batch_idx) if get_batch is not None \
                else _collate([self.dataset[i] for i in batch_idx.tolist()])
            yield tuple(Tensor._wrap(a) for a in arrays)


def _collate(samples: list) -> tuple[np.ndarray, ...]:
    """Stack a list of samples field by field (a sample is a tuple/list or one value)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        if any(not isinstance(s, (tuple, list)) or len(s) != width for s in samples):
            raise ValueError(f"DataLoader: samples must all be tuples of {width} values")
        return tuple(_stack([s[k] for s in samples], k) for k in range(width))
    return (_stack(samples, 0),)


def _stack(values: list, field: int) -> np.ndarray:
    if isinstance(values[0], dict):
        raise TypeError("DataLoader: dict samples are not supported; return a tuple")
    arrays = [v.data if isinstance(v, Tensor) else v for v in values]
    try:
        out = np.stack([np.asarray(a) for a in arrays])
    except ValueError as e:
        shapes = sorted({np.shape(a) for a in arrays})
        raise ValueError(f"DataLoader: cannot stack field {field} of the samples into a batch "
                         f"(shapes {shapes}): {e}") from None
    if type(arrays[0]) is float and out.dtype == np.float64:
        out = out.astype(get_default_dtype())  # Python floats -> the default dtype, as tensor()
    if out.dtype.kind not in "biuf":
        raise TypeError(f"DataLoader: field {field} of the samples has dtype {out.dtype}; "
                        "a batch must be numeric")
    return out
