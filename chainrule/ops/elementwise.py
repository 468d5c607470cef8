"""Elementwise primitives: each declared once with its derivative ∂out/∂x and formula text."""
from __future__ import annotations

import math
import sys

import numpy as np

from ..apply import apply
from ..errors import ShapeError, describe
from ..registry import ONE, elementwise, linear
from ..tensor import Tensor
from ._front import broadcast_shape, is_scalar, tracked
from ._front import data as D
from .parallel import SPLIT_SIZE, by_rows
from .shape import as_tensor, broadcast_to, promoted, unify
from .special import erf_array

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _sigmoid_array(x):
    e = np.exp(-np.abs(x))  # never overflows: exp of a non-positive number
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))


def _gelu_forward(x, approximate):
    if approximate == "tanh":
        return _gelu_tanh(x)
    return (0.5 * x * (1.0 + erf_array(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)


def _gelu_rule(ops, g, out, x, approximate):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = ops.tanh(u)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (
            1 + 3 * 0.044715 * x * x))
    cdf = 0.5 * (1 + ops.erf(x * (1 / math.sqrt(2.0))))
    return g * (cdf + x * ops.exp(-0.5 * x * x) * _INV_SQRT_2PI)


def _tie(x, y, dtype):
    """∂max(x, y)/∂x: 1 where x wins, ½ on ties (as PyTorch), 0 elsewhere."""
    return ((x > y) + 0.5 * (x == y)).astype(dtype)


def _safe_log_base(ops, x, y):
    """∂xʸ/∂y = xʸ·log x, taken as 0 where x = 0 and y ≥ 0 (PyTorch's convention)."""
    zero = (D(x) == 0) & (D(y) >= 0)
    return zero, ops.log(ops.where(zero, 1, x))


# -- the primitives: each rule is g·∂out/∂x (registry.py) -------------------------------------
NEG = linear("neg", np.negative, lambda ops, g, out, x: -g, formula="∂(−x)/∂x = −1",
             sympy=lambda sp, a: -a)
ADD = elementwise("add", np.add, ONE, ONE, formula="∂(x+y)/∂x = 1, ∂(x+y)/∂y = 1",
                  saves=False, sympy=lambda sp, a, b: a + b)
SUB = elementwise("subtract", np.subtract, ONE, lambda ops, g, out, x, y: -g,
                  formula="∂(x−y)/∂x = 1, ∂(x−y)/∂y = −1", saves=False,
                  sympy=lambda sp, a, b: a - b)
MUL = elementwise("multiply", np.multiply, lambda ops, g, out, x, y: g * y,
                  lambda ops, g, out, x, y: g * x, formula="∂(xy)/∂x = y, ∂(xy)/∂y = x",
                  sympy=lambda sp, a, b: a * b)
DIV = elementwise("divide", np.divide, lambda ops, g, out, x, y: g / y,
                  lambda ops, g, out, x, y: -g * x / (y * y),
                  formula="∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²",
                  sympy=lambda sp, a, b: a / b)


def _pow_dy(ops, g, out, x, y):
    zero, log_x = _safe_log_base(ops, x, y)
    return g * ops.where(zero, 0, out * log_x)


POW = elementwise("power", np.power, lambda ops, g, out, x, y: g * y * x ** (y - 1), _pow_dy,
                  uses_out=True, formula="∂xʸ/∂x = y·xʸ⁻¹, ∂xʸ/∂y = xʸ·log x",
                  sympy=lambda sp, a, b: a ** b)
MAXIMUM = elementwise("maximum", np.maximum,
                      lambda ops, g, out, x, y: g * _tie(D(x), D(y), D(x).dtype),
                      lambda ops, g, out, x, y: g * _tie(D(y), D(x), D(y).dtype),
                      formula="∂max(x,y)/∂x = [x > y] (½ on ties)",
                      sympy=lambda sp, a, b: sp.Max(a, b))
MINIMUM = elementwise("minimum", np.minimum,
                      lambda ops, g, out, x, y: g * _tie(D(y), D(x), D(x).dtype),
                      lambda ops, g, out, x, y: g * _tie(D(x), D(y), D(y).dtype),
                      formula="∂min(x,y)/∂x = [x < y] (½ on ties)",
                      sympy=lambda sp, a, b: sp.Min(a, b))
WHERE = elementwise("where", np.where, None, lambda ops, g, out, c, x, y: g * D(c),
                    lambda ops, g, out, c, x, y: g * ~D(c),
                    formula="∂where(c,x,y)/∂x = [c], ∂/∂y = [¬c]", saves=False,
                    sympy=lambda sp, c, a, b: a if bool(c) else b)

# Python-number operands are parameters, not inputs: one op instead of three and no upcast.
ADD_S = elementwise("add_scalar", lambda x, c: x + c, ONE, formula="∂(x+c)/∂x = 1",
                    saves=False, sympy=lambda sp, a, c: a + c, param="c")
RSUB_S = elementwise("rsub_scalar", lambda x, c: c - x, lambda ops, g, out, x, c: -g,
                     formula="∂(c−x)/∂x = −1", saves=False,
                     sympy=lambda sp, a, c: c - a, param="c")
MUL_S = elementwise("mul_scalar", lambda x, c: x * c, lambda ops, g, out, x, c: g * c,
                    formula="∂(c·x)/∂x = c", saves=False,
                    sympy=lambda sp, a, c: c * a, param="c")
DIV_S = elementwise("div_scalar", lambda x, c: x / c, lambda ops, g, out, x, c: g / c,
                    formula="∂(x/c)/∂x = 1/c", saves=False,
                    sympy=lambda sp, a, c: a / c, param="c")
RDIV_S = elementwise("rdiv_scalar", lambda x, c: c / x,
                     lambda ops, g, out, x, c: g * (-c / (x * x)),
                     formula="∂(c/x)/∂x = −c/x²",
                     sympy=lambda sp, a, c: c / a, param="c")
def _scalar_pow(x, c):
    """xᶜ; for c = 1, 2, 3, 4 by multiplication (NumPy's generic power is ~25× slower on
    float32; PyTorch multiplies too). On arrays and on Tensors (the rules' vocabulary) alike."""
    if c == 1:
        return x
    if c == 2 or c == 3 or c == 4:
        sq = x * x
        return sq if c == 2 else sq * x if c == 3 else sq * sq
    return x ** c


POW_S = elementwise("pow_scalar", _scalar_pow,
                    lambda ops, g, out, x, c: g * (c * _scalar_pow(x, c - 1)) if c != 1 else g,
                    formula="∂xᶜ/∂x = c·xᶜ⁻¹",
                    sympy=lambda sp, a, c: a ** c, param="c")


def _log_base(x, c):
    """log c for ∂cˣ/∂x = cˣ·log c. For c ≤ 0 as PyTorch: with c = 0 the product is 0 where
    x ≥ 0 (the limit) and −inf where x < 0; with c < 0 it is NaN (never a math domain error)."""
    if c > 0:
        return math.log(c)
    if c == 0:
        return np.where(D(x) >= 0, 0.0, -np.inf).astype(D(x).dtype)
    return np.full(D(x).shape, np.nan, D(x).dtype)


RPOW_S = elementwise("rpow_scalar", lambda x, c: c ** x,
                     lambda ops, g, out, x, c: g * (out * _log_base(x, c)), uses_out=True,
                     formula="∂cˣ/∂x = cˣ·log c",
                     sympy=lambda sp, a, c: c ** a, param="c")

EXP = elementwise("exp", np.exp, lambda ops, g, out, x: g * out, uses_out=True,
                  formula="∂eˣ/∂x = eˣ",
                  sympy=lambda sp, a: sp.exp(a))
LOG = elementwise("log", np.log, lambda ops, g, out, x: g / x, formula="∂log x/∂x = 1/x",
                  sympy=lambda sp, a: sp.log(a))
LOG1P = elementwise("log1p", np.log1p, lambda ops, g, out, x: g / (x + 1),
                    formula="∂log(1+x)/∂x = 1/(1+x)",
                    sympy=lambda sp, a: sp.log(1 + a))
EXPM1 = elementwise("expm1", np.expm1, lambda ops, g, out, x: g * (out + 1), uses_out=True,
                    formula="∂(eˣ−1)/∂x = eˣ",
                    sympy=lambda sp, a: sp.exp(a) - 1)
SQRT = elementwise("sqrt", np.sqrt, lambda ops, g, out, x: g * (0.5 / out), uses_out=True,
                   formula="∂√x/∂x = 1/(2√x)",
                   sympy=lambda sp, a: sp.sqrt(a))
SQUARE = elementwise("square", np.square, lambda ops, g, out, x: g * (2 * x),
                     formula="∂x²/∂x = 2x",
                     sympy=lambda sp, a: a ** 2)
RECIPROCAL = elementwise("reciprocal", np.reciprocal, lambda ops, g, out, x: g * -(out * out),
                         uses_out=True, formula="∂(1/x)/∂x = −1/x²",
                         sympy=lambda sp, a: 1 / a)
SIN = elementwise("sin", np.sin, lambda ops, g, out, x: g * ops.cos(x),
                  formula="∂sin x/∂x = cos x",
                  sympy=lambda sp, a: sp.sin(a))
COS = elementwise("cos", np.cos, lambda ops, g, out, x: g * -ops.sin(x),
                  formula="∂cos x/∂x = −sin x",
                  sympy=lambda sp, a: sp.cos(a))
TAN = elementwise("tan", np.tan, lambda ops, g, out, x: g * (1 + out * out), uses_out=True,
                  formula="∂tan x/∂x = 1 + tan²x",
                  sympy=lambda sp, a: sp.tan(a))
TANH = elementwise("tanh", np.tanh, lambda ops, g, out, x: g * (1 - out * out), uses_out=True,
                   formula="∂tanh x/∂x = 1 − tanh²x",
                   sympy=lambda sp, a: sp.tanh(a))
SIGMOID = elementwise("sigmoid", _sigmoid_array, lambda ops, g, out, x: g * (out * (1 - out)),
                      uses_out=True, formula="∂σ(x)/∂x = σ(x)(1 − σ(x))",
                      sympy=lambda sp, a: 1 / (1 + sp.exp(-a)))


def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _relu_rule(g, x, out=None):
    # the mask in g's dtype first, then a same-dtype product: NumPy's mixed bool-float
    # product casts in buffered chunks, a fifth slower on LeNet's first ReLU and no faster on
    # a 16x32 array (interleaved timings, callgrind)
    mask = (x > 0).astype(g.dtype) if out is None else np.greater(x, 0, out=out)
    return np.multiply(g, mask, out=mask) if mask.ndim else g * mask  # 0-d: a NumPy scalar


# On large arrays (a CNN's activations) both halves may split their rows over threads
# (``parallel.by_rows``; ``CHAINRULE_THREADS=1`` turns it off).
RELU = elementwise("relu", lambda x: np.maximum(x, 0) if x.size < SPLIT_SIZE else
                   by_rows(_relu, x, x),
                   lambda ops, g, out, x: g * (D(x) > 0) if type(g) is not np.ndarray else
                   _relu_rule(g, D(x)) if g.size < SPLIT_SIZE else by_rows(_relu_rule, g, g, D(x)),
                   formula="∂relu(x)/∂x = [x > 0]",
                   sympy=lambda sp, a: sp.Max(a, 0))
LEAKY_RELU = elementwise(
    "leaky_relu", lambda x, negative_slope: np.where(x > 0, x, x * negative_slope),
    lambda ops, g, out, x, negative_slope: g * np.where(D(x) > 0, 1, negative_slope).astype(
        D(x).dtype), formula="∂leaky_relu(x)/∂x = 1 if x > 0 else α",
    sympy=lambda sp, a, negative_slope: sp.Piecewise((a, a > 0), (negative_slope * a, True)))
ELU = elementwise(
    "elu", lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
    lambda ops, g, out, x, alpha: g * ops.where(D(x) > 0, 1, out + alpha), uses_out=True,
    formula="∂elu(x)/∂x = 1 if x > 0 else elu(x) + α",
    sympy=lambda sp, a, alpha: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a) - 1), True)))
SOFTPLUS = elementwise(
    "softplus",
    lambda x, beta, threshold: np.where(x * beta > threshold, x,
                                        np.logaddexp(0, x * beta) / beta).astype(x.dtype),
    lambda ops, g, out, x, beta, threshold: g * ops.where(D(x) * beta > threshold, 1,
                                                          ops.sigmoid(x * beta)),
    formula="∂softplus(x)/∂x = σ(βx)",
    sympy=lambda sp, a, beta, threshold: sp.log(1 + sp.exp(beta * a)) / beta)


def _gelu_sympy(sp, a, approximate):
    phi = (sp.erf(a / sp.sqrt(2)) if approximate == "none" else
           sp.tanh(sp.sqrt(2 / sp.pi) * (a + sp.Rational(44715, 10**6) * a ** 3)))
    return a * (1 + phi) / 2


GELU = elementwise("gelu", _gelu_forward, _gelu_rule,
                   formula="∂(xΦ(x))/∂x = Φ(x) + x·φ(x)",
                   sympy=_gelu_sympy)
ABS = elementwise("abs", np.abs, lambda ops, g, out, x: g * np.sign(D(x)),
                  formula="∂|x|/∂x = sign x",
                  sympy=lambda sp, a: sp.Abs(a))
SIGN = elementwise("sign", np.sign, lambda ops, g, out, x: g * 0, formula="∂sign x/∂x = 0",
                   saves=False,
                   sympy=lambda sp, a: sp.sign(a))


def _clip_rule(ops, g, out, x, lo, hi):
    x = D(x)
    inside = np.ones(x.shape, bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return g * inside


def _clip_sympy(sp, a, lo, hi):
    return sp.Min(sp.Max(a, -sp.oo if lo is None else lo), sp.oo if hi is None else hi)


CLIP = elementwise("clip", lambda x, lo, hi: np.clip(x, lo, hi), _clip_rule,
                   formula="∂clip(x,a,b)/∂x = [a ≤ x ≤ b]",
                   sympy=_clip_sympy)
ERF = elementwise("erf", erf_array,
                  lambda ops, g, out, x: g * (_TWO_OVER_SQRT_PI * ops.exp(-(x * x))),
                  formula="∂erf x/∂x = 2/√π·e^(−x²)",
                  sympy=lambda sp, a: sp.erf(a))


# -- the front end ----------------------------------------------------------------------------
def unary_front(prim, doc, example=None):
    """The front-end function of a unary elementwise primitive: ``fn(x)``, its docstring the
    text, the rule's formula and the runnable example (shared by every module of ops)."""
    def fn(x):
        return apply(prim, (as_tensor(x),))
    return _front(fn, prim, doc, example, sys._getframe(1).f_globals["__name__"])


def _front(fn, prim, doc, example, module):
    """``fn`` named after ``prim``, documented with ``doc``, the rule's formula and the example,
    and belonging to the declaring ``module`` (so that module's doctests run its example)."""
    fn.__module__ = module
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = f"{doc}\n\nDerivative: {prim.formula}."
    if example:
        fn.__doc__ += f"\n\n>>> import chainrule as cr\n{example}\n"
    return fn


neg = unary_front(NEG, "The negation −x, elementwise.",
             ">>> cr.neg(cr.tensor([1.0, -2.0])).tolist()\n[-1.0, 2.0]")
exp = unary_front(EXP, "The exponential eˣ, elementwise.",
             ">>> [round(v, 4) for v in cr.exp(cr.tensor([0.0, 1.0])).tolist()]\n[1.0, 2.7183]")
log = unary_front(LOG, "Natural logarithm, elementwise.",
             ">>> [round(v, 4) for v in cr.log(cr.tensor([1.0, 2.0])).tolist()]\n[0.0, 0.6931]")
log1p = unary_front(LOG1P, "log(1 + x), accurate for small x.",
               ">>> [round(v, 4) for v in cr.log1p(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 0.6931]")
expm1 = unary_front(EXPM1, "eˣ − 1, accurate for small x.",
               ">>> [round(v, 4) for v in cr.expm1(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 1.7183]")
sqrt = unary_front(SQRT, "The square root √x, elementwise.",
              ">>> cr.sqrt(cr.tensor([4.0, 9.0])).tolist()\n[2.0, 3.0]")
square = unary_front(SQUARE, "The square x² of each element.",
                ">>> cr.square(cr.tensor([2.0, -3.0])).tolist()\n[4.0, 9.0]")
reciprocal = unary_front(RECIPROCAL, "The reciprocal 1/x of each element.",
                    ">>> cr.reciprocal(cr.tensor([2.0, 4.0])).tolist()\n[0.5, 0.25]")
sin = unary_front(SIN, "sin x, elementwise.",
             ">>> [round(v, 4) for v in cr.sin(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 0.8415]")
cos = unary_front(COS, "cos x, elementwise.",
             ">>> [round(v, 4) for v in cr.cos(cr.tensor([0.0, 1.0])).tolist()]\n[1.0, 0.5403]")
tan = unary_front(TAN, "tan x, elementwise.",
             ">>> [round(v, 4) for v in cr.tan(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 1.5574]")
tanh = unary_front(TANH, "tanh x, elementwise.",
              ">>> [round(v, 4) for v in cr.tanh(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 0.7616]")
sigmoid = unary_front(SIGMOID, "σ(x) = 1/(1 + e⁻ˣ), computed without overflow.",
                 ">>> cr.sigmoid(cr.tensor([0.0])).tolist()\n[0.5]")
relu = unary_front(RELU, "max(x, 0); the derivative at 0 is taken as 0 (as PyTorch).",
              ">>> cr.relu(cr.tensor([-1.0, 2.0])).tolist()\n[0.0, 2.0]")
abs = unary_front(ABS, "|x|; the derivative at 0 is 0 (as PyTorch).",
             ">>> cr.abs(cr.tensor([-1.5, 2.0])).tolist()\n[1.5, 2.0]")  # noqa: A001
sign = unary_front(SIGN, "The sign of x; its gradient is zero everywhere.",
              ">>> cr.sign(cr.tensor([-3.0, 0.0, 2.0])).tolist()\n[-1.0, 0.0, 1.0]")
erf = unary_front(ERF, "The error function.",
             ">>> [round(v, 4) for v in cr.erf(cr.tensor([0.0, 1.0])).tolist()]\n[0.0, 0.8427]")


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, else negative_slope·x (PyTorch's default slope 0.01).

    >>> import chainrule as cr
    >>> cr.leaky_relu(cr.tensor([-2.0, 3.0]), negative_slope=0.5).tolist()
    [-1.0, 3.0]
    """
    return apply(LEAKY_RELU, (as_tensor(x),), {"negative_slope": negative_slope})


def elu(x, alpha: float = 1.0):
    """The exponential linear unit: x for x > 0, else α(eˣ − 1), with α = ``alpha``.

    >>> import chainrule as cr
    >>> cr.elu(cr.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return apply(ELU, (as_tensor(x),), {"alpha": alpha})


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + e^(βx))/β, linear where βx > threshold (PyTorch's definition).

    >>> import chainrule as cr
    >>> round(cr.softplus(cr.tensor([0.0])).item(), 4)
    0.6931
    """
    return apply(SOFTPLUS, (as_tensor(x),), {"beta": beta, "threshold": threshold})


def gelu(x, approximate: str = "none"):
    """x·Φ(x) with Φ the standard normal CDF; ``approximate="tanh"`` as in PyTorch.

    >>> import chainrule as cr
    >>> [round(v, 4) for v in cr.gelu(cr.tensor([0.0, 1.0])).tolist()]
    [0.0, 0.8413]
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(GELU, (as_tensor(x),), {"approximate": approximate})


def clip(x, a_min=None, a_max=None):
    """Clamp to [a_min, a_max] (numbers or None); gradient 1 inside, 0 outside.

    >>> import chainrule as cr
    >>> cr.clip(cr.tensor([-2.0, 0.5, 3.0]), -1, 1).tolist()
    [-1.0, 0.5, 1.0]
    """
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    if not all(v is None or is_scalar(v) for v in (a_min, a_max)):
        out = x if a_min is None else maximum(x, a_min)
        return out if a_max is None else minimum(out, a_max)
    return apply(CLIP, (as_tensor(x),), {"lo": a_min, "hi": a_max})


def _like(v, other):
    """A Python number as an array of ``other``'s floating dtype (scalars stay weak)."""
    if is_scalar(v):
        dt = getattr(other, "dtype", None)
        return Tensor._wrap(np.asarray(v, dtype=dt if dt is not None and dt.kind in "fc"
                                       else None))
    return v


_FLOAT_INT = (float, int)


def binary_front(prim, doc, example=None):
    """The front-end function of a binary elementwise primitive, with NumPy broadcasting."""
    def fn(x1, x2):
        return nary(prim, _like(x1, x2), _like(x2, x1))
    return _front(fn, prim, f"{doc}, with NumPy broadcasting", example,
                  sys._getframe(1).f_globals["__name__"])


def nary(prim, *xs, params=None):
    """``prim`` on ``xs`` (anything ``as_tensor`` takes), promoted to one dtype first when
    they differ. Shapes broadcast inside the primitive (its kind sums gradients back)."""
    xs = tuple(as_tensor(x) for x in xs)
    first = xs[0]
    if any(x.dtype != first.dtype for x in xs[1:]):
        xs = promoted(*xs)
    if any(x.shape != first.shape for x in xs[1:]) and \
            broadcast_shape(*[x.shape for x in xs]) is None:
        names = ", ".join(describe(x) for x in xs)
        raise ShapeError(f"{prim.name}: operands cannot be broadcast together: {names}")
    return apply(prim, xs, params)


def _binary(prim, scalar_prim, rscalar_prim, x, y):
    if is_scalar(y) and not is_scalar(x):
        return apply(scalar_prim, (as_tensor(x),), {"c": y})
    if is_scalar(x) and not is_scalar(y) and rscalar_prim is not None:
        return apply(rscalar_prim, (as_tensor(y),), {"c": x})
    return nary(prim, _like(x, y), _like(y, x))


def _binary_op(prim, scalar_prim, rscalar_prim, doc):
    def fn(x, y):
        if type(y) in _FLOAT_INT and type(x) is Tensor:  # the hot case: tensor ∘ number
            return apply(scalar_prim, (x,), {"c": y})
        if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype:
            return apply(prim, (x, y))  # the next: tensor ∘ tensor, one dtype (NumPy checks
            # the shapes broadcast; apply names the op and operands if they do not)
        return _binary(prim, scalar_prim, rscalar_prim, x, y)
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


add = _binary_op(ADD, ADD_S, ADD_S, "The sum x + y, elementwise with NumPy broadcasting.\n\n"
                 ">>> import chainrule as cr\n"
                 ">>> cr.add(cr.tensor([1.0, 2.0]), 10).tolist()\n[11.0, 12.0]\n")
multiply = _binary_op(MUL, MUL_S, MUL_S, "x · y elementwise, with NumPy broadcasting.\n\n"
                      ">>> import chainrule as cr\n"
                      ">>> cr.multiply(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).tolist()\n"
                      "[3.0, 8.0]\n")
divide = _binary_op(DIV, DIV_S, RDIV_S, "x / y elementwise, with NumPy broadcasting.\n\n"
                    ">>> import chainrule as cr\n"
                    ">>> cr.divide(cr.tensor([1.0, 3.0]), 2).tolist()\n[0.5, 1.5]\n")
power = _binary_op(POW, POW_S, RPOW_S, "xʸ elementwise, with NumPy broadcasting; "
                   "``x ** 2``, ``** 3`` and ``** 4`` multiply (as PyTorch does).\n\n"
                   ">>> import chainrule as cr\n"
                   ">>> cr.power(cr.tensor([2.0, 3.0]), 2).tolist()\n[4.0, 9.0]\n")


def subtract(x, y):
    """The difference x − y, elementwise with NumPy broadcasting.

    >>> import chainrule as cr
    >>> cr.subtract(cr.tensor([5.0, 7.0]), cr.tensor([1.0, 2.0])).tolist()
    [4.0, 5.0]
    """
    if type(y) in _FLOAT_INT and type(x) is Tensor or is_scalar(y) and not is_scalar(x):
        return apply(ADD_S, (as_tensor(x),), {"c": -y})
    if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype:
        return apply(SUB, (x, y))
    return _binary(SUB, None, RSUB_S, x, y)


def maximum(x, y):
    """Elementwise maximum; ties split the gradient equally (as PyTorch).

    >>> import chainrule as cr
    >>> cr.maximum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])).tolist()
    [3.0, 5.0]
    """
    return nary(MAXIMUM, _like(x, y), _like(y, x))


def minimum(x, y):
    """Elementwise minimum; ties split the gradient equally (as PyTorch).

    >>> import chainrule as cr
    >>> cr.minimum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])).tolist()
    [1.0, 2.0]
    """
    return nary(MINIMUM, _like(x, y), _like(y, x))


def where(cond, x, y):
    """``x`` where ``cond`` is true, else ``y``; ``cond`` is not differentiated.

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    c = as_tensor(cond)
    if c.dtype != np.bool_:
        c = Tensor._wrap(c._data.astype(bool))
    x, y = as_tensor(_like(x, y)), as_tensor(_like(y, x))
    if x.dtype != y.dtype:
        x, y = promoted(x, y)
    shape = broadcast_shape(c.shape, x.shape, y.shape)
    if shape is None:
        raise ShapeError(f"where: condition, x and y cannot be broadcast together: "
                         f"{describe(c)}, {describe(x)}, {describe(y)}")
    if tracked(x) or tracked(y):
        x, y = unify("where", x, y)
        x = x if x.shape == shape else broadcast_to(x, shape)
        y = y if y.shape == shape else broadcast_to(y, shape)
        if c.shape != shape:
            c = Tensor._wrap(np.broadcast_to(c._data, shape))
    return apply(WHERE, (c, x, y))
