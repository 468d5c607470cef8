"""An explanation as a plain NumPy program: one line per forward step and one per backward
step (``z_bar`` is z̄), which recomputes the same values and gradients without chainrule.
It is a transcript for reading and running, not a second engine: the explanation's numbers
come from chainrule, and a test runs the program and compares."""
from __future__ import annotations

import keyword

import numpy as np

from . import fmt, notation

_DIGITS = {c: str(i) for i, c in enumerate(fmt.SUBSCRIPTS)}

_SUM_TO = '''

def sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape`` (the transpose of np.broadcast_to)."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g
'''
_SCATTER = '''

def scatter(g, index, shape):
    """The gradient of x[index]: g added back into zeros of x's shape."""
    z = np.zeros(shape, dtype=g.dtype)
    np.add.at(z, index, g)
    return z
'''
_LOG_SOFTMAX = '''

def log_softmax(v):
    m = v.max(axis=-1, keepdims=True)
    return v - m - np.log(np.exp(v - m).sum(axis=-1, keepdims=True))
'''


def _ident(name: str, used: set) -> str:
    """``mul₁`` -> ``mul1``, ``0.weight`` -> ``p0_weight``, ``W₁`` -> ``W1``: a fresh name."""
    s = "".join(_DIGITS.get(c, c) for c in name)
    s = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in s)
    if not s or s[0].isdigit():
        s = "v" + s
    if keyword.iskeyword(s) or s in ("np", "sum_to", "log_softmax", "scatter", "values",
                                     "grads"):
        s += "_"
    base, k = s, 1
    while s in used:
        k += 1
        s = f"{base}_{k}"
    used.add(s)
    return s


def _literal(a) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return f"np.array({a.item()!r}, dtype=np.{a.dtype})"
    return f"np.array({a.tolist()!r}, dtype=np.{a.dtype})"


class Unsupported(NotImplementedError):
    pass


def _forward(prim: str, a: list[str], p: dict, row) -> str:
    """The op as a NumPy expression of its operands' variables ``a``."""
    unary = {"exp": "np.exp({0})", "log": "np.log({0})", "sin": "np.sin({0})",
             "cos": "np.cos({0})", "tan": "np.tan({0})", "tanh": "np.tanh({0})",
             "sqrt": "np.sqrt({0})", "square": "{0} ** 2", "abs": "np.abs({0})",
             "log1p": "np.log1p({0})", "expm1": "np.expm1({0})", "neg": "-{0}",
             "reciprocal": "1 / {0}", "sigmoid": "1 / (1 + np.exp(-{0}))",
             "relu": "np.maximum({0}, 0)", "sign": "np.sign({0})", "clone": "{0}.copy()"}
    binary = {"add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}",
              "divide": "{0} / {1}", "power": "{0} ** {1}", "matmul": "{0} @ {1}",
              "add_scalar": "{0} + {1}", "mul_scalar": "{0} * {1}",
              "rsub_scalar": "{0} - {1}", "div_scalar": "{0} / {1}",
              "rdiv_scalar": "{0} / {1}", "pow_scalar": "{0} ** {1}",
              "rpow_scalar": "{0} ** {1}"}
    if prim in unary:
        return unary[prim].format(*a)
    if prim in binary:
        return binary[prim].format(*a)
    if prim in ("sum", "mean"):
        return f"np.{prim}({a[0]}, axis={p.get('axis')!r}, keepdims={p.get('keepdims')!r})"
    if prim == "broadcast_to":
        return f"np.broadcast_to({a[0]}, {tuple(p['shape'])!r})"
    if prim == "sum_to":
        return f"sum_to({a[0]}, {tuple(p['shape'])!r})"
    if prim == "reshape":
        return f"{a[0]}.reshape({tuple(p['shape'])!r})"
    if prim == "transpose":
        return f"np.transpose({a[0]}, {tuple(p['axes'])!r})"
    if prim == "astype":
        return f"{a[0]}.astype(np.{np.dtype(p['dtype'])})"
    if prim == "linear":
        return f"{a[0]} @ {a[1]}.T" + (f" + {a[2]}" if len(a) > 2 else "")
    if prim == "leaky_relu":
        return f"np.where({a[0]} > 0, {a[0]}, {a[0]} * {p['negative_slope']!r})"
    if prim == "clip":
        return f"np.clip({a[0]}, {p['lo']!r}, {p['hi']!r})"
    if prim in ("maximum", "minimum"):
        return f"np.{prim}({a[0]}, {a[1]})"
    if prim == "where":
        return f"np.where({a[0]}, {a[1]}, {a[2]})"
    if prim == "getitem" and p.get("basic"):
        return f"{a[0]}[{tuple(p['index'])!r}]"
    if prim == "softmax_cross_entropy":
        return f"-({a[1]} * log_softmax({a[0]})).sum() * {p['scale']!r}"
    raise Unsupported(prim)


def _T(v: str, ndim: int) -> str:
    return f"{v}.T" if ndim == 2 else f"np.swapaxes({v}, -1, -2)"


def _backward(prim: str, k: int, g: str, a: list[str], out: str, p: dict, shapes: list,
              out_shape) -> str:
    """Operand ``k``'s term, in NumPy: the child's bar ``g`` times the local derivative."""
    x = a[0]
    y = a[1] if len(a) > 1 else None
    table = {
        "add": [g, g], "subtract": [g, f"-{g}"], "multiply": [f"{g} * {y}", f"{g} * {x}"],
        "divide": [f"{g} / {y}", f"-{g} * {x} / {y} ** 2"],
        "power": [f"{g} * {y} * {x} ** ({y} - 1)", f"{g} * {out} * np.log({x})"],
        "neg": [f"-{g}"], "exp": [f"{g} * {out}"], "log": [f"{g} / {x}"],
        "sin": [f"{g} * np.cos({x})"], "cos": [f"-{g} * np.sin({x})"],
        "tan": [f"{g} * (1 + {out} ** 2)"], "tanh": [f"{g} * (1 - {out} ** 2)"],
        "sigmoid": [f"{g} * {out} * (1 - {out})"], "relu": [f"{g} * ({x} > 0)"],
        "sqrt": [f"{g} * 0.5 / {out}"], "square": [f"{g} * 2 * {x}"],
        "abs": [f"{g} * np.sign({x})"], "log1p": [f"{g} / (1 + {x})"],
        "expm1": [f"{g} * ({out} + 1)"], "reciprocal": [f"-{g} * {out} ** 2"],
        "sign": [f"0 * {g}"], "clone": [g],
    }
    if prim in table:
        return table[prim][k]
    scalar = {"add_scalar": [g, None], "mul_scalar": [None, f"{x} * {g}"],
              "rsub_scalar": [None, f"-{g}"], "div_scalar": [f"{g} / {y}", None],
              "rdiv_scalar": [None, f"-{g} * {x} / {y} ** 2"],
              "pow_scalar": [f"{g} * {y} * {x} ** ({y} - 1)", None],
              "rpow_scalar": [None, f"{g} * {out} * np.log({x})"]}
    if prim in scalar and scalar[prim][k] is not None:
        return scalar[prim][k]
    if prim == "matmul":
        if len(shapes[0]) < 2 or len(shapes[1]) < 2:
            raise Unsupported("matmul of vectors")
        return (f"{g} @ {_T(y, len(shapes[1]))}" if k == 0 else
                f"{_T(x, len(shapes[0]))} @ {g}")
    if prim in ("sum", "mean"):
        axis, keep = p.get("axis"), p.get("keepdims")
        gg = g if axis is None or keep else f"np.expand_dims({g}, {axis!r})"
        term = f"np.broadcast_to({gg}, {x}.shape)"
        return term if prim == "sum" else f"{term} / ({x}.size / {out}.size)"
    if prim == "broadcast_to":
        return f"sum_to({g}, {tuple(shapes[0])!r})"
    if prim == "sum_to":
        return f"np.broadcast_to({g}, {tuple(shapes[0])!r})"
    if prim == "reshape":
        return f"{g}.reshape({tuple(shapes[0])!r})"
    if prim == "transpose":
        return f"np.transpose({g}, {tuple(int(i) for i in np.argsort(p['axes']))!r})"
    if prim == "astype":
        return f"{g}.astype({x}.dtype)"
    if prim == "leaky_relu":
        return f"{g} * np.where({x} > 0, 1, {p['negative_slope']!r})"
    if prim == "clip":
        lo = "True" if p["lo"] is None else f"({x} >= {p['lo']!r})"
        hi = "True" if p["hi"] is None else f"({x} <= {p['hi']!r})"
        return f"{g} * ({lo} & {hi})"
    if prim in ("maximum", "minimum"):
        u, v = (x, y) if k == 0 else (y, x)
        wins = ">" if prim == "maximum" else "<"
        return f"{g} * (({u} {wins} {v}) + 0.5 * ({u} == {v}))"  # ties share (as PyTorch)
    if prim == "where":
        return f"np.where({a[0]}, {g}, 0)" if k == 1 else f"np.where({a[0]}, 0, {g})"
    if prim == "getitem" and p.get("basic"):
        return f"scatter({g}, {tuple(p['index'])!r}, {tuple(shapes[0])!r})"
    if prim == "linear":
        if len(shapes[0]) != 2:
            raise Unsupported("linear on a batch that is not 2-D")
        return [f"{g} @ {y}", f"{g}.T @ {x}", f"{g}.sum(axis=0)"][k]
    if prim == "softmax_cross_entropy":
        return f"{g} * {p['scale']!r} * (np.exp(log_softmax({x})) - {y})"
    raise Unsupported(prim)


def to_python(ex) -> str:
    """The program (see the module's docstring); ops it has no NumPy line for raise
    NotImplementedError naming them.

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> y = w * w; y.name = "y"
    >>> scope = {}
    >>> exec(cr.explain(y).to_python(), scope)
    >>> float(scope["grads"]["w"])
    6.0
    """
    if ex.mode != "reverse" or ex.source is None:
        raise ValueError("to_python: needs a reverse-mode explanation made by cr.explain")
    graph = ex.source.graph
    if ex.source.focus is not None:
        raise ValueError("to_python: explain the whole graph (no focus=) to write its program")
    used: set = set()
    var = {}  # explanation name -> Python expression (a variable, or a literal number)
    lines = ["", "# forward pass"]
    rows = {r.name: r for r in ex.nodes}
    for c in graph.consts.items:  # unnamed numbers stay literals
        if c.value.size == 1 and c.sources[0][0] == "c":
            v = c.value.item()
            var[c.name] = f"({v!r})" if v < 0 else repr(v)
    for row in ex.nodes:
        if row.kind in ("input", "const") and row.name not in var:
            var[row.name] = _ident(row.name, used)
            lines.append(f"{var[row.name]} = {_literal(row.value)}  # {row.name}"
                         f" ({'input' if row.kind == 'input' else 'constant'})")
    node_of = {graph.names[n]: n for n in graph.order}
    operands_of = {}
    from .trace import operand_names
    for row in ex.nodes:
        if row.kind != "op":
            continue
        node = node_of[row.name]
        names = operand_names(graph, node)
        # the primitive's own operand order (the scalar constant last for *_scalar ops)
        prim = node.prim.name
        operands_of[row.name] = names
        a = [var[n] for n in names]
        if notation.is_subtraction(prim, node.params):
            prim = "subtract"  # y - 1 is recorded as y + (-1) and shows 1
        try:
            expr = _forward(prim, a, node.params or {}, row)
        except Unsupported as err:
            raise NotImplementedError(f"to_python: no NumPy line for {err} ({row.name})") \
                from None
        var[row.name] = _ident(row.name, used)
        lines.append(f"{var[row.name]} = {expr}  # {row.name} = {row.expr}")
    lines += ["", "# backward pass, in the order chainrule ran it"]
    bar = {}
    for step in ex.steps:
        name = _ident(var[step.name] + "_bar", used)
        bar[step.name] = name
        if step.is_output:
            lines.append(f"{name} = np.ones_like({var[step.name]})  # {fmt.bar(step.name)} = 1")
            continue
        terms = []
        for t in step.terms:
            node = node_of[t.child]
            names = operands_of[t.child]
            shapes = [tuple(np.shape(rows[n].value)) if n in rows else () for n in names]
            prim = node.prim.name
            if notation.is_subtraction(prim, node.params):
                prim = "subtract"
            try:
                term = _backward(prim, t.index, bar[t.child], [var[n] for n in names],
                                 var[t.child], node.params or {}, shapes, rows[t.child].shape)
            except Unsupported as err:
                raise NotImplementedError(f"to_python: no NumPy line for the gradient of "
                                          f"{err} ({t.child})") from None
            if node.prim.kind == "elementwise" and shapes[t.index] != rows[t.child].shape:
                term = f"sum_to({term}, {shapes[t.index]!r})"  # it broadcast this operand
            terms.append(term)
        total = " + ".join(terms) if terms else f"np.zeros({tuple(np.shape(step.bar))!r})"
        lines.append(f"{name} = {total}  # {fmt.bar(step.name)}")
    lines += ["", "values = {" + ", ".join(f"{r.name!r}: {var[r.name]}" for r in ex.nodes) + "}",
              "grads = {" + ", ".join(f"{s.name!r}: {bar[s.name]}" for s in ex.steps) + "}",
              "", 'if __name__ == "__main__":',
              "    for name, g in grads.items():",
              f"        print(f\"d{ex.output}/d{{name}} =\", np.round(g, 6).tolist())"]
    body = "\n".join(lines) + "\n"
    head = ['"""Generated by chainrule: ' + f"the forward and backward pass of {ex.output}, "
            'in NumPy."""', "import numpy as np", ""]
    if "sum_to(" in body:
        head.append(_SUM_TO)
    if "scatter(" in body:
        head.append(_SCATTER)
    if "log_softmax(" in body:
        head.append(_LOG_SOFTMAX)
    return "\n".join(head) + body
