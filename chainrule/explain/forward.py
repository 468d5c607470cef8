"""Forward mode, explained: the tangent v̇ = ∂v/∂x of every node for one input x, carried
forward op by op (ẋ = 1, ż = ẇ·x + w·ẋ + ḃ, ...), beside the reverse sweep.

Each term u̇·∂v/∂u is computed by chainrule's own forward mode (``cr.jvp`` of the recorded
primitive in that one operand), so the numbers are the engine's, as in the reverse trace.
"""
from __future__ import annotations

import unicodedata

import numpy as np

from ..apply import apply
from . import fmt, notation
from .trace import Explanation, NodeRow, Step, Term, _shown_groups, operand_names, record

COMPARE_MAX_INPUTS = 6  # the side-by-side view is for a scalar function of a few inputs


def dot(name: str) -> str:
    """Dot notation: ``w`` -> ``ẇ``, ``x₁`` -> ``ẋ₁``, longer names -> ``v̇[mul₁]``."""
    base, subs = fmt.split_name(name)
    # NFC: ż, ẇ, ẋ as the single characters a reader (and a search) expects
    return unicodedata.normalize("NFC", base + "\u0307") + subs if len(base) == 1 \
        else f"v̇[{name}]"


def _term_formula(prim, index: int, out: str, operands: list[str], constant) -> str:
    """The term operand ``index`` adds to the output's tangent, in names (``ẇ·x``)."""
    u = operands[index]
    name = prim.name
    if name == "matmul":
        return f"{dot(u)} @ {operands[1]}" if index == 0 else f"{operands[0]} @ {dot(u)}"
    if name == "linear":
        return [f"{dot(u)} @ {operands[1]}ᵀ", f"{operands[0]} @ {dot(u)}ᵀ", dot(u)][min(index, 2)]
    if notation.display_name(name, None) in ("sum", "mean", "reshape", "transpose",
                                             "broadcast_to", "getitem", "sum_to"):
        return f"{notation.display_name(name, None)}({dot(u)})"
    local = notation.partial(prim, index, out, operands, constant)
    if "+=" in local:  # linear in this operand (einsum, conv): the op applied to its tangent
        dotted = [dot(u) if j == index else n for j, n in enumerate(operands)]
        return notation.expression(notation.display_name(name, None), dotted, {})
    if local == "1":
        return dot(u)
    if local == "−1":
        return "−" + dot(u)
    return f"{dot(u)}·{local if ' ' not in local else '(' + local + ')'}"


def explain_forward(output, wrt) -> Explanation:
    """The forward-mode trace of ``output`` with respect to the leaf ``wrt`` (see
    ``cr.explain(output, mode="forward", wrt=x)``).

    >>> import chainrule as cr
    >>> w = cr.tensor(0.5, requires_grad=True, name="w")
    >>> x = cr.tensor(1.5, name="x")
    >>> z = w * x; z.name = "z"
    >>> ex = cr.explain(z, mode="forward", wrt=w)
    >>> print(ex.steps[-1].lines[0])
    ż = ẇ·x = 1 · 1.5 = 1.5
    """
    from ..transforms import jvp
    if wrt is None or not hasattr(wrt, "_node"):
        raise ValueError("explain(mode='forward') needs wrt=, the leaf tensor to differentiate "
                         "with respect to")
    if not getattr(output, "_requires_grad", False):
        raise ValueError("explain: the output does not require grad (nothing to explain)")
    graph = record(output)
    if wrt._node is None or wrt._node not in set(graph.order) or wrt._node.prim is not None:
        raise ValueError("explain(mode='forward'): wrt must be a leaf that requires grad and "
                         "reaches the output")
    names = graph.names
    tangent: dict = {}  # node -> its tangent (an ndarray)
    steps: list[Step] = []
    for node in graph.order:
        t = graph.tensors[node]
        if node.prim is None:
            tangent[node] = (np.ones_like(t.data) if node is wrt._node else
                             np.zeros_like(t.data))
            steps.append(Step(names[node], tangent[node], [], []))
            continue
        operands = operand_names(graph, node)
        consts = graph.consts.of_node[node]
        constant = next((c.name for c in consts if c is not None and any(
            src[0] == "c" and src[1] is node for src in c.sources)), None)
        slots = [i for i, c in enumerate(consts) if c is None]
        terms, total, j = [], None, 0
        for k, (p, x) in enumerate(zip(node.parents, node.inputs)):
            if p is None:
                continue
            index = slots[j]
            j += 1
            dx = tangent[p]
            inputs = node.inputs

            def one(u, k=k, inputs=inputs, node=node):
                return apply(node.prim, inputs[:k] + (u,) + inputs[k + 1:], node.params)

            _, du = jvp(one, (x,), (dx.astype(x.dtype, copy=False),))
            du = np.asarray(du.data)
            total = du if total is None else total + du
            terms.append(Term(child=names[p], child_op=notation.display_name(
                node.prim.name, node.params), index=index,
                local=_term_formula(node.prim, index, names[node], operands, constant),
                child_bar=dx, value=du))
        tangent[node] = total if total is not None else np.zeros_like(t.data)
        steps.append(Step(names[node], tangent[node], terms, []))
    rows = []
    for row in _reverse_rows(output):
        row.grad = None if row.kind == "const" else tangent_of(row.name, names, tangent)
        rows.append(row)
    for s in steps:
        s.lines = tangent_lines(s)
    ex = Explanation(rows, steps, names[graph.root], _shown_groups(graph.groups, rows),
                     mode="forward")
    ex.wrt = names[wrt._node]
    return ex


def tangent_of(name, names, tangent):
    for node, n in names.items():
        if n == name:
            return tangent[node]
    return None


def _reverse_rows(output) -> list[NodeRow]:
    """The rows (values, constants, expressions) as the reverse trace lists them."""
    from .trace import explain
    return [NodeRow(**{**r.__dict__}) for r in explain(output).nodes]


def tangent_lines(step: Step) -> list[str]:
    """``ż = ẇ·x + ḃ = 1 · 1.5 + 0 = 1.5``, or the seed ``ẇ = 1`` of a leaf."""
    lhs = dot(step.name)
    if not step.terms:
        return [f"{lhs} = {fmt.summary(step.bar)}   (" + (
            "the input we differentiate by: the seed" if np.any(step.bar) else
            "another input: it does not move") + ")"]
    symbolic = " + ".join(t.local for t in step.terms).replace("+ −", "− ")
    if all(fmt.is_scalar(t.value) and fmt.is_scalar(t.child_bar) for t in step.terms):
        parts = []
        for t in step.terms:
            cb = float(np.asarray(t.child_bar).reshape(-1)[0])
            v = float(np.asarray(t.value).reshape(-1)[0])
            plain = t.local == dot(t.child) or cb == 0  # u̇ itself, or nothing moves
            parts.append(fmt.term_num(v) if plain else
                         f"{fmt.term_num(cb)} · {fmt.term_num(v / cb)}")
        numbers = " + ".join(parts)
        if numbers == fmt.summary(step.bar):  # one plain term: say its number once
            return [f"{lhs} = {symbolic} = {numbers}"]
        return [f"{lhs} = {symbolic} = {numbers} = {fmt.summary(step.bar)}"]
    block = fmt.matrix(step.bar)
    return [f"{lhs} = {symbolic}"] + ([f"    = {fmt.shaped(step.bar)}"] if block is None else
                                      [("    = " if i == 0 else "      ") + ln
                                       for i, ln in enumerate(block)])


def to_text(ex) -> str:
    """The forward-mode trace as text: the values, then the tangents in graph order."""
    from .render_text import _table, forward_lines
    out = [f"Forward mode: tangents v̇ = ∂v/∂{ex.wrt} of {ex.output}: {len(ex.nodes)} nodes",
           ""]
    out += _table(ex, "tangent")
    out += ["", "Values:"]
    values = {r.name: r.value for r in ex.nodes}
    for row in ex.nodes:
        out += forward_lines(row, values)
    out += ["", f"Tangents, in graph order (seed {dot(ex.wrt)} = 1, every other input 0):"]
    for s in ex.steps:
        out += s.lines
    return "\n".join(out)


def comparison(ex) -> dict | None:
    """For a scalar function of a few inputs: one forward sweep per input beside the one
    reverse sweep, with what each costs (in op steps). None where it does not apply."""
    source = ex.source
    if source is None or ex.mode != "reverse" or source.focus is not None:
        return None
    leaves = [r for r in ex.nodes if r.kind == "input"]
    if not leaves or len(leaves) > COMPARE_MAX_INPUTS or \
            any(np.size(r.value) != 1 for r in leaves):
        return None
    graph = source.graph
    n_ops = sum(1 for r in ex.nodes if r.kind == "op")
    by_name = {graph.names[n]: graph.tensors[n] for n in graph.order if n.prim is None}
    columns = []
    for leaf in leaves:
        fx = explain_forward(source.output, by_name[leaf.name])
        out_tan = float(np.asarray(fx.steps[-1].bar).reshape(-1)[0])
        lines = [s.lines[0] for s in fx.steps if s.terms]
        columns.append({"pass": "forward", "wrt": leaf.name,
                        "title": f"forward sweep: seed {dot(leaf.name)} = 1",
                        "lines": lines + ["", f"∂{ex.output}/∂{leaf.name} = {fmt.num(out_tan)}"
                                          f"  ({n_ops} tangent steps)"],
                        "result": out_tan})
    from .render_text import step_lines
    rev = [step_lines(s)[0] for s in ex.steps if s.terms or s.is_output]
    grads = [f"∂{ex.output}/∂{r.name} = {fmt.num(r.grad)}" for r in leaves]
    columns.append({"pass": "reverse", "title": "reverse sweep: seed "
                    f"{fmt.bar(ex.output)} = 1", "lines": rev + [""] + grads +
                    [f"({n_ops} gradient steps, all {len(leaves)} inputs at once)"],
                    "results": {r.name: float(np.asarray(r.grad).reshape(-1)[0])
                                for r in leaves}})
    n = len(leaves)
    summary = (f"{n} input{'s' if n > 1 else ''}, {n_ops} ops: forward mode needs {n} "
               f"sweep{'s' if n > 1 else ''} ({n} × {n_ops} = {n * n_ops} tangent steps), one "
               f"per input; reverse mode needs one sweep ({n_ops} steps) for every gradient. "
               "Both give the same numbers.")
    return {"summary": summary, "columns": columns, "forward_steps": n * n_ops,
            "reverse_steps": n_ops}
