"""Graphviz DOT source: forward edges in black, the gradient flowing back in red."""
from __future__ import annotations

from . import fmt


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _label(row) -> str:
    lines = [f"{row.name}  ({row.op})", f"shape {row.shape}" if row.shape else "scalar",
             f"value = {fmt.summary(row.value)}", f"grad = {fmt.summary(row.grad)}"]
    return "\\n".join(_esc(x) for x in lines)


def to_dot(ex) -> str:
    ids = {row.name: f"n{i}" for i, row in enumerate(ex.nodes)}
    out = ["digraph explain {", "  rankdir=LR;",
           '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="monospace"];']
    for row in ex.nodes:
        fill = ' fillcolor="#e8f0ff",' if row.op == "input" else ""
        out.append(f'  {ids[row.name]} [{fill} label="{_label(row)}"];')
    for row in ex.nodes:  # forward: parent -> child
        for p in row.parents:
            out.append(f"  {ids[p]} -> {ids[row.name]} [color=black];")
    for step in ex.steps:  # backward: child -> parent, one edge per term
        for t in step.terms:
            if t.child in ids and step.name in ids:
                lab = _esc(fmt.summary(t.value))
                out.append(f'  {ids[t.child]} -> {ids[step.name]} [color=red, fontcolor=red, '
                           f'style=dashed, constraint=false, label="{lab}"];')
    out.append("}")
    return "\n".join(out)
