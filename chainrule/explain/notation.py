"""How an op reads to a learner: its name as the user wrote it (``y - t`` is a subtraction,
``x ** 2`` a power), its forward expression with the operands' own names (``w · x``), the
parameters it carries, and the local derivative of each operand written with those names
(``∂mul₁/∂w = x``), so no formula's letters can collide with the learner's variables.

Everything here is text about an op; the numbers come from the engine's sweep.
"""
from __future__ import annotations

import numpy as np

from . import fmt

# The primitive's name -> the name a learner wrote (scalar variants are the same operation).
DISPLAY = {"add_scalar": "add", "rsub_scalar": "subtract", "mul_scalar": "multiply",
           "div_scalar": "divide", "rdiv_scalar": "divide", "pow_scalar": "power",
           "rpow_scalar": "power", "softmax_cross_entropy": "cross_entropy"}
# Short bases for automatic names (``mul₁``).
SHORT = {"multiply": "mul", "subtract": "sub", "divide": "div", "power": "pow",
         "broadcast_to": "broadcast"}
# Primitives whose scalar parameter ``c`` is an operand the user wrote (``w * 1.5``): the
# explanation draws it as a constant node.
SCALAR_OPERAND = {"add_scalar", "rsub_scalar", "mul_scalar", "div_scalar", "rdiv_scalar",
                  "pow_scalar", "rpow_scalar"}
# Parameters that are bookkeeping, not something the user chose (hidden from labels).
_HIDDEN = {"shape_in", "basic", "shape", "dtype_in"}

_INFIX = {"add": "{0} + {1}", "subtract": "{0} − {1}", "multiply": "{0} · {1}",
          "divide": "{0} / {1}", "power": "{0} ** {1}", "matmul": "{0} @ {1}"}


def is_subtraction(prim_name: str, params: dict | None) -> bool:
    """``y - 1.0`` is recorded as ``add_scalar`` with ``c = -1``; it reads as a subtraction."""
    return prim_name == "add_scalar" and params is not None and _negative(params.get("c"))


def _negative(c) -> bool:
    return c is not None and np.size(c) == 1 and float(np.asarray(c).reshape(-1)[0]) < 0


def display_name(prim_name: str, params: dict | None) -> str:
    if is_subtraction(prim_name, params):
        return "subtract"
    return DISPLAY.get(prim_name, prim_name)


def short_name(prim_name: str, params: dict | None) -> str:
    name = display_name(prim_name, params)
    return SHORT.get(name, name)


def scalar_constant(prim_name: str, params: dict | None):
    """The scalar operand a ``*_scalar`` primitive carries, as the user wrote it (``y - 1``
    carries ``c = -1`` but shows 1), or None."""
    if prim_name not in SCALAR_OPERAND or not params or "c" not in params:
        return None
    c = np.asarray(params["c"])
    return -c if is_subtraction(prim_name, params) else c


def operand_order(prim_name: str) -> tuple:
    """Where the scalar constant stands among the operands: ``c − x`` puts it first."""
    # ``0.5 * v`` and ``v * 0.5`` are one primitive: a coefficient reads best in front
    first = ("rsub_scalar", "rdiv_scalar", "rpow_scalar", "mul_scalar")
    return ("c", "x") if prim_name in first else ("x", "c")


def shown_params(prim_name: str, params: dict | None) -> dict:
    """The parameters worth showing beside the op (slopes, axes, scales), as text."""
    out = {}
    params = params or {}
    every = tuple(range(-len(params["shape_in"]), 0)) if isinstance(
        params.get("shape_in"), tuple) else None
    for k, v in params.items():
        if k in _HIDDEN or (k == "c" and prim_name in SCALAR_OPERAND):
            continue
        if (k == "keepdims" and v is False) or (k == "axis" and v is not None and every
                                                and tuple(np.atleast_1d(v)) == every):
            continue  # the defaults: a reduction over everything, as x.sum() reads
        if isinstance(v, np.ndarray) and v.size > 1:
            continue  # drawn as a constant node of its own
        if isinstance(v, (int, float, np.number, np.ndarray)) and not isinstance(v, bool):
            out[k] = fmt.num(v)
        elif isinstance(v, (tuple, bool, str)) or v is None:
            text = str(v)
            if len(text) <= 24 and "slice" not in text:
                out[k] = text
    return out


def array_params(params: dict | None) -> dict:
    """Array parameters (the one-hot targets of a cross-entropy): constant nodes."""
    return {k: v for k, v in (params or {}).items()
            if isinstance(v, np.ndarray) and v.size > 1 and k not in _HIDDEN}


def expression(op: str, operands: list[str], params_text: dict) -> str:
    """The forward expression with the operands' names: ``w · x``, ``σ(z)``, ``−a``."""
    if op in _INFIX and len(operands) == 2:
        return _INFIX[op].format(*operands)
    if op == "neg" and len(operands) == 1:
        return "−" + operands[0]
    fn = {"sigmoid": "σ"}.get(op, op)
    extra = [f"{k}={v}" for k, v in params_text.items()]
    return f"{fn}({', '.join(operands + extra)})"


def _p(s: str) -> str:
    """Parenthesise a name that is a number with a sign or several tokens."""
    return f"({s})" if s.startswith("-") or " " in s else s


# Per-operand local derivatives, ∂o/∂(operand k), in the operands' names: ``{o}`` the
# output, ``{a}``/``{b}`` the operands, ``{c}`` the scalar constant.
_PARTIALS = {
    "add": ["1", "1"], "subtract": ["1", "−1"], "multiply": ["{b}", "{a}"],
    "divide": ["1/{b}", "−{a}/{b}²"], "power": ["{b}·{a}^({b} − 1)", "{o}·log {a}"],
    "neg": ["−1"], "exp": ["{o}"], "log": ["1/{a}"], "log1p": ["1/(1 + {a})"],
    "expm1": ["{o} + 1"], "sqrt": ["1/(2·{o})"], "square": ["2·{a}"],
    "reciprocal": ["−{o}²"], "sin": ["cos {a}"], "cos": ["−sin {a}"], "tan": ["1 + {o}²"],
    "tanh": ["1 − {o}²"], "sigmoid": ["{o}·(1 − {o})"], "relu": ["[{a} > 0]"],
    "abs": ["sign {a}"], "sign": ["0"], "erf": ["2/√π·exp(−{a}²)"],
    "softplus": ["σ({a})"], "maximum": ["[{a} > {b}] (½ on ties)", "[{b} > {a}] (½ on ties)"],
    "minimum": ["[{a} < {b}] (½ on ties)", "[{b} < {a}] (½ on ties)"],
    "sum": ["1 (the gradient is copied back to every element of {a})"],
    "mean": ["1/n (the gradient is shared evenly over the n elements of {a})"],
}


def _scalar_partial(prim: str, c: str, a: str, o: str) -> str:
    if prim == "add_scalar":
        return "1"
    if prim == "rsub_scalar":
        return "−1"
    if prim == "mul_scalar":
        return c
    if prim == "div_scalar":
        return f"1/{_p(c)}"
    if prim == "rdiv_scalar":
        return f"−{_p(c)}/{a}²"
    if prim == "pow_scalar":
        try:
            k = float(c)
        except ValueError:
            return f"{c}·{a}^({c} − 1)"
        if k == 2:
            return f"2·{a}"
        if k == 1:
            return "1"
        return f"{c}·{a}^{_p(fmt.num(k - 1))}"
    if prim == "rpow_scalar":
        return f"{o}·log {_p(c)}"
    return ""


def partial(prim, index: int, out: str, operands: list[str], constant: str | None,
            params: dict | None = None) -> str:
    """The local derivative of ``out`` with respect to operand ``index``, in names.

    Bilinear ops on matrices have no scalar partial: their line says what the operand's
    gradient receives, in bar notation (``z̄₁ @ xᵀ``), left and right operands apart.

    >>> from chainrule.registry import PRIMITIVES
    >>> partial(PRIMITIVES["multiply"], 0, "mul₁", ["w", "x"], None)
    'x'
    >>> partial(PRIMITIVES["matmul"], 1, "z", ["W", "h"], None)
    'h̄ += Wᵀ @ z̄'
    """
    name = prim.name
    a = operands[0] if operands else "?"
    b = operands[1] if len(operands) > 1 else "?"
    ob = fmt.bar(out)
    if name in SCALAR_OPERAND and constant is not None:
        x = next((n for n in operands if n != constant), a)
        return _scalar_partial(name, constant, _p(x), out)
    if name == "matmul":
        return (f"{fmt.bar(a)} += {ob} @ {b}ᵀ" if index == 0 else
                f"{fmt.bar(b)} += {a}ᵀ @ {ob}")
    if name == "linear" and len(operands) >= 2:  # out = x @ Wᵀ + b
        x, w = operands[0], operands[1]
        return [f"{fmt.bar(x)} += {ob} @ {w}", f"{fmt.bar(w)} += {ob}ᵀ @ {x}",
                f"{fmt.bar(operands[-1])} += {ob} summed over the batch"][min(index, 2)]
    if name == "conv2d" and len(operands) >= 2:  # out = x ⋆ w: each operand its own rule
        return (f"{fmt.bar(a)} += conv_transpose({ob}, {b})" if index == 0 else
                f"{fmt.bar(b)} += correlate({a}, {ob})")
    result = (params or {}).get("out_spec", (params or {}).get("out"))
    if name == "einsum" and "ins" in (params or {}) and isinstance(result, str) and \
            index < len(params["ins"]):
        ins = list(params["ins"])
        others = [result] + [sp for j, sp in enumerate(ins) if j != index]
        names = [ob] + [n for j, n in enumerate(operands) if j != index]
        spec = ",".join(others) + "->" + ins[index]
        return f"{fmt.bar(operands[index])} += einsum('{spec}', {', '.join(names)})"
    if name == "softmax_cross_entropy":
        return f"(softmax({a}) − onehot) · scale"
    templates = _PARTIALS.get(display_name(name, None))
    if templates is not None and index < len(templates):
        return templates[index].format(o=out, a=_p(a), b=_p(b))
    return _fallback(prim, index, operands)


_MARK = "①②③④⑤⑥⑦⑧⑨"


def _fallback(prim, index: int, operands: list[str]) -> str:
    """The registry's rule text, its letters x, y replaced by ①, ② (which cannot be anyone's
    variable name) and bound to the operands' names."""
    text = prim.formula or ""
    if not text:
        return ""
    out, letters = [], {"x": 0, "y": 1}
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        nxt = " " if nxt in "ᵢⱼₙ" else nxt  # xᵢ is an element of x
        if ch in letters and not (prev.isalpha() or nxt.isalpha()) and \
                letters[ch] < len(operands):
            out.append(_MARK[letters[ch]])
        else:
            out.append(ch)
    binding = ", ".join(f"{_MARK[k]} = {n}" for k, n in enumerate(operands[:len(_MARK)])
                        if _MARK[k] in out)
    return "".join(out) + (f"  (with {binding})" if binding else "")
