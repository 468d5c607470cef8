"""Data-parallel scaling of the MNIST-1D CNN (``chainrule train --dataset mnist1d --model cnn
--distributed``): training throughput on 1 and 2 MPI ranks, and the time spent in the gradient
allreduce.

    .venv/bin/python bench/scaling.py [--epochs 10] [--rounds 3] [--batch-sizes 100 1000]

Needs Open MPI's ``mpirun`` and mpi4py. For each setting it starts
``mpirun -n R --bind-to none`` on this script in ``--worker`` mode, with R ranks of T BLAS
threads each: 1×2 (one process using both cores through OpenBLAS), 1×1 and 2×1 (one core per
rank). Each worker builds the job exactly as the CLI does (``chainrule.train.prepare``), runs
one warm-up epoch, then times ``--epochs`` training epochs (no evaluation or checkpoints) and
reports the median epoch; every setting runs ``--rounds`` times, in turn, and the fastest
run is kept. Allreduce time is measured two ways: inside the steps
(``DistributedDataParallel.allreduce_seconds``, which includes waiting for the slower rank),
and bare (the same bucket allreduced 200 times right after a barrier).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ((1, 2), (1, 1), (2, 1))  # (ranks, BLAS threads per rank)
BARE_REPEATS = 200


def worker(epochs: int, batch_size: int) -> None:
    """Runs on every rank; rank 0 prints one JSON line of measurements."""
    sys.path.insert(0, str(ROOT))
    from chainrule import train

    with tempfile.TemporaryDirectory() as out:  # prepare() wants a folder; nothing is written
        job = train.prepare(train.Config(dataset="mnist1d", model="cnn", epochs=epochs + 1,
                                         batch_size=batch_size, out=out, distributed=True))
        measurements = measure(job, epochs)
    if job.rank == 0:
        print(json.dumps(measurements), flush=True)


def measure(job, epochs: int) -> dict:
    import numpy as np

    from chainrule import distributed as dist
    from chainrule import train

    comm, MPI = dist.communicator(), dist.mpi()
    train.train_epoch(job, "warm-up")
    seconds, reduce_ms = [], []  # per epoch: wall time, allreduce ms per step
    for epoch in range(epochs):
        comm.Barrier()
        start, reduce_s = time.perf_counter(), job.ddp.allreduce_seconds
        train.train_epoch(job, f"epoch {epoch}")
        comm.Barrier()
        seconds.append(time.perf_counter() - start)
        reduce_ms.append(1e3 * (job.ddp.allreduce_seconds - reduce_s) / job.steps_per_epoch)
    params = list(job.model.parameters())
    bucket = np.zeros(sum(p.size for p in params) + len(params) + 1, np.float32)
    bare = []
    for _ in range(BARE_REPEATS):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, bucket, op=MPI.SUM)
        bare.append(time.perf_counter() - start)
    epoch_s = statistics.median(seconds)
    return {"samples_per_s": len(job.loader.dataset) / epoch_s,
            "ms_per_step": 1e3 * epoch_s / job.steps_per_epoch,
            "allreduce_ms_per_step": statistics.median(reduce_ms),
            "bare_allreduce_us": 1e6 * statistics.median(bare) if job.world_size > 1 else 0.0,
            "bucket_kib": bucket.nbytes / 1024}


def launch(ranks: int, threads: int, epochs: int, batch_size: int) -> dict:
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("bench/scaling.py: Open MPI's mpirun is missing (apt-get install openmpi-bin)")
    command = [mpirun, "-n", str(ranks), "--bind-to", "none", "--oversubscribe"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    command += [sys.executable, __file__, "--worker", "--epochs", str(epochs),
                "--batch-sizes", str(batch_size)]
    env = {**os.environ, **{v: str(threads) for v in
                            ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    r = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        sys.exit(f"bench/scaling.py: {' '.join(command)} failed:\n{r.stdout}{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="timed epochs per run")
    p.add_argument("--rounds", type=int, default=3,
                   help="runs of every setting, in turn; the fastest is reported, since other "
                   "load only ever slows a run down")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000],
                   help="global batch sizes (100 is the CLI's default for mnist1d)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.epochs, args.batch_sizes[0])
        return
    load = os.getloadavg()[0]
    best: dict[tuple, dict] = {}
    for _ in range(args.rounds):
        for batch in args.batch_sizes:
            for ranks, threads in SETTINGS:
                m = launch(ranks, threads, args.epochs, batch)
                key = (batch, ranks, threads)
                if key not in best or m["samples_per_s"] > best[key]["samples_per_s"]:
                    best[key] = m
    header = ("ranks × BLAS threads", "batch (per rank)", "samples/s", "vs 1 × 2",
              "ms/step", "allreduce ms/step (in step)", "bare allreduce µs")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for (batch, ranks, threads), m in best.items():
        base = best[(batch, *SETTINGS[0])]["samples_per_s"]
        print(f"| {ranks} × {threads} | {batch} ({batch // ranks}) | "
              f"{m['samples_per_s']:,.0f} | {m['samples_per_s'] / base:.2f}× | "
              f"{m['ms_per_step']:.2f} | "
              + (f"{m['allreduce_ms_per_step']:.3f} | {m['bare_allreduce_us']:.0f} |"
                 if ranks > 1 else "— | — |"))
    print(f"\none Allreduce per step of a {m['bucket_kib']:.1f} KiB float32 bucket (all "
          "gradients, one flag per parameter, the sample count); median epoch of "
          f"{args.epochs} after a warm-up, fastest of {args.rounds} runs; {os.cpu_count()} "
          f"cores, load average {load:.2f} at the start")


if __name__ == "__main__":
    main()
