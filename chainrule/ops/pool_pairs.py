"""Max pooling over 2×2 windows at stride 2 (most CNNs' pooling) as two passes over pairs.

NumPy pays for every row of a strided view, not only for its elements: each of a 2×2 window's
four offsets is a view of N·C·H/2 rows of W/2 elements (LeNet's first pool: 6,144 rows of
12), and the general kernels in ``conv.py`` spent most of their time on those rows, four
views each way. In pairs, a window row's two elements are the even and odd elements of the
flat array, so the columns take one long 1-D call; the rows then take one call over rows of
W/2. On LeNet's 64×8×24×24 the forward went from 0.43 to 0.14 ms and the backward from 1.33
to ~0.45 ms (``bench/lenet_layers.py --only pool1``).

The winner of each window is kept as two picks instead of a (2, 2, ...) one-hot: ``cols``,
for every window row, whether its right element wins; ``lower``, whether the window's lower
row wins. Together they name the same element as the general one-hot: the first maximum in
offset order (row by row), or in a window holding NaN its last NaN, as PyTorch's.
"""
from __future__ import annotations

import numpy as np


def applies(x, ksize, stride) -> bool:
    """Whether ``x`` pools by pairs: 2×2 windows at stride 2 that tile its (even) planes,
    a contiguous float array."""
    return (ksize == stride == (2, 2) and x.ndim >= 2 and x.shape[-1] % 2 == 0
            and x.shape[-2] % 2 == 0 and x.size > 0 and x.dtype.kind == "f"
            and x.flags.c_contiguous)


def window_max(x):
    """Each window's maximum: the larger of each row's pair, then of the window's two rows
    (NaN wins, as in ``np.maximum``; among equal values the first, as the general kernel)."""
    pairs = x.reshape(-1, 2)
    rows = np.maximum(pairs[:, 0], pairs[:, 1]).reshape(-1, 2, x.shape[-1] // 2)
    return np.maximum(rows[:, 0], rows[:, 1]).reshape(x.shape[:-2] + _grid(x.shape))


def _grid(shape):
    return (shape[-2] // 2, shape[-1] // 2)


class Picks:
    """Each 2×2 window's winner, as ``max_pool2d``'s backward and tangent need it.

    >>> import numpy as np
    >>> x = np.array([[[[1., 5.], [5., 2.]]]])
    >>> p = Picks(x, window_max(x))
    >>> p.scatter(np.array([[[[10.]]]])).tolist()  # the first 5 (upper row) gets it all
    [[[[0.0, 10.0], [0.0, 0.0]]]]
    """
    __slots__ = ("cols", "lower", "x_shape")

    def __init__(self, x, top):
        half = x.shape[-1] // 2
        pairs = x.reshape(-1, 2)
        # contiguous copies first: NumPy compares stride-2 views ~10x slower than contiguous
        # arrays (no SIMD loop), so two copies and fast calls beat the strided calls
        left, right = pairs[:, 0].copy(), pairs[:, 1].copy()
        self.cols = right > left  # ties stay left: the first maximum
        rows = np.maximum(left, right).reshape(-1, 2, half)
        self.lower = rows[:, 1] > rows[:, 0]
        if np.isnan(top).any():  # a window holding NaN: its last NaN, row by row
            self.cols |= np.isnan(right)
            self.lower |= np.isnan(rows[:, 1])
        self.x_shape = x.shape

    def __repr__(self):
        return f"<2×2 max-pool winners of {self.x_shape}>"

    def onehot(self):
        """The general kernels' form: (2, 2, ...window grid) booleans."""
        half = self.x_shape[-1] // 2
        cols = self.cols.reshape(-1, 2, half)
        upper = ~self.lower
        hot = np.stack([upper & ~cols[:, 0], upper & cols[:, 0],
                        self.lower & ~cols[:, 1], self.lower & cols[:, 1]])
        return hot.reshape((2, 2) + self.x_shape[:-2] + _grid(self.x_shape))

    def fits(self, v, shape) -> bool:
        """Whether ``v`` (of the window grid's or x's shape ``shape``) takes the pair path:
        no leading tangent batch, and finite (a loser's 0 times ±inf or NaN would be NaN;
        the general kernels select those instead of multiplying)."""
        return v.shape == shape and v.dtype.kind == "f" and bool(np.isfinite(v).all())

    def scatter(self, g):
        """x̄: each window's ȳ at its winner, 0 elsewhere (g of the window grid's shape,
        finite: see ``fits``). Every loser gets ȳ·0, as the general kernel's product."""
        half = self.x_shape[-1] // 2
        rows = np.empty((self.lower.shape[0], 2, half), g.dtype)
        gr = g.reshape(-1, half)
        np.multiply(gr, ~self.lower, out=rows[:, 0])
        np.multiply(gr, self.lower, out=rows[:, 1])
        out = np.empty(self.x_shape, g.dtype)
        pairs, flat = out.reshape(-1, 2), rows.reshape(-1)
        np.multiply(flat, ~self.cols, out=pairs[:, 0])
        np.multiply(flat, self.cols, out=pairs[:, 1])
        return out

    def gather(self, v):
        """Each window's winner's value of ``v`` (x-shaped, finite: see ``fits``): the
        transpose of ``scatter``, a sum of products with one non-zero term."""
        half = self.x_shape[-1] // 2
        pairs = v.reshape(-1, 2)
        rows = pairs[:, 0] * ~self.cols
        rows += pairs[:, 1] * self.cols
        rows = rows.reshape(-1, 2, half)
        out = rows[:, 0] * ~self.lower
        out += rows[:, 1] * self.lower
        return out.reshape(self.x_shape[:-2] + _grid(self.x_shape))
