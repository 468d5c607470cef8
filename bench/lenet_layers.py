"""Where the LeNet step's time goes, chainrule next to PyTorch eager, layer by layer.

    PYTHONPATH=. python bench/lenet_layers.py --threads 2 [--rounds 15] [--only step,conv2]

Sets OMP/OPENBLAS/MKL_NUM_THREADS and ``torch.set_num_threads`` before NumPy is imported (the
bench's setting is 2), then times, in alternating blocks of calls (a pause between blocks so
one library's spinning worker threads do not steal the other's cores), the whole SGD step
(eager and under ``cr.compile``) and each layer's forward + backward alone. Prints medians
and the ratio chainrule / PyTorch. Timings on a shared machine are noisy: repeat the run, or
at one thread use ``--cpu`` (all the work then runs in the calling thread, whose CPU time other
processes do not inflate). At 2 threads, ``--quiet-only`` keeps only the blocks during which no
other process used the CPU, and, at 2 threads or more, ``--unsplit-too`` adds chainrule
with its conv/pool work on one thread (``chainrule.ops.parallel``), interleaved in the same
process.
"""
from __future__ import annotations

import argparse
import os
import sys

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=15, help="blocks per implementation")
ap.add_argument("--block", type=int, default=15, help="calls per block")
ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
ap.add_argument("--cpu", action="store_true",
                help="time the calling thread's CPU time, not wall time: with --threads 1 it "
                     "is not inflated by other processes waiting for the same cores")
ap.add_argument("--quiet-only", action="store_true",
                help="keep only blocks during which other processes used no CPU (Linux "
                     "/proc/stat): on a shared machine, waits for quiet moments instead of "
                     "averaging the other processes' load in")
ap.add_argument("--unsplit-too", action="store_true",
                help="also time chainrule with its per-sample splitting off (its conv and "
                     "pooling copies on one thread, BLAS threads as set), interleaved with "
                     "the others: the split's effect, measured in one process")
ap.add_argument("--general-pool-too", action="store_true",
                help="also time chainrule with 2x2 max pooling's forward on the general loop "
                     "instead of by pairs (``chainrule.ops.conv.PAIRS``), interleaved")
args = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import _nn_step, lenet  # noqa: E402

from chainrule.ops import conv, parallel  # noqa: E402

torch.set_num_threads(args.threads)


def _others_ticks() -> int:
    """CPU ticks the whole machine has been busy minus this process's own (Linux)."""
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    with open("/proc/self/stat") as f:
        mine = f.read().rsplit(")", 1)[1].split()
    return sum(cpu) - cpu[3] - cpu[4] - int(mine[11]) - int(mine[12])  # - idle, iowait


DROPPED = [0]


def timed(impls: dict, rounds: int, block: int) -> dict[str, float]:
    """Median seconds per call of each callable, blocks of calls alternating between them
    (with ``--quiet-only``, a block is run again, up to 50 times, while other processes
    used the CPU during it)."""
    clock = time.thread_time if args.cpu else time.perf_counter
    samples: dict[str, list[float]] = {k: [] for k in impls}
    for fn in impls.values():  # warm-up: caches, lazy imports, compile traces
        for _ in range(3):
            fn()
    for _ in range(rounds):
        for name, fn in impls.items():
            for _attempt in range(50 if args.quiet_only else 1):
                time.sleep(0.05)
                fn()
                times = []
                before = _others_ticks() if args.quiet_only else 0
                for _ in range(block):
                    t0 = clock()
                    fn()
                    times.append(clock() - t0)
                if not args.quiet_only or _others_ticks() - before <= 1:
                    break
                DROPPED[0] += 1
            samples[name] += times
    return {k: statistics.median(v) for k, v in samples.items()}


def step_cases():
    x, y = lenet.batch()
    m_cr, m_pt = _nn_step.pair(lenet.build_chainrule, lenet.build_torch)
    o_cr = cr.optim.SGD(m_cr.parameters(), lr=_nn_step.LR)
    o_pt = torch.optim.SGD(m_pt.parameters(), lr=_nn_step.LR)
    xc, xp, yp = cr.tensor(x), torch.from_numpy(x), torch.from_numpy(y)
    yield "step", (lambda: _nn_step.step_chainrule(m_cr, o_cr, xc, y),
                   lambda: _nn_step.step_torch(m_pt, o_pt, xp, yp))
    m_cr2, m_pt2 = _nn_step.pair(lenet.build_chainrule, lenet.build_torch)
    o_cr2 = cr.optim.SGD(m_cr2.parameters(), lr=_nn_step.LR)
    o_pt2 = torch.optim.SGD(m_pt2.parameters(), lr=_nn_step.LR)
    step = cr.compile(lambda a, b: _nn_step.step_chainrule(m_cr2, o_cr2, a, b))
    yield "compiled", (lambda: step(xc, y), lambda: _nn_step.step_torch(m_pt2, o_pt2, xp, yp))


def layer_case(f_cr, f_pt, *shapes, input_grad=True):
    """Forward + backward of one layer function on fresh float32 leaves of these shapes
    (the first one without a gradient if not ``input_grad``: the network's input)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    req = [input_grad or i > 0 for i in range(len(arrays))]
    tc = [cr.tensor(a, requires_grad=r) for a, r in zip(arrays, req)]
    tp = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, req)]
    g = rng.standard_normal(f_pt(*tp).shape).astype(np.float32)
    gc, gp = cr.tensor(g), torch.from_numpy(g)

    def run_cr():
        for t in tc:
            t.grad = None
        (f_cr(*tc) * gc).sum().backward()

    def run_pt():
        for t in tp:
            t.grad = None
        (f_pt(*tp) * gp).sum().backward()
    return run_cr, run_pt


def layer_cases():
    yield "conv1 1->8", layer_case(lambda x, w, b: F.conv2d(x, w, b),
                                   lambda x, w, b: TF.conv2d(x, w, b),
                                   (64, 1, 28, 28), (8, 1, 5, 5), (8,), input_grad=False)
    yield "conv2 8->16", layer_case(lambda x, w, b: F.conv2d(x, w, b),
                                    lambda x, w, b: TF.conv2d(x, w, b),
                                    (64, 8, 12, 12), (16, 8, 5, 5), (16,))
    yield "relu1", layer_case(F.relu, torch.relu, (64, 8, 24, 24))
    yield "pool1", layer_case(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
                              (64, 8, 24, 24))
    yield "pool2", layer_case(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
                              (64, 16, 8, 8))
    yield "linear", layer_case(lambda x, w, b: F.linear(x.reshape(64, -1), w, b),
                               lambda x, w, b: TF.linear(x.reshape(64, -1), w, b),
                               (64, 16, 4, 4), (10, 256), (10,))


def unsplit(fn):
    """fn() with chainrule's per-sample splitting off (``chainrule.ops.parallel``)."""
    was = parallel.threads()
    parallel.THREADS = 1
    try:
        fn()
    finally:
        parallel.THREADS = was


def general_pool(fn):
    """fn() with 2x2 max pooling's forward on the general loop (``chainrule.ops.conv``)."""
    conv.PAIRS = False
    try:
        fn()
    finally:
        conv.PAIRS = True


VARIANTS = {"unsplit": unsplit, "general pool": general_pool}


def main():
    only = set(filter(None, args.only.split(",")))
    if args.cpu and args.threads != 1:
        ap.error("--cpu measures one thread: use it with --threads 1")
    print(f"threads {args.threads}; medians of {args.rounds}×{args.block} calls"
          f"{' (thread CPU time)' if args.cpu else ''}")
    variants = [v for v, on in (("unsplit", args.unsplit_too),
                                ("general pool", args.general_pool_too)) if on]
    print(f"{'case':<14}{'chainrule':>12}{'PyTorch':>12}{'ratio':>8}"
          + "".join(f"{v:>14}{'ratio':>8}" for v in variants))
    for gen in (step_cases, layer_cases):
        for name, (f_cr, f_pt) in gen():
            if only and name.split()[0] not in only:
                continue
            impls = {"cr": f_cr, "pt": f_pt}
            for v in variants:
                impls[v] = lambda f=f_cr, run=VARIANTS[v]: run(f)
            t = timed(impls, args.rounds, args.block)
            extra = "".join(f"{t[v] * 1e3:>11.3f} ms{t[v] / t['pt']:>7.2f}×" for v in variants)
            print(f"{name:<14}{t['cr'] * 1e3:>9.3f} ms{t['pt'] * 1e3:>9.3f} ms"
                  f"{t['cr'] / t['pt']:>7.2f}×{extra}", flush=True)
    if args.quiet_only:
        print(f"({DROPPED[0]} blocks run again: other processes were busy)")


if __name__ == "__main__":
    main()
