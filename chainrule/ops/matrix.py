"""Matrix functions: inv, solve, det, slogdet, cholesky (``cr.linalg``).

Every function works on stacks of matrices (leading batch dimensions, as NumPy). The rules
are written with these same primitives, so derivatives of any order exist:

    Y = A⁻¹        Ā = −Yᵀ Ȳ Yᵀ                      dY = −Y dA Y
    X = A⁻¹B       B̄ = A⁻ᵀ X̄,  Ā = −B̄ Xᵀ            dX = A⁻¹(dB − dA X)
    d = det A      Ā = d̄ · d · A⁻ᵀ                   dd = d · tr(A⁻¹ dA)
    l = log|det A| Ā = l̄ · A⁻ᵀ                       dl = tr(A⁻¹ dA)
    L = chol(A)    Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)          dL = L Φ(L⁻¹ sym(dA) L⁻ᵀ)

where Φ keeps the lower triangle and halves the diagonal and sym(M) = ½(M + Mᵀ). Cholesky
reads a symmetric matrix, so its gradient is the symmetric one (as PyTorch's): perturbing
A[i, j] and A[j, i] together is the only meaningful direction.
"""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..errors import LinAlgError, ShapeError, describe
from ..registry import fit, general, pad_core
from ..tensor import Tensor
from ._front import check_batch_dims
from .shape import as_tensor, promoted, reshape

# Matrix functions are "general": none is elementwise, linear or a reduction of its input.


def _checked(name, fn):
    """NumPy's forward, its LinAlgError (singular, not positive definite) as chainrule's,
    naming the op even inside a backward pass (``apply`` adds the operands' names)."""
    def forward(*xs):
        try:
            return fn(*xs)
        except np.linalg.LinAlgError as err:
            raise LinAlgError(f"{name}: {str(err).lower()}") from None
    return forward


def _t(ops, m):
    return ops.swapaxes(m, -1, -2)


def _inverse(ops, a):
    return ops.apply(INV, (a,))


def _mat(ops, v):
    """A stack of scalars as a stack of 1×1 matrices, to scale matrices."""
    return ops.reshape(v, v.shape + (1, 1))


INV = general(
    "inv", _checked("inv", np.linalg.inv),
    vjp=[lambda ops, g, out, a: -ops.matmul(ops.matmul(_t(ops, out), g), _t(ops, out))],
    jvp=lambda ops, g, out, a: -ops.matmul(ops.matmul(out, g[0]), out),
    uses_out=True, formula="∂A⁻¹ = −A⁻¹ (∂A) A⁻¹: Ā = −A⁻ᵀ Ȳ A⁻ᵀ")


def _solve_jvp(ops, g, out, a, b):
    # A batch of tangents must not meet the batch dimensions the other operand brings.
    da, db = [None if d is None else pad_core(d, x.ndim, out.ndim) for x, d in zip((a, b), g)]
    rhs = db if da is None else (-ops.matmul(da, out) if db is None else
                                 db - ops.matmul(da, out))
    return ops.apply(SOLVE, (a, rhs))


def _b_bar(ops, g, a):
    return ops.apply(SOLVE, (_t(ops, a), g))


SOLVE = general(
    "solve", _checked("solve", np.linalg.solve),
    vjp=[lambda ops, g, out, a, b: fit(ops, -ops.matmul(_b_bar(ops, g, a), _t(ops, out)),
                                       a.shape),
         lambda ops, g, out, a, b: fit(ops, _b_bar(ops, g, a), b.shape)],
    jvp=_solve_jvp, uses_out=True, formula="X = A⁻¹B: B̄ = A⁻ᵀ X̄, Ā = −B̄ Xᵀ")


def _inverse_t(name, ops, a):
    """A⁻ᵀ for the derivative of ``name``; at a singular A that derivative is not computed
    this way (det's is adj(A)ᵀ, not implemented; log|det|'s is infinite): say so by name."""
    try:
        return _t(ops, _inverse(ops, a))
    except LinAlgError:
        raise LinAlgError(f"{name}: its derivative uses A⁻¹, and A is singular "
                          f"(shape {tuple(a.shape)})") from None


def _trace_against_inverse(ops, name, a, da):
    """tr(A⁻¹ dA) for stacks (and batches of tangents) of matrices."""
    return ops.sum(_inverse_t(name, ops, a) * da, axis=(-2, -1))


DET = general(
    "det", _checked("det", np.linalg.det),
    vjp=[lambda ops, g, out, a: _mat(ops, g * out) * _inverse_t("det", ops, a)],
    jvp=lambda ops, g, out, a: out * _trace_against_inverse(ops, "det", a, g[0]),
    uses_out=True, formula="∂det A/∂A = det A · A⁻ᵀ")

LOGABSDET = general(
    "logabsdet", _checked("slogdet", lambda a: np.linalg.slogdet(a)[1]),
    vjp=[lambda ops, g, out, a: _mat(ops, g) * _inverse_t("slogdet", ops, a)],
    jvp=lambda ops, g, out, a: _trace_against_inverse(ops, "slogdet", a, g[0]),
    formula="∂log|det A|/∂A = A⁻ᵀ")


def _phi(n, dtype):
    """The mask of Φ: 1 below the diagonal, ½ on it, 0 above."""
    return (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(dtype)


def _sym(ops, m):
    return 0.5 * (m + _t(ops, m))


def _cholesky_vjp(ops, g, out, a):
    inv_l = _inverse(ops, out)
    inner = ops.matmul(_t(ops, out), g) * _phi(out.shape[-1], out.dtype)
    return _sym(ops, ops.matmul(ops.matmul(_t(ops, inv_l), inner), inv_l))


def _cholesky_jvp(ops, g, out, a):
    inv_l = _inverse(ops, out)
    inner = ops.matmul(ops.matmul(inv_l, _sym(ops, g[0])), _t(ops, inv_l))
    return ops.matmul(out, inner * _phi(out.shape[-1], out.dtype))


CHOLESKY = general("cholesky", _checked("cholesky", np.linalg.cholesky), vjp=[_cholesky_vjp],
                   jvp=_cholesky_jvp, uses_out=True,
                   formula="A = LLᵀ: Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), Φ = lower triangle, ½ diagonal")


# -- the front end ----------------------------------------------------------------------------
def _square(name, a):
    a = as_tensor(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{name}: expected a square matrix or a stack of them, got "
                         f"{describe(a)}")
    if a.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point matrix, got {describe(a)}")
    return a


def inv(a):
    """The inverse of a square matrix (or of each in a stack)."""
    a = _square("inv", a)
    return apply(INV, (a,))


def solve(a, b):
    """X with A·X = B. ``b`` is a vector when 1-D (as NumPy 2), else a (stack of) matrices."""
    a = _square("solve", a)
    b = as_tensor(b)
    vector = b.ndim == 1
    n = a.shape[-1]
    if b.ndim == 0 or (b.shape[0] if vector else b.shape[-2]) != n:
        raise ShapeError(f"solve: the right-hand side must have {n} rows to match "
                         f"{describe(a)}, got {describe(b)}")
    check_batch_dims("solve", a, b)
    a, b = promoted(a, b)
    x = apply(SOLVE, (a, reshape(b, (n, 1)) if vector else b))
    return reshape(x, x.shape[:-1]) if vector else x


def det(a):
    """The determinant of a square matrix (or of each in a stack). Its derivative,
    det A · A⁻ᵀ, is computed through A⁻¹: at a singular matrix it raises ``LinAlgError``."""
    a = _square("det", a)
    return apply(DET, (a,))


def slogdet(a):
    """``(sign, log|det A|)``, as ``numpy.linalg.slogdet``; the log is differentiable, the
    sign is a constant."""
    a = _square("slogdet", a)
    sign, logabsdet = _checked("slogdet", np.linalg.slogdet)(a._data)  # one factorisation
    return Tensor(sign), apply(LOGABSDET, (a,), data=logabsdet)


def cholesky(a):
    """The lower-triangular L with A = L·Lᵀ, for a symmetric positive-definite A."""
    a = _square("cholesky", a)
    return apply(CHOLESKY, (a,))
