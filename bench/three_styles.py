"""As written, fused and ``cr.compile``'d steps next to NumPy by hand and PyTorch eager, on
ONE thread, interleaved round by round (for a busy machine, where the 2-thread blocks of
``run.py`` are unreliable). jax.jit: run ``bench/jax_steps.py`` with the same thread settings.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/three_styles.py
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import jax_steps  # noqa: E402
import torch  # noqa: E402
from cases import _nn_step, lenet  # noqa: E402
from cases import compiled as C  # noqa: E402

import chainrule as cr  # noqa: E402


def interleaved(impls: dict, calls: int, rounds: int = 11) -> dict:
    """Median seconds per call of each implementation, the implementations taking turns."""
    samples = {k: [] for k in impls}
    for _ in range(rounds):
        for k, f in impls.items():
            f()
            t0 = time.perf_counter()
            for _ in range(calls):
                f()
            samples[k].append((time.perf_counter() - t0) / calls)
    return {k: statistics.median(v) for k, v in samples.items()}


def traced(make, args):
    """A compiled step, and what tracing it took: three fresh ``cr.compile`` objects, each
    timed on its first call (one training step, traced), best and all (the first trace in a
    process also pays one-time warm-ups)."""
    times = []
    for _ in range(3):
        compiled = make()
        t0 = time.perf_counter()
        compiled(*args)
        times.append((time.perf_counter() - t0) * 1e3)
    return compiled, f"{min(times):.1f} ms, best of " + ", ".join(f"{t:.1f}" for t in times)


def main() -> None:
    torch.set_num_threads(1)
    for key, (sizes, batch) in jax_steps.SHAPES.items():
        nat, _, nat_pt, _, _ = C._steps(sizes, batch, natural=True)
        fused, step, pt, step_np, args = C._steps(sizes, batch, natural=False)
        compiled, trace = traced(lambda: cr.compile(step), args)
        m = interleaved({"as written": nat, "fused": fused, "cr.compile": lambda: compiled(*args),
                         "NumPy": step_np, "PyTorch": pt, "PyTorch as written": nat_pt},
                        100 if key == "small" else 8)
        print(f"mlp {'-'.join(map(str, sizes))} (trace {trace})")
        for k, v in m.items():
            ref = m["PyTorch as written"] if k == "as written" else m["PyTorch"]
            print(f"  {k:20s} {v * 1e6:9.1f} µs  {v / ref:.2f}× PyTorch")
    x, y = lenet.batch()
    (m_a, m_pt), (m_b, _) = (_nn_step.pair(lenet.build_chainrule, lenet.build_torch)
                             for _ in range(2))
    o_a, o_b = cr.optim.SGD(m_a.parameters(), lr=0.01), cr.optim.SGD(m_b.parameters(), lr=0.01)
    o_pt = torch.optim.SGD(m_pt.parameters(), lr=0.01)
    x_cr, x_pt, y_pt = cr.tensor(x), torch.from_numpy(x), torch.from_numpy(y)
    compiled, trace = traced(
        lambda: cr.compile(lambda a, b: _nn_step.step_chainrule(m_b, o_b, a, b)), (x_cr, y))
    m = interleaved({"eager": lambda: _nn_step.step_chainrule(m_a, o_a, x_cr, y),
                     "cr.compile": lambda: compiled(x_cr, y),
                     "PyTorch": lambda: _nn_step.step_torch(m_pt, o_pt, x_pt, y_pt)}, 4, 9)
    print(f"lenet (trace {trace})")
    for k, v in m.items():
        print(f"  {k:20s} {v * 1e3:9.2f} ms  {v / m['PyTorch']:.2f}× PyTorch")


if __name__ == "__main__":
    main()
