"""The NumPy work behind the convolution primitives: im2col, batched GEMM, col2im.

im2col is ONE copy of a strided view (``as_strided``) whose innermost axis runs along image
rows, never a Python loop over pixels or offsets.

Stride 1 ("wide" rows). On the flattened padded plane (row width Wp), kernel offset (i, j) is
a shift by i·dh·Wp + j·dw, so each offset's windows are one contiguous run of
R = (Ho − 1)·Wp + Wo elements. The columns are those runs, (N, C, KH, KW, R): they copy at
memory speed, and the GEMM computes the output on a grid Wp wide whose extra columns are
dropped (forward) or meet zeros in the cotangent (weight gradient). Other strides use
(N, C, KH, KW, Ho, Wo) columns.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


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


def im2col(x, g: Geometry):
    """(N, C·KH·KW, positions): every window of ``x``, by one copy of a strided view."""
    ph, pw = g.padding
    if ph or pw:
        x = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    (kh, kw), (dh, dw), (sh, sw) = g.ksize, g.dilation, g.stride
    sn, sc, srow, scol = x.strides
    if g.wide:  # offset (i, j) starts i·dh rows and j·dw columns in; then one run
        view = as_strided(x, (n, c, kh, kw, g.run), (sn, sc, dh * srow, dw * scol, scol))
    else:
        view = as_strided(x, (n, c, kh, kw, g.ho, g.wo),
                          (sn, sc, dh * srow, dw * scol, sh * srow, sw * scol))
    return np.ascontiguousarray(view).reshape(n, c * kh * kw, g.positions)


def col2im(cols, g: Geometry, n, c):
    """The transpose of ``im2col``: add (N, C·KH·KW, positions) back into (N, C, H, W)."""
    kh, kw = g.ksize
    (dh, dw), (ph, pw) = g.dilation, g.padding
    if g.wide:  # one contiguous add per kernel offset
        cols = cols.reshape(n, c, kh, kw, g.run)
        out = np.zeros((n, c, g.hp * g.wp), cols.dtype)
        for i in range(kh):
            for j in range(kw):
                start = i * dh * g.wp + j * dw
                out[:, :, start:start + g.run] += cols[:, :, i, j]
        out = out.reshape(n, c, g.hp, g.wp)
    else:
        cols = cols.reshape(n, c, kh, kw, g.ho, g.wo)
        out = np.zeros((n, c, g.hp, g.wp), cols.dtype)
        for i, j, (rows, cols_) in offsets(g.ksize, g.stride, g.dilation, (g.ho, g.wo)):
            out[:, :, rows, cols_] += cols[:, :, i, j]
    return out[:, :, ph:ph + g.h, pw:pw + g.w]


def conv(x, w, stride, padding, dilation):
    """C(x, w): (N, C, H, W) ⋆ (O, C, KH, KW) -> (N, O, Ho, Wo)."""
    g = Geometry(x.shape[-2:], w.shape[-2:], stride, padding, dilation)
    return g.output_view(np.matmul(w.reshape(w.shape[0], -1), im2col(x, g)))


def conv_input_grad(gy, w, stride, padding, dilation, x_shape):
    """T(ȳ, w) = ∂⟨C(x, w), ȳ⟩/∂x: the transposed convolution. N and C come from the
    operands (under a folded batch of tangents they differ from ``x_shape``'s)."""
    g = Geometry(x_shape[-2:], w.shape[-2:], stride, padding, dilation)
    cols = np.matmul(w.reshape(w.shape[0], -1).T, g.grid(gy))
    return col2im(cols, g, gy.shape[0], w.shape[1])


def conv_weight_grad(x, gy, stride, padding, dilation, w_shape):
    """W(x, ȳ) = ∂⟨C(x, w), ȳ⟩/∂w: x's windows correlated with ȳ, summed over the batch."""
    g = Geometry(x.shape[-2:], tuple(w_shape[-2:]), stride, padding, dilation)
    # (cols · ȳᵀ)ᵀ rather than ȳ · colsᵀ: the same sums, but OpenBLAS runs these tall
    # (C·KH·KW, O) products 1.5-1.8x faster when C > 1 (as fast when C = 1), measured on
    # LeNet- and CIFAR-sized layers; the 8->16 conv layer's fwd+bwd went 3.7 -> 3.1 ms.
    dw = np.matmul(im2col(x, g), g.grid(gy).transpose(0, 2, 1)).sum(0).T
    return dw.reshape((gy.shape[1], x.shape[1]) + tuple(w_shape[-2:]))  # C may hold a batch
