"""(e) Wall time of ``import chainrule`` (and ``import torch``) in a fresh interpreter.

Each sample is a new subprocess ``python -c "import X"`` minus the interpreter's own start-up
(``python -c "pass"``, sampled in the same round), median over the rounds. One untimed run of
each first, so that ``.pyc`` files exist and the OS file cache is warm (the subprocesses run
without ``PYTHONDONTWRITEBYTECODE``, which would make every import compile from source).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from timing import Row, stats

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 7
# As a user's shell would have it: .pyc files get written (by the untimed first run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, check=True)
    return time.perf_counter() - t0


def run(budget=None) -> list[Row]:
    codes = {"base": "pass", "cr": "import chainrule", "pt": "import torch",
             "np": "import numpy"}
    for code in codes.values():
        _wall(code)
    samples: dict[str, list[float]] = {k: [] for k in codes if k != "base"}
    for _ in range(REPEATS):
        base = _wall(codes["base"])
        for k in samples:
            samples[k].append(_wall(codes[k]) - base)
    s = {k: stats(v) for k, v in samples.items()}
    return [Row("import time (fresh process, minus `python -c pass`)", "s", 1.0,
                s["cr"], s["pt"], s["np"], target=0.25, target_abs=True,
                note="NumPy column: `import numpy` alone (chainrule's floor)")]
