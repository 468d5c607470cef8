"""2×2 max pooling by pairs (``chainrule/ops/pool_pairs.py``) against the general kernels
and PyTorch: every tie and NaN pattern a window can hold, infinite values and cotangents,
tangents, and the cases that must take the general path."""
import itertools

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import conv as C
from chainrule.ops import pool_pairs as PP

K = S = (2, 2)


def every_window(dtype):
    """All 3⁴ windows over {-1, 1, NaN} side by side, and the same with 0 and -0.0 ties:
    (2, 81, 2, 2) -> one (1, 2, 18, 18) plane pair of 81 windows each (9 by 9)."""
    vals = [(-1.0, 1.0, np.nan), (0.0, -0.0, 1.0)]
    planes = []
    for v in vals:
        wins = np.array(list(itertools.product(v, repeat=4)), dtype).reshape(9, 9, 2, 2)
        planes.append(wins.transpose(0, 2, 1, 3).reshape(18, 18))
    return np.stack(planes)[None]


def general(x):
    """The general kernels' answer (what the pair path must reproduce)."""
    top = np.empty((x.shape[:-2]) + (x.shape[-2] // 2, x.shape[-1] // 2), x.dtype)
    for i, j, idx in C._offsets(K, S, (1, 1), top.shape[-2:]):
        v = x[(Ellipsis,) + idx]
        top[...] = v if i == j == 0 else np.maximum(top, v)
    return top, C._first_max(x, top, K, S)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairs_give_the_general_kernels_bytes_on_every_tie_and_nan(dtype):
    x = every_window(dtype)
    assert PP.applies(x, K, S)
    top, hot = general(x)
    got = C._window_max(x, K, S)
    np.testing.assert_array_equal(got, top)  # NaN where NaN
    picks = PP.Picks(x, got)
    np.testing.assert_array_equal(picks.onehot(), hot)
    g = np.random.default_rng(0).standard_normal(top.shape).astype(dtype)
    v = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    want_dx = C._scatter(g, hot, K, S, x.shape)
    assert C._scatter(g, picks, K, S, x.shape).tobytes() == want_dx.tobytes()
    np.testing.assert_array_equal(C._gather(v, picks, K, S, x.shape),
                                  C._gather(v, hot, K, S, x.shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairs_route_the_gradient_as_torch(dtype):
    x = every_window(dtype)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = cr.nn.functional.max_pool2d(xc, 2), torch.nn.functional.max_pool2d(xt, 2)
    g = np.random.default_rng(2).standard_normal(yc.shape).astype(dtype)
    yc.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


def test_infinite_values_and_cotangents_take_the_selecting_path():
    x = np.arange(2 * 36.0).reshape(1, 2, 6, 6)
    x[0, 0, 0, 0] = -np.inf
    x[0, 1, 2, 3] = np.inf
    g = np.ones((1, 2, 3, 3))
    g[0, 0, 0, 0], g[0, 1, 1, 1] = np.inf, -np.inf  # meet the losers' zeros: selected
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cr.nn.functional.max_pool2d(xc, 2).backward(g)
    torch.nn.functional.max_pool2d(xt, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())
    assert not np.isnan(xc.grad.data).any()


def test_tangents_and_second_derivatives_through_pairs_match_torch():
    rng = np.random.default_rng(3)
    x, dx = rng.standard_normal((2, 3, 4, 6)), rng.standard_normal((2, 3, 4, 6))

    def f(x):
        return (cr.nn.functional.max_pool2d(x, 2) ** 3).sum()

    _, tangent = cr.jvp(lambda x: cr.nn.functional.max_pool2d(x, 2), (cr.tensor(x),),
                        (cr.tensor(dx),))
    xt = torch.tensor(x, requires_grad=True)
    _, want = torch.func.jvp(lambda x: torch.nn.functional.max_pool2d(x, 2), (xt,),
                             (torch.tensor(dx),))
    np.testing.assert_allclose(tangent.data, want.detach().numpy(), rtol=1e-12)
    hvp = cr.grad(lambda x: (cr.grad(f)(x) * cr.tensor(dx)).sum())(cr.tensor(x))
    tf = lambda x: (torch.nn.functional.max_pool2d(x, 2) ** 3).sum()  # noqa: E731
    _, want_hvp = torch.autograd.functional.hvp(tf, xt, torch.tensor(dx))
    np.testing.assert_allclose(hvp.data, want_hvp.numpy(), rtol=1e-10)


@pytest.mark.parametrize("shape,ksize,stride,dtype,layout", [
    ((1, 1, 4, 5), (2, 2), (2, 2), np.float64, "C"),  # odd width: windows don't tile
    ((1, 1, 4, 4), (2, 2), (1, 1), np.float64, "C"),  # overlapping windows
    ((1, 1, 6, 6), (3, 3), (3, 3), np.float64, "C"),  # 3×3 tiles
    ((1, 1, 4, 4), (2, 2), (2, 2), np.int64, "C"),  # integers: no NaN to look for
    ((1, 1, 4, 4), (2, 2), (2, 2), np.float64, "T"),  # a transposed (strided) view
])
def test_what_does_not_pool_by_pairs_takes_the_general_kernels(shape, ksize, stride, dtype,
                                                               layout):
    x = np.arange(np.prod(shape)).reshape(shape).astype(dtype)[..., ::-1, :]
    x = np.ascontiguousarray(x) if layout == "C" else x.swapaxes(-1, -2)
    assert not PP.applies(x, ksize, stride)
    xt = torch.tensor(np.ascontiguousarray(x))
    np.testing.assert_array_equal(C._window_max(x, ksize, stride),
                                  torch.nn.functional.max_pool2d(xt, ksize, stride).numpy())
