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
from . import fmt, notation
from .modules import Group, module_groups


@dataclass
class NodeRow:
    """One node of the graph: its forward value and its total cotangent (``grad``).

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> z = w * w; z.name = "z"
    >>> ex = cr.explain(z)
    >>> row = ex.node("w")
    >>> row.op, float(row.value), float(row.grad)
    ('input', 3.0, 6.0)
    """
    name: str
    op: str  # the primitive's name, or "input" for a leaf
    shape: tuple
    value: np.ndarray | None
    grad: np.ndarray | None
    parents: list[str] = field(default_factory=list)
    local: str = ""  # the op's local derivative formula, from the registry
    group: str | None = None  # the key of the innermost module group that computed it
    kind: str = "op"  # "input" (a leaf that gets a gradient), "const" or "op"
    expr: str = ""  # the forward expression in the operands' names: "w · x"
    prim: str | None = None  # the engine's primitive (the op as recorded: "mul_scalar")
    params: dict = field(default_factory=dict)  # the op's shown parameters, as text
    partials: list = field(default_factory=list)  # "∂mul₁/∂w = x", one per operand with a
    # gradient, in the operands' names (``local`` is the registry's rule text)


@dataclass
class Term:
    """One path into a node: ``child`` sent ``value`` = v̄_child · ∂child/∂node.

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> z = w * w; z.name = "z"
    >>> ex = cr.explain(z)
    >>> t = ex.step("w").terms[0]
    >>> t.child, t.local, float(t.value), t.partial
    ('z', 'w', 3.0, 3.0)
    """
    child: str
    child_op: str
    index: int  # which operand of the child this node is
    local: str  # ∂child/∂(this operand) in the operands' own names ("x", "z̄₁ @ xᵀ")
    child_bar: np.ndarray
    value: np.ndarray
    summed: bool = False  # the child broadcast this operand: its term was summed back

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
    """v̄[name] = Σ terms, in the order the backward pass ran.

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> z = w * w; z.name = "z"
    >>> ex = cr.explain(z)
    >>> s = ex.step("w")
    >>> float(s.bar), len(s.terms), s.notes
    (6.0, 2, ['2 paths meet at w: their terms are added'])
    """
    name: str
    bar: np.ndarray
    terms: list[Term] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    is_output: bool = False
    lines: list[str] = field(default_factory=list)  # forward mode: the step as text


class Explanation:
    """The graph (``nodes``, parents first), the backward pass (``steps``, as it ran) and
    the ``nn.Module`` calls that computed the nodes (``groups``, outer before inner).

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> z = w * w; z.name = "z"
    >>> ex = cr.explain(z)
    >>> [row.name for row in ex.nodes], float(ex.node("w").grad)
    (['w', 'z'], 6.0)
    """

    def __init__(self, nodes: list[NodeRow], steps: list[Step], output: str,
                 groups: list[Group] | None = None, mode: str = "reverse"):
        self.nodes = nodes
        self.steps = steps
        self.output = output
        self.groups = groups or []
        self.mode = mode  # "reverse" (gradients, v̄) or "forward" (tangents, v̇)
        self.source = None  # what built it (a Source), for live recomputation

    def node(self, name: str) -> NodeRow:
        """The row of the node called ``name`` (its value and gradient); KeyError if none."""
        for row in self.nodes:
            if row.name == name:
                return row
        raise KeyError(name)

    def step(self, name: str) -> Step:
        """The backward step that computed ``name``'s gradient; KeyError if none."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def grads(self) -> dict:
        """``{name: grad}`` for every node that gets a gradient (constants get none)."""
        return {row.name: row.grad for row in self.nodes if row.kind != "const"}

    def to_text(self) -> str:
        """The explanation as plain text: the node table, the forward pass and each
        backward step with its numbers."""
        from .render_text import to_text
        return to_text(self)

    def to_markdown(self) -> str:
        """The explanation as Markdown: a table of the nodes and the backward steps."""
        from .render_text import to_markdown
        return to_markdown(self)

    def to_latex(self) -> str:
        """The backward steps as a LaTeX ``align*`` block, one line per gradient."""
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

    def to_python(self) -> str:
        """A runnable NumPy program: one line per forward step and per backward step (named
        ``L_bar`` for L̄), recomputing the values and gradients shown here."""
        from .to_python import to_python
        return to_python(self)

    def serve(self, port: int = 0, *, open_browser: bool = False):
        """Serve the page on ``http://127.0.0.1:PORT/`` (0: any free port) with every leaf
        value editable; each edit is recomputed by chainrule. Returns the running server
        (``.url``, ``.stop()``)."""
        from .serve import serve
        return serve(self, port=port, open_browser=open_browser)

    def widget(self):
        """The live page as a Jupyter widget (needs the ``widget`` extra: anywidget)."""
        from .widget import widget
        return widget(self)

    def _repr_html_(self) -> str:
        return self.to_svg()

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self):
        return f"<Explanation of {self.output}: {len(self.nodes)} nodes, {len(self.steps)} steps>"


def _name_nodes(order, tensors, param_names) -> dict:
    """User names where given, else a parameter's name in its module (``0.weight``), else
    ``mul₁``, ``sigmoid₂``, ``x₁`` (counters per op)."""
    names, used, counters = {}, set(), {}
    for node in order:
        t = tensors.get(node)
        name = t.name if t is not None and t.name else param_names.get(id(t))
        if name is None or name in used:
            base = name or ("x" if node.prim is None else
                            notation.short_name(node.prim.name, node.params))
            name = _fresh(base, used, counters)
        used.add(name)
        names[node] = name
    return names


def _fresh(base: str, used: set, counters: dict) -> str:
    while True:
        counters[base] = counters.get(base, 0) + 1
        name = base + fmt.sub(counters[base])
        if name not in used:
            return name


@dataclass
class Constant:
    """An operand that gets no gradient: a tensor that does not require grad (``x``, the
    targets), the number in ``w * 1.5``, or an array parameter (one-hot targets).
    ``sources`` say where it lives, for replaying the graph with a new value: ("tensor",
    tensor), ("c", node) or ("param", node, key); the same unnamed number used twice is one
    constant with two sources."""
    name: str
    value: np.ndarray
    sources: list


class _Constants:
    """Names every constant operand, in the graph's order, and remembers which op reads which."""

    def __init__(self, used: set):
        self.used, self.counters = used, {}
        self.items: list[Constant] = []
        self.by_tensor: dict = {}  # id(tensor) -> Constant
        self.by_number: dict = {}  # an unnamed number's text -> Constant
        self.of_node: dict = {}  # node -> [its operands' Constant or None, in operand order]

    def _new(self, wanted, value, source) -> Constant:
        value = np.asarray(value)
        if wanted is None and value.size == 1:  # an unnamed number is called by its value
            text = fmt.num(value)
            c = self.by_number.get(text)
            if c is not None and c.value.dtype == value.dtype and np.array_equal(c.value, value):
                c.sources.append(source)
                return c
            name = text
            while name in self.used:
                name += "′"
        elif wanted and wanted not in self.used:
            name = wanted
        else:
            name = _fresh(wanted or "const", self.used, self.counters)
        self.used.add(name)
        c = Constant(name, value, [source])
        if wanted is None and value.size == 1:
            self.by_number.setdefault(fmt.num(value), c)
        self.items.append(c)
        return c

    def visit(self, node) -> list:
        """The node's constant operands, made on first sight (shared tensors once)."""
        consts = []
        for p, t in zip(node.parents, node.inputs):
            if p is not None:
                consts.append(None)
                continue
            c = self.by_tensor.get(id(t))
            if c is None:
                c = self._new(t.name, t.data, ("tensor", t))
                self.by_tensor[id(t)] = c
            consts.append(c)
        value = notation.scalar_constant(node.prim.name, node.params)
        if value is not None:
            c = self._new(None, value, ("c", node))
            consts = [c] + consts if notation.operand_order(node.prim.name)[0] == "c" \
                else consts + [c]
        for key, arr in notation.array_params(node.params).items():
            consts.append(self._new(key, arr, ("param", node, key)))
        self.of_node[node] = consts
        return consts


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


def explain(output, *, focus=None, inputs=None, mode: str = "reverse", wrt=None, _like=None):
    """Explain the backward pass of a one-element ``output``, step by step.

    Runs one backward sweep of its own (with ``retain_graph=True``, touching no ``.grad``, so
    it may come before or after ``output.backward(retain_graph=True)``) and records what it
    computed. ``focus`` (a tensor, such as a parameter, or a list) keeps only the nodes on
    paths from it to the output; their values and gradients are those of the whole graph.
    ``inputs`` is the same, under the name ``cr.gradient`` uses. Nodes computed inside
    ``nn.Module`` calls are grouped by module (``groups``, ``NodeRow.group``). Every operand
    is a node, constants included (``x`` in ``w * x``, the 1.5 in ``w * 1.5``).

    ``mode="forward"`` with ``wrt=`` a leaf traces forward mode instead: the tangent ẋ = 1 of
    ``wrt`` carried forward through every op (see ``chainrule.explain.forward``).

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
    if mode not in ("reverse", "forward"):
        raise ValueError(f"explain: mode must be 'reverse' or 'forward', not {mode!r}")
    if mode == "forward":
        if focus is not None or inputs is not None:
            raise ValueError("explain: focus=/inputs= go with mode='reverse'; forward mode "
                             "takes wrt=")
        from .forward import explain_forward
        return explain_forward(output, wrt)
    if wrt is not None:
        raise ValueError("explain: wrt= goes with mode='forward'")
    if not getattr(output, "_requires_grad", False):
        raise ValueError("explain: the output does not require grad (nothing to explain)")
    if output.data.size != 1:
        raise ValueError(f"explain: the output must have one element, not shape {output.shape}")
    if focus is not None and inputs is not None:
        raise ValueError("explain: give focus= or inputs= (the same thing), not both")
    graph = record(output, _like)
    focus = inputs if focus is None else focus
    targets = ([n for n in graph.order if n.prim is None] if focus is None else
               _focus_nodes(focus, set(graph.order), graph.param_names))

    seen: dict = {}  # node -> (g, gs), filled by the engine's sweep as it runs
    ran: list = []

    def observer(node, g, gs):
        seen[node] = (_raw(g), [_raw(x) for x in gs])
        ran.append(node)

    ones = np.ones_like(output.data)
    results = engine.sweep([graph.root], [ones], targets=targets, retain_graph=True,
                           observer=observer)
    bars = {n: g for n, (g, _) in seen.items()}
    for n, g in results.items():
        bars[n] = _raw(g)
    rows = _rows(graph, bars)
    ex = Explanation(rows, _steps(graph, ran, seen, bars), graph.names[graph.root],
                     _shown_groups(graph.groups, rows))
    ex.source = Source(output, graph, [graph.names[n] for n in targets] if focus is not None
                       else None)
    return ex


@dataclass
class Graph:
    """The recorded graph as the explanation names it."""
    root: object
    order: list
    tensors: dict
    names: dict  # node -> name
    consts: _Constants
    groups: list
    group_of: dict
    param_names: dict


def record(output, like: Graph | None = None) -> Graph:
    """Walk ``output``'s graph: order, names, constants and module groups. ``like``: a graph
    of the same structure (this one replays it with new leaf values) whose node names and
    module groups carry over, position by position."""
    root = output._node or engine.leaf_node(output)
    order = engine.toposort([root])
    tensors = _tensors(order, output)
    if like is not None:
        same = dict(zip(order, like.order))
        groups, param_names = like.groups, {}
        group_of = {n: like.group_of[o] for n, o in same.items() if o in like.group_of}
        names = {n: like.names[o] for n, o in same.items()}
    else:
        groups, group_of, param_names = module_groups(order)
        names = _name_nodes(order, tensors, param_names)
    consts = _Constants(set(names.values()))
    for node in order:
        if node.prim is not None:
            consts.visit(node)
    return Graph(root, order, tensors, names, consts, groups, group_of, param_names)


@dataclass
class Source:
    """What built an explanation, so that it can be rebuilt with new leaf values."""
    output: object
    graph: Graph
    focus: list | None  # the names of the focus nodes, or None


def operand_names(graph: Graph, node) -> list[str]:
    """The names of a node's operands in the order the op reads them, constants included."""
    consts = graph.consts.of_node.get(node, [])
    out, k = [], 0
    for c in consts:
        if c is None:
            while node.parents[k] is None:
                k += 1
            out.append(graph.names[node.parents[k]])
            k += 1
        else:
            out.append(c.name)
    return out


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


def _rows(graph: Graph, bars: dict) -> list[NodeRow]:
    rows, shown = [], set()
    kept = {graph.names[n] for n in bars}
    for node in graph.order:
        if node not in bars:
            continue  # not on a path to the requested inputs
        t = graph.tensors.get(node)
        value = None if t is None else np.asarray(t.data)
        prim = node.prim
        shape = tuple(value.shape) if value is not None else tuple(np.shape(bars[node]))
        name = graph.names[node]
        group = graph.group_of.get(node)
        if prim is None:
            rows.append(NodeRow(name=name, op="input", shape=shape, value=value,
                                grad=bars[node], group=group, kind="input"))
            continue
        for c in graph.consts.of_node[node]:
            if c is not None and c.name not in shown:  # just before its first reader
                shown.add(c.name)
                # a tensor comes from outside (data, targets); a number belongs to its op
                inside = any(src[0] != "tensor" for src in c.sources)
                rows.append(NodeRow(name=c.name, op="const", shape=tuple(c.value.shape),
                                    value=c.value, grad=None, group=group if inside else None,
                                    kind="const"))
        operands = operand_names(graph, node)
        op = notation.display_name(prim.name, node.params)
        params = notation.shown_params(prim.name, node.params)
        consts = graph.consts.of_node[node]
        constant = next((c.name for c in consts if c is not None and any(
            src[0] == "c" and src[1] is node for src in c.sources)), None)
        partials = []
        for k, c in enumerate(consts):
            if c is None:
                rule = notation.partial(prim, k, name, operands, constant, node.params)
                # a matrix rule says what the operand's gradient receives, not a partial
                partials.append(rule if "+=" in rule else f"∂{name}/∂{operands[k]} = {rule}")
        rows.append(NodeRow(
            name=name, op=op, shape=shape, value=value, grad=bars[node],
            parents=[n for n in operands if n in shown or n in kept],
            local=prim.formula, group=group, kind="op",
            expr=notation.expression(op, operands, params), prim=prim.name, params=params,
            partials=partials))
    return rows


def _steps(graph: Graph, ran, seen, bars) -> list[Step]:
    names = graph.names
    # Which child sent what to each node, in the order the children ran.
    terms: dict = {}
    for child in ran:
        _, gs = seen[child]
        operands = operand_names(graph, child)
        consts = graph.consts.of_node[child]
        constant = next((c.name for c in consts if c is not None and any(
            src[0] == "c" and src[1] is child for src in c.sources)), None)
        slots = [i for i, c in enumerate(consts) if c is None]  # operand index of each parent
        for k, (p, gk) in enumerate(zip(child.parents, gs)):
            if p is None or gk is None:
                continue
            index = slots[sum(1 for q in child.parents[:k] if q is not None)]
            terms.setdefault(p, []).append(Term(
                child=names[child], child_op=notation.display_name(child.prim.name,
                                                                   child.params),
                index=index, local=notation.partial(child.prim, index, names[child], operands,
                                                    constant, child.params),
                child_bar=seen[child][0], value=gk,
                summed=child.prim.kind == "elementwise" and np.shape(gk) != np.shape(
                    seen[child][0])))
    # The sweep visits nodes in reverse topological order: leaves take their place there.
    steps = []
    for node in reversed(graph.order):
        if node not in bars:
            continue
        step = Step(name=names[node], bar=bars[node], terms=terms.get(node, []),
                    is_output=node is graph.order[-1])
        _add_notes(step)
        steps.append(step)
    return steps


def _add_notes(step: Step) -> None:
    for term in step.terms:
        if term.child_op == "broadcast_to" or term.summed:
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
