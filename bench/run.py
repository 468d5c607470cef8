"""Run every benchmark case once: chainrule vs PyTorch eager vs a hand-written NumPy reference.

    .venv/bin/python bench/run.py [--budget SECONDS] [--only NAME ...]     (or: make bench)

Prints the table of medians and ratios and writes it, with the machine info, to
bench/results.md (overwritten). Every case checks that the frameworks agree before timing.
"""
from __future__ import annotations

import os

# Same thread count for every BLAS in the run (NumPy's OpenBLAS and PyTorch's MKL/OpenMP),
# set before NumPy or PyTorch is imported; PyTorch also gets torch.set_num_threads below.
THREADS = 2
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import numpy as np  # noqa: E402
import timing  # noqa: E402
import torch  # noqa: E402

CASES = ("op_overhead", "mlp", "nn_mlp", "lenet", "hessian", "import_time", "kernels", "compiled")
COLUMNS = ("case", "unit", "chainrule", "PyTorch", "NumPy", "cr/PyTorch", "target", "cr/NumPy")


def fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.3g}"


def cells(row: timing.Row) -> list[str]:
    med = lambda s: "—" if s is None else fmt(s.median * row.scale)
    ratio = lambda s: "—" if s is None else f"{row.chainrule.median / s.median:.2f}×"
    target = "—"
    if row.target is not None:
        value = (row.chainrule.median * row.scale if row.target_abs
                 else row.chainrule.median / row.torch.median)
        verdict = "met" if value <= row.target else "MISSED"
        goal = f"{row.target:g} {row.unit}" if row.target_abs else f"{row.target:g}×"
        target = f"≤ {goal} {verdict}"
    elif row.note:
        target = row.note
    return [row.case, row.unit, med(row.chainrule), med(row.torch), med(row.numpy),
            ratio(row.torch), target, ratio(row.numpy)]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |",
           "|" + "|".join(["---"] + ["--:"] * (len(rows[0]) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def spread_table(results: list[timing.Row]) -> str:
    out = ["| case | impl | median | IQR | calls timed |", "|---|---|--:|--:|--:|"]
    seen: set[int] = set()  # a Stats shared by two rows (hessian's chainrule) appears once
    for row in results:
        for impl, s in (("chainrule", row.chainrule), ("PyTorch", row.torch),
                        ("NumPy", row.numpy)):
            if s is not None and id(s) not in seen:
                seen.add(id(s))
                out.append(f"| {row.case} | {impl} | {fmt(s.median * row.scale)} {row.unit} | "
                           f"{fmt(s.q1 * row.scale)}–{fmt(s.q3 * row.scale)} | {s.n} |")
    return "\n".join(out)


def machine_info() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "chainrule"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        commit += " (chainrule/ has uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return [f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
            f"CPU: {cpu}; os.cpu_count() = {os.cpu_count()}, "
            f"usable = {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}",
            f"Python {platform.python_version()} on {platform.platform()}",
            f"numpy {np.__version__} (BLAS: {blas.get('name')} {blas.get('version')}), "
            f"torch {torch.__version__} (torch.get_num_threads() = {torch.get_num_threads()})",
            f"threads: {', '.join(f'{v}={os.environ[v]}' for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'))}",  # noqa: E501
            f"chainrule commit: {commit}"]


def busy_cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have used, CPU seconds this one and its children have)."""
    own = os.times()
    own_s = own.user + own.system + own.children_user + own.children_system
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, f.readline().split()[1:8])
    except (OSError, ValueError):
        return own_s, own_s
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), own_s


def command() -> str:
    exe = Path(sys.executable)
    exe_s = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else str(exe)
    script = Path(sys.argv[0]).resolve()
    script_s = str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else sys.argv[0]
    return " ".join([exe_s, script_s] + sys.argv[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=timing.BUDGET,
                    help="seconds of timed calls per implementation per case (default 1)")
    ap.add_argument("--only", nargs="+", choices=CASES, help="run only these case modules")
    ap.add_argument("--out", default=str(HERE / "results.md"), help="Markdown output file")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    t0, (all0, own0) = time.perf_counter(), busy_cpu_seconds()
    results: list[timing.Row] = []
    for name in args.only or CASES:
        t_case = time.perf_counter()
        module = importlib.import_module(f"cases.{name}")
        rows = module.run(args.budget)
        results += rows
        print(f"[{name}: {time.perf_counter() - t_case:.1f} s]", file=sys.stderr, flush=True)
    table = [list(COLUMNS)] + [cells(r) for r in results]
    total = time.perf_counter() - t0
    all1, own1 = busy_cpu_seconds()
    others = max(0.0, (all1 - all0) - (own1 - own0)) / total
    load = (f"other processes used {others:.2f} of {os.cpu_count()} cores on average during "
            "the run" + (" — NOISY, rerun on a quiet machine" if others > 0.1 else ""))
    print(text_table(table))
    print(f"\ntotal {total:.0f} s; medians; ratios < 1 mean chainrule is faster; {load}")
    info = machine_info() + [load]
    md = ["# chainrule benchmarks", "",
          "Generated by `bench/run.py` (do not edit by hand; rerun `make bench`).", "",
          f"Command: `{command()}` (total {total:.0f} s)", ""]
    md += [f"- {line}" for line in info]
    md += ["", "Medians of individually timed calls; the implementations take turns in three "
           "rounds of blocks, each after a pause and a warm-up (see bench/timing.py). Ratios "
           "< 1 mean chainrule is faster. Targets are informational; this VM's ratios move by "
           "up to ±30% between runs.", "",
           md_table(table), "", "## Spread", "", spread_table(results), ""]
    Path(args.out).write_text("\n".join(md), encoding="utf-8")
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
