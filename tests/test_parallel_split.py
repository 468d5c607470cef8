"""Convolution and pooling work split over threads by samples (``chainrule.ops.parallel``):
the same bytes as the serial path, every part run, errors raised, one thread = no helpers."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
from chainrule.ops import conv as C
from chainrule.ops import conv_kernels as K
from chainrule.ops import parallel as P


@pytest.fixture
def record(monkeypatch):
    """Split every job (3 threads, no minimum size) and record which thread ran each part."""
    monkeypatch.setattr(P, "THREADS", 3)
    monkeypatch.setattr(P, "MIN_CHUNK", 1)
    ran = []
    real = P.split

    def split(n, work, fn, min_chunk=P.MIN_CHUNK):
        def part(lo, hi):
            ran.append((lo, hi, threading.get_ident()))
            fn(lo, hi)
        real(n, work, part, 1)

    monkeypatch.setattr(C, "split", split)
    monkeypatch.setattr(K, "split", split)
    return ran


def serial_and_split(record, monkeypatch, fn):
    """fn() once on one thread, once split; both results, and whether parts ran elsewhere."""
    monkeypatch.setattr(P, "THREADS", 1)
    one = fn()
    record.clear()
    monkeypatch.setattr(P, "THREADS", 3)
    many = fn()
    threads = {t for _, _, t in record}
    return one, many, len(threads) > 1


def assert_same_bytes(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes()


CONVS = [  # x, w, stride, padding, dilation
    ((5, 1, 12, 11), (4, 1, 3, 3), (1, 1), (0, 0), (1, 1)),  # wide rows, as LeNet's first
    ((4, 2, 9, 8), (3, 2, 3, 2), (2, 1), (1, 0), (1, 2)),  # strided: (N, C, KH, KW, Ho, Wo)
    ((3, 3, 7, 7), (2, 3, 2, 3), (1, 1), (1, 2), (2, 1)),  # wide, padded and dilated
    ((5, 8, 6, 6), (4, 8, 3, 3), (1, 1), (0, 0), (1, 1)),  # batch-last, as its second
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONVS, ids=str)
def test_conv_kernels_split_give_the_serial_bytes(record, monkeypatch, case, dtype):
    rng = np.random.default_rng(0)
    xs, ws, stride, padding, dilation = case
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    y = K.conv(x, w, stride, padding, dilation)
    gy = rng.standard_normal(y.shape).astype(dtype)
    args = (stride, padding, dilation)

    def run():
        y = K.conv(x, w, *args)  # keeps its windows: the weight gradient takes them
        return (y, K.conv_weight_grad(x, gy, *args, w.shape),
                K.conv_weight_grad(x.copy(), gy, *args, w.shape),  # windows made afresh
                K.conv_input_grad(gy, w, *args, x.shape))

    one, many, spread = serial_and_split(record, monkeypatch, run)
    assert_same_bytes(one, many)
    assert spread
    if not K.batch_last(xs[1], ws[3], xs[2:]):  # wide rows split the batch
        parts = sorted({(lo, hi) for lo, hi, _ in record})
        assert parts[0][0] == 0 and parts[-1][1] == xs[0]


def test_lenet_layers_split_match_pytorch(record):
    """A LeNet forward and backward with every split on, against PyTorch."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              ((6, 1, 28, 28), (8, 1, 5, 5), (8,), (16, 8, 5, 5), (16,))]

    def net(F, x, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        return F.avg_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)

    tc = [cr.tensor(a, requires_grad=True) for a in arrays]
    tp = [torch.tensor(a, requires_grad=True) for a in arrays]
    y_cr, y_pt = net(cr.nn.functional, *tc), net(TF, *tp)
    g = rng.standard_normal(y_pt.shape).astype(np.float32)
    (y_cr * cr.tensor(g)).sum().backward()
    y_pt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y_cr.data, y_pt.detach().numpy(), rtol=1e-4, atol=1e-4)
    for a, b in zip(tc, tp):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-3, atol=1e-4)
    assert len({t for _, _, t in record}) == 3


def _pool_inputs(rng, dtype):
    x = rng.integers(-2, 3, (5, 3, 8, 6)).astype(dtype)  # many ties
    x[0, 0, 0, 0], x[1, 2, 3, 3], x[2, 1, 5, 0] = np.nan, np.inf, -np.inf
    x[3, 0, 0, :2] = np.nan  # a window with two NaN
    return x


@pytest.mark.filterwarnings("error")  # 0·inf stays silent in every thread
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ksize,stride", [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((2, 3), (2, 2))])
def test_pool_kernels_split_give_the_serial_bytes(record, monkeypatch, ksize, stride, dtype):
    rng = np.random.default_rng(1)
    x = _pool_inputs(rng, dtype)
    top = C._window_max(x, ksize, stride)
    g = rng.standard_normal(top.shape).astype(dtype)
    g_bad = g.copy()
    g_bad[1, 1, 0, 0] = np.inf  # meets zero weights: selected, never 0·inf
    avg = np.full(ksize, 1.0 / (ksize[0] * ksize[1]), dtype)
    t = rng.standard_normal((2,) + x.shape).astype(dtype)  # a batch of 2 tangents in front

    def run():
        top = C._window_max(x, ksize, stride)
        hot = C._first_max(x, top, ksize, stride)
        return (top, hot,
                C._gather(x, hot, ksize, stride, x.shape),
                C._gather(t, hot, ksize, stride, x.shape),
                C._gather(x, avg, ksize, stride, x.shape),
                C._scatter(g, hot, ksize, stride, x.shape),
                C._scatter(g_bad, hot, ksize, stride, x.shape),
                C._scatter(t[:, :, :, :top.shape[2], :top.shape[3]], hot, ksize, stride,
                           x.shape),
                C._scatter(g, avg, ksize, stride, x.shape))

    one, many, spread = serial_and_split(record, monkeypatch, run)
    assert_same_bytes(one, many)
    assert spread


def test_max_pool_split_routes_ties_and_nan_as_pytorch(record):
    x = _pool_inputs(np.random.default_rng(2), np.float32)
    x = x[:, :, :, :5]  # an odd width: the general forward (2×2 tiles pool by pairs, unsplit)
    xc, xp = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yp = cr.nn.functional.max_pool2d(xc, 2), TF.max_pool2d(xp, 2)
    yc.sum().backward()
    yp.sum().backward()
    np.testing.assert_array_equal(yc.data, yp.detach().numpy())
    np.testing.assert_array_equal(xc.grad.data, xp.grad.numpy())
    assert len({t for _, _, t in record}) > 1


def test_channel_bias_split_gives_the_serial_bytes(record, monkeypatch):
    rng = np.random.default_rng(4)
    y = rng.standard_normal((7, 4, 5, 3)).astype(np.float32)
    b32, b64 = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4)
    one, many, spread = serial_and_split(record, monkeypatch, lambda: (
        C._channel_bias(y, b32, 4), C._channel_bias(y, b64, 4),
        C._channel_bias(y[None], np.stack([b32, b32])[:, None], 4)))  # a tangent batch
    assert_same_bytes(one, many)
    np.testing.assert_array_equal(many[0], y + b32[:, None, None])
    assert many[1].dtype == np.float64 and spread


def test_split_covers_the_range_and_raises_the_first_error(monkeypatch):
    monkeypatch.setattr(P, "THREADS", 4)
    seen = []
    P.split(10, 10, lambda lo, hi: seen.append((lo, hi)), min_chunk=1)
    assert sorted(seen) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    done = []

    def fail(lo, hi):
        done.append(lo)
        if lo > 0:
            raise ValueError(f"part {lo}")

    with pytest.raises(ValueError, match="part"):
        P.split(8, 8, fail, min_chunk=1)
    assert sorted(done) == [0, 2, 4, 6]  # every part ran before the error was raised
    P.split(3, 3, lambda lo, hi: seen.append("after"), min_chunk=1)  # the helpers still work
    assert seen.count("after") == 3


def test_the_helpers_follow_the_callers_error_settings(monkeypatch):
    monkeypatch.setattr(P, "THREADS", 2)
    zero = np.zeros(4)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        P.split(4, 4, lambda lo, hi: 1.0 / zero[lo:hi] if lo else None, min_chunk=1)
    with np.errstate(divide="ignore"):
        P.split(4, 4, lambda lo, hi: 1.0 / zero[lo:hi], min_chunk=1)


def test_small_jobs_and_nested_splits_run_in_the_caller(monkeypatch):
    monkeypatch.setattr(P, "THREADS", 2)
    me = threading.get_ident()
    where = []
    P.split(64, P.MIN_CHUNK, lambda lo, hi: where.append((lo, hi, threading.get_ident())))
    assert where == [(0, 64, me)]  # too little work for two parts

    def outer(lo, hi):
        inner = []
        P.split(4, 4, lambda a, b: inner.append((a, b)), min_chunk=1)
        where.append(inner)

    P.split(2, 2, outer, min_chunk=1)
    assert where[1:] == [[(0, 4)], [(0, 4)]]  # a split inside a split: serial


@pytest.mark.parametrize("value,want", [("1", 1), ("2", 2), ("500", P.MAX_THREADS), ("0", 1),
                                        ("two", 1)])
def test_chainrule_threads_sets_the_count(monkeypatch, value, want):
    """CHAINRULE_THREADS wins over OMP_NUM_THREADS; BLAS's own setting plays no part."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("CHAINRULE_THREADS", value)
    monkeypatch.setattr(P, "THREADS", None)
    assert P.threads() == want


@pytest.mark.parametrize("omp,want", [("1", 1), ("3", 3), ("4,2", 4), ("", None)])
def test_without_chainrule_threads_the_count_is_pytorchs(monkeypatch, omp, want):
    """OMP_NUM_THREADS when set (PyTorch's count follows it too), else the CPUs this
    process may run on."""
    monkeypatch.delenv("CHAINRULE_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    if omp:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    else:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(P, "THREADS", None)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert P.threads() == (want if want is not None else min(cpus, P.MAX_THREADS))


def test_one_thread_starts_no_helper(monkeypatch):
    monkeypatch.setattr(P, "THREADS", None)
    monkeypatch.setenv("CHAINRULE_THREADS", "1")
    monkeypatch.setattr(P, "_helpers", [])
    before = {t.ident for t in threading.enumerate()}
    x = cr.tensor(np.ones((64, 8, 24, 24), np.float32), requires_grad=True)
    cr.nn.functional.max_pool2d(cr.nn.functional.conv2d(x, np.ones((4, 8, 5, 5),
                                                                   np.float32)), 2).sum().backward()
    assert P.threads() == 1 and P._helpers == []
    assert {t.ident for t in threading.enumerate()} <= before


def test_an_interrupted_wait_leaves_no_answer_for_the_next_split(monkeypatch):
    """Ctrl-C while the caller waits for its helpers: their late answers must not be taken
    by the next split as its own parts being done (it would return before they wrote)."""
    import signal
    import time

    monkeypatch.setattr(P, "THREADS", 2)
    release = threading.Event()

    def slow(lo, hi):
        if lo:  # the helper's part: still running when the interrupt comes
            release.wait(5)

    def interrupt(*_):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            P.split(2, 2, slow, min_chunk=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    release.set()  # the old part finishes and answers now
    out = np.zeros(2)

    def late(lo, hi):
        if lo:
            time.sleep(0.05)
        out[lo:hi] = 1.0

    P.split(2, 2, late, min_chunk=1)
    assert out.tolist() == [1.0, 1.0]  # both parts done before split returned


def test_relu_split_gives_the_serial_bytes(monkeypatch):
    """relu's forward and rule on a CNN-sized activation: split by rows over 3 threads,
    byte for byte the one-thread result (NaN, ±inf, ±0 included), parts on other threads."""
    x = np.random.default_rng(0).standard_normal((64, 8, 24, 24)).astype(np.float32)
    x.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45]
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    ran = []
    real = P.split

    def split(n, work, fn, min_chunk=P.MIN_CHUNK):
        def part(lo, hi):
            ran.append(threading.get_ident())
            fn(lo, hi)
        real(n, work, part, min_chunk)

    monkeypatch.setattr(P, "split", split)

    def forward_backward():
        t = cr.tensor(x, requires_grad=True)
        y = cr.relu(t)
        y.backward(cr.tensor(g))
        return y.data, t.grad.data

    monkeypatch.setattr(P, "THREADS", 1)
    one = forward_backward()
    monkeypatch.setattr(P, "THREADS", 3)
    ran.clear()
    many = forward_backward()
    assert_same_bytes(one, many)
    assert len(set(ran)) > 1 and len(ran) == 6  # two splits (forward, rule), 3 parts each


def _lenet_step():
    """One SGD step of LeNet (cr.nn, batch 64) from fixed weights: the new parameters."""
    nn = cr.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    rng = np.random.default_rng(0)
    model.load_state_dict({k: rng.standard_normal(v.shape).astype(np.float32) * 0.2
                           for k, v in model.state_dict().items()})
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    loss = cr.nn.functional.cross_entropy(model(cr.tensor(x)), rng.integers(0, 10, 64))
    loss.backward()
    opt.step()
    return {k: v.data.copy() for k, v in model.state_dict().items()}, loss.item()


def test_a_lenet_training_step_split_gives_the_serial_bytes(monkeypatch):
    """Splitting is on by default: a whole LeNet SGD step (the real split thresholds) on 3
    threads leaves every parameter with the one-thread bytes."""
    ran = []
    real = P.split
    monkeypatch.setattr(C, "split", lambda n, work, fn, *a: real(
        n, work, lambda lo, hi: (ran.append(threading.get_ident()), fn(lo, hi)), *a))
    monkeypatch.setattr(K, "split", C.split)
    results = []
    for n in (1, 3):
        monkeypatch.setattr(P, "THREADS", n)
        results.append(_lenet_step())
    (serial, loss1), (split, loss3) = results
    assert loss1 == loss3 and len(set(ran)) == 3  # the second step did split
    for k in serial:
        assert serial[k].tobytes() == split[k].tobytes(), k
