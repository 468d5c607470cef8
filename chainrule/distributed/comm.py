"""The MPI communicator behind ``cr.distributed``: joining the job, who is who, collectives on
NumPy buffers, and stopping every rank when one fails.

mpi4py is imported by :func:`init`, never at ``import chainrule``: the core's only dependency
stays NumPy, and importing ``mpi4py.MPI`` starts the MPI library.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import ChainruleError

__all__ = ["DistributedError", "abort", "all_sum", "broadcast_parameters", "communicator",
           "init", "is_initialized", "mpi", "rank", "reduce_mean", "world_size"]

_state: dict = {}  # "MPI": the mpi4py.MPI module, "comm": the communicator, once init() ran


class DistributedError(ChainruleError, RuntimeError):
    """Data-parallel training cannot run: MPI is missing, not initialised, or misused."""


def _import_mpi():
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:
        if isinstance(e, ImportError) and e.name == "mpi4py":
            raise DistributedError(
                "cr.distributed needs the mpi4py package, which is not installed: pip install "
                "'chainrule[mpi]', with an MPI library such as Open MPI (apt-get install "
                "openmpi-bin)") from None
        # mpi4py is there, but not the MPI library it loads
        raise DistributedError(f"mpi4py cannot load an MPI library ({e}): install one, "
                               "e.g. apt-get install openmpi-bin") from None
    return MPI


def mpi():
    """The ``mpi4py.MPI`` module (imported on first use).

    >>> from chainrule import distributed as dist
    >>> dist.mpi().COMM_WORLD.Get_size()        # outside mpirun: a job of one rank
    1
    """
    if "MPI" not in _state:
        _state["MPI"] = _import_mpi()
    return _state["MPI"]


def init(comm=None):
    """Join the MPI job (``mpirun -n N python ...``) and return its communicator.

    ``comm`` defaults to ``MPI.COMM_WORLD``. Run outside ``mpirun``, the process is a job of
    one rank. Calling it again returns the same communicator.

    It also makes an uncaught exception on any rank of a job of several print its traceback
    and abort the whole job (``MPI_Abort``), as ``python -m mpi4py`` does: a rank that merely
    exited would leave the others waiting forever in their next collective.

    >>> from chainrule import distributed as dist
    >>> comm = dist.init()
    >>> dist.is_initialized(), dist.rank(), dist.world_size()
    (True, 0, 1)
    """
    if "comm" in _state:
        return _state["comm"]
    _state["comm"] = mpi().COMM_WORLD if comm is None else comm
    previous = sys.excepthook

    def abort_job(kind, value, tb):
        previous(kind, value, tb)
        if world_size() > 1:
            abort(1)

    sys.excepthook = abort_job
    return _state["comm"]


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process (never imports mpi4py).

    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> dist.is_initialized()
    True
    """
    return "comm" in _state


def communicator():
    """The communicator :func:`init` returned; raises if it has not run.

    >>> from chainrule import distributed as dist
    >>> dist.communicator() is dist.init()
    True
    """
    if "comm" not in _state:
        raise DistributedError("cr.distributed: call cr.distributed.init() first")
    return _state["comm"]


def rank() -> int:
    """This process's number in the job, ``0 .. world_size() - 1``.

    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> dist.rank()                   # rank 0 prints, saves checkpoints, ...
    0
    """
    return communicator().Get_rank()


def world_size() -> int:
    """How many processes (ranks) the job has.

    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> dist.world_size()             # mpirun -n 4 ... gives 4
    1
    """
    return communicator().Get_size()


def abort(status: int = 1) -> None:
    """Stop every rank of the job with exit ``status`` (the launcher reports it).

    Typical use: stop the job when one rank fails (``init`` already does this for uncaught
    exceptions).

    >>> from chainrule import distributed as dist
    >>> def guarded(step):
    ...     try:
    ...         step()
    ...     except FloatingPointError:
    ...         dist.abort(3)         # every rank exits; mpirun reports status 3
    >>> guarded(lambda: None)
    """
    sys.stdout.flush()
    sys.stderr.flush()
    communicator().Abort(int(status))


def all_sum(values, comm=None) -> np.ndarray:
    """The elementwise sum of ``values`` (float64) over all ranks, in one ``Allreduce``.

    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> dist.all_sum([1.0, 2.5]).tolist()     # with N ranks: the sum of the N ranks' lists
    [1.0, 2.5]
    """
    comm = comm or communicator()
    buf = np.array(values, dtype=np.float64).ravel()
    comm.Allreduce(mpi().IN_PLACE, buf, op=mpi().SUM)
    return buf


def reduce_mean(metrics: dict[str, float], count: float, comm=None) -> dict[str, float]:
    """Means over all ranks of per-rank means: each rank's ``metrics`` (e.g. loss and
    accuracy over its ``count`` samples) weighted by ``count``, so the result is what one
    process seeing every rank's samples would have computed. Ranks with ``count == 0``
    contribute nothing.

    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> dist.reduce_mean({"loss": 0.25, "accuracy": 0.9}, count=50)
    {'loss': 0.25, 'accuracy': 0.9}
    """
    names = list(metrics)
    sums = all_sum([metrics[k] * count if count else 0.0 for k in names] + [count], comm)
    if sums[-1] == 0:
        raise DistributedError("reduce_mean: no rank had any samples")
    return {k: float(s / sums[-1]) for k, s in zip(names, sums)}


def broadcast_parameters(module, root: int = 0, comm=None) -> None:
    """Overwrite every rank's parameters and buffers with rank ``root``'s, in place: one
    ``Bcast`` per dtype, of all the tensors of that dtype flattened into one buffer.

    >>> import chainrule as cr
    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> net = cr.nn.Linear(2, 1)
    >>> before = net.weight.numpy().copy()
    >>> dist.broadcast_parameters(net)        # every rank now holds rank 0's weights
    >>> bool((net.weight.numpy() == before).all())
    True
    """
    comm = comm or communicator()
    tensors = list(module.state_dict().values())
    for dtype in sorted({t.dtype for t in tensors}, key=str):
        group = [t for t in tensors if t.dtype == dtype]
        buf = np.concatenate([t.data.ravel() for t in group])
        comm.Bcast(buf, root=root)
        offset = 0
        for t in group:
            np.copyto(t.data, buf[offset:offset + t.size].reshape(t.shape))
            offset += t.size
