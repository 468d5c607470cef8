"""SVG pictures of an explanation: Graphviz ``dot`` when installed, else a built-in layered
layout (``layout.py``: columns by depth, each module cluster a framed block of its own), so a
picture never fails to appear."""
from __future__ import annotations

import shutil
import subprocess
import warnings
from xml.sax.saxutils import escape

from .layout import LINE_H, PAD, clip, edge_ends, layout
from .picture import FILL, picture

_warned = []


def to_svg(ex, collapse=None) -> str:
    dot = shutil.which("dot")
    if dot is None:
        problem = "Graphviz `dot` not found"
    else:
        try:
            done = subprocess.run([dot, "-Tsvg"], input=ex.to_dot(collapse),
                                  capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            problem = "Graphviz `dot` took over 60 s"
        else:
            if done.returncode == 0:
                return done.stdout
            said = next((ln.strip() for ln in done.stderr.splitlines() if ln.strip()), "")
            problem = f"Graphviz `dot` failed (exit status {done.returncode}" + (
                f": {said[:200]})" if said else ")")
    if not _warned:
        _warned.append(True)
        warnings.warn_explicit(  # as file "chainrule", line 0: one line, no source line shown
            f"{problem}: drawing with chainrule's built-in layered layout instead"
            + (" (to use Graphviz: apt-get install graphviz)" if dot is None else ""),
            UserWarning, "chainrule", 0)
    return layered_svg(ex, collapse)


def layered_svg(ex, collapse=None, direction: str = "LR") -> str:
    """The built-in drawing: boxes (``g[data-node]`` around a ``rect.box``), forward edges
    in black, gradient edges dashed red with their labels (``text.elabel``) placed where they
    cover nothing; ``direction`` "LR" or "TB" (narrow, for a README)."""
    pic = picture(ex, collapse)
    lay = layout(pic, direction)
    at = lay.boxes
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" '
           f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
           'font-family="DejaVu Sans Mono, monospace" font-size="12">',
           '<defs><marker id="fw" markerWidth="8" markerHeight="8" refX="8" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="black"/></marker>'
           '<marker id="bw" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="red"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    for key, x, y, w, h in lay.frames:  # module clusters, outer ones first (drawn below)
        out.append(f'<rect class="frame" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="10" fill="black" fill-opacity="0.035" '
                   'stroke="#999999"/>')
        out.append(f'<text class="frame-label" x="{x + 8:.1f}" y="{y + 15:.1f}" '
                   f'font-family="sans-serif" fill="#444444">{escape(key)}</text>')
    for a, b in pic.forward:
        x1, y1, x2, y2 = edge_ends(lay, a, b, False)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   'stroke="black" marker-end="url(#fw)"/>')
    for a, b, _ in pic.backward:
        x1, y1, x2, y2 = edge_ends(lay, a, b, True)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   'stroke="red" stroke-dasharray="4 3" marker-end="url(#bw)"/>')
    for box in pic.boxes:
        x, y, w, h = at[box.id]
        node = f' data-node="{escape(box.node)}"' if box.node else ""
        out.append(f'<g{node}><title>{escape(box.tooltip)}</title>')
        out.append(f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="8" fill="{FILL[box.kind]}" stroke="black"/>')
        first_grad = len(box.lines) - box.n_grad
        for i, text in enumerate(box.lines):
            color = ' fill="red"' if i >= first_grad else ""
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + 11 + i * LINE_H:.1f}"{color} '
                       f'xml:space="preserve">{escape(clip(text))}</text>')
        out.append("</g>")
    for (_, _, amount), spot in zip(pic.backward, lay.labels):  # on top of everything
        if spot is not None:
            x, y, w, h = spot
            out.append(f'<text class="elabel" x="{x + 2:.1f}" y="{y + 11:.1f}" fill="red" '
                       'stroke="white" stroke-width="3" paint-order="stroke">'
                       f'{escape(clip(amount))}</text>')
    out.append("</svg>")
    return "\n".join(out)
