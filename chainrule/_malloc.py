"""Keep freed memory in the process instead of returning it to the OS after every step.

A training step allocates and frees many multi-megabyte arrays (im2col columns, activations,
gradients). glibc's malloc serves blocks above its mmap threshold with fresh ``mmap`` pages and
gives freed heap tops back to the OS, so every step page-faults its working set in again:
~1,900 faults and ~3 ms per LeNet step on a 2-core machine (``bench/run.py --only lenet`` with
``CHAINRULE_MALLOC_TUNING=0`` and without). glibc raises these thresholds by itself as it sees
large blocks freed, up to a 32 MiB mmap threshold and twice that for trimming; this starts
there instead of learning it block by block. The cost is free memory the process keeps for
reuse instead of handing back at once, as glibc would after its own adjustment.

Process-wide (like the ``LD_PRELOAD=libjemalloc.so`` that PyTorch's CPU tuning guides
recommend, but only two thresholds); ``CHAINRULE_MALLOC_TUNING=0`` turns it off. A no-op
where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
MMAP_THRESHOLD = 32 * 2 ** 20  # glibc's upper limit on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # where glibc's own adjustment ends up


def tune() -> bool:
    """Apply the thresholds; returns whether they were applied."""
    if os.environ.get("CHAINRULE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith(
            "linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
