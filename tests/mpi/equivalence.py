"""Run under ``mpirun -n 2``: data-parallel training equals one process on the whole batch.

Each rank trains a replica with per-rank batch b (DistributedDataParallel, DistributedSampler)
while also training, by itself, a reference model with batch 2b from a plain DataLoader that
draws the same epoch orders. After every step all ranks must hold bitwise the same parameters;
at the end they must equal the reference's (float64, rtol 1e-12), for SGD with momentum and
for Adam, and the reduced epoch loss must equal the reference's. Prints one ``OK`` line per
optimizer on rank 0; any failure raises, which aborts the job (cr.distributed.init).
"""
from __future__ import annotations

import math

import numpy as np

from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.data import DataLoader, RandomSampler, TensorDataset
from chainrule.nn import functional as F

# 51 samples in batches of 2 x 5: the last global batch has one sample, so rank 1 has none
# in the last step and must still take part in its allreduce.
N, PER_RANK_BATCH, EPOCHS, ORDER_SEED = 51, 5, 3, 7
OPTIMIZERS = {"sgd-momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
              "adam": lambda ps: optim.Adam(ps, lr=0.01)}


def make_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(6, 8, rng=rng), nn.Tanh(), nn.Linear(8, 3, rng=rng))
    return net.to(np.float64)


def flat(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.data.ravel() for p in model.parameters()])


def check_identical_on_all_ranks(comm, model: nn.Module, where: str) -> None:
    mine = flat(model)
    everyone = np.empty((comm.Get_size(), mine.size))
    comm.Allgather(mine, everyone)
    for r, theirs in enumerate(everyone):
        if not np.array_equal(theirs, mine):
            raise AssertionError(f"{where}: rank {r}'s parameters differ from rank "
                                 f"{comm.Get_rank()}'s by {np.abs(theirs - mine).max():.3g}")


def train_both(name: str, comm, ds: TensorDataset) -> tuple[float, float]:
    """Train reference and replica side by side; return the largest parameter and loss
    differences."""
    world = comm.Get_size()
    batch = PER_RANK_BATCH * world
    reference = make_model(seed=0)
    # Other ranks start from different weights: broadcast_parameters must fix that.
    replica = dist.DistributedDataParallel(make_model(seed=comm.Get_rank()))
    ref_opt, opt = OPTIMIZERS[name](reference.parameters()), OPTIMIZERS[name](replica.parameters())
    ref_loader = DataLoader(ds, batch, sampler=RandomSampler(N, np.random.default_rng(ORDER_SEED)))
    loader = DataLoader(ds, PER_RANK_BATCH,
                        sampler=dist.DistributedSampler(N, rng=np.random.default_rng(ORDER_SEED)))
    assert len(ref_loader) == math.ceil(N / batch)
    loss_gap = 0.0
    for epoch in range(EPOCHS):
        shares = iter(loader)
        ref_total = total = seen = 0.0
        for step, (xr, yr) in enumerate(ref_loader):
            ref_loss = F.cross_entropy(reference(xr), yr)
            ref_opt.zero_grad()
            ref_loss.backward()
            ref_opt.step()
            ref_total += ref_loss.item() * len(yr.data)

            opt.zero_grad()
            share = next(shares, None)
            count = 0 if share is None else len(share[1].data)
            if share is not None:
                loss = F.cross_entropy(replica(share[0]), share[1])
                loss.backward()
                total += loss.item() * count
                seen += count
            replica.allreduce_gradients(count)
            opt.step()
            check_identical_on_all_ranks(comm, replica.module, f"{name}, epoch {epoch} step {step}")
        assert next(shares, None) is None, "a rank has more batches than the reference"
        mean = dist.reduce_mean({"loss": total / seen if seen else 0.0}, seen)["loss"]
        loss_gap = max(loss_gap, abs(mean - ref_total / N))
    gap = float(np.abs(flat(replica.module) - flat(reference)).max())
    np.testing.assert_allclose(flat(replica.module), flat(reference), rtol=1e-12, atol=1e-14,
                               err_msg=f"{name}: {world} ranks vs one process")
    assert loss_gap < 1e-12, f"{name}: reduced loss differs by {loss_gap:.3g}"
    assert replica.allreduce_calls == EPOCHS * len(ref_loader)  # one per step, not per tensor
    return gap, loss_gap


def main() -> None:
    comm = dist.init()
    rng = np.random.default_rng(3)
    ds = TensorDataset(rng.standard_normal((N, 6)), rng.integers(0, 3, N))
    for name in OPTIMIZERS:
        gap, loss_gap = train_both(name, comm, ds)
        if comm.Get_rank() == 0:
            print(f"OK {name}: {comm.Get_size()} ranks x batch {PER_RANK_BATCH} == 1 process x "
                  f"batch {PER_RANK_BATCH * comm.Get_size()} (max parameter difference "
                  f"{gap:.2g}, loss {loss_gap:.2g})", flush=True)


if __name__ == "__main__":
    main()
