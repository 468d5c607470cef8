"""``DistributedDataParallel``: one model replica per rank, gradients averaged over the ranks
with a single bucketed ``Allreduce`` per step."""
from __future__ import annotations

import time

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor
from .comm import broadcast_parameters, communicator, mpi


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: every rank holds the same parameters
    (broadcast from rank 0 here), computes gradients on its own share of the batch, and calls
    :meth:`allreduce_gradients` between ``loss.backward()`` and ``optimizer.step()``; then every
    rank takes the same step, as one process on the whole batch would.

    Calling the wrapper runs ``module``; ``wrapper.module`` is the model itself (save its
    ``state_dict()`` to get checkpoints that load with any number of ranks).

    Usage, under ``mpirun -n N``::

        dist.init()
        model = dist.DistributedDataParallel(net)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward()
        model.allreduce_gradients(len(yb))
        opt.step()

    ``allreduce_seconds`` and ``allreduce_calls`` add up the time spent in (and the number of)
    gradient allreduces, waiting for slower ranks included.

    In a job of one rank it runs as is (here, outside ``mpirun``):

    >>> import chainrule as cr
    >>> from chainrule import distributed as dist
    >>> _ = dist.init()
    >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 1))
    >>> loss = cr.nn.functional.mse_loss(model(cr.ones((4, 3))), cr.zeros((4, 1)))
    >>> loss.backward()
    >>> model.allreduce_gradients(4)
    >>> model.module.weight.grad.shape
    (1, 3)
    """

    def __init__(self, module: Module, comm=None):
        super().__init__()
        self.module = module
        self.comm = comm if comm is not None else communicator()
        self.allreduce_seconds = 0.0
        self.allreduce_calls = 0
        broadcast_parameters(module, root=0, comm=self.comm)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def allreduce_gradients(self, count: float = 1) -> None:
        """Replace each parameter's gradient by the ``count``-weighted mean over all ranks.

        ``count`` is the number of samples this rank's loss averaged over (its share of the
        batch; 0 for a rank that had none this step and did no backward pass). Weighting by it
        makes the result the gradient of the mean loss over the whole batch even when the
        shares differ in size.

        All gradients travel in one buffer, so a step costs one ``Allreduce`` whatever the
        number of parameters: [grad₁·count, grad₂·count, ..., one has-a-gradient flag per
        parameter, count]. After the sum, the last entry is the batch size and each flag says
        whether any rank had that gradient (a parameter none of them reached keeps
        ``grad = None``, as in a single process).
        """
        if self.comm.Get_size() == 1:  # nothing to average: keep the gradients bitwise
            return
        params = [p for p in self.module.parameters() if p.requires_grad]
        n = sum(p.size for p in params)
        dtype = np.result_type(np.float32, *(p.dtype for p in params))
        buf = np.zeros(n + len(params) + 1, dtype)
        offset = 0
        for i, p in enumerate(params):
            if p.grad is not None and count:
                np.multiply(p.grad.data.ravel(), count, out=buf[offset:offset + p.size])
                buf[n + i] = 1
            offset += p.size
        buf[-1] = count
        MPI = mpi()
        start = time.perf_counter()
        self.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        self.allreduce_seconds += time.perf_counter() - start
        self.allreduce_calls += 1
        if buf[-1]:
            buf[:n] /= buf[-1]
        offset = 0
        for i, p in enumerate(params):
            grad = buf[offset:offset + p.size].reshape(p.shape)
            p.grad = Tensor._wrap(grad.astype(p.dtype, copy=False)) if buf[n + i] else None
            offset += p.size

    def extra_repr(self) -> str:
        return f"ranks={self.comm.Get_size()}"
