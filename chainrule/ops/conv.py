"""Convolution and pooling primitives (NCHW, as PyTorch).

The convolution C(x, w), its transpose T(g, w) = ∂/∂x and its weight gradient W(x, g) = ∂/∂w
are three bilinear primitives that share one trilinear form F(x, w, g) = ⟨C(x, w), g⟩ =
⟨x, T(g, w)⟩ = ⟨w, W(x, g)⟩. Each one's transposes are the other two, so every derivative of
a convolution is again a convolution, to any order.

The NumPy kernels (im2col, GEMM, col2im) are in ``conv_kernels``.

Pooling is a linear "gather" with a constant weight per window position (the argmax one-hot
for max pooling, 1/k² for average pooling) and its transpose "scatter".
"""
from __future__ import annotations

import numpy as np

from ..engine import apply
from ..errors import ShapeError, describe
from ..registry import Primitive, linear, register
from ..tensor import as_tensor
from ._front import promoted
from .conv_kernels import conv as _conv
from .conv_kernels import conv_input_grad as _conv_input_grad
from .conv_kernels import conv_weight_grad as _conv_weight_grad
from .conv_kernels import offsets as _offsets
from .conv_kernels import out_len as _out_len


def _p(params, **extra):
    return {**params, **extra}


def _strip(p):
    return {k: p[k] for k in ("stride", "padding", "dilation")}


# ⟨C(x,w), g⟩ = ⟨x, T(g,w)⟩ = ⟨w, W(x,g)⟩: each transpose is one of the other two.
def _conv_vjp(ops, g, xs, out, p, needs):
    x, w = xs
    p = _strip(p)
    return [ops.apply(CONV_TGRAD, (g, w), _p(p, x_shape=x.shape)) if needs[0] else None,
            ops.apply(CONV_WGRAD, (x, g), _p(p, w_shape=w.shape)) if needs[1] else None]


def _tgrad_vjp(ops, h, xs, out, p, needs):  # T(g, w) with cotangent h (x-shaped)
    g, w = xs
    p = _strip(p)
    return [ops.apply(CONV, (h, w), p) if needs[0] else None,
            ops.apply(CONV_WGRAD, (h, g), _p(p, w_shape=w.shape)) if needs[1] else None]


def _wgrad_vjp(ops, k, xs, out, p, needs):  # W(x, g) with cotangent k (w-shaped)
    x, g = xs
    p = _strip(p)
    return [ops.apply(CONV_TGRAD, (g, k), _p(p, x_shape=x.shape)) if needs[0] else None,
            ops.apply(CONV, (x, k), p) if needs[1] else None]


def _fold(prim, a, b, params):
    """Apply a conv primitive where one operand carries extra leading (batch-of-tangents)
    dimensions: fold them into an axis the primitive is linear and independent along, then
    unfold them from the output."""
    from .shape import reshape, transpose
    la, lb = a.ndim - 4, b.ndim - 4
    if la == 0 and lb == 0:
        return apply(prim, (a, b), params)
    if la and lb:
        raise NotImplementedError(f"{prim.name}: both operands carry batched tangents")
    (fa, fb), (oa, ob) = _FOLD[prim.name]
    t, f, o = (a, fa, oa) if la else (b, fb, ob)
    lead = t.shape[:t.ndim - 4]
    nb = int(np.prod(lead))
    core = t.shape[len(lead):]
    t = reshape(t, (nb,) + core)
    perm = list(range(1, f + 1)) + [0] + list(range(f + 1, 5))  # batch next to axis f
    t = reshape(transpose(t, perm), core[:f] + (nb * core[f],) + core[f + 1:])
    out = apply(prim, (t, b) if la else (a, t), params)
    s = out.shape
    out = reshape(out, s[:o] + (nb, s[o] // nb) + s[o + 1:])
    perm = [o] + [i for i in range(5) if i != o]
    return reshape(transpose(out, perm), lead + s[:o] + (s[o] // nb,) + s[o + 1:])


def _bilinear_jvp(prim):
    """jvp = P(da, b) + P(a, db), each term folding a batch of tangents if there is one."""
    def jvp(xs, dxs, out, p):
        (a, b), (da, db) = xs, dxs
        terms = ([_fold(prim, da, b, p)] if da is not None else []) + (
            [_fold(prim, a, db, p)] if db is not None else [])
        return None if not terms else terms[0] if len(terms) == 1 else terms[0] + terms[1]
    return jvp


CONV = register(Primitive("conv2d", "bilinear", _conv, _conv_vjp, None,
                          "∂/∂x: transposed convolution with w; ∂/∂w: correlate x with ȳ"))
CONV_TGRAD = register(Primitive("conv2d_input_grad", "bilinear", _conv_input_grad, _tgrad_vjp,
                                None, "transposed convolution (the input-gradient of conv2d)"))
CONV_WGRAD = register(Primitive("conv2d_weight_grad", "bilinear", _conv_weight_grad,
                                _wgrad_vjp, None, "the weight-gradient of conv2d"))
for _prim in (CONV, CONV_TGRAD, CONV_WGRAD):
    _prim.jvp = _bilinear_jvp(_prim)
# Per primitive: the axis of each operand a batch of tangents folds into, and the output
# axis it comes out of (conv: x's batch -> N, w's batch -> O; and so on by the trilinear form).
_FOLD = {
    "conv2d": ((0, 0), (0, 1)),
    "conv2d_input_grad": ((0, 1), (0, 1)),
    "conv2d_weight_grad": ((1, 1), (1, 0)),
}


def _pair(v, name):
    v = (v, v) if isinstance(v, int) else tuple(v)
    if len(v) != 2 or any(not isinstance(n, (int, np.integer)) or n < 0 for n in v):
        raise ValueError(f"conv2d: {name} must be a non-negative int or a pair, got {v}")
    return tuple(int(n) for n in v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C, KH, KW), as
    ``torch.nn.functional.conv2d`` (no groups). Differentiable in x, w, b to any order."""
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
    if b is not None:
        from .shape import reshape
        out = out + reshape(as_tensor(b), (-1, 1, 1))
    return out


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1):
    """1-D cross-correlation of ``x`` (N, C, L) with ``w`` (O, C, K), via ``conv2d``."""
    from .shape import expand_dims, squeeze
    x, w = as_tensor(x), as_tensor(w)
    if x.ndim != 3 or w.ndim != 3:
        raise ShapeError(f"conv1d: expected x (N, C, L) and w (O, C, K), got {describe(x)} "
                         f"and {describe(w)}")
    out = conv2d(expand_dims(x, 2), expand_dims(w, 2), None, (1, stride), (0, padding),
                 (1, dilation))
    out = squeeze(out, 2)
    if b is not None:
        from .shape import reshape
        out = out + reshape(as_tensor(b), (-1, 1))
    return out


# -- pooling -------------------------------------------------------------------------------------
# Pooling weights are stored offset-first, (KH, KW, ...window grid), so gather and scatter are
# one strided slice per kernel offset on any leading dims (batches of tangents included).
# Average pooling weighs with floats; max pooling's weight is a boolean one-hot of each window's
# winner. Products are NumPy's fastest way to apply either (masked ufuncs and np.where are 3-6x
# slower), but a loser's ±inf times 0 is NaN where the one-hot must give exactly 0: when a
# non-finite value meets a boolean weight, the offsets are selected with np.where instead.
def _weighted(v, w, nonfinite: bool):
    return np.where(w, v, 0) if nonfinite and w.dtype == np.bool_ else v * w


def _gather(x, weight, ksize, stride, x_shape):
    def total(nonfinite):
        out = None
        for i, j, idx in _offsets(ksize, stride, (1, 1), _pool_out(x_shape, ksize, stride)):
            term = _weighted(x[(Ellipsis,) + idx], weight[i, j], nonfinite)
            out = term if out is None else out + term
        return out

    with np.errstate(invalid="ignore"):  # 0·inf: detected here, then selected instead
        out = total(False)
        return total(True) if weight.dtype == np.bool_ and np.isnan(out).any() else out


def _scatter(g, weight, ksize, stride, x_shape):
    out = np.zeros(g.shape[:-2] + tuple(x_shape[-2:]), g.dtype)
    nonfinite = weight.dtype == np.bool_ and not np.isfinite(g).all()
    disjoint = stride[0] >= ksize[0] and stride[1] >= ksize[1]  # no input in two windows
    for i, j, idx in _offsets(ksize, stride, (1, 1), g.shape[-2:]):
        o = out[(Ellipsis,) + idx]
        if disjoint and not nonfinite:
            np.multiply(g, weight[i, j], out=o)  # written once: no temporary, no add
        else:
            o += _weighted(g, weight[i, j], nonfinite)
    return out


def _pool_out(x_shape, ksize, stride):
    return tuple(_out_len(n, k, s, 0, 1) for n, k, s in zip(x_shape[-2:], ksize, stride))


POOL_GATHER = linear("pool_gather", _gather, lambda ops, g, p, needs: [
    ops.apply(POOL_SCATTER, (g,), p)],
    formula="∂/∂x: each window's weights (argmax one-hot for max, 1/k² for average)")
POOL_SCATTER = linear("pool_scatter", _scatter, lambda ops, g, p, needs: [
    ops.apply(POOL_GATHER, (g,), p)], formula="the transpose of pool_gather")


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
    NaN (whose maximum is NaN) to its last NaN, as PyTorch's."""
    x, k, s = _pool_args(x, kernel_size, stride, "max_pool2d")
    out_hw = _pool_out(x.shape, k, s)
    views = [(i, j, x.data[(Ellipsis,) + idx]) for i, j, idx in _offsets(k, s, (1, 1), out_hw)]
    top = views[0][2].copy()
    for _, _, v in views[1:]:
        np.maximum(top, v, out=top)
    # The weight: a one-hot of the first maximum of each window (locally constant).
    onehot = np.empty(k + top.shape, bool)
    free = np.ones(top.shape, bool)
    for i, j, v in views:
        hit = np.equal(v, top, out=onehot[i, j])
        hit &= free
        free ^= hit  # hit ⊆ free: drop the windows just claimed
    free = np.isnan(top)  # a window holding NaN: the gradient goes to its last NaN (PyTorch's)
    if free.any():
        for i, j, v in reversed(views):
            hit = np.isnan(v) & free
            free ^= hit
            onehot[i, j] |= hit
    return apply(POOL_GATHER, (x,), {"weight": onehot, "ksize": k, "stride": s,
                                     "x_shape": x.shape}, data=top)


def avg_pool2d(x, kernel_size, stride=None):
    """Mean over each window (no padding)."""
    x, k, s = _pool_args(x, kernel_size, stride, "avg_pool2d")
    weight = np.full(k, 1.0 / (k[0] * k[1]), x.dtype)
    return apply(POOL_GATHER, (x,), {"weight": weight, "ksize": k, "stride": s,
                                     "x_shape": x.shape})


def max_pool1d(x, kernel_size, stride=None):
    """Max over windows of (N, C, L), via ``max_pool2d``."""
    from .shape import expand_dims, squeeze
    stride = kernel_size if stride is None else stride
    return squeeze(max_pool2d(expand_dims(x, 2), (1, kernel_size), (1, stride)), 2)
