"""A self-contained interactive page (one file, no network): step through the forward pass,
node by node, then the backward pass in the order the engine ran it. Values appear as the
forward pass reaches them and gradients as the backward pass does; the current node is kept in
view and marked ``aria-current="step"``; play runs the steps at a chosen speed. Module
clusters collapse into one box (the layout is redone, so the box takes only its own room),
a matrix node opens as heatmaps of its value and gradient, and on a served page (``serve.py``)
every leaf is an editable field recomputed by chainrule.

The page's script only draws: every number and every position comes from Python
(``page_data``), so nothing of the maths is written twice.
"""
from __future__ import annotations

import html
import itertools
import json

import numpy as np

from . import fmt
from .layout import clip, edge_ends, layout
from .page_js import PAGE_CSS, PAGE_JS
from .picture import picture
from .render_text import forward_lines, step_lines

HEATMAP_MAX = 1024  # 2-D values up to this size ship their entries for the heatmap
ALL_STATES_MAX = 7  # with up to this many modules every combination of collapsed ones is laid
# out in advance; with more, each module alone and each depth
BIG_GRAPH = 60  # nodes; a bigger graph gets one layout per depth only (the page stays small)


def _exact(a):
    """A scalar's full-precision value (for the hover), else None (also for NaN and ±inf,
    which JSON cannot carry; the text says them)."""
    if a is None or np.size(a) != 1:
        return None
    v = float(np.asarray(a).reshape(-1)[0])
    return v if np.isfinite(v) else None


def _grid(a) -> list:
    return [[float(v) if np.isfinite(v) else None for v in row]
            for row in np.asarray(a, dtype=np.float64)]


def _field(a) -> dict | None:
    if a is None:
        return None
    a = np.asarray(a)
    out = {"text": fmt.shaped(a), "short": fmt.brief(a), "exact": _exact(a),
           "lines": fmt.matrix(a)}
    if a.ndim == 2 and a.size <= HEATMAP_MAX and a.dtype.kind in "fiub":
        out["grid"] = _grid(a)
        shown = fmt.denoise(a)
        if not np.array_equal(shown, a):  # only where rounding noise was zeroed
            out["shown"] = _grid(shown)
        out["absmax"] = fmt.num(np.max(np.abs(a))) if a.size else "0"
        if a.size <= 64:  # few enough cells to print each rounded number in it
            out["cells"] = [[fmt.num(v) for v in row] for row in fmt.denoise(a)]
    if a.size <= 64 and a.dtype.kind in "fiub":
        out["full"] = np.array2string(a, precision=17, separator=", ", max_line_width=100)
    return out


def _shown(a) -> str:
    """The panel's number: a scalar, a small matrix over its lines, else a summary."""
    block = fmt.matrix(a) if a is not None else None
    if block is None:
        return fmt.shaped(a)
    return f"{tuple(np.shape(a))}\n" + "\n".join(block)


def _node_steps(ex) -> list[dict]:
    values = {r.name: r.value for r in ex.nodes}
    label = "tangent" if ex.mode == "forward" else "gradient"
    steps = []
    for row in ex.nodes:
        if row.kind == "op":
            lines = forward_lines(row, values)
            lines += [f"local derivative: {p}" for p in row.partials]
        else:
            kind = "a constant" if row.kind == "const" else "an input"
            block = fmt.matrix(row.value)
            lines = [f"{row.name} is {kind}: " + (fmt.summary(row.value) if block is None
                                                  else "")] + (block or [])
        steps.append({"phase": "forward", "node": row.name, "lines": lines,
                      "number": _exact(row.value), "text": _shown(row.value),
                      "label": "value"})
    if ex.mode == "forward":
        return steps + [{"phase": "tangent", "node": s.name, "lines": s.lines,
                         "number": _exact(s.bar), "text": _shown(s.bar), "label": label,
                         "from": [t.child for t in s.terms]} for s in ex.steps]
    for step in ex.steps:
        steps.append({"phase": "backward", "node": step.name, "lines": step_lines(step),
                      "number": _exact(step.bar), "text": _shown(step.bar),
                      "label": label, "from": [t.child for t in step.terms]})
    return steps


def collapse_states(ex) -> list[tuple]:
    """The sets of collapsed modules the page can show, each as sorted keys, canonical (a
    module inside a collapsed one is not listed)."""
    keys = [g.key for g in ex.groups]
    parent = {g.key: g.parent for g in ex.groups}

    def canonical(chosen):
        def hidden(k):
            p = parent[k]
            while p is not None:
                if p in chosen:
                    return True
                p = parent[p]
            return False
        return tuple(sorted(k for k in chosen if not hidden(k)))

    depths = sorted({g.depth for g in ex.groups})
    by_depth = [tuple(g.key for g in ex.groups if g.depth == d) for d in depths]
    if len(ex.nodes) > BIG_GRAPH:
        subsets = [()] + by_depth
    elif len(keys) <= ALL_STATES_MAX:
        subsets = itertools.chain.from_iterable(
            itertools.combinations(keys, n) for n in range(len(keys) + 1))
    else:
        subsets = [()] + [(k,) for k in keys] + by_depth
    return list(dict.fromkeys(canonical(set(s)) for s in subsets))


def _scene(ex, state: tuple, direction: str) -> dict:
    pic = picture(ex, list(state) if state else None)
    lay = layout(pic, direction)
    parent = {g.key: g.parent for g in ex.groups}
    inside: dict = {}  # module key -> every node inside it (nested modules' too)
    for row in ex.nodes:
        key = row.group
        while key is not None:
            inside.setdefault(key, []).append(row.name)
            key = parent[key]
    covers = {}
    for name, box_id in pic.box_of.items():
        covers.setdefault(box_id, []).append(name)
    boxes = []
    for box in pic.boxes:
        x, y, w, h = lay.boxes[box.id]
        module = box.lines[0] if box.kind == "module" else None
        boxes.append({"id": box.id, "node": box.node, "kind": box.kind, "module": module,
                      "x": x, "y": y, "w": w, "h": h,
                      "tip": box.tooltip if box.node is None else None,
                      "covers": covers.get(box.id, []),
                      "lines": [{"text": clip(t), "field": f, "node": n} for t, f, n in
                                zip(box.lines, box.fields, box.line_nodes)]})
    first = {}  # box id -> the first node it shows (edges name their nodes by it)
    for row in ex.nodes:
        first.setdefault(pic.box_of[row.name], row.name)
    fw = [{"from": first[a], "to": first[b], "ends": edge_ends(lay, a, b, False),
           "boxes": [a, b]} for a, b in pic.forward]
    bw = []
    for (a, b, amount), spot in zip(pic.backward, lay.labels):
        bw.append({"boxes": [a, b], "ends": edge_ends(lay, a, b, True), "label": clip(amount),
                   "spot": spot, "from": covers[a], "to": covers[b]})
    frames = [{"key": k, "x": x, "y": y, "w": w, "h": h, "nodes": inside.get(k, [])}
              for k, x, y, w, h in lay.frames]
    return {"size": [lay.width, lay.height], "boxes": boxes, "fw": fw, "bw": bw,
            "frames": frames}


def page_data(ex, *, live: bool = False, direction: str = "LR", compare=None,
              states=None) -> dict:
    """Everything the page draws, as JSON-ready data: the nodes' numbers, the steps, and a
    laid-out scene for every collapse state (or for ``states``: tuples of module keys)."""
    tips = {b.node: b.tooltip for b in picture(ex).boxes if b.node}
    nodes = {r.name: {"name": r.name, "kind": r.kind, "op": r.op, "shape": list(r.shape),
                      "value": _field(r.value), "grad": _field(r.grad),
                      "tip": tips.get(r.name, "")} for r in ex.nodes}
    states = collapse_states(ex) if states is None else [tuple(sorted(s)) for s in states]
    scenes = {"|".join(state): _scene(ex, state, direction) for state in states}
    data = {"mode": ex.mode, "output": ex.output, "nodes": nodes, "steps": _node_steps(ex),
            "scenes": scenes, "groups": [{"key": g.key, "parent": g.parent, "depth": g.depth}
                       for g in ex.groups],
            "live": live, "leaves": [], "compare": compare}
    if live:
        from .live import editable
        data["leaves"] = editable(ex)
    return data


def to_html(ex, title: str = "chainrule: backpropagation, step by step", *, live: bool = False,
            compare=None) -> str:
    """The page as one HTML string; ``live`` pages post edits to the server that made them."""
    data = page_data(ex, live=live, compare=_compare_for(ex) if compare is None else compare)
    return page(title, data)


def _compare_for(ex):
    """Forward mode beside reverse mode, for a scalar function of a few scalar inputs."""
    if ex.mode != "reverse":
        return None
    from .forward import comparison
    return comparison(ex)


def page(title: str, data: dict, extra: str = "") -> str:
    payload = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return (_PAGE.replace("__TITLE__", html.escape(title)).replace("__CSS__", PAGE_CSS)
            .replace("__JS__", PAGE_JS).replace("__EXTRA__", extra)
            .replace("__DATA__", payload))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>__CSS__</style></head><body>
<h1>__TITLE__</h1>
<div id="app"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
__JS__
</script>
<script>
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const send = D.live ? (msg => fetch("api/edit", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(msg)})
    .then(r => r.json())) : null;
  window.chainrulePage = ChainruleExplain(document.getElementById("app"), D, {send});
})();
</script>
__EXTRA__
</body></html>
"""
