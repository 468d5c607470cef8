"""What a picture of an explanation shows, whichever renderer draws it: boxes (one per node,
or one per collapsed module), forward edges, gradient edges labelled with what they carry,
and the module clusters around the boxes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fmt

# A box's fill colour by its kind, the same in every renderer.
FILL = {"input": "#e8f0ff", "op": "white", "module": "#fff4dc", "const": "#eeeeee"}
BOX_MATRIX = 12  # boxes draw values of up to this many entries in full, as matrices


@dataclass
class Box:
    id: str
    lines: list[str]  # the label, top to bottom; the last ``n_grad`` lines are gradients
    n_grad: int
    kind: str  # "input", "op" or "module" (a collapsed module)
    cluster: str | None  # the key of the innermost cluster drawn around it
    tooltip: str  # the full summaries (first values, min, max), shown on hover
    fields: list | None = None  # per line: "title", "info", "value" or "grad"
    node: str | None = None  # the node it shows (None for a collapsed module)
    line_nodes: list | None = None  # per line: the node whose number it shows


@dataclass
class Cluster:
    key: str
    parent: str | None


@dataclass
class Picture:
    boxes: list[Box]  # in the graph's order, a collapsed module where its last node was
    forward: list[tuple[str, str]]  # parent box -> child box
    backward: list[tuple[str, str, str]]  # child box -> parent box, and what it sent
    clusters: list[Cluster]  # each after the cluster around it
    box_of: dict[str, str]  # node name -> the id of the box showing it


def collapsed_groups(ex, collapse) -> set[str]:
    """The keys of the module groups ``collapse`` names (see ``Explanation.to_dot``)."""
    if collapse is None or collapse is False:
        return set()
    if collapse is True:  # the innermost modules: the layers
        parents = {g.parent for g in ex.groups}
        return {g.key for g in ex.groups if g.key not in parents}
    if isinstance(collapse, int):
        return {g.key for g in ex.groups if g.depth == collapse}
    keys = set()
    for wanted in [collapse] if isinstance(collapse, str) else collapse:
        found = {g.key for g in ex.groups if wanted in (g.key, g.path)}
        if not found:
            raise ValueError(f"collapse: no module {wanted!r} in this graph; its modules: "
                             f"{', '.join(repr(g.key) for g in ex.groups) or 'none'}")
        keys |= found
    return keys


def _shape(row) -> str:
    return f"shape {row.shape}" if row.shape else "scalar"


def labelled(label: str, a) -> list[str]:
    """``value = 0.75``, or a small matrix under its label over several lines."""
    block = fmt.matrix(a, max_size=BOX_MATRIX) if a is not None else None
    if block is None:
        return [f"{label} = {fmt.brief(a)}"]
    pad = " " * (len(label) + 3)
    return [(f"{label} = " if i == 0 else pad) + line for i, line in enumerate(block)]


def node_lines(row, grad_label: str = "grad") -> tuple[list[str], list[str]]:
    """A node's label lines and what each shows: its name (and expression), op and shape,
    value, gradient (none for a constant)."""
    title = f"{row.name} = {row.expr}" if row.kind == "op" and row.expr else \
        f"{row.name}  ({row.op})"
    info = f"{row.op}  {_shape(row)}" if row.kind == "op" else _shape(row)
    lines, fields = [title, info], ["title", "info"]
    value = labelled("value", row.value)
    lines += value
    fields += ["value"] * len(value)
    if row.kind != "const":
        grad = labelled(grad_label, row.grad)
        lines += grad
        fields += ["grad"] * len(grad)
    return lines, fields


def _exact(a) -> str:
    """Every entry at full precision, for a tooltip (a shown 0 may be rounding noise)."""
    if a is None:
        return "–"
    a = np.asarray(a)
    if a.size > 64:
        return fmt.summary(a)
    return np.array2string(a, precision=17, separator=", ", max_line_width=100)


def _node_box(box_id: str, row, grad_label: str = "grad") -> Box:
    lines, fields = node_lines(row, grad_label)
    kind = row.kind if row.kind in ("input", "const") else "op"
    tip = f"{row.name}\nvalue = {_exact(row.value)}"
    if row.kind != "const":
        tip += f"\n{grad_label} = {_exact(row.grad)}"
    return Box(box_id, lines, fields.count("grad"), kind, row.group, tip, fields, row.name,
               [row.name] * len(lines))


def _module_box(box_id: str, key: str, cluster, rows, outs) -> Box:
    """One box for a collapsed module: its output's value and gradient, then the gradient
    of each parameter it holds."""
    lines, grads = [key], []
    nodes, grad_nodes = [None], []
    if len(outs) == 1:
        out = outs[0]
        lines += [f"out {out.name}: {_shape(out)}", f"value = {fmt.brief(out.value)}"]
        grads.append(f"grad = {fmt.brief(out.grad)}")
        nodes += [out.name, out.name]
        grad_nodes.append(out.name)
    else:
        lines.append(f"{len(outs)} outputs: {', '.join(r.name for r in outs)}")
        nodes.append(None)
    params = [r for r in rows if r.op == "input"]
    grads += [f"{r.name} {r.shape}: grad {fmt.brief(r.grad)}" for r in params]
    grad_nodes += [r.name for r in params]
    tip = "\n".join(f"{r.name}: value = {fmt.summary(r.value)}, grad = {fmt.summary(r.grad)}"
                    for r in rows)
    fields = ["title", "info"] + ["value"] * (len(lines) - 2) + ["grad"] * len(grads)
    return Box(box_id, lines + grads, len(grads), "module", cluster, tip, fields, None,
               nodes + grad_nodes)


def picture(ex, collapse=None) -> Picture:
    """What to draw of ``ex``: a box per node (or per collapsed module), forward edges and
    gradient edges (a forward-mode explanation draws tangents instead: edges point forward)."""
    chosen = collapsed_groups(ex, collapse)
    parent = {g.key: g.parent for g in ex.groups}
    fold = {}  # group key -> the outermost chosen group around it (itself included), or None
    for g in ex.groups:  # parents come first, so theirs is known
        fold[g.key] = fold.get(g.parent) or (g.key if g.key in chosen else None)
    module_ids = {k: f"m{i}" for i, k in enumerate(dict.fromkeys(
        fold[r.group] for r in ex.nodes if r.group and fold[r.group]))}
    box_of = {r.name: module_ids[fold[r.group]] if r.group and fold[r.group] else f"n{i}"
              for i, r in enumerate(ex.nodes)}

    forward, seen = [], set()
    outs = {ex.output}  # nodes whose value leaves their box
    for row in ex.nodes:
        for p in row.parents:
            edge = (box_of[p], box_of[row.name])
            if edge[0] != edge[1]:
                outs.add(p)
                if edge not in seen or not _merges(edge):  # x·x keeps its two edges
                    forward.append(edge)
                    seen.add(edge)
    sent: dict = {}  # one gradient edge per term, or per box pair where a module merges them
    for step in ex.steps if ex.mode == "reverse" else ():  # tangents show in the boxes
        for t in step.terms:
            edge = (box_of[t.child], box_of[step.name])
            if edge[0] != edge[1]:
                sent.setdefault(edge if _merges(edge) else (*edge, len(sent)), []).append(
                    (step.name, t.value))
    backward = [(key[0], key[1], _amount(terms)) for key, terms in sent.items()]

    last = {box_id: i for i, box_id in enumerate(box_of[r.name] for r in ex.nodes)}
    boxes = []
    for i, row in enumerate(ex.nodes):
        box_id = box_of[row.name]
        if box_id.startswith("n"):
            boxes.append(_node_box(box_id, row, "tangent" if ex.mode == "forward" else "grad"))
        elif last[box_id] == i:
            key = fold[row.group]
            rows = [r for r in ex.nodes if box_of[r.name] == box_id]
            boxes.append(_module_box(box_id, key, parent[key], rows,
                                     [r for r in rows if r.name in outs]))
    clusters = [Cluster(g.key, g.parent) for g in ex.groups if fold[g.key] is None]
    return Picture(boxes, forward, backward, clusters, box_of)


def _merges(edge) -> bool:
    """Edges touching a collapsed module merge: many paths inside it are one arrow outside."""
    return edge[0].startswith("m") or edge[1].startswith("m")


def _amount(terms) -> str:
    """What an edge carries: the sum of its terms where they all reach the same node."""
    if len({name for name, _ in terms}) > 1:
        return ""
    total = sum(np.asarray(v, dtype=np.float64) for _, v in terms) if len(terms) > 1 \
        else terms[0][1]
    return fmt.edge(total)
