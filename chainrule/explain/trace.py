"""Build an :class:`Explanation` by observing one backward sweep of the engine.

Nothing here re-derives a gradient: ``explain`` runs ``engine.sweep`` once with an observer
and records, for every node, the cotangent it received and the cotangents it sent to each
parent. The sweep is asked for the leaves' cotangents (``targets=``), so no ``.grad`` changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import engine
from ..errors import GraphFreedError
from . import fmt


@dataclass
class NodeRow:
    """One node of the graph: its forward value and its total cotangent (``grad``)."""
    name: str
    op: str  # the primitive's name, or "input" for a leaf
    shape: tuple
    value: np.ndarray | None
    grad: np.ndarray | None
    parents: list[str] = field(default_factory=list)
    local: str = ""  # the op's local derivative formula, from the registry


@dataclass
class Term:
    """One path into a node: ``child`` sent ``value`` = v̄_child · ∂child/∂node."""
    child: str
    child_op: str
    index: int  # which input of the child this node is
    local: str  # the formula of ∂child/∂(input ``index``)
    child_bar: np.ndarray
    value: np.ndarray

    @property
    def partial(self) -> float | None:
        """The local derivative as a number, where both sides are scalars."""
        if fmt.is_scalar(self.child_bar) and fmt.is_scalar(self.value):
            cb = float(np.asarray(self.child_bar).reshape(-1)[0])
            if cb != 0:
                return float(np.asarray(self.value).reshape(-1)[0]) / cb
        return None


@dataclass
class Step:
    """v̄[name] = Σ terms, in the order the backward pass ran."""
    name: str
    bar: np.ndarray
    terms: list[Term] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    is_output: bool = False


class Explanation:
    """The graph (``nodes``, parents first) and the backward pass (``steps``, as it ran)."""

    def __init__(self, nodes: list[NodeRow], steps: list[Step], output: str):
        self.nodes = nodes
        self.steps = steps
        self.output = output

    def node(self, name: str) -> NodeRow:
        for row in self.nodes:
            if row.name == name:
                return row
        raise KeyError(name)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def grads(self) -> dict:
        """``{name: grad}`` for every node."""
        return {row.name: row.grad for row in self.nodes}

    def to_text(self) -> str:
        from .render_text import to_text
        return to_text(self)

    def to_markdown(self) -> str:
        from .render_text import to_markdown
        return to_markdown(self)

    def to_latex(self) -> str:
        from .render_latex import to_latex
        return to_latex(self)

    def to_dot(self) -> str:
        from .render_dot import to_dot
        return to_dot(self)

    def to_svg(self) -> str:
        """An SVG picture: Graphviz when ``dot`` is installed, else a built-in layout."""
        from .render_svg import to_svg
        return to_svg(self)

    def to_html(self) -> str:
        """The interactive page as a string (see ``save_html``)."""
        from .render_html import to_html
        return to_html(self)

    def save_html(self, path) -> None:
        """Write the self-contained interactive page (no network needed) atomically."""
        from ..io import atomic_open
        with atomic_open(path) as f:
            f.write(self.to_html().encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.to_svg()

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self):
        return f"<Explanation of {self.output}: {len(self.nodes)} nodes, {len(self.steps)} steps>"


def local_formula(prim, index: int, n_inputs: int) -> str:
    """The part of the registry's formula about input ``index`` (``∂(xy)/∂y = x``), or the
    whole formula where it is not written one part per input."""
    text = prim.formula or ""
    parts = [p.strip() for p in text.split(", ∂")]
    if n_inputs > 1 and len(parts) == n_inputs:
        return parts[index] if index == 0 else "∂" + parts[index]
    return text


_SHORT = {"multiply": "mul", "mul_scalar": "mul", "subtract": "sub", "rsub_scalar": "sub",
          "add_scalar": "add", "divide": "div", "div_scalar": "div", "rdiv_scalar": "div",
          "power": "pow", "pow_scalar": "pow", "rpow_scalar": "pow", "broadcast_to": "broadcast"}


def _name_nodes(order, output, tensors) -> dict:
    """User names where given, else ``mul₁``, ``sigmoid₂``, ``x₁`` (counters per op)."""
    names, used, counters = {}, set(), {}
    for node in order:
        t = tensors.get(node)
        name = t.name if t is not None and t.name else None
        if name is None or name in used:
            base = name or ("x" if node.prim is None else
                            _SHORT.get(node.prim.name, node.prim.name))
            while True:
                counters[base] = counters.get(base, 0) + 1
                name = base + fmt.sub(counters[base])
                if name not in used:
                    break
        used.add(name)
        names[node] = name
    return names


def _tensors(order, output) -> dict:
    """For every node, a Tensor it produced: leaves via their weakref, the others through
    their children's inputs (a node holds its inputs, never its output)."""
    tensors = {output._node: output}
    for node in order:
        if node.prim is None:
            t = node.tensor_ref()
            if t is not None:
                tensors[node] = t
            continue
        if node.inputs is None:
            raise GraphFreedError(
                f"explain: the graph was already freed by a backward pass (at {node.prim.name}); "
                "call cr.explain(output) before output.backward(), or pass "
                "retain_graph=True to backward()")
        for p, t in zip(node.parents, node.inputs):
            if p is not None and p not in tensors:
                tensors[p] = t
    return tensors


def _raw(g):
    return None if g is None else np.asarray(getattr(g, "data", g))


def explain(output, *, inputs=None) -> Explanation:
    """Explain the backward pass of a one-element ``output``, step by step.

    Runs one backward sweep (with ``retain_graph=True``, touching no ``.grad``) and records
    what it computed. ``inputs`` (a tensor or a list) stops the explanation at those tensors;
    by default it goes down to every leaf that requires grad.

    >>> import chainrule as cr
    >>> from chainrule.explain import explain
    >>> w = cr.tensor(3.0, requires_grad=True); w.name = "w"
    >>> z = w * w; z.name = "z"
    >>> ex = explain(z)
    >>> [row.name for row in ex.nodes], float(ex.node("w").grad)
    (['w', 'z'], 6.0)
    >>> print([ln for ln in ex.to_text().splitlines() if ln.startswith("w̄")][0])
    w̄ = z̄·∂z/∂w + z̄·∂z/∂w = 1 · 3 + 1 · 3 = 6
    """
    if not getattr(output, "_requires_grad", False):
        raise ValueError("explain: the output does not require grad (nothing to explain)")
    if output.data.size != 1:
        raise ValueError(f"explain: the output must have one element, not shape {output.shape}")
    root = output._node or engine.leaf_node(output)
    order = engine.toposort([root])
    tensors = _tensors(order, output)
    if inputs is None:
        targets = [n for n in order if n.prim is None]
    else:
        inputs = [inputs] if hasattr(inputs, "_node") else list(inputs)
        if not all(t._requires_grad for t in inputs):
            raise ValueError("explain: every one of inputs= must require grad")
        targets = [t._node or engine.leaf_node(t) for t in inputs]
        missing = [t for t, n in zip(inputs, targets) if n not in tensors]
        if missing:
            raise ValueError(f"explain: {missing[0].name or 'an input'} does not reach the output")

    seen: dict = {}  # node -> (g, gs), filled by the engine's sweep as it runs
    ran: list = []

    def observer(node, g, gs):
        seen[node] = (_raw(g), [_raw(x) for x in gs])
        ran.append(node)

    ones = np.ones_like(output.data)
    results = engine.sweep([root], [ones], targets=targets, retain_graph=True,
                           observer=observer)
    bars = {n: g for n, (g, _) in seen.items()}
    for n, g in results.items():
        bars[n] = _raw(g)

    names = _name_nodes(order, output, tensors)
    return Explanation(_rows(order, names, tensors, bars), _steps(order, ran, names, seen, bars),
                       names[root])


def _rows(order, names, tensors, bars) -> list[NodeRow]:
    rows = []
    for node in order:
        if node not in bars:
            continue  # not on a path to the requested inputs
        t = tensors.get(node)
        value = None if t is None else np.asarray(t.data)
        prim = node.prim
        rows.append(NodeRow(
            name=names[node], op="input" if prim is None else prim.name,
            shape=tuple(value.shape) if value is not None else tuple(np.shape(bars[node])),
            value=value, grad=bars[node],
            parents=[names[p] for p in node.parents if p is not None and p in bars],
            local="" if prim is None else prim.formula))
    return rows


def _steps(order, ran, names, seen, bars) -> list[Step]:
    # Which child sent what to each node, in the order the children ran.
    terms: dict = {}
    for child in ran:
        _, gs = seen[child]
        n_in = len(child.parents)
        for k, (p, gk) in enumerate(zip(child.parents, gs)):
            if p is None or gk is None:
                continue
            terms.setdefault(p, []).append(Term(
                child=names[child], child_op=child.prim.name, index=k,
                local=local_formula(child.prim, k, n_in), child_bar=seen[child][0], value=gk))
    # The sweep visits nodes in reverse topological order: leaves take their place there.
    steps = []
    for node in reversed(order):
        if node not in bars:
            continue
        step = Step(name=names[node], bar=bars[node], terms=terms.get(node, []),
                    is_output=node is order[-1])
        _add_notes(step, node, ran)
        steps.append(step)
    return steps


def _add_notes(step: Step, node, ran) -> None:
    for term in step.terms:
        if term.child_op == "broadcast_to":
            step.notes.append(
                f"{term.child} broadcast {step.name} from {np.shape(term.value)} to "
                f"{np.shape(term.child_bar)}: its gradient was summed back over the broadcast "
                "dimensions")
        elif term.child_op == "sum_to":
            step.notes.append(f"{term.child} summed {step.name}: its gradient was broadcast back "
                              f"from {np.shape(term.child_bar)} to {np.shape(term.value)}")
    if len(step.terms) > 1:
        step.notes.append(f"{len(step.terms)} paths meet at {step.name}: their terms are added")
    if step.terms:
        total = sum(np.asarray(t.value, dtype=np.float64) for t in step.terms)
        if np.shape(total) == np.shape(step.bar) and not np.allclose(total, step.bar):
            step.notes.append("a hook changed this gradient after the terms were added")
