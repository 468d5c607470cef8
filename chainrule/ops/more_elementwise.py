"""More of NumPy's elementwise functions, each declared once with g·∂out/∂x (registry.py):
logarithms and exponentials in other bases, hyperbolic and inverse trigonometric functions,
remainders, rounding (gradient 0), NaN-aware max/min, and the tests isfinite/isnan/isinf."""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..apply import apply
from ..registry import ONE, elementwise
from ..tensor import Tensor
from ._front import data as D
from .elementwise import binary_front, unary_front
from .shape import as_tensor

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _cast(x, mask):
    """A locally constant mask or factor, in the dtype of ``x`` (never upcasting it)."""
    return np.asarray(mask).astype(D(x).dtype, copy=False)


def _zero(ops, g, out, *xs, **p):
    return g * 0


# -- unary ------------------------------------------------------------------------------------
LOG2 = elementwise("log2", np.log2, lambda ops, g, out, x: g / (x * _LN2),
                   formula="∂log₂x/∂x = 1/(x·ln 2)", sympy=lambda sp, a: sp.log(a, 2))
LOG10 = elementwise("log10", np.log10, lambda ops, g, out, x: g / (x * _LN10),
                    formula="∂log₁₀x/∂x = 1/(x·ln 10)", sympy=lambda sp, a: sp.log(a, 10))
EXP2 = elementwise("exp2", np.exp2, lambda ops, g, out, x: g * (out * _LN2), uses_out=True,
                   formula="∂2ˣ/∂x = 2ˣ·ln 2", sympy=lambda sp, a: 2 ** a)
SINH = elementwise("sinh", np.sinh, lambda ops, g, out, x: g * ops.apply(COSH, (x,)),
                   formula="∂sinh x/∂x = cosh x", sympy=lambda sp, a: sp.sinh(a))
COSH = elementwise("cosh", np.cosh, lambda ops, g, out, x: g * ops.apply(SINH, (x,)),
                   formula="∂cosh x/∂x = sinh x", sympy=lambda sp, a: sp.cosh(a))
ARCSIN = elementwise("arcsin", np.arcsin, lambda ops, g, out, x: g / ops.sqrt(1 - x * x),
                     formula="∂arcsin x/∂x = 1/√(1 − x²)", sympy=lambda sp, a: sp.asin(a))
ARCCOS = elementwise("arccos", np.arccos, lambda ops, g, out, x: -g / ops.sqrt(1 - x * x),
                     formula="∂arccos x/∂x = −1/√(1 − x²)", sympy=lambda sp, a: sp.acos(a))
ARCTAN = elementwise("arctan", np.arctan, lambda ops, g, out, x: g / (1 + x * x),
                     formula="∂arctan x/∂x = 1/(1 + x²)", sympy=lambda sp, a: sp.atan(a))
ARCSINH = elementwise("arcsinh", np.arcsinh, lambda ops, g, out, x: g / ops.sqrt(x * x + 1),
                      formula="∂arsinh x/∂x = 1/√(x² + 1)", sympy=lambda sp, a: sp.asinh(a))
ARCCOSH = elementwise("arccosh", np.arccosh, lambda ops, g, out, x: g / ops.sqrt(x * x - 1),
                      formula="∂arcosh x/∂x = 1/√(x² − 1)", sympy=lambda sp, a: sp.acosh(a))
ARCTANH = elementwise("arctanh", np.arctanh, lambda ops, g, out, x: g / (1 - x * x),
                      formula="∂artanh x/∂x = 1/(1 − x²)", sympy=lambda sp, a: sp.atanh(a))
CBRT = elementwise("cbrt", np.cbrt, lambda ops, g, out, x: g / (3 * out * out), uses_out=True,
                   formula="∂∛x/∂x = 1/(3·∛x²)", sympy=lambda sp, a: sp.cbrt(a))
DEG2RAD = elementwise("deg2rad", np.deg2rad, lambda ops, g, out, x: g * (math.pi / 180),
                      saves=False, formula="∂(πx/180)/∂x = π/180",
                      sympy=lambda sp, a: a * sp.pi / 180)
RAD2DEG = elementwise("rad2deg", np.rad2deg, lambda ops, g, out, x: g * (180 / math.pi),
                      saves=False, formula="∂(180x/π)/∂x = 180/π",
                      sympy=lambda sp, a: a * 180 / sp.pi)


def _sinc_rule(ops, g, out, x):
    """(cos πx − sinc x)/x, taken as 0 at x = 0 (the limit; PyTorch does the same)."""
    zero = D(x) == 0
    safe = ops.where(zero, 1, x)
    return g * ops.where(zero, 0, (ops.cos(safe * math.pi) - out) / safe)


SINC = elementwise("sinc", np.sinc, _sinc_rule, uses_out=True,
                   formula="∂sinc x/∂x = (cos πx − sinc x)/x",
                   sympy=lambda sp, a: sp.sin(sp.pi * a) / (sp.pi * a))


def _rounding(name, fn, what, sympy):
    return elementwise(name, fn, _zero, saves=False,
                       formula=f"∂{what}/∂x = 0 (piecewise constant)", sympy=sympy)


FLOOR = _rounding("floor", np.floor, "⌊x⌋", lambda sp, a: sp.floor(a))
CEIL = _rounding("ceil", np.ceil, "⌈x⌉", lambda sp, a: sp.ceiling(a))
TRUNC = _rounding("trunc", np.trunc, "trunc x", lambda sp, a: sp.sign(a) * sp.floor(sp.Abs(a)))
# Halves round up in the SymPy form, to even in NumPy's: the derivative (0) is the same.
RINT = _rounding("rint", np.rint, "rint x", lambda sp, a: sp.floor(a + sp.Rational(1, 2)))
ROUND = elementwise("round", lambda x, decimals: np.round(x, decimals),
                    lambda ops, g, out, x, decimals: g * 0, saves=False,
                    formula="∂round(x)/∂x = 0 (piecewise constant)",
                    # halves round up here, to even in NumPy: the derivative (0) is the same
                    sympy=lambda sp, a, decimals: sp.floor(a * sp.Integer(10) ** decimals
                                                           + sp.Rational(1, 2))
                    / sp.Integer(10) ** decimals)
NAN_TO_NUM = elementwise(
    "nan_to_num", lambda x, nan, posinf, neginf: np.nan_to_num(x, nan=nan, posinf=posinf,
                                                                neginf=neginf),
    lambda ops, g, out, x, **p: g * _cast(x, np.isfinite(D(x))),
    formula="∂nan_to_num(x)/∂x = [x finite]",
    sympy=lambda sp, a, nan, posinf, neginf: a)

SQRT_ZERO_SAFE = elementwise(
    "sqrt_zero_safe", np.sqrt,
    lambda ops, g, out, x: g * ops.where(D(out) == 0, 0, 0.5 / ops.where(D(out) == 0, 1, out)),
    uses_out=True, formula="∂√x/∂x = 1/(2√x), taken as 0 where x = 0",
    sympy=lambda sp, a: sp.sqrt(a))


def sqrt_zero_safe(x):
    """√x whose derivative at 0 is taken as 0 (not inf): the square root of a spread that
    may vanish (``std``; PyTorch's std does the same)."""
    return apply(SQRT_ZERO_SAFE, (as_tensor(x),))


# -- binary (NumPy broadcasting; the front end unifies shapes and dtypes) ---------------------
ARCTAN2 = elementwise("arctan2", np.arctan2,
                      lambda ops, g, out, y, x: g * x / (x * x + y * y),
                      lambda ops, g, out, y, x: -g * y / (x * x + y * y),
                      formula="∂atan2(y,x)/∂y = x/(x²+y²), ∂/∂x = −y/(x²+y²)",
                      sympy=lambda sp, a, b: sp.atan2(a, b))
HYPOT = elementwise("hypot", np.hypot, lambda ops, g, out, x, y: g * x / out,
                    lambda ops, g, out, x, y: g * y / out, uses_out=True,
                    formula="∂√(x²+y²)/∂x = x/√(x²+y²)",
                    sympy=lambda sp, a, b: sp.sqrt(a ** 2 + b ** 2))
LOGADDEXP = elementwise("logaddexp", np.logaddexp,
                        lambda ops, g, out, x, y: g * ops.sigmoid(x - y),
                        lambda ops, g, out, x, y: g * ops.sigmoid(y - x),
                        formula="∂log(eˣ+eʸ)/∂x = σ(x − y)",
                        sympy=lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b)))
LOGADDEXP2 = elementwise("logaddexp2", np.logaddexp2,
                         lambda ops, g, out, x, y: g * ops.sigmoid((x - y) * _LN2),
                         lambda ops, g, out, x, y: g * ops.sigmoid((y - x) * _LN2),
                         formula="∂log₂(2ˣ+2ʸ)/∂x = σ((x − y)·ln 2)",
                         sympy=lambda sp, a, b: sp.log(2 ** a + 2 ** b, 2))
REMAINDER = elementwise(
    "remainder", np.remainder, ONE,
    lambda ops, g, out, x, y: g * -_cast(x, np.floor(D(x) / D(y))),
    formula="x mod y = x − ⌊x/y⌋·y: ∂/∂x = 1, ∂/∂y = −⌊x/y⌋",
    sympy=lambda sp, a, b: sp.Mod(a, b))
FMOD = elementwise(
    "fmod", np.fmod, ONE, lambda ops, g, out, x, y: g * -_cast(x, np.trunc(D(x) / D(y))),
    formula="fmod(x, y) = x − trunc(x/y)·y: ∂/∂x = 1, ∂/∂y = −trunc(x/y)",
    sympy=lambda sp, a, b: a - b * sp.sign(a / b) * sp.floor(sp.Abs(a / b)))


def _x_wins(x, y):
    """fmax: x gets the gradient where x ≥ y or y is NaN (PyTorch's rule)."""
    return (D(x) >= D(y)) | np.isnan(D(y))


def _x_wins_min(x, y):
    return (D(x) <= D(y)) | np.isnan(D(y))


FMAX = elementwise("fmax", np.fmax, lambda ops, g, out, x, y: g * _cast(x, _x_wins(x, y)),
                   lambda ops, g, out, x, y: g * _cast(y, ~_x_wins(x, y)),
                   formula="∂fmax(x,y)/∂x = [x ≥ y or y is NaN]",
                   sympy=lambda sp, a, b: sp.Max(a, b))
FMIN = elementwise("fmin", np.fmin, lambda ops, g, out, x, y: g * _cast(x, _x_wins_min(x, y)),
                   lambda ops, g, out, x, y: g * _cast(y, ~_x_wins_min(x, y)),
                   formula="∂fmin(x,y)/∂x = [x ≤ y or y is NaN]",
                   sympy=lambda sp, a, b: sp.Min(a, b))
COPYSIGN = elementwise(
    "copysign", np.copysign,
    lambda ops, g, out, x, y: g * _cast(x, np.where(D(x) == 0, 0, np.sign(D(x)) * np.copysign(
        1, D(y)))),
    _zero, formula="∂copysign(x,y)/∂x = sign(x)·sign(y), ∂/∂y = 0",
    sympy=lambda sp, a, b: sp.Abs(a) * sp.sign(b))
HEAVISIDE = elementwise(
    "heaviside", np.heaviside, _zero, lambda ops, g, out, x, h: g * _cast(h, D(x) == 0),
    formula="∂H(x,h)/∂x = 0, ∂/∂h = [x = 0]",
    sympy=lambda sp, a, b: sp.Piecewise((0, a < 0), (b, sp.Eq(a, 0)), (1, True)))


# -- the front end ----------------------------------------------------------------------------




log2 = unary_front(LOG2, "Base-2 logarithm, elementwise.",
              ">>> cr.log2(cr.tensor([8.0])).tolist()\n[3.0]")
log10 = unary_front(LOG10, "Base-10 logarithm, elementwise.",
               ">>> round(cr.log10(cr.tensor([100.0])).item(), 4)\n2.0")
exp2 = unary_front(EXP2, "The power of two 2ˣ, elementwise.",
              ">>> cr.exp2(cr.tensor([0.0, 3.0])).tolist()\n[1.0, 8.0]")
sinh = unary_front(SINH, "Hyperbolic sine, elementwise.",
              ">>> [round(v, 4) for v in cr.sinh(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 1.1752]")
cosh = unary_front(COSH, "Hyperbolic cosine, elementwise.",
              ">>> [round(v, 4) for v in cr.cosh(cr.tensor([0.0, 1.0])).tolist()]\n[1.0, 1.5431]")
arcsin = unary_front(ARCSIN, "Inverse sine, elementwise (|x| ≤ 1).",
                ">>> [round(v, 4) for v in cr.arcsin(cr.tensor([0.0, 1.0])).tolist()]\n"
                "[0.0, 1.5708]")
arccos = unary_front(ARCCOS, "Inverse cosine, elementwise (|x| ≤ 1).",
                ">>> [round(v, 4) for v in cr.arccos(cr.tensor([1.0, 0.0])).tolist()]\n"
                "[0.0, 1.5708]")
arctan = unary_front(ARCTAN, "Inverse tangent, elementwise.",
                ">>> [round(v, 4) for v in cr.arctan(cr.tensor([0.0, 1.0])).tolist()]\n"
                "[0.0, 0.7854]")
arcsinh = unary_front(ARCSINH, "Inverse hyperbolic sine, elementwise.",
                 ">>> [round(v, 4) for v in cr.arcsinh(cr.tensor([0.0, 1.0])).tolist()]\n"
                 "[0.0, 0.8814]")
arccosh = unary_front(ARCCOSH, "Inverse hyperbolic cosine, elementwise (x ≥ 1).",
                 ">>> [round(v, 4) for v in cr.arccosh(cr.tensor([1.0, 2.0])).tolist()]\n"
                 "[0.0, 1.317]")
arctanh = unary_front(ARCTANH, "Inverse hyperbolic tangent, elementwise (|x| < 1).",
                 ">>> [round(v, 4) for v in cr.arctanh(cr.tensor([0.0, 0.5])).tolist()]\n"
                 "[0.0, 0.5493]")
cbrt = unary_front(CBRT, "Cube root, elementwise (real for negative x).",
              ">>> [round(v, 4) for v in cr.cbrt(cr.tensor([-8.0, 27.0])).tolist()]\n[-2.0, 3.0]")
deg2rad = radians = unary_front(DEG2RAD, "Degrees to radians.",
                           ">>> round(cr.deg2rad(cr.tensor([180.0])).item(), 4)\n3.1416")
rad2deg = degrees = unary_front(RAD2DEG, "Radians to degrees.",
                           ">>> round(cr.rad2deg(cr.tensor([3.141592653589793])).item(), 2)\n180.0")
sinc = unary_front(SINC, "sin(πx)/(πx), 1 at x = 0 (NumPy's normalised sinc).",
              ">>> [round(v, 4) for v in cr.sinc(cr.tensor([0.0, 0.5])).tolist()]\n[1.0, 0.6366]")
floor = unary_front(FLOOR, "Largest integer ≤ x, as a float; its gradient is 0.",
               ">>> cr.floor(cr.tensor([-1.5, 1.5])).tolist()\n[-2.0, 1.0]")
ceil = unary_front(CEIL, "Smallest integer ≥ x, as a float; its gradient is 0.",
              ">>> cr.ceil(cr.tensor([-1.5, 1.5])).tolist()\n[-1.0, 2.0]")
trunc = unary_front(TRUNC, "x rounded toward zero; its gradient is 0.",
               ">>> cr.trunc(cr.tensor([-1.5, 1.5])).tolist()\n[-1.0, 1.0]")
rint = unary_front(RINT, "x rounded to the nearest integer (halves to even); its gradient is 0.",
              ">>> cr.rint(cr.tensor([0.5, 1.5, 2.7])).tolist()\n[0.0, 2.0, 3.0]")
arctan2 = binary_front(ARCTAN2,
                       "The angle of the point (x2, x1): arctan(x1/x2) in the right quadrant",
                  ">>> round(cr.arctan2(cr.tensor([1.0]), cr.tensor([-1.0])).item(), 4)\n2.3562")
hypot = binary_front(HYPOT, "√(x1² + x2²) without overflow",
                ">>> cr.hypot(cr.tensor([3.0]), cr.tensor([4.0])).tolist()\n[5.0]")
logaddexp = binary_front(LOGADDEXP, "log(e^x1 + e^x2) without overflow",
                    ">>> round(cr.logaddexp(cr.tensor([0.0]), cr.tensor([0.0])).item(), 4)\n0.6931")
logaddexp2 = binary_front(LOGADDEXP2, "log₂(2^x1 + 2^x2) without overflow",
                     ">>> cr.logaddexp2(cr.tensor([1.0]), cr.tensor([1.0])).tolist()\n[2.0]")
remainder = mod = binary_front(REMAINDER, "x1 mod x2 with the sign of x2 (Python's %)",
                          ">>> cr.remainder(cr.tensor([-7.0, 7.0]), 3).tolist()\n[2.0, 1.0]")
fmod = binary_front(FMOD, "C's fmod: the remainder with the sign of x1",
               ">>> cr.fmod(cr.tensor([-7.0, 7.0]), 3).tolist()\n[-1.0, 1.0]")
fmax = binary_front(FMAX, "Elementwise maximum that ignores NaN",
               ">>> cr.fmax(cr.tensor([1.0, float('nan')]), cr.tensor([2.0, 0.0])).tolist()\n"
               "[2.0, 0.0]")
fmin = binary_front(FMIN, "Elementwise minimum that ignores NaN",
               ">>> cr.fmin(cr.tensor([1.0, float('nan')]), cr.tensor([2.0, 0.0])).tolist()\n"
               "[1.0, 0.0]")
copysign = binary_front(COPYSIGN, "|x1| with the sign of x2",
                   ">>> cr.copysign(cr.tensor([1.0, 2.0]), cr.tensor([-1.0, 1.0])).tolist()\n"
                   "[-1.0, 2.0]")
heaviside = binary_front(HEAVISIDE, "The step function: 0 for x1 < 0, x2 at 0, 1 for x1 > 0",
                    ">>> cr.heaviside(cr.tensor([-1.0, 0.0, 2.0]), 0.5).tolist()\n[0.0, 0.5, 1.0]")


def round(x, decimals: int = 0):  # noqa: A001
    """Round to ``decimals`` places (halves to even, as NumPy); its gradient is 0. A Python
    number gets Python's ``round`` (so ``from chainrule import *`` changes nothing there).

    >>> import chainrule as cr
    >>> cr.round(cr.tensor([1.26, 2.5]), 1).tolist()
    [1.2999999523162842, 2.5]
    """
    if isinstance(x, (int, float)):
        return builtins.round(x, decimals) if decimals else builtins.round(x)
    return apply(ROUND, (as_tensor(x),), {"decimals": int(decimals)})


around = round


def nan_to_num(x, copy: bool = True, nan: float = 0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (as NumPy); the gradient is 1 where x was
    finite and 0 where a value was replaced (as PyTorch).

    >>> import chainrule as cr
    >>> cr.nan_to_num(cr.tensor([float('nan'), 1.0]), nan=-1.0).tolist()
    [-1.0, 1.0]
    """
    return apply(NAN_TO_NUM, (as_tensor(x),), {"nan": nan, "posinf": posinf, "neginf": neginf})


def _test(fn, doc, example=None):
    def test(x):
        return Tensor._wrap(np.asarray(fn(D(as_tensor(x)))))
    test.__name__ = test.__qualname__ = fn.__name__
    test.__doc__ = f"{doc} A boolean tensor: not differentiable."
    if example:
        test.__doc__ += f"\n\n>>> import chainrule as cr\n{example}\n"
    return test


isfinite = _test(np.isfinite, "Whether each element is finite.",
                 ">>> cr.isfinite(cr.tensor([1.0, float('inf')])).tolist()\n[True, False]")
isnan = _test(np.isnan, "Whether each element is NaN.",
              ">>> cr.isnan(cr.tensor([1.0, float('nan')])).tolist()\n[False, True]")
isinf = _test(np.isinf, "Whether each element is ±inf.",
              ">>> cr.isinf(cr.tensor([1.0, float('-inf')])).tolist()\n[False, True]")


def positive(x):
    """+x: the tensor itself (NumPy's ``positive``; also its ``conjugate`` of real data).

    >>> import chainrule as cr
    >>> cr.positive(cr.tensor([1.0, -2.0])).tolist()
    [1.0, -2.0]
    """
    return as_tensor(x)


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether all elements agree within tolerance (on the values, as ``numpy.allclose``).

    >>> import chainrule as cr
    >>> cr.allclose(cr.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    True
    """
    return bool(np.allclose(D(as_tensor(a)), D(as_tensor(b)), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))
