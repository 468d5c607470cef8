"""A KeyboardInterrupt at any moment of an op, a backward pass, a transform or a Module call
leaves grad mode, anomaly mode and forward-mode levels as they were, and is never swallowed.

A timer raises KeyboardInterrupt at a random microsecond inside each call, thousands of times
(Unix only: SIGALRM). The library restores modes in ``finally`` blocks with no call in between;
a user's own ``with cr.no_grad():`` block is the one place left with a window: CPython checks
for a pending signal on entry to ``__exit__``, before its first line runs."""
from __future__ import annotations

import gc
import signal
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.engine import STATE

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")


def _workloads():
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((8, 8)), requires_grad=True)
    x = cr.tensor(rng.standard_normal((4, 8)))
    model = cr.nn.Sequential(cr.nn.Linear(8, 16), cr.nn.ReLU(), cr.nn.Linear(16, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    y = np.array([0, 1, 2, 1])

    def ops():
        for _ in range(20):  # long enough for the timer's resolution (~50 µs of slack)
            cr.sigmoid(cr.tanh(x @ w) * 2 + 1).sum()

    def backward():
        cr.sum(cr.tanh(x @ w) ** 2).backward()

    def transforms():
        cr.grad(lambda v: cr.sum(cr.sin(x @ v)))(w)
        cr.jvp(lambda v: cr.tanh(v), (w,), (cr.ones_like(w),))

    def hessian():
        cr.hessian(lambda v: cr.sum(cr.exp(v) * v))(cr.tensor([0.1, 0.2, 0.3]))

    def module_step():
        loss = cr.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return [ops, backward, transforms, hessian, module_step]


def _clean() -> bool:
    mode = STATE.mode
    return (mode.grad_enabled and not mode.anomaly and not mode.fw_levels and mode.plain
            and STATE.depth == 0)


@pytest.mark.parametrize("work", _workloads(), ids=lambda f: f.__name__)
def test_random_interrupts_leave_no_bad_state(work):
    fired = caught = bad = 0

    def interrupt(signum, frame):
        nonlocal fired
        fired += 1
        raise KeyboardInterrupt

    spans = []
    for _ in range(5):
        start = time.perf_counter()
        work()
        spans.append(time.perf_counter() - start)
    span = max(float(np.median(spans)), 1e-4)  # one call's duration: the window
    rng = np.random.default_rng(1)
    previous = signal.signal(signal.SIGALRM, interrupt)
    # Another library's gc callback (hypothesis registers one) would receive some signals, and
    # CPython swallows exceptions raised in gc callbacks: measure chainrule without them.
    foreign, gc.callbacks[:] = gc.callbacks[:], []
    try:
        calls = 0
        while fired < 1000 and calls < 8000:  # enough hits whatever the machine's load
            calls += 1
            try:
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, span))
                work()
                signal.setitimer(signal.ITIMER_REAL, 0)
            except KeyboardInterrupt:
                caught += 1
            signal.setitimer(signal.ITIMER_REAL, 0)
            if not _clean():
                bad += 1
                cr.engine.STATE.mode = cr.engine.Mode()  # go on measuring from a clean state
                cr.engine.STATE.depth = 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.callbacks[:] = foreign
    assert fired >= 300, f"the timer hit only {fired} calls: the test did not test"
    assert bad == 0, f"{bad} of {fired} interrupts left a changed grad/anomaly/forward mode"
    assert caught == fired, f"{fired - caught} of {fired} interrupts were swallowed"
