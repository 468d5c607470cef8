"""Data-parallel training over MPI (needs the ``mpi`` extra: mpi4py and an MPI library).

Start N copies of a program with ``mpirun -n N``; each is a rank with a full model replica
and its share of every batch. Gradients are averaged over the ranks with one bucketed
``Allreduce`` per step, so every rank takes the same optimizer step that one process with the
whole batch would. See docs/scaling.md for command lines and measured scaling.

``import chainrule`` does not import mpi4py (the core's only dependency is NumPy): it is
imported by :func:`init`.

>>> from chainrule import distributed as dist
>>> dist.is_initialized()
False
>>> sampler = dist.DistributedSampler(5, shuffle=False, rank=1, world_size=2)
>>> list(sampler), len(sampler)
([1, 3], 2)
"""
from .comm import (
    DistributedError,
    abort,
    all_sum,
    broadcast_parameters,
    communicator,
    init,
    is_initialized,
    mpi,
    rank,
    reduce_mean,
    world_size,
)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
