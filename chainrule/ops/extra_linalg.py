"""``cr.linalg`` beyond the basic matrix functions: norms of every order NumPy accepts,
decompositions (svd, eigh, qr), pinv, lstsq, matrix_power, multi_dot. Written as compositions
of primitives wherever the math allows, so every order of derivative follows."""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..errors import LinAlgError, ShapeError, describe
from ..registry import general
from . import reduce as R
from ._front import norm_axis
from .elementwise import abs as _abs
from .elementwise import sqrt as _sqrt
from .elementwise import where
from .linalg import matmul
from .matrix import _square, cholesky, inv, solve
from .shape import (
    CONCAT,
    GETITEM,
    as_tensor,
    concatenate,
    expand_dims,
    flip,
    getitem,
    squeeze,
    swapaxes,
    transpose,
)


def _vector_norm(x, ord, axis, keepdims):  # noqa: A002
    if ord is None or ord == 2:
        return R.norm(x, None, axis, keepdims)
    if ord == np.inf:
        return R.max(_abs(x), axis, keepdims)
    if ord == -np.inf:
        return R.min(_abs(x), axis, keepdims)
    if ord == 0:  # the number of nonzero entries: piecewise constant, gradient 0
        return R.sum(_abs(x) * 0.0 + (x.data != 0), axis, keepdims)
    if ord == 1:
        return R.sum(_abs(x), axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is a matrix norm; give a 2-D axis")
    return R.sum(_abs(x) ** float(ord), axis, keepdims) ** (1.0 / float(ord))


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    a0, a1 = axes
    if ord in (None, "fro"):
        out = _sqrt(R.sum(x * x, axes, keepdims=True))
    elif ord in (1, -1):
        col = R.sum(_abs(x), a0, keepdims=True)
        out = R.max(col, a1, keepdims=True) if ord == 1 else R.min(col, a1, keepdims=True)
    elif ord in (np.inf, -np.inf):
        row = R.sum(_abs(x), a1, keepdims=True)
        out = R.max(row, a0, keepdims=True) if ord > 0 else R.min(row, a0, keepdims=True)
    elif ord in (2, -2, "nuc"):
        s = svdvals(_to_last_two(x, a0, a1))
        v = R.sum(s, -1) if ord == "nuc" else R.max(s, -1) if ord == 2 else R.min(s, -1)
        return _expand_back(v, x.ndim, a0, a1, keepdims)
    else:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm")
    return out if keepdims else _squeeze2(out, a0, a1)


def _squeeze2(v, a0, a1):
    return squeeze(v, (a0, a1))


def _to_last_two(x, a0, a1):
    n = x.ndim
    rest = [i for i in range(n) if i - n not in (a0, a1)]
    return transpose(x, rest + [a0 + n, a1 + n])


def _expand_back(v, ndim, a0, a1, keepdims):
    return expand_dims(v, tuple(sorted((a0 + ndim, a1 + ndim)))) if keepdims else v


def norm(x, ord=None, axis=None, keepdims: bool = False):  # noqa: A002
    """Vector or matrix norm, as ``numpy.linalg.norm`` (every ``ord`` it accepts).

    Vectors: 2 (default), 1, inf, -inf, 0 (count), any other p. Matrices (a 2-D input with
    ``axis=None``, or a pair of axes): ``'fro'`` (default), ``'nuc'``, 1, -1, 2, -2, inf,
    -inf. The 2-norm and nuclear norm go through singular values: see ``svd`` for their
    derivative where singular values repeat.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([[3.0, 0.0], [0.0, 4.0]]), 'nuc').item()
    7.0
    """
    x = as_tensor(x)
    if axis is None:
        if ord is None:
            return R.norm(x, None, None, keepdims)
        if x.ndim == 1:
            return _vector_norm(x, ord, None, keepdims)
        if x.ndim == 2:
            return _matrix_norm(x, ord, (-2, -1), keepdims)
        raise ShapeError(f"norm: ord={ord!r} needs a 1-D or 2-D input or an axis, got "
                         f"{describe(x)}")
    axes = norm_axis(axis, x.ndim) if not isinstance(axis, (int, np.integer)) else None
    if axes is None or len(axes) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axes) == 2:
        a = tuple(int(v) - x.ndim if int(v) >= 0 else int(v) for v in axis)
        return _matrix_norm(x, ord, a, keepdims)
    raise ShapeError(f"norm: axis must be an int or a pair, got {axis!r}")




# -- eigh: the one decomposition with its own rule; svd, qr, pinv are built on it and on
# cholesky/solve, so their derivatives of every order come from those rules. -----------------
def _eigh_forward(a):
    try:
        w, v = np.linalg.eigh(a)
    except np.linalg.LinAlgError as err:
        raise LinAlgError(f"eigh: {str(err).lower()}") from None
    return np.concatenate([w[..., None, :], v], axis=-2)


def _split(ops, out):
    """The packed output [w; V] (one row of eigenvalues over the eigenvectors) as w (…, 1, n)
    and V (…, n, n)."""
    full = tuple(out.shape)
    w = ops.apply(GETITEM, (out,), {"index": (Ellipsis, slice(0, 1), slice(None)),
                                    "shape_in": full, "basic": True})
    v = ops.apply(GETITEM, (out,), {"index": (Ellipsis, slice(1, None), slice(None)),
                                    "shape_in": full, "basic": True})
    return w, v


def _gaps(ops, w):
    """F with F_ij = 1/(λⱼ − λᵢ) off the diagonal and 0 on it (repeated eigenvalues: inf)."""
    n = w.shape[-1]
    eye = np.eye(n, dtype=bool)
    diff = w - ops.swapaxes(w, -1, -2)
    return ops.where(eye, 0, 1 / ops.where(eye, 1, diff))


def _t(ops, m):
    return ops.swapaxes(m, -1, -2)


def _eigh_vjp(ops, g, out, a):
    w, v = _split(ops, out)
    gw, gv = _split(ops, g)
    x = ops.matmul(_t(ops, v), gv)
    inner = _gaps(ops, w) * ((x - _t(ops, x)) * 0.5) + _t(ops, gw) * np.eye(w.shape[-1])
    return ops.matmul(ops.matmul(v, inner), _t(ops, v))


def _eigh_jvp(ops, g, out, a):
    da = g[0]
    if da is None:
        return None
    w, v = _split(ops, out)
    n = w.shape[-1]
    m = ops.matmul(ops.matmul(_t(ops, v), (da + _t(ops, da)) * 0.5), v)
    dw = ops.sum(m * np.eye(n), axis=-2, keepdims=True)
    dv = ops.matmul(v, _gaps(ops, w) * m)
    lead = dv.shape[:dv.ndim - 2]
    dw = ops.broadcast_to(dw, lead + (1, n)) if dw.shape[:dw.ndim - 2] != lead else dw
    return ops.apply(CONCAT, (dw, dv), {"axis": -2, "sizes": (1, n),
                                        "shape": tuple(dv.shape[:-2]) + (n + 1, n)})


# General: two outputs (eigenvalues and eigenvectors), packed in one array [w; V].
EIGH = general("eigh", _eigh_forward, vjp=[_eigh_vjp], jvp=_eigh_jvp, uses_out=True,
               formula="A = VΛVᵀ: Ā = V(diag(λ̄) + F∘skew(VᵀV̄))Vᵀ, F_ij = 1/(λⱼ − λᵢ)")


def eigh(a, UPLO="L"):  # noqa: N803
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, as
    ``numpy.linalg.eigh`` (reads the lower triangle). The derivative is the symmetric one (as
    PyTorch's); it is infinite where eigenvalues repeat (the eigenvectors are then not
    unique), so differentiate functions of the eigenvalues there.

    >>> import chainrule as cr
    >>> w, v = cr.linalg.eigh(cr.tensor([[2.0, 0.0], [0.0, 1.0]]))
    >>> w.tolist()
    [1.0, 2.0]
    """
    a = _square("eigh", a)
    if UPLO != "L":
        a = swapaxes(a, -1, -2)
    packed = apply(EIGH, (a,))
    return squeeze(getitem(packed, (Ellipsis, slice(0, 1), slice(None))), -2), getitem(
        packed, (Ellipsis, slice(1, None), slice(None)))


def eigvalsh(a, UPLO="L"):  # noqa: N803
    """The eigenvalues of a symmetric matrix, ascending (``numpy.linalg.eigvalsh``)."""
    return eigh(a, UPLO)[0]


def _columns_like(ours, theirs):
    """±1 per column so that our vectors point as NumPy's (a constant: signs are a choice)."""
    d = np.sign(np.sum(ours * theirs, axis=-2, keepdims=True))
    return np.where(d == 0, 1, d).astype(ours.dtype)


def svdvals(a):
    """Singular values, descending: √ of the eigenvalues of AᵀA (or AAᵀ, the smaller)."""
    a = as_tensor(a)
    m, n = a.shape[-2:]
    gram = matmul(swapaxes(a, -1, -2), a) if m >= n else matmul(a, swapaxes(a, -1, -2))
    w = eigvalsh(gram)
    return flip(_sqrt(where(w.data > 0, w, 0.0)), -1)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """A = U·diag(S)·Vh, as ``numpy.linalg.svd`` (singular values descending, the vectors'
    signs as NumPy's). Computed from the eigendecomposition of AᵀA (or AAᵀ), so it is
    differentiable to any order; the derivative is infinite where singular values repeat or
    vanish (the vectors are then not unique), and the accuracy is that of AᵀA: fine for
    well-conditioned matrices. With ``full_matrices=True`` the columns of U (rows of Vh)
    beyond min(m, n) are NumPy's basis of the complement, constants: gradients through them
    are ignored, as in PyTorch.

    >>> import chainrule as cr
    >>> u, s, vh = cr.linalg.svd(cr.tensor([[3.0, 0.0], [0.0, -2.0]], dtype=cr.float64))
    >>> s.tolist()
    [3.0, 2.0]
    """
    a = as_tensor(a)
    if a.ndim < 2:
        raise ShapeError(f"svd: expected a matrix or a stack of them, got {describe(a)}")
    if not compute_uv:
        return svdvals(a)
    m, n = a.shape[-2:]
    if full_matrices and m != n:
        # The extra columns (rows) span the orthogonal complement: not unique, so they are
        # NumPy's, as constants; gradients through them are ignored (as PyTorch documents).
        u, s, vh = svd(a, full_matrices=False)
        u_np, _, vh_np = np.linalg.svd(a.data, full_matrices=True)
        if m > n:
            return concatenate([u, as_tensor(u_np[..., :, n:])], axis=-1), s, vh
        return u, s, concatenate([vh, as_tensor(vh_np[..., m:, :])], axis=-2)
    if m < n:
        v, s, uh = svd(swapaxes(a, -1, -2), full_matrices=False)
        u, vh = swapaxes(uh, -1, -2), swapaxes(v, -1, -2)
        d = _columns_like(u.data, np.linalg.svd(a.data, full_matrices=False)[0])
        return u * d, s, vh * swapaxes(as_tensor(d), -1, -2).data
    w, v = eigh(matmul(swapaxes(a, -1, -2), a))
    s = flip(_sqrt(where(w.data > 0, w, 0.0)), -1)
    v = flip(v, -1)
    u = matmul(a, v) / expand_dims(s, -2)
    _, _, vh_np = np.linalg.svd(a.data, full_matrices=False)
    d = _columns_like(v.data, swapaxes(as_tensor(vh_np), -1, -2).data)
    return u * d, s, swapaxes(v * d, -1, -2)


def qr(a, mode="reduced"):
    """A = Q·R with orthonormal Q and upper-triangular R (``numpy.linalg.qr``, signs as
    NumPy's). R is the Cholesky factor of AᵀA transposed and Q = A·R⁻¹, so derivatives of
    any order follow; A must have full column rank (of its first min(m, n) columns).
    Modes 'reduced', 'r' and, for m ≤ n, 'complete'.

    >>> import chainrule as cr
    >>> q, r = cr.linalg.qr(cr.tensor([[3.0, 1.0], [4.0, 2.0]], dtype=cr.float64))
    >>> [round(v, 6) for v in r.data.ravel().tolist()]
    [-5.0, -2.2, 0.0, 0.4]
    """
    a = as_tensor(a)
    m, n = a.shape[-2:]
    if mode not in ("reduced", "r", "complete"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if mode == "complete" and m > n:
        raise NotImplementedError("qr: mode='complete' with more rows than columns is not "
                                  "supported; use 'reduced'")
    if m < n:
        first = getitem(a, (Ellipsis, slice(0, m)))
        q, r1 = qr(first)
        r2 = matmul(swapaxes(q, -1, -2), getitem(a, (Ellipsis, slice(m, None))))
        from_rest = _concat_last(r1, r2)
        return from_rest if mode == "r" else (q, from_rest)
    lt = cholesky(matmul(swapaxes(a, -1, -2), a))
    r = swapaxes(lt, -1, -2)
    q = swapaxes(solve(lt, swapaxes(a, -1, -2)), -1, -2)  # Q = A R⁻¹, i.e. Qᵀ = L⁻¹ Aᵀ
    r_np = np.linalg.qr(a.data, mode="r")
    d = np.sign(np.diagonal(r_np, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1, d).astype(a.dtype)
    r = r * d[..., :, None]
    return r if mode == "r" else (q * d[..., None, :], r)


def _concat_last(x, y):
    return concatenate([x, y], axis=-1)


def pinv(a, rcond=None, hermitian=False):
    """The Moore–Penrose pseudo-inverse (``numpy.linalg.pinv``): (AᵀA)⁻¹Aᵀ or Aᵀ(AAᵀ)⁻¹ at
    full rank; at rank r < min(m, n), V_r·diag(1/σ²)·V_rᵀ·Aᵀ over the r largest singular
    values (those above ``rcond``·σ_max: NumPy's 1e-15 by default, or max(m, n)·eps of the
    dtype where that is larger, as PyTorch). Differentiable where the rank does not change
    (the pseudo-inverse jumps where it does).

    >>> import chainrule as cr
    >>> cr.linalg.pinv(cr.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=cr.float64)).data.round(12)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    a = as_tensor(a)
    m, n = a.shape[-2:]
    at = swapaxes(a, -1, -2)
    if rcond is None:  # NumPy's 1e-15, but never below the dtype's resolution (float32)
        rcond = max(1e-15, max(m, n) * float(np.finfo(a.dtype).eps))
    s_np = np.linalg.svd(a.data, compute_uv=False)
    ranks = np.sum(s_np > rcond * s_np[..., :1], axis=-1)
    if np.all(ranks == min(m, n)):
        if m >= n:
            return solve(matmul(at, a), at)
        return swapaxes(solve(matmul(a, at), a), -1, -2)
    if np.ndim(ranks) and len(set(np.ravel(ranks).tolist())) > 1:
        raise LinAlgError(f"pinv: the matrices of {describe(a)} differ in rank; take them "
                          "one at a time")
    r = int(np.ravel(ranks)[0])
    if m < n:
        return swapaxes(pinv(at, rcond), -1, -2)
    w, v = eigh(matmul(at, a))  # ascending: the r largest come last
    w_r = getitem(w, (Ellipsis, slice(n - r, None)))
    v_r = getitem(v, (Ellipsis, slice(n - r, None)))
    return matmul(v_r / expand_dims(w_r, -2), matmul(swapaxes(v_r, -1, -2), at))


def lstsq(a, b, rcond=None):
    """Least squares: ``(x, residuals, rank, s)`` as ``numpy.linalg.lstsq`` for a full-rank
    ``a``; ``x`` (and the residuals) differentiable in ``a`` and ``b``."""
    a, b = as_tensor(a), as_tensor(b)
    m, n = a.shape[-2:]
    x = matmul(pinv(a), b)
    rank = int(np.linalg.matrix_rank(a.data))
    if m > n and rank == n:
        r = matmul(a, x) - b
        res = R.sum(r * r, axis=0)
        res = res if b.ndim > 1 else expand_dims(res, 0)
    else:
        res = as_tensor(np.zeros((0,), a.dtype))
    return x, res, rank, svdvals(a)


def matrix_power(a, n):
    """A raised to the integer power ``n`` (A⁰ = I, negative n through inv), by repeated
    squaring (``numpy.linalg.matrix_power``).

    >>> import chainrule as cr
    >>> cr.linalg.matrix_power(cr.tensor([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    a = _square("matrix_power", a)
    n = int(n)
    if n == 0:  # I, kept in a's graph (with a zero gradient), as PyTorch's
        return a * 0.0 + np.eye(a.shape[-1], dtype=a.dtype)
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(arrays):
    """The product of a chain of matrices, left to right; a 1-D first (last) argument is a
    row (column) vector, as ``numpy.linalg.multi_dot``."""
    xs = [as_tensor(x) for x in arrays]
    if len(xs) < 2:
        raise ValueError("multi_dot: needs at least two arrays")
    out = xs[0]
    for x in xs[1:]:
        out = matmul(out, x)
    return out
