"""The NumPy work behind the convolution primitives, in two layouts chosen by the shapes.

**Batch-last** (``batch_last``: small planes with many input channels, e.g. LeNet's 8->16
layer). The input is copied once to (C, H, W, N), so that a window row of Wo pixels is one
contiguous run of Wo·N numbers. Only the kernel's *width* offsets are copied out ("row
windows", (Hp, C·KW, Wo·N)); the KH consecutive input rows an output row reads are then one
(KH·C·KW, Wo·N) matrix, a view, and the forward is one batched matmul of small GEMMs, one
per output pixel over the batch (no im2col of the full kernel, no adds). The weight
gradient is the same slabs against ȳ, summed over the pixels; the input gradient spreads ȳ
over the kernel's width offsets the same way, per-pixel GEMMs give every (kernel row,
channel) contribution, and KH contiguous adds place them (no col2im of 25 short strided
adds).

**Wide rows** (few input channels, e.g. a first 1->8 layer, or large planes). In
(N, C, H, W), kernel offset (i, j) at stride 1 is a shift by i·dh·Wp + j·dw of the flattened
padded plane (row width Wp), so each offset's windows are one contiguous run of
R = (Ho − 1)·Wp + Wo elements. The columns are those runs, (N, C, KH, KW, R): they copy at
memory speed, and the GEMM computes the output on a grid Wp wide whose extra columns are
dropped (forward) or meet zeros in the cotangent (weight gradient). Other strides use
(N, C, KH, KW, Ho, Wo) columns.

Every copy is one ``as_strided`` view copied at once, never a Python loop over pixels.
Each kernel splits its work over ``parallel.threads()`` threads, by samples (wide rows),
output rows or channels (batch-last): each part runs the same NumPy calls on its own slice,
so the bytes are those of one thread; a sum over the batch or the pixels runs afterwards.
"""
from __future__ import annotations

import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..engine import is_grad_enabled
from .parallel import split


def out_len(n, k, stride, pad, dil):
    return (n + 2 * pad - dil * (k - 1) - 1) // stride + 1


def offsets(ksize, stride, dilation, out_hw):
    """For each kernel offset (i, j): the strided slices of the padded input it touches."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = ksize, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


class Geometry:
    """Sizes of one convolution: padded input plane, output, and the column layout."""

    def __init__(self, hw, ksize, stride, padding, dilation):
        self.ksize, self.stride, self.padding, self.dilation = ksize, stride, padding, dilation
        self.h, self.w = hw
        self.hp, self.wp = hw[0] + 2 * padding[0], hw[1] + 2 * padding[1]
        self.ho = out_len(hw[0], ksize[0], stride[0], padding[0], dilation[0])
        self.wo = out_len(hw[1], ksize[1], stride[1], padding[1], dilation[1])
        self.wide = stride == (1, 1)
        self.run = (self.ho - 1) * self.wp + self.wo  # wide: one offset's span
        self.positions = self.run if self.wide else self.ho * self.wo  # columns per image
        self.key = (self.h, self.w, ksize, stride, padding, dilation)

    def output_view(self, y):
        """(..., R) wide GEMM output as (..., Ho, Wo): every Wp-th run of Wo (a view)."""
        if not self.wide:
            return y.reshape(y.shape[:-1] + (self.ho, self.wo))
        s = y.strides[-1]
        return as_strided(y, y.shape[:-1] + (self.ho, self.wo),
                          y.strides[:-1] + (self.wp * s, s))  # disjoint: safe to write

    def grid(self, g):
        """An (N, O, Ho, Wo) cotangent as (N, O, positions), zeros where the wide grid has
        columns past Wo, so whatever the columns hold there drops out of the products."""
        n, o = g.shape[:2]
        if not self.wide:
            return g.reshape(n, o, self.positions)
        out = np.zeros((n, o, self.ho, self.wp), g.dtype)
        out[..., :self.wo] = g
        return out.reshape(n, o, self.ho * self.wp)[..., :self.run]


def _im2col_view(x, g: Geometry):
    """Every window of ``x`` as a strided view of its padded copy: (N, C, KH, KW, R) in
    wide rows, (N, C, KH, KW, Ho, Wo) at other strides."""
    ph, pw = g.padding
    if ph or pw:
        x = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    (kh, kw), (dh, dw), (sh, sw) = g.ksize, g.dilation, g.stride
    sn, sc, srow, scol = x.strides
    if g.wide:  # offset (i, j) starts i·dh rows and j·dw columns in; then one run
        return as_strided(x, (n, c, kh, kw, g.run), (sn, sc, dh * srow, dw * scol, scol))
    return as_strided(x, (n, c, kh, kw, g.ho, g.wo),
                      (sn, sc, dh * srow, dw * scol, sh * srow, sw * scol))


def im2col(x, g: Geometry, then=None):
    """(N, C·KH·KW, positions): every window of ``x``, copied out sample by sample over the
    threads; ``then(cols, lo, hi)``, if given, runs on each part right after its copy, in
    the same thread (a forward's GEMM: one hand-off for both)."""
    view = _im2col_view(x, g)
    n = view.shape[0]
    out = np.empty(view.shape, view.dtype)
    cols = out.reshape(n, -1, g.positions)

    def part(lo, hi):
        np.copyto(out[lo:hi], view[lo:hi])
        if then is not None:
            then(cols, lo, hi)

    split(n, out.size, part)
    return cols


def col2im(cols, g: Geometry, n, c, out=None):
    """The transpose of ``im2col``: add (N, C·KH·KW, positions) back into (N, C, H, W)
    (into the padded ``out``, (N, C, Hp·Wp) in wide rows, (N, C, Hp, Wp) otherwise, when
    given: zeros, or a part of them)."""
    kh, kw = g.ksize
    (dh, dw), (ph, pw) = g.dilation, g.padding
    if g.wide:  # one contiguous add per kernel offset
        cols = cols.reshape(n, c, kh, kw, g.run)
        out = np.zeros((n, c, g.hp * g.wp), cols.dtype) if out is None else out
        for i in range(kh):
            for j in range(kw):
                start = i * dh * g.wp + j * dw
                out[:, :, start:start + g.run] += cols[:, :, i, j]
        out = out.reshape(n, c, g.hp, g.wp)
    else:
        cols = cols.reshape(n, c, kh, kw, g.ho, g.wo)
        out = np.zeros((n, c, g.hp, g.wp), cols.dtype) if out is None else out
        for i, j, (rows, cols_) in offsets(g.ksize, g.stride, g.dilation, (g.ho, g.wo)):
            out[:, :, rows, cols_] += cols[:, :, i, j]
    return out[:, :, ph:ph + g.h, pw:pw + g.w]


# -- the windows kept from the forward ----------------------------------------------------------
# A training step copies x's windows out in the forward and again for the weight gradient
# (0.36 ms of LeNet's ~7 ms step). Each forward keeps its copy, with the x array it was made
# from; the weight gradient takes it (once) when handed that same array object for the same
# geometry and layout. An array whose values changed in between cannot reach the weight
# gradient: chainrule's version counters refuse a backward through a conv whose saved input
# was written in place, and every forward makes its windows afresh. A hit needs ``is``, so an
# equal but distinct array never takes another's windows. The backward meets the convs in
# reverse order, so a few are kept (KEEP, at most KEEP_BYTES together), the oldest dropped;
# none under ``no_grad`` (no backward will follow).
KEEP, KEEP_BYTES = 4, 64 << 20
_KEPT: list = []  # (x, key, windows), oldest first
_LOCK = threading.Lock()


def windows(x, g: Geometry, forward: bool = False, then=None):
    """x's windows in the layout ``g`` picks: made (and kept) by a forward, taken by the
    weight gradient that follows it. ``then`` (wide rows only): see ``im2col``."""
    key = g.key + (batch_last(x.shape[1], g.ksize[1], (g.h, g.w)),)
    assert then is None or not key[-1], "then: wide rows only"
    if not forward:
        with _LOCK:
            for k, (kept_x, kept_key, cols) in enumerate(_KEPT):
                if kept_x is x and kept_key == key:
                    del _KEPT[k]
                    if then is not None:
                        split(len(cols), cols.size, lambda lo, hi: then(cols, lo, hi))
                    return cols
    cols = _row_windows(_to_batch_last(x, g.padding), g) if key[-1] else im2col(x, g, then)
    if forward and cols.nbytes <= KEEP_BYTES and is_grad_enabled():
        with _LOCK:
            _KEPT.append((x, key, cols))
            while len(_KEPT) > KEEP or sum(e[2].nbytes for e in _KEPT) > KEEP_BYTES:
                del _KEPT[0]
    return cols


# -- batch-last ------------------------------------------------------------------------------
def batch_last(c, kw, hw) -> bool:
    """Whether a convolution with ``c`` input channels, kernel width ``kw`` and input planes
    ``hw`` runs in the batch-last layout. Measured (thread CPU time, forward + both
    gradients): its GEMMs (inner size KH·C·KW) are too thin below C·KW = 16 (1->8 5×5 on
    28×28: 1.4x slower than wide rows), and on large planes its transposes cost more than the
    wide rows' padding (16->32 3×3 on 32×32: 1.35x slower); on small planes with many channels
    it wins (8->16 5×5 on 12×12: 1.7x faster, 64->64 3×3 on 8×8: 1.5x)."""
    if FORCE is not None:
        return FORCE == "batch_last"
    return c * kw >= 16 and hw[0] * hw[1] <= 256


FORCE = None  # tests set "batch_last" or "wide" to run one layout whatever the shapes


def _to_batch_last(x, padding):
    """(N, C, H, W) -> (C, H + 2·ph, W + 2·pw, N), zero-padded, contiguous: one copy."""
    n, c, h, w = x.shape
    ph, pw = padding
    out = np.zeros((c, h + 2 * ph, w + 2 * pw, n), x.dtype) if ph or pw else None
    if out is None:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    out[:, ph:ph + h, pw:pw + w] = x.transpose(1, 2, 3, 0)
    return out


def _from_batch_last(y):
    """(C, H, W, N) -> a contiguous (N, C, H, W), as the primitives return."""
    return np.ascontiguousarray(y.transpose(3, 0, 1, 2))


def _row_windows(xt, g: Geometry):
    """(Hp, C·KW, Wo·N): for each input row, every kernel column's window pixels (one copy)."""
    c, hp, _, n = xt.shape
    sc, srow, scol, sn = xt.strides
    view = as_strided(xt, (hp, c, g.ksize[1], g.wo, n),
                      (srow, sc, g.dilation[1] * scol, g.stride[1] * scol, sn))
    return np.ascontiguousarray(view).reshape(hp, c * g.ksize[1], g.wo * n)


def _row_slabs(xw, g: Geometry):
    """(Ho, KH·C·KW, Wo·N): for each output row, the KH input rows its windows read, as one
    matrix: a view (consecutive rows of ``xw``) unless the kernel is dilated in height."""
    _, ckw, m = xw.shape
    s0, s1, s2 = xw.strides
    view = as_strided(xw, (g.ho, g.ksize[0], ckw, m),
                      (g.stride[0] * s0, g.dilation[0] * s0, s1, s2))
    return view.reshape(g.ho, g.ksize[0] * ckw, m)


# The GEMMs run per output pixel, over the batch: (O, K) · (K, N) for K = KH·C·KW. One
# batched matmul makes them all, each small enough (LeNet's 8->16: 16·200·64 multiply-adds,
# under OpenBLAS's 262,144) that OpenBLAS runs it in the calling thread. At one thread the
# GEMMs alone ran 0.41 ms against 0.68 for one GEMM per output row (whose (K, Wo·N) operand
# overflows the cache); the layer's three kernels, interleaved with the old ones, ~5% faster.
# At two, no OpenBLAS worker is left spinning on the second core for ~0.1 s after each call
# (measured: 50 ms of CPU during a 50 ms sleep after a step), where the split below (by
# output rows, the same calls in each part) needs that core. MACS: a multiply-add's share of a
# copied element's cost, for ``split``'s sizing.
MACS = 8


def _pixel_slabs(x, g: Geometry, forward: bool = False):
    """(Ho, Wo, K, N): each output pixel's windows over the batch (a view of the row
    windows)."""
    slabs = _row_slabs(windows(x, g, forward=forward), g)
    return slabs.reshape(g.ho, slabs.shape[1], g.wo, x.shape[0]).transpose(0, 2, 1, 3)


def _bl_conv(x, w, g: Geometry):
    slabs = _pixel_slabs(x, g, forward=True)
    o, k, n = w.shape[0], slabs.shape[2], x.shape[0]
    wm = w.transpose(0, 2, 1, 3).reshape(o, k)  # (O, KH·C·KW), as the slabs' rows
    dtype = np.result_type(x.dtype, w.dtype)
    y = np.empty((g.ho, g.wo, o, n), dtype)
    out = np.empty((n, o, g.ho, g.wo), dtype)

    def part(lo, hi):
        np.matmul(wm, slabs[lo:hi], out=y[lo:hi])
        out[:, :, lo:hi] = y[lo:hi].transpose(3, 2, 0, 1)

    split(g.ho, y.size * k // MACS, part)
    return out


def _bl_weight_grad(x, gy, g: Geometry):
    slabs = _pixel_slabs(x, g)
    o, c, (kh, kw), k = gy.shape[1], x.shape[1], g.ksize, slabs.shape[2]
    prod = np.empty((g.ho, g.wo, k, o), np.result_type(x.dtype, gy.dtype))

    def part(lo, hi):  # (K, N) · (N, O) per pixel: the tall product OpenBLAS runs fastest
        gt = np.ascontiguousarray(gy[:, :, lo:hi].transpose(2, 3, 0, 1))  # (rows, Wo, N, O)
        np.matmul(slabs[lo:hi], gt, out=prod[lo:hi])

    split(g.ho, prod.size * x.shape[0] // MACS, part)
    dw = prod.reshape(-1, k * o).sum(0)  # over the pixels, afterwards: one order always
    return np.ascontiguousarray(dw.reshape(kh, c, kw, o).transpose(3, 1, 0, 2))


def _bl_input_grad(gy, w, g: Geometry):
    n, o = gy.shape[:2]
    c, (kh, kw), (dh, dw), (sh, sw) = w.shape[1], g.ksize, g.dilation, g.stride
    # ȳ spread on the padded input's width: pixel wo lands at column dw·(KW−1) + sw·wo, so
    # that kernel column j' = KW−1−j of "spread" reads it at input column sw·wo + j·dw
    spread = np.zeros((o, g.ho, g.wp + dw * (kw - 1), n), gy.dtype)
    first = dw * (kw - 1)
    spread[:, :, first:first + sw * (g.wo - 1) + 1:sw] = gy.transpose(1, 2, 3, 0)
    so, srow, scol, sn = spread.strides
    # for each (output row, input column): the (O·KW, N) matrix of ȳ values it gathers
    cols = as_strided(spread, (g.ho, g.wp, o, kw, n), (srow, scol, so, dw * scol, sn))
    wm = w.transpose(2, 1, 0, 3)[..., ::-1].reshape(kh * c, o * kw)  # [i, c][o, j']
    dtype = np.result_type(gy.dtype, w.dtype)
    parts = np.empty((g.ho, g.wp, kh, c, n), dtype)

    def gemms(lo, hi):
        col = np.ascontiguousarray(cols[lo:hi]).reshape(-1, o * kw, n)
        np.matmul(wm, col, out=parts[lo:hi].reshape(-1, kh * c, n))

    split(g.ho, parts.size * o * kw // MACS, gemms)
    (ph, pw), (h, w_) = g.padding, (g.h, g.w)
    dx = np.zeros((c, g.hp, g.wp, n), dtype)
    out = np.empty((n, c, h, w_), dtype)

    def place(lo, hi):  # by channels: kernel row i feeds input rows i·dh + sh·ho, one add each
        for i in range(kh):
            dx[lo:hi, i * dh:i * dh + sh * (g.ho - 1) + 1:sh] += \
                parts[:, :, i, lo:hi].transpose(2, 0, 1, 3)
        out[:, lo:hi] = dx[lo:hi, ph:ph + h, pw:pw + w_].transpose(3, 0, 1, 2)

    split(c, dx.size * kh, place)
    return out


# -- the three primitives' kernels ---------------------------------------------------------------
def conv(x, w, stride, padding, dilation):
    """C(x, w): (N, C, H, W) ⋆ (O, C, KH, KW) -> (N, O, Ho, Wo)."""
    g = Geometry(x.shape[-2:], w.shape[-2:], stride, padding, dilation)
    if batch_last(x.shape[1], w.shape[3], x.shape[-2:]):
        return _bl_conv(x, w, g)
    return _wide_conv(x, w, stride, padding, dilation)


def conv_input_grad(gy, w, stride, padding, dilation, x_shape):
    """T(ȳ, w) = ∂⟨C(x, w), ȳ⟩/∂x: the transposed convolution. N and C come from the
    operands (under a folded batch of tangents they differ from ``x_shape``'s)."""
    if batch_last(w.shape[1], w.shape[3], x_shape[-2:]):
        g = Geometry(x_shape[-2:], w.shape[-2:], stride, padding, dilation)
        return _bl_input_grad(gy, w, g)
    return _wide_input_grad(gy, w, stride, padding, dilation, x_shape)


def conv_weight_grad(x, gy, stride, padding, dilation, w_shape):
    """W(x, ȳ) = ∂⟨C(x, w), ȳ⟩/∂w: x's windows correlated with ȳ, summed over the batch."""
    if batch_last(x.shape[1], w_shape[-1], x.shape[-2:]):
        g = Geometry(x.shape[-2:], tuple(w_shape[-2:]), stride, padding, dilation)
        dw = _bl_weight_grad(x, gy, g)
        return dw.reshape((gy.shape[1], x.shape[1]) + tuple(w_shape[-2:]))
    return _wide_weight_grad(x, gy, stride, padding, dilation, w_shape)


# -- wide rows -----------------------------------------------------------------------------------
# Each sample's GEMMs run in the part of the split that copied its windows (``then``), into
# rows of one output: the same BLAS call per sample as one batched matmul makes, so the same
# bytes; the weight gradient's sum over the batch runs afterwards, on the whole product.
def _wide_conv(x, w, stride, padding, dilation):
    g = Geometry(x.shape[-2:], w.shape[-2:], stride, padding, dilation)
    wm = w.reshape(w.shape[0], -1)
    y = np.empty((x.shape[0], wm.shape[0], g.positions), np.result_type(x.dtype, w.dtype))
    windows(x, g, forward=True,
            then=lambda cols, lo, hi: np.matmul(wm, cols[lo:hi], out=y[lo:hi]))
    return g.output_view(y)


def _wide_input_grad(gy, w, stride, padding, dilation, x_shape):
    g = Geometry(x_shape[-2:], w.shape[-2:], stride, padding, dilation)
    n, c = gy.shape[0], w.shape[1]
    wt = w.reshape(w.shape[0], -1).T
    dtype = np.result_type(gy.dtype, w.dtype)
    out = np.zeros((n, c, g.hp * g.wp) if g.wide else (n, c, g.hp, g.wp), dtype)

    def part(lo, hi):
        col2im(np.matmul(wt, g.grid(gy[lo:hi])), g, hi - lo, c, out[lo:hi])

    split(n, n * wt.shape[0] * g.positions, part)
    out = out.reshape(n, c, g.hp, g.wp)
    (ph, pw) = g.padding
    return out[:, :, ph:ph + g.h, pw:pw + g.w]


def _wide_weight_grad(x, gy, stride, padding, dilation, w_shape):
    g = Geometry(x.shape[-2:], tuple(w_shape[-2:]), stride, padding, dilation)
    # (cols · ȳᵀ)ᵀ rather than ȳ · colsᵀ: the same sums, but OpenBLAS runs these tall
    # (C·KH·KW, O) products 1.5-1.8x faster when C > 1 (as fast when C = 1), measured on
    # LeNet- and CIFAR-sized layers; the 8->16 conv layer's fwd+bwd went 3.7 -> 3.1 ms.
    n, o = gy.shape[:2]
    ckk = x.shape[1] * w_shape[-2] * w_shape[-1]
    prod = np.empty((n, ckk, o), np.result_type(x.dtype, gy.dtype))
    windows(x, g, then=lambda cols, lo, hi: np.matmul(
        cols[lo:hi], g.grid(gy[lo:hi]).transpose(0, 2, 1), out=prod[lo:hi]))
    dw = prod.sum(0).T
    return dw.reshape((gy.shape[1], x.shape[1]) + tuple(w_shape[-2:]))  # C may hold a batch
