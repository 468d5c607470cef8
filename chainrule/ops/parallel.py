"""Per-sample NumPy work split over threads, as many as the CPUs this process may use.

NumPy runs a GEMM on several cores (OpenBLAS's threads) but every copy, ufunc and small
batched matmul on one; PyTorch spreads convolution, pooling and elementwise work over all
its threads. NumPy releases the GIL inside its loops, so Python threads that each run the
same NumPy calls on their own slice of the batch can run at once.

Only work whose result for one sample does not depend on the others is split, each part
writing its own rows of an array allocated beforehand: the results are the bytes the serial
call gives (no summation order changes; a reduction over the batch runs afterwards, on the
whole array, in the caller).

**How many threads** (read once, lazily; at most ``MAX_THREADS``): ``CHAINRULE_THREADS`` if
set, else ``OMP_NUM_THREADS`` if set (the variable PyTorch's thread count follows, so one
setting gives both libraries the same count), else the CPUs this process may run on, as
PyTorch does. ``CHAINRULE_THREADS=1`` turns splitting off: every call runs in the caller and
no helper thread is ever started. On this project's 2-core VM, in the bench's process beside
PyTorch's and OpenBLAS's own worker threads, LeNet's eager step split over 2 threads ran
1.14–1.36× PyTorch's time against 1.50–1.86× serial, four runs each, taking turns
(``CHAINRULE_THREADS=1`` and ``=2`` with ``bench/run.py --only lenet``). The helpers are
daemon threads, started on first use, one fewer than the thread count (the caller does a
share), with the caller's floating-point error settings (``np.errstate``). A call made
while another thread is already splitting (a user's own threads, or a nested split) runs
serially instead of waiting.

>>> import numpy as np
>>> out = np.empty(6)
>>> def square(lo, hi):
...     np.multiply(np.arange(lo, hi), np.arange(lo, hi), out=out[lo:hi])
>>> split(6, 6, square, min_chunk=1)
>>> out.tolist()
[0.0, 1.0, 4.0, 9.0, 16.0, 25.0]
"""
from __future__ import annotations

import os
import queue
import threading

import numpy as np

MAX_THREADS = 8
MIN_CHUNK = 1 << 16  # elements per part at least: a hand-off costs 10-30 µs (measured: LeNet's
# second pooling layer, 65,536 elements, ran slower split in two, its first, 294,912, faster)
SPLIT_SIZE = 2 * MIN_CHUNK  # arrays smaller than this are never split: callers test it inline
THREADS: int | None = None  # None: from the environment on first use (tests set it)

_helpers: list = []
_busy = threading.Lock()


def threads() -> int:
    """How many threads split work runs on (the caller included): ``CHAINRULE_THREADS``,
    else ``OMP_NUM_THREADS``, else the CPUs this process may run on."""
    global THREADS
    if THREADS is None:
        THREADS = _from_environment()
    return THREADS


def _from_environment() -> int:
    for name in ("CHAINRULE_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()  # OpenMP's "4,2": the outer
        if value:  # set, but not a positive count: one thread
            return min(int(value), MAX_THREADS) if value.isdigit() and int(value) > 0 else 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not Linux)
        cpus = os.cpu_count() or 1
    return min(cpus, MAX_THREADS)


class _Helper:
    """One daemon thread running the callables put in its inbox, each with the queue its
    answer goes to (None, or the exception it raised)."""

    def __init__(self):
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="chainrule-split", daemon=True).start()

    def _loop(self):
        while True:
            task, answers = self.inbox.get()
            try:
                task()
                answers.put(None)
            except BaseException as e:  # handed to the caller, which raises it
                answers.put(e)


def _forget_helpers():
    _helpers.clear()  # a forked child has none of its parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def parts(n: int, work: int, min_chunk: int = MIN_CHUNK) -> int:
    """Into how many parts to split ``n`` samples whose whole job touches ``work``
    elements: 1 (serial) when there is one thread or too little work to pay a hand-off."""
    return max(1, min(threads(), n, work // max(min_chunk, 1)))


def split(n: int, work: int, fn, min_chunk: int = MIN_CHUNK) -> None:
    """Call ``fn(lo, hi)`` on consecutive ranges covering ``range(n)``, at once on up to
    ``threads()`` threads (the caller runs the first range). ``fn`` must write only its own
    rows of arrays made beforehand. The first exception any part raised is raised here,
    after every part has finished."""
    k = parts(n, work, min_chunk)
    if k == 1 or not _busy.acquire(blocking=False):
        fn(0, n)
        return
    try:
        while len(_helpers) < k - 1:
            _helpers.append(_Helper())
        bounds = [n * i // k for i in range(k + 1)]
        errstate = np.geterr()  # thread-local: the helpers follow the caller's

        def task(lo, hi):
            with np.errstate(**errstate):
                fn(lo, hi)

        # This call's own answers: a wait cut short (Ctrl-C) leaves its late answers there,
        # never in a queue that the next call would read as its own parts being done.
        answers: queue.SimpleQueue = queue.SimpleQueue()
        for helper, lo, hi in zip(_helpers, bounds[1:-1], bounds[2:]):
            helper.inbox.put((lambda lo=lo, hi=hi: task(lo, hi), answers))
        error = None
        try:
            fn(0, bounds[1])
        except BaseException as e:
            error = e
        for _ in range(k - 1):  # wait for every part: they write the caller's arrays
            e = answers.get()
            error = error or e
        if error is not None:
            raise error
    finally:
        _busy.release()


def by_rows(fn, like, *arrays):
    """``fn(*arrays)``, elementwise over arrays of ``like``'s shape, its result of ``like``'s
    floating dtype: for large arrays computed as ``fn(*rows, out=rows of a new array)`` with
    the rows split over the threads (an elementwise result is the serial bytes, whatever
    the split); otherwise, or when any operand is not a plain ndarray (a Tensor, in the
    rules' tensor mode), one plain call.

    >>> import numpy as np
    >>> x = np.arange(-2.0, 2.0)
    >>> by_rows(lambda a, out=None: np.maximum(a, 0, out=out), x, x).tolist()
    [0.0, 0.0, 0.0, 1.0]
    """
    if type(like) is not np.ndarray or like.size < SPLIT_SIZE or not like.ndim \
            or like.dtype.kind != "f" or parts(len(like), like.size) == 1 \
            or any(type(a) is not np.ndarray or a.shape != like.shape for a in arrays):
        return fn(*arrays)  # (small arrays leave at the second test)
    out = np.empty(like.shape, like.dtype)
    split(len(like), like.size,
          lambda lo, hi: fn(*[a[lo:hi] for a in arrays], out=out[lo:hi]))
    return out
