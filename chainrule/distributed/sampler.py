"""``DistributedSampler``: each rank's disjoint share of one epoch order that all ranks agree
on, laid out so that the ranks' batches together are the single-process batch."""
from __future__ import annotations

import numpy as np

from ..data.loader import Sampler
from .comm import rank as _rank
from .comm import world_size as _world_size


class DistributedSampler(Sampler):
    """Rank ``rank``'s share of a dataset of ``n`` samples, for ``DataLoader(sampler=...)``.

    Every rank computes the same epoch order: a permutation drawn from ``seed`` and the epoch
    (call ``set_epoch(e)`` at the start of each epoch, or ``loader.set_epoch(e)``, to reshuffle),
    or, given ``rng``, the next permutation from that generator (every rank must hold it in
    the same state, e.g. seeded alike; this is how ``DataLoader(shuffle=True, rng=rng)``
    shuffles, so one rank reproduces a plain loader). ``shuffle=False`` keeps ``0 .. n-1``.

    Rank r takes the positions r, r + W, r + 2W, ... of that order (W ranks). With a loader
    batch of b = B / W on every rank, the s-th batches of all ranks together are then exactly
    positions ``s·B .. s·B + B - 1``: the s-th batch of one process with batch size B. The
    shares are disjoint and cover every sample. When the last batch has fewer samples than
    there are ranks, some ranks get none and their loaders yield one batch fewer: they must
    still take part in that step's gradient allreduce (with ``count=0``).

    >>> shares = [list(DistributedSampler(10, shuffle=False, rank=r, world_size=2))
    ...           for r in range(2)]
    >>> shares
    [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    >>> a = DistributedSampler(6, seed=1, rank=0, world_size=2)
    >>> b = DistributedSampler(6, seed=1, rank=1, world_size=2)
    >>> sorted(list(a) + list(b))
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, n: int, *, shuffle: bool = True, seed: int = 0,
                 rng: np.random.Generator | None = None, rank: int | None = None,
                 world_size: int | None = None):
        self.n = int(n)
        self.world_size = _world_size() if world_size is None else int(world_size)
        self.rank = _rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.world_size}), "
                             f"got {self.rank}")
        if rng is not None and not shuffle:
            raise ValueError("DistributedSampler: rng is used only with shuffle=True")
        self.shuffle, self.seed, self.rng = bool(shuffle), int(seed), rng

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world_size))

    def order(self) -> np.ndarray:
        """The epoch's order of all ``n`` samples, the same on every rank."""
        if not self.shuffle:
            return np.arange(self.n)
        if self.rng is not None:
            return self.rng.permutation(self.n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def indices(self) -> np.ndarray:
        """This rank's share of ``order()``: every ``world_size``-th sample from ``rank`` on."""
        return self.order()[self.rank::self.world_size]
