"""The one timing helper every case uses, and the row a case reports.

``compare`` times several implementations of the same computation in blocks that take turns
(three rounds of: a pause, a warm-up, then calls until the block's share of the time budget
is spent), so slow drift in the machine's speed (a shared VM) reaches all of them alike. Every
call is timed on its own with ``time.perf_counter`` and the median is reported, which ignores
the occasional outlier (a GC pass, a page fault) that a mean would absorb. The garbage
collector stays on: users run with it, and an engine that allocates more objects pays for it.

Why blocks, and not the implementations interleaved call by call? Both NumPy's OpenBLAS and
PyTorch's OpenMP keep their worker threads spinning for a while after each call; interleaved,
one library's spinning threads steal the cores the other needs, and on a 2-core machine
PyTorch's 784-256-256-10 step measured 3.4× slower than alone.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

BUDGET = 1.0  # seconds of timed calls per implementation per case (``run.py --budget``)
SETTLE = 0.15  # seconds of pause before each block
ROUNDS = 3  # blocks per implementation, taking turns


@dataclass
class Stats:
    median: float  # seconds per call
    q1: float
    q3: float
    n: int


def stats(samples: list[float]) -> Stats:
    q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else samples * 3
    return Stats(statistics.median(samples), q1, q3, len(samples))


def compare(impls: dict[str, Callable[[], object]], budget: float | None = None,
            *, min_calls: int = 5, warmup: int = 3, rounds: int = ROUNDS) -> dict[str, Stats]:
    """Median seconds per call of each zero-argument callable, timed in blocks that take turns
    (A B C, A B C, ...: ``rounds`` blocks each, ``budget`` seconds in all per callable), so a
    slow drift of the machine's speed reaches every implementation alike."""
    budget = BUDGET if budget is None else budget
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for r in range(rounds):
        for name, fn in impls.items():
            time.sleep(SETTLE)  # let the previous library's worker threads go idle
            t_end = time.perf_counter() + 0.1 * budget / rounds
            for _ in range(warmup):  # caches, lazy imports, allocator pools
                fn()
            while time.perf_counter() < t_end:
                fn()
            own = samples[name]
            t_end = time.perf_counter() + budget / rounds
            while len(own) < min_calls * (r + 1) or time.perf_counter() < t_end:
                t0 = time.perf_counter()
                fn()
                own.append(time.perf_counter() - t0)
    return {name: stats(s) for name, s in samples.items()}


@dataclass
class Row:
    """One line of the results table: chainrule next to PyTorch (and a NumPy reference)."""
    case: str
    unit: str  # e.g. "µs/op"; values are seconds per call times ``scale``
    scale: float
    chainrule: Stats
    torch: Stats | None = None
    numpy: Stats | None = None
    target: float | None = None  # informational goal: chainrule/PyTorch ratio ≤ target ...
    target_abs: bool = False  # ... or, if set, chainrule's own value (in ``unit``) ≤ target
    note: str = ""
