"""The convolution kernels in each layout, forced, against PyTorch's conv2d and its gradients.

``tests/op_specs.py`` checks the primitives (finite differences, second order, forward mode)
on shapes that pick each layout by itself; here every layout runs every geometry.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from chainrule.ops import conv_kernels as K

from .op_specs import SPECS

GEOMETRIES = [  # (N, C, H, W), (O, KH, KW)
    ((2, 3, 7, 6), (4, 3, 2)),
    ((1, 1, 5, 5), (2, 2, 3)),
    ((3, 2, 9, 8), (2, 3, 3)),
]
OPTIONS = list(itertools.product([(1, 1), (2, 1), (1, 3)], [(0, 0), (1, 2)],
                                 [(1, 1), (2, 1), (1, 2)]))


@pytest.fixture(params=["batch_last", "wide"])
def layout(request, monkeypatch):
    monkeypatch.setattr(K, "FORCE", request.param)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", GEOMETRIES)
def test_every_geometry_matches_pytorch(layout, shapes, dtype):
    rng = np.random.default_rng(0)
    (n, c, h, w), (o, kh, kw) = shapes
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {}
    checked = 0
    for stride, padding, dilation in OPTIONS:
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        wt = rng.standard_normal((o, c, kh, kw)).astype(dtype)
        xp, wp = torch.tensor(x, requires_grad=True), torch.tensor(wt, requires_grad=True)
        try:
            y = TF.conv2d(xp, wp, stride=stride, padding=padding, dilation=dilation)
        except RuntimeError:  # the kernel does not fit this input
            continue
        gy = rng.standard_normal(tuple(y.shape)).astype(dtype)
        dx, dw = torch.autograd.grad(y, (xp, wp), torch.from_numpy(gy))
        got = (K.conv(x, wt, stride, padding, dilation),
               K.conv_input_grad(gy, wt, stride, padding, dilation, x.shape),
               K.conv_weight_grad(x, gy, stride, padding, dilation, wt.shape))
        for name, a, b in zip(("y", "dx", "dw"), got, (y.detach(), dx, dw)):
            assert a.dtype == dtype, (layout, name, a.dtype)
            np.testing.assert_allclose(a, b.numpy(), **tol, err_msg=f"{layout} {name} "
                                       f"stride {stride} padding {padding} dil {dilation}")
        checked += 1
    assert checked >= 10


def test_layout_choice_follows_the_measurements(monkeypatch):
    monkeypatch.setattr(K, "FORCE", None)
    assert not K.batch_last(1, 5, (28, 28))  # LeNet's first layer: wide rows
    assert K.batch_last(8, 5, (12, 12))  # its second: batch-last
    assert not K.batch_last(16, 3, (32, 32))  # a large plane: wide rows
    monkeypatch.setattr(K, "FORCE", "wide")
    assert not K.batch_last(8, 5, (12, 12))
    monkeypatch.setattr(K, "FORCE", "batch_last")
    assert K.batch_last(1, 1, (99, 99))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.id.startswith("conv")],
                         ids=lambda s: s.id)
def test_the_op_specs_cover_both_layouts(spec, monkeypatch):
    """The specs (finite differences, second order, forward mode) reach each layout on
    their own: the batch-last ones by their shapes, the others by theirs."""
    monkeypatch.setattr(K, "FORCE", None)
    x_shape, w_shape = spec.shapes[0], spec.shapes[1]
    if len(x_shape) == 3:  # conv1d runs as conv2d on (N, C, 1, L)
        x_shape, w_shape = x_shape[:2] + (1,) + x_shape[2:], w_shape[:2] + (1,) + w_shape[2:]
    assert K.batch_last(x_shape[1], w_shape[3], x_shape[2:]) == ("batch_last" in spec.id)


def test_weight_gradient_reuses_only_its_own_forwards_windows(layout):
    rng = np.random.default_rng(1)
    x1, x2 = (rng.standard_normal((2, 4, 6, 6)) for _ in range(2))
    w = rng.standard_normal((3, 4, 3, 4))
    gy = rng.standard_normal((2, 3, 4, 3))
    args = ((1, 1), (0, 0), (1, 1))

    def want(x):
        xp, wp = torch.tensor(x), torch.tensor(w, requires_grad=True)
        return torch.autograd.grad(TF.conv2d(xp, wp), wp, torch.from_numpy(gy))[0].numpy()

    K.conv(x1, w, *args)
    assert K._KEPT[-1][0] is x1  # kept for the weight gradient that follows ...
    np.testing.assert_allclose(K.conv_weight_grad(x1, gy, *args, w.shape), want(x1))
    assert all(e[0] is not x1 for e in K._KEPT)  # ... which takes it
    K.conv(x1, w, *args)
    x1_again = x1.copy()  # equal values, another array: made afresh (a hit needs `is`)
    np.testing.assert_allclose(K.conv_weight_grad(x1_again, gy, *args, w.shape), want(x1))
    np.testing.assert_allclose(K.conv_weight_grad(x2, gy, *args, w.shape), want(x2))
    np.testing.assert_allclose(K.conv_weight_grad(x1, gy, *args, w.shape), want(x1))
    K.conv(x1, w, (1, 2), (0, 0), (1, 1))  # another geometry of the same x: not taken
    np.testing.assert_allclose(K.conv_weight_grad(x1, gy, *args, w.shape), want(x1))
    for _ in range(K.KEEP + 2):  # a bounded number kept
        K.conv(x2.copy(), w, *args)
    assert len(K._KEPT) == K.KEEP


def test_an_input_written_after_the_forward_cannot_reach_the_weight_gradient():
    import chainrule as cr
    x = cr.tensor(np.ones((1, 2, 4, 4)))
    w = cr.tensor(np.ones((2, 2, 2, 2)), requires_grad=True)
    y = cr.nn.functional.conv2d(x, w)
    x[0, 0, 0, 0] = 5.0  # the windows kept by the forward are now stale ...
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()  # ... and the version counter refuses to use them


def test_nothing_is_kept_without_grad(monkeypatch):
    import chainrule as cr
    monkeypatch.setattr(K, "_KEPT", [])
    x, w = np.ones((1, 4, 5, 5)), np.ones((2, 4, 2, 4))
    with cr.no_grad():
        K.conv(x, w, (1, 1), (0, 0), (1, 1))
    assert K._KEPT == []
    K.conv(x, w, (1, 1), (0, 0), (1, 1))
    assert len(K._KEPT) == 1
