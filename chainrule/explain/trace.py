"""Build an :class:`Explanation` by observing one backward sweep of the engine.

Nothing here re-derives a gradient: ``explain`` runs ``engine.sweep`` once with an observer
and records, for every node, the cotangent it received and the cotangents it sent to each
parent. The sweep is asked for the leaves' cotangents (``targets=``), so no ``.grad`` changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import engine
from ..errors import GraphFreedError, describe
from . import fmt
from .modules import Group, module_groups


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
    group: str | None = None  # the key of the innermost module group that computed it


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
    """The graph (``nodes``, parents first), the backward pass (``steps``, as it ran) and
    the ``nn.Module`` calls that computed the nodes (``groups``, outer before inner)."""

    def __init__(self, nodes: list[NodeRow], steps: list[Step], output: str,
                 groups: list[Group] | None = None):
        self.nodes = nodes
        self.steps = steps
        self.output = output
        self.groups = groups or []

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

    def to_dot(self, collapse=None) -> str:
        """Graphviz source, one cluster per module call. ``collapse`` draws modules as one
        box each: ``True`` the innermost ones (the layers), an int those at that depth
        (0 = the outermost module), or module paths/keys such as ``["0", "2"]``."""
        from .render_dot import to_dot
        return to_dot(self, collapse)

    def to_svg(self, collapse=None) -> str:
        """An SVG picture: Graphviz when ``dot`` is installed, else a built-in layout;
        ``collapse`` as in ``to_dot``."""
        from .render_svg import to_svg
        return to_svg(self, collapse)

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
          "power": "pow", "pow_scalar": "pow", "rpow_scalar": "pow", "broadcast_to": "broadcast",
          "pow_int": "pow"}


def _name_nodes(order, tensors, param_names) -> dict:
    """User names where given, else a parameter's name in its module (``0.weight``), else
    ``mul₁``, ``sigmoid₂``, ``x₁`` (counters per op)."""
    names, used, counters = {}, set(), {}
    for node in order:
        t = tensors.get(node)
        name = t.name if t is not None and t.name else param_names.get(id(t))
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


def explain(output, *, focus=None, inputs=None) -> Explanation:
    """Explain the backward pass of a one-element ``output``, step by step.

    Runs one backward sweep of its own (with ``retain_graph=True``, touching no ``.grad``, so
    it may come before or after ``output.backward(retain_graph=True)``) and records what it
    computed. ``focus`` (a tensor, such as a parameter, or a list) keeps only the nodes on
    paths from it to the output; their values and gradients are those of the whole graph.
    ``inputs`` is the same, under the name ``cr.gradient`` uses. Nodes computed inside
    ``nn.Module`` calls are grouped by module (``groups``, ``NodeRow.group``).

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
    if focus is not None and inputs is not None:
        raise ValueError("explain: give focus= or inputs= (the same thing), not both")
    root = output._node or engine.leaf_node(output)
    order = engine.toposort([root])
    tensors = _tensors(order, output)
    groups, group_of, param_names = module_groups(order)
    focus = inputs if focus is None else focus
    targets = ([n for n in order if n.prim is None] if focus is None else
               _focus_nodes(focus, set(order), param_names))

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

    names = _name_nodes(order, tensors, param_names)
    rows = _rows(order, names, tensors, bars, group_of)
    return Explanation(rows, _steps(order, ran, names, seen, bars), names[root],
                       _shown_groups(groups, rows))


def _focus_nodes(focus, in_graph: set, param_names: dict) -> list:
    """The nodes of the ``focus`` tensors; each must require grad and be in the graph."""
    tensors = [focus] if hasattr(focus, "_node") else list(focus)
    nodes = []
    for t in tensors:
        if not hasattr(t, "_node"):
            raise TypeError(f"explain: focus must be tensors, not {type(t).__name__}")
        node = t._node
        name = t.name or param_names.get(id(t))
        label = f"{name} (shape {tuple(t.shape)})" if name else describe(t)
        if not t._requires_grad:
            raise ValueError(f"explain: focus {label} does not require grad")
        if node is None or node not in in_graph:
            raise ValueError(f"explain: focus {label} is not in the output's graph (it does "
                             "not reach the output)")
        nodes.append(node)
    return nodes


def _shown_groups(groups: list[Group], rows: list[NodeRow]) -> list[Group]:
    """The groups holding at least one shown node, directly or through a nested group."""
    by_key = {g.key: g for g in groups}
    keep = set()
    for row in rows:
        key = row.group
        while key is not None and key not in keep:
            keep.add(key)
            key = by_key[key].parent
    return [g for g in groups if g.key in keep]


def _rows(order, names, tensors, bars, group_of) -> list[NodeRow]:
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
            local="" if prim is None else prim.formula, group=group_of.get(node)))
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
        _add_notes(step)
        steps.append(step)
    return steps


def _add_notes(step: Step) -> None:
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
