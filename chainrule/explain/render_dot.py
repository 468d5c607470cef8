"""Graphviz DOT source: forward edges in black, the gradient flowing back in red, and one
cluster per ``nn.Module`` call (``collapse`` draws chosen modules as one box each)."""
from __future__ import annotations

from .picture import FILL, Box, picture


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(box) -> str:
    """An HTML-like label: gradient lines in red."""
    k = len(box.lines) - box.n_grad
    parts = [_html(x) for x in box.lines[:k]]
    parts += [f'<font color="red">{_html(x)}</font>' for x in box.lines[k:]]
    return "<" + '<br align="left"/>'.join(parts) + '<br align="left"/>>'


def to_dot(ex, collapse=None) -> str:
    pic = picture(ex, collapse)
    out = ["digraph explain {", "  rankdir=LR; newrank=true;",
           '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=11];',
           '  graph [fontname="sans-serif", fontsize=12, labeljust=l, nodesep=0.2, ranksep=0.45];',
           '  edge [fontname="monospace", fontsize=10, arrowsize=0.7];']
    inside: dict = {}  # cluster key (None: outside every cluster) -> its boxes and clusters
    for c in pic.clusters:
        inside.setdefault(c.parent, []).append(c)
    for box in pic.boxes:
        inside.setdefault(box.cluster, []).append(box)
    numbers = {c.key: i for i, c in enumerate(pic.clusters)}

    def emit(key, indent):
        for item in inside.get(key, []):
            if isinstance(item, Box):
                out.append(f'{indent}{item.id} [fillcolor="{FILL[item.kind]}", '
                           f'tooltip="{_esc(item.tooltip)}", label={_label(item)}];')
            else:  # a nested cluster: module nesting is shallow, recursion is fine here
                out.append(f"{indent}subgraph cluster_{numbers[item.key]} {{")
                out.append(f'{indent}  label="{_esc(item.key)}"; style="rounded,filled"; '
                           'color="#999999"; fillcolor="#00000008";')
                emit(item.key, indent + "  ")
                out.append(f"{indent}}}")

    emit(None, "  ")
    for a, b in pic.forward:
        out.append(f"  {a} -> {b} [color=black];")
    for a, b, amount in pic.backward:  # written parent -> child with the arrow at the parent,
        # so Graphviz routes it as a parallel twin of the forward edge, not a loop around
        out.append(f'  {b} -> {a} [color=red, dir=back, fontcolor=red, style=dashed, '
                   f'label="{_esc(amount)}"];')
    out.append("}")
    return "\n".join(out)
