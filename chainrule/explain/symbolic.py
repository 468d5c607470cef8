"""``cr.symbolic``: the closed form of a scalar program and its gradient, from SymPy, beside
backprop. The program is recorded once on numbers; its graph is then replayed with each
primitive's SymPy counterpart, so the formula is exactly the computation backprop ran."""
from __future__ import annotations

import numpy as np

from ..engine import toposort
from ..errors import ChainruleError
from ..tensor import float64, tensor


def _sympy():
    try:
        import sympy
    except ImportError:  # pragma: no cover - sympy is an optional extra
        raise ImportError("cr.symbolic needs SymPy: pip install chainrule[sympy]") from None
    return sympy


def _rules(sp):
    """SymPy counterpart of each scalar primitive: (inputs, params) -> expression."""
    return {
        "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
        "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b,
        "power": lambda a, b: a ** b, "neg": lambda a: -a,
        "add_scalar": lambda a, c: a + c, "rsub_scalar": lambda a, c: c - a,
        "mul_scalar": lambda a, c: c * a, "div_scalar": lambda a, c: a / c,
        "rdiv_scalar": lambda a, c: c / a, "pow_scalar": lambda a, c: a ** c,
        "rpow_scalar": lambda a, c: c ** a,
        "exp": sp.exp, "log": sp.log, "log1p": lambda a: sp.log(1 + a),
        "expm1": lambda a: sp.exp(a) - 1, "sqrt": sp.sqrt, "square": lambda a: a ** 2,
        "reciprocal": lambda a: 1 / a, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
        "tanh": sp.tanh, "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
        "relu": lambda a: sp.Max(a, 0), "abs": sp.Abs, "sign": sp.sign, "erf": sp.erf,
        "maximum": sp.Max, "minimum": sp.Min, "identity": lambda a: a,
        "softplus": lambda a, beta, threshold: sp.log(1 + sp.exp(beta * a)) / beta,
        "leaky_relu": lambda a, negative_slope: sp.Piecewise((a, a > 0),
                                                             (negative_slope * a, True)),
        "elu": lambda a, alpha: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a) - 1), True)),
        "gelu": lambda a, approximate: a * (1 + (
            sp.erf(a / sp.sqrt(2)) if approximate == "none" else
            sp.tanh(sp.sqrt(2 / sp.pi) * (a + sp.Rational(44715, 10**6) * a ** 3)))) / 2,
        "clip": lambda a, lo, hi: sp.Min(sp.Max(a, lo if lo is not None else -sp.oo),
                                         hi if hi is not None else sp.oo),
        "where": lambda c, a, b: a if bool(c) else b,
        # a reduction of a one-element tensor is the element itself
        "sum": lambda a, **_: a, "reshape": lambda a, **_: a, "broadcast_to": lambda a, **_: a,
        "astype": lambda a, **_: a,
    }


def _number(sp, v):
    v = float(np.asarray(v).reshape(-1)[0])
    return sp.nsimplify(v, rational=True) if abs(v - round(v, 6)) < 1e-12 else sp.Float(v)


class Symbolic:
    """The closed form ``expr`` of a scalar function of named variables, its ``grad``
    (name -> SymPy expression), ``latex()``, and ``check(**values)`` against backprop."""

    def __init__(self, f, names, expr, symbols):
        self.f, self.names, self.expr, self.symbols = f, names, expr, symbols
        sp = _sympy()
        self.grad = {n: sp.simplify(sp.diff(expr, s)) for n, s in zip(names, symbols)}

    def latex(self) -> str:
        sp = _sympy()
        lines = [f"f = {sp.latex(self.expr)}"] + [
            f"\\frac{{\\partial f}}{{\\partial {sp.latex(s)}}} = {sp.latex(self.grad[n])}"
            for n, s in zip(self.names, self.symbols)]
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def check(self, rtol: float = 1e-9, **values) -> dict:
        """{name: (symbolic, backprop)} at ``values``; raises if any pair disagrees."""
        from ..transforms import grad
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ValueError(f"check: give a value for {missing}")
        subs = {s: values[n] for n, s in zip(self.names, self.symbols)}
        args = [tensor(values[n], dtype=float64) for n in self.names]
        bp = grad(self.f, argnums=tuple(range(len(args))))(*args)
        out = {n: (float(self.grad[n].evalf(subs=subs)), g.item())
               for n, g in zip(self.names, bp)}
        bad = {n: v for n, v in out.items() if not np.isclose(v[0], v[1], rtol=rtol)}
        if bad:
            raise ChainruleError(f"symbolic and backprop gradients differ: {bad}")
        return out

    def __repr__(self):
        return f"Symbolic(f = {self.expr}, grad = {self.grad})"


def symbolic(f, *names) -> Symbolic:
    """Evaluate scalar ``f`` on SymPy symbols named ``names``.

    >>> import chainrule as cr
    >>> s = cr.symbolic(lambda x, y: cr.sin(x * y) + x ** 2, "x", "y")
    >>> s.grad["x"]
    2*x + y*cos(x*y)
    """
    sp = _sympy()
    symbols = sp.symbols(names, real=True)
    symbols = symbols if isinstance(symbols, tuple) else (symbols,)
    probes = [tensor(0.5 + 0.1 * i, dtype=float64, requires_grad=True, name=n)
              for i, n in enumerate(names)]
    out = f(*probes)
    if out.size != 1 or not out.requires_grad:
        raise ChainruleError("symbolic: f must return one element that depends on its inputs")
    leaves = {id(p._node): s for p, s in zip(probes, symbols)}
    rules, exprs = _rules(sp), {}
    for node in toposort([out._node]):
        if node.prim is None:
            exprs[node] = leaves.get(id(node))
            continue
        rule = rules.get(node.prim.name)
        if rule is None:
            raise ChainruleError(f"symbolic: {node.prim.name} has no SymPy counterpart yet")
        args = [exprs[p] if p is not None else _number(sp, t.data)
                for p, t in zip(node.parents, node.inputs)]
        params = {k: v for k, v in (node.params or {}).items() if k != "shape_in"}
        if "c" in params:
            params["c"] = _number(sp, params["c"])
        exprs[node] = rule(*args, **params)
    return Symbolic(f, names, exprs[out._node], symbols)
