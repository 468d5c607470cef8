"""2×2 max pooling's forward by pairs (``chainrule.ops.conv._pairs_max``) against the general
loop and PyTorch: every tie and NaN pattern a window can hold, and the inputs that must take
the general loop."""
import itertools

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import conv as C
from chainrule.ops import parallel as P


def every_window(dtype):
    """All 3⁴ windows over {-1, 1, NaN}, and over {0, -0.0, 1}, with ±inf windows: 81 windows
    per plane (9 by 9 of them), three planes, as (1, 3, 18, 18)."""
    planes = []
    for vals in ((-1.0, 1.0, np.nan), (0.0, -0.0, 1.0), (-np.inf, np.inf, 2.0)):
        wins = np.array(list(itertools.product(vals, repeat=4)), dtype).reshape(9, 9, 2, 2)
        planes.append(wins.transpose(0, 2, 1, 3).reshape(18, 18))
    return np.stack(planes)[None]


def general(x, monkeypatch):
    monkeypatch.setattr(C, "PAIRS", False)
    try:
        return C._window_max(x, (2, 2), (2, 2))
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairs_give_the_general_loops_bytes_on_every_tie_and_nan(dtype, monkeypatch):
    x = every_window(dtype)
    got = C._window_max(x, (2, 2), (2, 2))
    assert got.tobytes() == general(x, monkeypatch).tobytes()  # -0.0 and NaN included
    assert got.shape == (1, 3, 9, 9) and np.isnan(got).sum() == 81 - 16


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_window_pools_and_routes_the_gradient_as_torch(dtype):
    x = every_window(dtype)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = cr.nn.functional.max_pool2d(xc, 2), torch.nn.functional.max_pool2d(xt, 2)
    g = np.random.default_rng(2).standard_normal(yc.shape).astype(dtype)
    yc.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


@pytest.mark.parametrize("shape,ksize,stride,dtype,layout", [
    ((1, 1, 4, 5), (2, 2), (2, 2), np.float64, "C"),  # odd width: windows don't tile
    ((1, 1, 4, 4), (2, 2), (1, 1), np.float64, "C"),  # overlapping windows
    ((1, 1, 6, 6), (3, 3), (3, 3), np.float64, "C"),  # 3×3 tiles
    ((1, 1, 4, 4), (2, 2), (2, 2), np.float64, "T"),  # a transposed (strided) view
])
def test_what_does_not_tile_by_pairs_takes_the_general_loop(shape, ksize, stride, dtype,
                                                            layout, monkeypatch):
    x = np.arange(np.prod(shape)).reshape(shape).astype(dtype)[..., ::-1, :]
    x = np.ascontiguousarray(x) if layout == "C" else x.swapaxes(-1, -2)

    def no_pairs(x):
        raise AssertionError("pooled by pairs")

    monkeypatch.setattr(C, "_pairs_max", no_pairs)
    want = torch.nn.functional.max_pool2d(torch.tensor(np.ascontiguousarray(x)), ksize, stride)
    np.testing.assert_array_equal(C._window_max(x, ksize, stride), want.numpy())


@pytest.mark.parametrize("shape", [(64, 8, 24, 24), (18, 18)])
def test_pairs_split_over_threads_give_the_serial_bytes(shape, monkeypatch):
    """By samples over 3 threads (a 2-D plane is never cut: its rows pair up)."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x.reshape(-1)[::7] = np.nan
    monkeypatch.setattr(P, "THREADS", 1)
    serial = C._pairs_max(x)
    monkeypatch.setattr(P, "THREADS", 3)
    parts = []
    real_split = P.split
    monkeypatch.setattr(C, "split", lambda n, work, fn: real_split(
        n, work, lambda lo, hi: (parts.append((lo, hi)), fn(lo, hi))))
    assert C._pairs_max(x).tobytes() == serial.tobytes()
    if len(shape) > 2:
        assert len(parts) == 3  # it did split
    assert serial.tobytes() == general(x, monkeypatch).tobytes()
