"""``cr.symbolic``: the closed form of a scalar program and its gradient, from SymPy, beside
backprop. The program is recorded once on numbers; its graph is then replayed with each
primitive's SymPy counterpart, so the formula is exactly the computation backprop ran."""
from __future__ import annotations

from dataclasses import dataclass

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


def _number(sp, v):
    v = float(np.asarray(v).reshape(-1)[0])
    return sp.nsimplify(v, rational=True) if abs(v - round(v, 6)) < 1e-12 else sp.Float(v)


@dataclass(frozen=True)
class OpCounts:
    """Why backprop wins, in numbers. Every field counts operations the way
    ``sympy.count_ops`` does (each +, −, ×, ÷, power, exp, negation is one; σ(x) = 1/(1 + e⁻ˣ)
    is four), so the columns are in the same unit."""
    function: int  # f's closed form
    symbolic: int  # Σ over the inputs of ∂f/∂input as sympy.diff returns it, each its own tree
    symbolic_cse: int  # the same partials after sympy.cse: each shared subexpression once
    forward: int  # backprop's forward pass: Σ count_ops over the primitives it recorded
    backward: int  # backprop's backward pass: the same over every op the sweep ran

    @property
    def backprop(self) -> int:
        return self.forward + self.backward


class Symbolic:
    """The closed form ``expr`` of a scalar function of named variables, its ``grad``
    (name -> SymPy expression), ``latex()``, ``check(**values)`` against backprop, and
    ``op_counts()`` comparing the symbolic gradient's size with backprop's work.

    >>> import chainrule as cr
    >>> s = cr.symbolic(lambda x, y: x * y, "x", "y")
    >>> s.expr, s.grad["x"]
    (x*y, y)
    """

    def __init__(self, f, names, expr, symbols, simplify: bool = True):
        self.f, self.names, self.expr, self.symbols = f, names, expr, symbols
        sp = _sympy()
        self._partials = {n: sp.diff(expr, s) for n, s in zip(names, symbols)}
        self.grad = ({n: sp.simplify(d) for n, d in self._partials.items()} if simplify
                     else dict(self._partials))

    def latex(self) -> str:
        """The function and its partial derivatives as a LaTeX ``align*`` block."""
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

    def op_counts(self) -> OpCounts:
        """Operations in the symbolic gradient, unshared and after common-subexpression
        elimination, next to those of backprop's forward and backward passes.

        >>> import chainrule as cr
        >>> c = cr.symbolic(lambda x: cr.exp(cr.sin(x * x)), "x").op_counts()
        >>> c.function, c.symbolic, c.forward, c.backward
        (3, 8, 3, 6)
        """
        sp = _sympy()
        partials = list(self._partials.values())
        shared, reduced = sp.cse(partials)
        forward, backward = _backprop_ops(sp, self.f, self.names)
        return OpCounts(
            function=sp.count_ops(self.expr),
            symbolic=sum(map(sp.count_ops, partials)),
            symbolic_cse=sum(sp.count_ops(e) for _, e in shared) + sum(map(sp.count_ops, reduced)),
            forward=forward, backward=backward)


def _record(f, names):
    """Run ``f`` once on numbers (probes named ``names``) so its graph can be replayed."""
    probes = [tensor(0.5 + 0.1 * i, dtype=float64, requires_grad=True, name=n)
              for i, n in enumerate(names)]
    out = f(*probes)
    if out.size != 1 or not out.requires_grad:
        raise ChainruleError("symbolic: f must return one element that depends on its inputs")
    return probes, out


def _replay(sp, node, exprs):
    """``node``'s primitive on its parents' SymPy expressions in ``exprs`` (the counterpart
    the primitive declared in the registry); inputs outside the graph are numbers."""
    rule = node.prim.sympy
    if rule is None:
        raise ChainruleError(f"symbolic: {node.prim.name} declares no SymPy counterpart "
                             "(sympy= in its registry declaration)")
    args = [exprs[p] if p is not None else _number(sp, t.data)
            for p, t in zip(node.parents, node.inputs)]
    # Every numeric parameter (c, negative_slope, alpha, beta, clip's bounds) exactly, as
    # 1/10 rather than 0.1000...: shape parameters go to rules taking **params (one_element).
    params = {k: _number(sp, v) if _numeric(v) else v for k, v in (node.params or {}).items()}
    return rule(sp, *args, **params)


def _numeric(v) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def _backprop_ops(sp, f, names) -> tuple[int, int]:
    """(forward, backward): the operations of backprop's two passes for ``f``. Each recorded
    primitive costs what ``sympy.count_ops`` gives for its SymPy counterpart on fresh symbols,
    so no sharing across nodes is lost and none is invented."""
    from ..transforms import gradient
    probes, out = _record(f, names)
    forward = [n for n in toposort([out._node]) if n.prim is not None]
    # With create_graph the sweep records each operation it runs as a node; a seed that
    # requires grad makes that true also of the ops that touch only the cotangent.
    seed = tensor(np.ones_like(out.data), requires_grad=True)
    grads = gradient(out, probes, grad_outputs=seed, create_graph=True)
    seen = set(forward)
    backward = [n for n in toposort([g._node for g in grads if g.requires_grad])
                if n.prim is not None and n not in seen]

    def cost(nodes):
        fresh = {p: sp.Dummy() for n in nodes for p in n.parents if p is not None}
        return sum(sp.count_ops(_replay(sp, n, fresh)) for n in nodes)
    return cost(forward), cost(backward)


def symbolic(f, *names, simplify: bool = True) -> Symbolic:
    """Evaluate scalar ``f`` on SymPy symbols named ``names``. ``simplify=False`` keeps the
    gradient as ``sympy.diff`` gives it (``sympy.simplify`` takes minutes on an MLP's).

    >>> import chainrule as cr
    >>> s = cr.symbolic(lambda x, y: cr.sin(x * y) + x ** 2, "x", "y")
    >>> s.grad["x"]
    2*x + y*cos(x*y)
    """
    sp = _sympy()
    symbols = sp.symbols(names, real=True)
    symbols = symbols if isinstance(symbols, tuple) else (symbols,)
    probes, out = _record(f, names)
    exprs = {p._node: s for p, s in zip(probes, symbols)}
    for node in toposort([out._node]):
        if node.prim is not None:
            exprs[node] = _replay(sp, node, exprs)
    return Symbolic(f, names, exprs[out._node], symbols, simplify)
