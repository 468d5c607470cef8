"""``cr.special``: SciPy's special functions, differentiable. The forwards call SciPy (an
optional extra, imported when first used, with an error naming the install command); the
rules are chainrule ops, so every order of derivative follows."""
from __future__ import annotations

import math

import numpy as np

from ..apply import apply
from ..registry import elementwise
from ._front import data as D
from .elementwise import LOG1P as _LOG1P
from .elementwise import _like, log, nary, sigmoid, unary_front
from .elementwise import exp as _exp
from .elementwise import sign as _sign
from .reduce import logsumexp as _lse
from .reduce import sum as _sum
from .shape import as_tensor, squeeze

_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _scipy(name):
    """SciPy's ``scipy.special.NAME``, imported on first use."""
    try:
        import scipy.special as sps
    except ImportError:
        raise ImportError(f"cr.special.{name} computes its values with SciPy, which is not "
                          "installed: pip install 'chainrule[special]' (or pip install scipy)"
                          ) from None
    return getattr(sps, name)


def _fw(name):
    def forward(*xs, **p):
        out = _scipy(name)(*xs, **p)
        return np.asarray(out).astype(np.result_type(*[x.dtype for x in xs]), copy=False)
    return forward


def _poly(ops, x, n):
    return ops.apply(POLYGAMMA, (x,), {"n": n})


POLYGAMMA = elementwise("polygamma",
                        lambda x, n: np.asarray(_scipy("polygamma")(n, x)).astype(x.dtype,
                                                                                copy=False),
                        lambda ops, g, out, x, n: g * _poly(ops, x, n + 1),
                        formula="∂ψ⁽ⁿ⁾(x)/∂x = ψ⁽ⁿ⁺¹⁾(x)",
                        sympy=lambda sp, a, n: sp.polygamma(n, a))
DIGAMMA = elementwise("digamma", _fw("digamma"), lambda ops, g, out, x: g * _poly(ops, x, 1),
                      formula="∂ψ(x)/∂x = ψ′(x)", sympy=lambda sp, a: sp.digamma(a))
GAMMALN = elementwise("gammaln", _fw("gammaln"),
                      lambda ops, g, out, x: g * ops.apply(DIGAMMA, (x,)),
                      formula="∂log|Γ(x)|/∂x = ψ(x)", sympy=lambda sp, a: sp.loggamma(a))
ERFC = elementwise("erfc", _fw("erfc"),
                   lambda ops, g, out, x: g * (-2 / _SQRT_PI) * ops.exp(-(x * x)),
                   formula="∂erfc x/∂x = −2/√π·e^(−x²)", sympy=lambda sp, a: sp.erfc(a))
ERFINV = elementwise("erfinv", _fw("erfinv"),
                     lambda ops, g, out, x: g * (_SQRT_PI / 2) * ops.exp(out * out),
                     uses_out=True, formula="∂erf⁻¹x/∂x = √π/2·e^(erf⁻¹(x)²)",
                     sympy=lambda sp, a: sp.erfinv(a))
LOGIT = elementwise("logit", lambda x: np.log(x / (1 - x)),
                    lambda ops, g, out, x: g / (x * (1 - x)),
                    formula="∂log(x/(1−x))/∂x = 1/(x(1−x))",
                    sympy=lambda sp, a: sp.log(a / (1 - a)))
NDTR = elementwise("ndtr", _fw("ndtr"),
                   lambda ops, g, out, x: g * ops.exp(x * x * -0.5 - _LOG_SQRT_2PI),
                   formula="∂Φ(x)/∂x = φ(x)",
                   sympy=lambda sp, a: (1 + sp.erf(a / sp.sqrt(2))) / 2)
LOG_NDTR = elementwise("log_ndtr", _fw("log_ndtr"),
                       lambda ops, g, out, x: g * ops.exp(x * x * -0.5 - _LOG_SQRT_2PI - out),
                       uses_out=True, formula="∂log Φ(x)/∂x = φ(x)/Φ(x)",
                       sympy=lambda sp, a: sp.log((1 + sp.erf(a / sp.sqrt(2))) / 2))
NDTRI = elementwise("ndtri", _fw("ndtri"),
                    lambda ops, g, out, x: g * ops.exp(out * out * 0.5 + _LOG_SQRT_2PI),
                    uses_out=True, formula="∂Φ⁻¹(x)/∂x = 1/φ(Φ⁻¹(x))",
                    sympy=lambda sp, a: sp.sqrt(2) * sp.erfinv(2 * a - 1))


def _at_zero(ops, x, value, expr_of_safe):
    """An expression in x with a removable singularity at 0, where it takes ``value``."""
    zero = D(x) == 0
    return ops.where(zero, value, expr_of_safe(ops.where(zero, 1, x)))


I0 = elementwise("i0", lambda x: np.i0(x).astype(x.dtype, copy=False),
                 lambda ops, g, out, x: g * ops.apply(I1, (x,)), formula="∂I₀(x)/∂x = I₁(x)",
                 sympy=lambda sp, a: sp.besseli(0, a))
I1 = elementwise("i1", _fw("i1"), lambda ops, g, out, x: g * _at_zero(
    ops, x, 0.5, lambda s: ops.apply(I0, (s,)) - ops.apply(I1, (s,)) / s),
    formula="∂I₁(x)/∂x = I₀(x) − I₁(x)/x", sympy=lambda sp, a: sp.besseli(1, a))
I0E = elementwise("i0e", _fw("i0e"), lambda ops, g, out, x: g * (
    ops.apply(I1E, (x,)) - ops.sign(x) * out), uses_out=True,
    formula="∂I₀ₑ(x)/∂x = I₁ₑ(x) − sign(x)·I₀ₑ(x)",
    sympy=lambda sp, a: sp.exp(-sp.Abs(a)) * sp.besseli(0, a))
I1E = elementwise("i1e", _fw("i1e"), lambda ops, g, out, x: g * _at_zero(
    ops, x, 0.5, lambda s: ops.apply(I0E, (s,)) - ops.apply(I1E, (s,)) * (ops.sign(s) + 1 / s)),
    formula="∂I₁ₑ(x)/∂x = I₀ₑ(x) − I₁ₑ(x)·(sign x + 1/x)",
    sympy=lambda sp, a: sp.exp(-sp.Abs(a)) * sp.besseli(1, a))


XLOGY = elementwise("xlogy", _fw("xlogy"), lambda ops, g, out, x, y: g * ops.log(y),
                    lambda ops, g, out, x, y: g * x / y,
                    formula="∂(x·log y)/∂x = log y, ∂/∂y = x/y",
                    sympy=lambda sp, a, b: a * sp.log(b))
XLOG1PY = elementwise("xlog1py", _fw("xlog1py"),
                      lambda ops, g, out, x, y: g * ops.apply(_LOG1P, (y,)),
                      lambda ops, g, out, x, y: g * x / (1 + y),
                      formula="∂(x·log(1+y))/∂x = log(1+y), ∂/∂y = x/(1+y)",
                      sympy=lambda sp, a, b: a * sp.log(1 + b))




# -- the front end ----------------------------------------------------------------------------


gammaln = unary_front(GAMMALN, "log|Γ(x)|, as ``scipy.special.gammaln``.",
                 ">>> round(cr.special.gammaln(cr.tensor(4.0)).item(), 5)   # log 3!\n1.79176")
digamma = psi = unary_front(DIGAMMA, "The digamma function ψ(x) = d/dx log Γ(x).")
erfc = unary_front(ERFC, "The complementary error function 1 − erf(x), accurate for large x.")
erfinv = unary_front(ERFINV, "The inverse error function, on (−1, 1).")
logit = unary_front(LOGIT, "log(x/(1 − x)), the inverse of the logistic sigmoid.")
ndtr = unary_front(NDTR, "The standard normal CDF Φ(x).")
log_ndtr = unary_front(LOG_NDTR, "log Φ(x), accurate far in the lower tail.")
ndtri = unary_front(NDTRI, "The inverse of the standard normal CDF, on (0, 1).")
i0 = unary_front(I0, "The modified Bessel function of the first kind, order 0.")
i1 = unary_front(I1, "The modified Bessel function of the first kind, order 1.")
i0e = unary_front(I0E, "The exponentially scaled I₀: e^(−|x|)·I₀(x).")
i1e = unary_front(I1E, "The exponentially scaled I₁: e^(−|x|)·I₁(x).")


def expit(x):
    """The logistic sigmoid 1/(1 + e⁻ˣ) (``scipy.special.expit``; ``cr.sigmoid``)."""
    return sigmoid(x)


def polygamma(n, x):
    """The n-th derivative of the digamma function (``scipy.special.polygamma``)."""
    return apply(POLYGAMMA, (as_tensor(x),), {"n": int(n)})


def xlogy(x, y):
    """x·log(y), taken as 0 where x = 0 (``scipy.special.xlogy``)."""
    return nary(XLOGY, _like(x, y), _like(y, x))


def xlog1py(x, y):
    """x·log(1 + y), taken as 0 where x = 0 (``scipy.special.xlog1py``)."""
    return nary(XLOG1PY, _like(x, y), _like(y, x))


def betaln(a, b):
    """log|B(a, b)| = log Γ(a) + log Γ(b) − log Γ(a + b)."""
    a, b = as_tensor(a), as_tensor(b)
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log Σ b·eᵃ over ``axis`` (``scipy.special.logsumexp``): with weights ``b`` (which may
    be negative) and ``return_sign=True`` giving (log|Σ|, sign Σ). Differentiable in ``a``
    and ``b``.

    >>> import chainrule as cr
    >>> out, sign = cr.special.logsumexp(cr.tensor([0.0, 0.0]), b=cr.tensor([1.0, -2.0]),
    ...                                  return_sign=True)
    >>> round(out.item(), 6), sign.item()
    (0.0, -1.0)
    """
    a = as_tensor(a)
    if b is None:
        out = _lse(a, axis, keepdims)
        return (out, _sign(out) * 0 + 1) if return_sign else out
    m = np.max(D(a), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(a.dtype)
    s = _sum(as_tensor(b) * _exp(a - m), axis, keepdims=True)
    sgn = _sign(s)
    out = log(s * sgn) + m
    return _finish(out, sgn, axis, a.ndim, keepdims, return_sign)


def _finish(out, sgn, axis, ndim, keepdims, return_sign):
    if not keepdims:
        axes = tuple(range(ndim)) if axis is None else axis
        out, sgn = squeeze(out, axes), squeeze(sgn, axes)
    return (out, sgn) if return_sign else out


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (SciPy's default: all elements)."""
    x = as_tensor(x)
    shifted = x - np.max(D(x), axis=axis, keepdims=True)
    return shifted - _lse(shifted, axis, keepdims=True)


def softmax(x, axis=None):
    """exp(log_softmax(x)) over ``axis`` (SciPy's default: all elements)."""
    return _exp(log_softmax(x, axis))
