"""SVG pictures of an explanation: Graphviz ``dot`` when installed, else a built-in layered
layout (inputs on the left, one column per depth), so a picture never fails to appear."""
from __future__ import annotations

import shutil
import subprocess
import warnings
from xml.sax.saxutils import escape

from . import fmt

_warned = []
BOX_W, BOX_H, GAP_X, GAP_Y, LINE = 210, 74, 70, 26, 16


def to_svg(ex) -> str:
    dot = shutil.which("dot")
    if dot is not None:
        done = subprocess.run([dot, "-Tsvg"], input=ex.to_dot(), capture_output=True,
                              text=True, timeout=60)
        if done.returncode == 0:
            return done.stdout
    if not _warned:
        _warned.append(True)
        warnings.warn("Graphviz `dot` not found (or failed): drawing with chainrule's built-in "
                      "layered layout instead", stacklevel=3)
    return layered_svg(ex)


def _columns(ex) -> dict:
    """Depth of each node: 0 for inputs, else 1 + the deepest parent (nodes come parents
    first, so one pass suffices)."""
    depth = {}
    for row in ex.nodes:
        depth[row.name] = 1 + max((depth[p] for p in row.parents), default=-1)
    return depth


def layered_svg(ex) -> str:
    depth = _columns(ex)
    rows_in: dict = {}
    pos = {}
    for row in ex.nodes:
        k = rows_in.setdefault(depth[row.name], 0)
        rows_in[depth[row.name]] = k + 1
        pos[row.name] = (20 + depth[row.name] * (BOX_W + GAP_X), 20 + k * (BOX_H + GAP_Y))
    width = 40 + (max(depth.values(), default=0) + 1) * (BOX_W + GAP_X)
    height = 40 + max(rows_in.values(), default=1) * (BOX_H + GAP_Y)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="12">',
           '<defs><marker id="fw" markerWidth="8" markerHeight="8" refX="8" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="black"/></marker>'
           '<marker id="bw" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="red"/></marker></defs>']
    for row in ex.nodes:  # forward edges: right edge of the parent to left edge of the child
        x2, y2 = pos[row.name]
        for p in row.parents:
            x1, y1 = pos[p]
            out.append(f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2 - 6}" x2="{x2}" '
                       f'y2="{y2 + BOX_H / 2 - 6}" stroke="black" marker-end="url(#fw)"/>')
    for step in ex.steps:  # gradient flow: child back to parent, dashed red, with the amount
        for t in step.terms:
            if t.child not in pos or step.name not in pos:
                continue
            (x1, y1), (x2, y2) = pos[t.child], pos[step.name]
            ya, yb = y1 + BOX_H / 2 + 6, y2 + BOX_H / 2 + 6
            out.append(f'<line x1="{x1}" y1="{ya}" x2="{x2 + BOX_W}" y2="{yb}" stroke="red" '
                       f'stroke-dasharray="4 3" marker-end="url(#bw)"/>')
            out.append(f'<text x="{(x1 + x2 + BOX_W) / 2}" y="{(ya + yb) / 2 + 12}" '
                       f'fill="red" text-anchor="middle">{escape(fmt.summary(t.value))}</text>')
    for row in ex.nodes:
        x, y = pos[row.name]
        fill = "#e8f0ff" if row.op == "input" else "white"
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'fill="{fill}" stroke="black"/>')
        lines = [f"{row.name}  ({row.op})", f"shape {row.shape}" if row.shape else "scalar",
                 f"value = {fmt.summary(row.value)}", f"grad = {fmt.summary(row.grad)}"]
        for i, text in enumerate(lines):
            color = ' fill="red"' if i == 3 else ""
            out.append(f'<text x="{x + 8}" y="{y + 18 + i * LINE}"{color}>'
                       f'{escape(text[:30])}</text>')
    out.append("</svg>")
    return "\n".join(out)
