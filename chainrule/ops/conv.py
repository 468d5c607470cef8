"""Convolution and pooling primitives (NCHW, as PyTorch).

The convolution C(x, w), its transpose T(g, w) = ∂/∂x and its weight gradient W(x, g) = ∂/∂w
are three bilinear primitives that share one trilinear form F(x, w, g) = ⟨C(x, w), g⟩ =
⟨x, T(g, w)⟩ = ⟨w, W(x, g)⟩. Each one's transposes are the other two, so every derivative of
a convolution is again a convolution, to any order.

The NumPy kernels are in ``conv_kernels``: GEMMs over copied-out windows, in a batch-last
layout when the input has many channels (no im2col of the whole kernel, no col2im) and in
"wide rows" when it has few; the weight gradient reuses the windows its forward copied out.
Convolution, bias and pooling kernels can split their per-sample work over threads, with the
bytes of the serial path (``parallel``; ``CHAINRULE_THREADS=1`` turns it off).
The bias is its own pair of primitives (``channel_bias`` and its transpose ``channel_sum``).

Pooling is a linear "gather" with a constant weight per window position (the argmax one-hot
for max pooling, 1/k² for average pooling) and its transpose "scatter".
"""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..errors import ShapeError, describe
from ..registry import general, linear, multilinear
from ._front import data as D
from .conv_kernels import conv as _conv
from .conv_kernels import conv_input_grad as _conv_input_grad
from .conv_kernels import conv_weight_grad as _conv_weight_grad
from .conv_kernels import offsets as _offsets
from .conv_kernels import out_len as _out_len
from .parallel import split
from .shape import as_tensor, expand_dims, promoted, squeeze


def _geometry(p, **extra):
    return {"stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"], **extra}


def _fold(ops, prim, xs, i, dx, p):
    """Apply a conv primitive where input i's tangent carries extra leading (batch-of-
    tangents) dimensions: fold them into an axis the primitive is linear and independent
    along, then unfold them from the output."""
    (fa, fb), (oa, ob) = _FOLD[prim.name]
    f, o = (fa, oa) if i == 0 else (fb, ob)
    lead = dx.shape[:dx.ndim - 4]
    nb = int(np.prod(lead))
    core = dx.shape[len(lead):]
    t = ops.reshape(dx, (nb,) + core)
    perm = list(range(1, f + 1)) + [0] + list(range(f + 1, 5))  # batch next to axis f
    t = ops.reshape(ops.transpose(t, perm), core[:f] + (nb * core[f],) + core[f + 1:])
    args = (t, xs[1]) if i == 0 else (xs[0], t)
    out = ops.apply(prim, args, p)
    s = out.shape
    out = ops.reshape(out, s[:o] + (nb, s[o] // nb) + s[o + 1:])
    perm = [o] + [k for k in range(5) if k != o]
    return ops.reshape(ops.transpose(out, perm), lead + s[:o] + (s[o] // nb,) + s[o + 1:])


# Per primitive: the axis of each operand a batch of tangents folds into, and the output
# axis it comes out of (conv: x's batch -> N, w's batch -> O; and so on by the trilinear form).
_FOLD = {
    "conv2d": ((0, 0), (0, 1)),
    "conv2d_input_grad": ((0, 1), (0, 1)),
    "conv2d_weight_grad": ((1, 1), (1, 0)),
}

# ⟨C(x,w), g⟩ = ⟨x, T(g,w)⟩ = ⟨w, W(x,g)⟩: each primitive's transposes are the other two.
CONV = multilinear(
    "conv2d", _conv,
    lambda ops, g, out, x, w, **p: ops.apply(CONV_TGRAD, (g, w), _geometry(p, x_shape=x.shape)),
    lambda ops, g, out, x, w, **p: ops.apply(CONV_WGRAD, (x, g), _geometry(p, w_shape=w.shape)),
    batch=_fold, formula="∂/∂x: transposed convolution with w; ∂/∂w: correlate x with ȳ")
CONV_TGRAD = multilinear(  # T(g, w), with cotangent h (x-shaped)
    "conv2d_input_grad", _conv_input_grad,
    lambda ops, h, out, g, w, **p: ops.apply(CONV, (h, w), _geometry(p)),
    lambda ops, h, out, g, w, **p: ops.apply(CONV_WGRAD, (h, g), _geometry(p, w_shape=w.shape)),
    batch=_fold, formula="transposed convolution (the input-gradient of conv2d)")
CONV_WGRAD = multilinear(  # W(x, g), with cotangent k (w-shaped)
    "conv2d_weight_grad", _conv_weight_grad,
    lambda ops, k, out, x, g, **p: ops.apply(CONV_TGRAD, (g, k), _geometry(p, x_shape=x.shape)),
    lambda ops, k, out, x, g, **p: ops.apply(CONV, (x, k), _geometry(p)),
    batch=_fold, formula="the weight-gradient of conv2d")


# -- the bias ------------------------------------------------------------------------------------
# y + b along the channel axis, and its transpose (a sum over every other core axis): one
# primitive each instead of a reshape, a broadcast and an add, so that the backward sweep
# sums the bias gradient in one einsum (4x faster than np.sum over the axes (0, 2, 3) on
# LeNet's first layer). ``nd`` is the core rank of y: (N, C, *spatial).
def _bias_view(b, nd):
    return b.reshape(b.shape[:-1] + (1, b.shape[-1]) + (1,) * (nd - 2))


def _channel_sum(g, nd, shape):
    core = g.shape[g.ndim - nd:]
    flat = g.reshape(g.shape[:g.ndim - nd] + core[:2] + (-1,))  # (..., N, C, positions)
    return np.einsum("...ncp->...c", flat)


CHANNEL_SUM = linear(
    "channel_sum", _channel_sum,
    lambda ops, k, out, g, nd, shape: ops.broadcast_to(
        ops.reshape(k, k.shape[:-1] + (1, k.shape[-1]) + (1,) * (nd - 2)),
        k.shape[:-1] + tuple(shape)),
    formula="the transpose of channel_bias's b: the sum over batch and positions")
def _channel_bias(y, b, nd):
    """y + b on the channel axis; split over the batch when b is one vector and y has no
    tangent batch in front (each part adds b to its own samples: the same bytes)."""
    view = _bias_view(b, nd)
    if b.ndim != 1 or y.ndim != nd or y.shape[1] != b.shape[0]:
        return y + view
    out = np.empty(y.shape, np.result_type(y.dtype, b.dtype))

    def part(lo, hi):  # a copy, then the add in place: the same sums, but NumPy runs this
        o = out[lo:hi]  # broadcast add much faster in place, so both calls together take
        np.copyto(o, y[lo:hi])  # ~10% less than one out of place (LeNet's first layer)
        np.add(o, view, out=o)

    split(len(y), y.size, part)
    return out


CHANNEL_BIAS = linear(
    "channel_bias", _channel_bias,
    lambda ops, g, out, y, b, nd: g,
    lambda ops, g, out, y, b, nd: ops.apply(CHANNEL_SUM, (g,), {"nd": nd,
                                                                "shape": g.shape[-nd:]}),
    formula="∂/∂y: 1; ∂/∂b: ȳ summed over every axis but the channel's")


def _add_bias(out, b, name):
    b = as_tensor(b)
    if b.shape != (out.shape[1],):
        raise ShapeError(f"{name}: the bias must have shape ({out.shape[1]},), got "
                         f"{describe(b)}")
    out, b = promoted(out, b)
    return apply(CHANNEL_BIAS, (out, b), {"nd": out.ndim})


def _pair(v, name):
    v = (v, v) if isinstance(v, int) else tuple(v)
    if len(v) != 2 or any(not isinstance(n, (int, np.integer)) or n < 0 for n in v):
        raise ValueError(f"conv2d: {name} must be a non-negative int or a pair, got {v}")
    return tuple(int(n) for n in v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C, KH, KW), as
    ``torch.nn.functional.conv2d`` (no groups). Differentiable in x, w, b to any order.

    Computed in NumPy with its BLAS (no compiled extension); ``bench/lenet_layers.py`` times
    it layer by layer next to PyTorch.

    >>> import chainrule as cr
    >>> x = cr.arange(9.0).reshape(1, 1, 3, 3)
    >>> cr.nn.functional.conv2d(x, cr.ones((1, 1, 2, 2))).tolist()
    [[[[8.0, 12.0], [20.0, 24.0]]]]
    """
    x, w = as_tensor(x), as_tensor(w)
    p = {"stride": _pair(stride, "stride"), "padding": _pair(padding, "padding"),
         "dilation": _pair(dilation, "dilation")}
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ShapeError(f"conv2d: expected x (N, C, H, W) and w (O, C, KH, KW) with equal C, "
                         f"got {describe(x)} and {describe(w)}")
    ho = _out_len(x.shape[2], w.shape[2], p["stride"][0], p["padding"][0], p["dilation"][0])
    wo = _out_len(x.shape[3], w.shape[3], p["stride"][1], p["padding"][1], p["dilation"][1])
    if ho < 1 or wo < 1 or 0 in p["stride"]:
        raise ShapeError(f"conv2d: kernel {w.shape[2:]} does not fit input {x.shape[2:]} "
                         f"with {p}: {describe(x)}, {describe(w)}")
    x, w = promoted(x, w)
    out = apply(CONV, (x, w), p)
    return out if b is None else _add_bias(out, b, "conv2d")


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1):
    """1-D cross-correlation of ``x`` (N, C, L) with ``w`` (O, C, K), via ``conv2d``.

    >>> import chainrule as cr
    >>> x = cr.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> cr.nn.functional.conv1d(x, cr.tensor([[[1.0, -1.0]]])).tolist()
    [[[-1.0, -1.0, -1.0]]]
    """
    x, w = as_tensor(x), as_tensor(w)
    if x.ndim != 3 or w.ndim != 3:
        raise ShapeError(f"conv1d: expected x (N, C, L) and w (O, C, K), got {describe(x)} "
                         f"and {describe(w)}")
    out = conv2d(expand_dims(x, 2), expand_dims(w, 2), None, (1, stride), (0, padding),
                 (1, dilation))
    out = squeeze(out, 2)
    return out if b is None else _add_bias(out, b, "conv1d")


# -- pooling -------------------------------------------------------------------------------------
# Pooling weights are stored offset-first, (KH, KW, ...window grid), so gather and scatter are
# one strided slice per kernel offset on any leading dims (batches of tangents included).
# Average pooling weighs with floats; max pooling's weight is a boolean one-hot of each window's
# winner. Products are NumPy's fastest way to apply either (masked ufuncs and np.where are 3-6x
# slower), but a loser's ±inf times 0 is NaN where the one-hot must give exactly 0: when a
# non-finite value meets a boolean weight, the offsets are selected with np.where instead.
def _weighted(v, w, nonfinite: bool):
    return np.where(w, v, 0) if nonfinite and w.dtype == np.bool_ else v * w


# Every pooling kernel works sample by sample, so each splits its first axis over the threads
# (``parallel``); a part reads its rows of an offset-first weight that has that axis, the
# whole weight when it broadcasts (average pooling's (KH, KW), or a tangent batch in front).
def _rows(weight, lo, hi, nd):
    return weight[:, :, lo:hi] if weight.ndim - 2 == nd and weight.shape[2] != 1 else weight


def _gather(x, weight, ksize, stride, x_shape):
    hw = _pool_out(x_shape, ksize, stride)
    out = np.empty(x.shape[:-2] + hw, np.result_type(x.dtype, weight.dtype))

    def total(nonfinite, lo, hi):
        w, o = _rows(weight, lo, hi, x.ndim), out[lo:hi]
        for i, j, idx in _offsets(ksize, stride, (1, 1), hw):
            term = _weighted(x[lo:hi][(Ellipsis,) + idx], w[i, j], nonfinite)
            if i == j == 0:
                o[...] = term
            else:
                o += term

    with np.errstate(invalid="ignore"):  # 0·inf: detected here, then selected instead
        split(len(x), x.size, lambda lo, hi: total(False, lo, hi))
        if weight.dtype == np.bool_ and np.isnan(out).any():
            split(len(x), x.size, lambda lo, hi: total(True, lo, hi))
    return out


def _scatter(g, weight, ksize, stride, x_shape):
    nonfinite = weight.dtype == np.bool_ and not np.isfinite(g).all()
    if weight.dtype == np.bool_ and not nonfinite:
        weight = weight.astype(g.dtype)  # same-dtype products: 1.4x faster than bool × float
    disjoint = stride[0] >= ksize[0] and stride[1] >= ksize[1]  # no input in two windows
    tiled = disjoint and not nonfinite and ksize == stride and all(  # each input written once
        n == k * m for n, k, m in zip(x_shape[-2:], ksize, g.shape[-2:]))
    out = (np.empty if tiled else np.zeros)(g.shape[:-2] + tuple(x_shape[-2:]), g.dtype)

    def part(lo, hi):
        gp, w, op = g[lo:hi], _rows(weight, lo, hi, g.ndim), out[lo:hi]
        for i, j, idx in _offsets(ksize, stride, (1, 1), g.shape[-2:]):
            o = op[(Ellipsis,) + idx]
            if disjoint and not nonfinite:
                np.multiply(gp, w[i, j], out=o)  # written once: no temporary, no add
            else:
                o += _weighted(gp, w[i, j], nonfinite)

    split(len(g), out.size, part)
    return out


def _pool_out(x_shape, ksize, stride):
    return tuple(_out_len(n, k, s, 0, 1) for n, k, s in zip(x_shape[-2:], ksize, stride))


POOL_GATHER = linear("pool_gather", _gather, lambda ops, g, out, x, **p: ops.apply(
    POOL_SCATTER, (g,), p),
    formula="∂/∂x: each window's weights (argmax one-hot for max, 1/k² for average)")
POOL_SCATTER = linear("pool_scatter", _scatter, lambda ops, g, out, x, **p: ops.apply(
    POOL_GATHER, (g,), p), formula="the transpose of pool_gather")


# 2×2 windows at stride 2 that tile even planes (most CNNs' pooling): the larger of each window
# row's two elements (the even and odd elements of the flat array: one 1-D call), then of the
# window's two rows (one call over rows of W/2), where the loop below makes three calls over
# four strided views of N·C·H/2 rows each, and NumPy pays for every row of a view. LeNet's
# first pooling layer, forward and backward: 1.50 ms against 1.64 at one thread
# (``bench/lenet_layers.py --threads 1 --cpu --only pool1 --general-pool-too``). The same
# bytes: np.maximum picks among equal values, and NaN, the same way whichever way the four
# are paired (tests/test_max_pool_pairs.py). Split by samples over the threads, as the loop
# is: 192 against 241 µs on that layer's input at 2 threads (interleaved, ad hoc).
PAIRS = True  # False: the general loop for every window (the bench's comparison)


def _pairs_max(x):
    half = x.shape[-1] // 2
    top = np.empty(x.shape[:-2] + (x.shape[-2] // 2, half), x.dtype)

    def part(lo, hi):
        pairs = x[lo:hi].reshape(-1, 2)
        rows = np.maximum(pairs[:, 0], pairs[:, 1]).reshape(-1, 2, half)
        np.maximum(rows[:, 0], rows[:, 1], out=top[lo:hi].reshape(-1, half))

    if x.ndim > 2:
        split(len(x), x.size, part)
    else:  # one plane: its rows pair up, so it is not cut
        part(0, len(x))
    return top


def _window_max(x, ksize, stride):
    if PAIRS and ksize == stride == (2, 2) and x.ndim >= 2 and x.size and \
            x.shape[-1] % 2 == 0 and x.shape[-2] % 2 == 0 and x.flags.c_contiguous:
        return _pairs_max(x)
    hw = _pool_out(x.shape, ksize, stride)
    top = np.empty(x.shape[:-2] + hw, x.dtype)

    def part(lo, hi):
        t = top[lo:hi]
        for i, j, idx in _offsets(ksize, stride, (1, 1), hw):
            v = x[lo:hi][(Ellipsis,) + idx]
            if i == j == 0:
                t[...] = v
            else:
                np.maximum(t, v, out=t)

    split(len(x), x.size, part)
    return top


def _first_max(x, top, ksize, stride):
    """The one-hot of each window's first maximum, offset-first (locally constant); in a
    window holding NaN (whose maximum is NaN) its last NaN, as PyTorch's."""
    onehot = np.empty(ksize + top.shape, bool)

    def part(lo, hi):
        views = [(i, j, x[lo:hi][(Ellipsis,) + idx])
                 for i, j, idx in _offsets(ksize, stride, (1, 1), top.shape[-2:])]
        t, hot = top[lo:hi], onehot[:, :, lo:hi]
        free = np.ones(t.shape, bool)
        for i, j, v in views:
            hit = np.equal(v, t, out=hot[i, j])
            hit &= free
            free ^= hit  # hit ⊆ free: drop the windows just claimed
        free = np.isnan(t)
        if free.any():
            for i, j, v in reversed(views):
                hit = np.isnan(v) & free
                free ^= hit
                hot[i, j] |= hit

    split(len(x), x.size, part)
    return onehot


def _winner_weights(x, out, ksize, stride):
    return {"weight": _first_max(D(x), D(out), ksize, stride), "ksize": ksize,
            "stride": stride, "x_shape": x.shape}


# General: a maximum over sliding windows is neither a reduction over axes nor linear; its
# derivative is the linear pool_gather/pool_scatter pair weighted by each window's winner.
MAX_POOL = general(
    "max_pool2d", lambda x, ksize, stride: _window_max(x, ksize, stride),
    vjp=[lambda ops, g, out, x, ksize, stride: ops.apply(
        POOL_SCATTER, (g,), _winner_weights(x, out, ksize, stride))],
    jvp=lambda ops, g, out, x, ksize, stride: ops.apply(
        POOL_GATHER, (g[0],), _winner_weights(x, out, ksize, stride)),
    uses_out=True, formula="the gradient goes to each window's maximum")


def _pool_args(x, kernel_size, stride, name):
    x = as_tensor(x)
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    if x.ndim != 4 or x.shape[2] < k[0] or x.shape[3] < k[1] or 0 in k or 0 in s:
        raise ShapeError(f"{name}: expected (N, C, H, W) at least as large as kernel {k}, "
                         f"got {describe(x)}")
    return x, k, s


def max_pool2d(x, kernel_size, stride=None):
    """Max over each window; the gradient goes to the first maximum, or in a window holding
    NaN (whose maximum is NaN) to its last NaN, as PyTorch's.

    >>> import chainrule as cr
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x, k, s = _pool_args(x, kernel_size, stride, "max_pool2d")
    return apply(MAX_POOL, (x,), {"ksize": k, "stride": s})


def avg_pool2d(x, kernel_size, stride=None):
    """Mean over each ``kernel_size`` window (``stride`` defaults to the kernel size; no
    padding).

    >>> import chainrule as cr
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.avg_pool2d(x, 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, k, s = _pool_args(x, kernel_size, stride, "avg_pool2d")
    weight = np.full(k, 1.0 / (k[0] * k[1]), x.dtype)
    return apply(POOL_GATHER, (x,), {"weight": weight, "ksize": k, "stride": s,
                                     "x_shape": x.shape})


def max_pool1d(x, kernel_size, stride=None):
    """Max over windows of (N, C, L), via ``max_pool2d``.

    >>> import chainrule as cr
    >>> cr.nn.functional.max_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    stride = kernel_size if stride is None else stride
    return squeeze(max_pool2d(expand_dims(x, 2), (1, kernel_size), (1, stride)), 2)
