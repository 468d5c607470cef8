"""cProfile chainrule's side of a case: where does the engine spend its time?

    .venv/bin/python bench/profile_cases.py [op_overhead|mlp_small|mlp_step|hessian|
                                             nn_mlp|lenet] [-n 30] [--phases]

Prints the top functions by own time (tottime) and by cumulative time. For the ``cr.nn``
cases (``nn_mlp``, ``lenet``), ``--phases`` prints instead the median time of forward + loss,
backward, and optimizer step + ``zero_grad``, each timed on its own, without the profiler.
For the engine engineer; not part of ``make bench``.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")  # as bench/run.py, before NumPy is imported

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402
from cases import _nn_step, hessian, lenet, mlp, nn_mlp, op_overhead  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as CF  # noqa: E402

CHOICES = ("op_overhead", "mlp_small", "mlp_step", "hessian", "nn_mlp", "lenet")
NN_CASES = {"nn_mlp": (nn_mlp, 300), "lenet": (lenet, 30)}


def nn_setup(name: str):
    """(model, optimizer, x, y) of a ``cr.nn`` case, from PyTorch's initial weights."""
    case, _ = NN_CASES[name]
    model, _ = _nn_step.pair(case.build_chainrule, case.build_torch)
    x, y = case.batch()
    return model, cr.optim.SGD(model.parameters(), lr=_nn_step.LR), cr.tensor(x), y


def workload(name: str):
    """(zero-argument step, calls to profile)"""
    if name == "op_overhead":
        x = cr.tensor(np.random.default_rng(0).standard_normal(16).astype(np.float32),
                      requires_grad=True)
        return lambda: op_overhead.step_chainrule(x), 200
    if name == "hessian":
        x = cr.tensor(np.random.default_rng(0).standard_normal(hessian.N))
        h = cr.hessian(hessian.rosenbrock)
        return lambda: h(x), 500
    if name in NN_CASES:
        model, opt, x, y = nn_setup(name)
        return lambda: _nn_step.step_chainrule(model, opt, x, y), NN_CASES[name][1]
    sizes, batch = ((64, 32, 32, 10), 16) if name == "mlp_small" else ((784, 256, 256, 10), 128)
    p0, x, y = mlp.init(sizes, batch)
    params = [cr.tensor(p, requires_grad=True) for p in p0]
    rows = np.arange(batch)
    return lambda: mlp.step_chainrule(params, x, y, rows), 2000 if name == "mlp_small" else 300


def phases(name: str, seconds: float = 3.0) -> None:
    """Median ms of each phase of the step, over calls for about ``seconds``."""
    model, opt, x, y = nn_setup(name)
    times: dict[str, list[float]] = {"forward + loss": [], "backward": [],
                                     "step + zero_grad": [], "whole step": []}
    t_end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < t_end or n < 10:
        t0 = time.perf_counter()
        loss = CF.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        del loss
        if n >= 3:  # warm-up
            for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                times[key].append(dt)
        n += 1
    print(f"{name}: medians over {n - 3} chainrule steps")
    for key, ts in times.items():
        print(f"  {key:<17} {statistics.median(ts) * 1e3:8.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", nargs="?", default="op_overhead", choices=CHOICES)
    ap.add_argument("-n", type=int, default=25, help="rows to print")
    ap.add_argument("--phases", action="store_true",
                    help="time forward, backward and optimizer separately (nn_mlp, lenet)")
    args = ap.parse_args()
    if args.phases:
        if args.case not in NN_CASES:
            ap.error(f"--phases needs one of {', '.join(NN_CASES)}")
        phases(args.case)
        return
    step, calls = workload(args.case)
    for _ in range(5):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        step()
    prof.disable()
    print(f"{args.case}: {calls} calls of the chainrule step")
    st = pstats.Stats(prof).strip_dirs()
    st.sort_stats("tottime").print_stats(args.n)
    st.sort_stats("cumulative").print_stats(args.n)


if __name__ == "__main__":
    main()
