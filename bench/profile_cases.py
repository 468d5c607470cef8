"""cProfile chainrule's side of a case: where does the engine spend its time?

    .venv/bin/python bench/profile_cases.py [op_overhead|mlp_small|mlp_step|hessian] [-n 30]

Prints the top functions by own time (tottime) and by cumulative time. For the engine
engineer; not part of ``make bench``.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402
from cases import hessian, mlp, op_overhead  # noqa: E402

import chainrule as cr  # noqa: E402


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
    sizes, batch = ((64, 32, 32, 10), 16) if name == "mlp_small" else ((784, 256, 256, 10), 128)
    p0, x, y = mlp.init(sizes, batch)
    params = [cr.tensor(p, requires_grad=True) for p in p0]
    rows = np.arange(batch)
    return lambda: mlp.step_chainrule(params, x, y, rows), 2000 if name == "mlp_small" else 300


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", nargs="?", default="op_overhead",
                    choices=("op_overhead", "mlp_small", "mlp_step", "hessian"))
    ap.add_argument("-n", type=int, default=25, help="rows to print")
    args = ap.parse_args()
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
