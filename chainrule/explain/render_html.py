"""A self-contained interactive page (no network): step through the forward pass, node by
node, then the backward pass in the order the engine ran it, with each step's formula and
numbers; buttons and the arrow keys move, the current node and its edges are highlighted."""
from __future__ import annotations

import html
import json

from . import fmt
from .render_svg import BOX_H, BOX_W, GAP_X, GAP_Y, _columns
from .render_text import step_lines


def _positions(ex):
    depth, per_column, pos = _columns(ex), {}, {}
    for row in ex.nodes:
        k = per_column.setdefault(depth[row.name], 0)
        per_column[depth[row.name]] = k + 1
        pos[row.name] = (20 + depth[row.name] * (BOX_W + GAP_X), 20 + k * (BOX_H + GAP_Y))
    return pos, max(per_column.values(), default=1), max(depth.values(), default=0) + 1


def _steps(ex):
    steps = []
    for row in ex.nodes:
        lines = ([f"{row.name} is an input: {fmt.summary(row.value)}"] if row.op == "input"
                 else [f"{row.name} = {row.op}({', '.join(row.parents)}) = "
                       f"{fmt.summary(row.value)}", f"local derivative: {row.local}"])
        steps.append({"phase": "forward", "node": row.name, "lines": lines,
                      "number": _scalar(row.value), "label": "value"})
    for step in ex.steps:
        steps.append({"phase": "backward", "node": step.name, "lines": step_lines(step),
                      "number": _scalar(step.bar), "label": "gradient",
                      "from": [t.child for t in step.terms]})
    return steps


def _scalar(a):
    return float(a.reshape(-1)[0]) if a is not None and a.size == 1 else None


def to_html(ex, title: str = "chainrule: backpropagation, step by step") -> str:
    pos, rows, cols = _positions(ex)
    data = {"nodes": [{"name": r.name, "op": r.op, "x": pos[r.name][0], "y": pos[r.name][1],
                       "parents": r.parents, "value": fmt.summary(r.value),
                       "grad": fmt.summary(r.grad)} for r in ex.nodes],
            "steps": _steps(ex), "box": [BOX_W, BOX_H],
            "size": [40 + cols * (BOX_W + GAP_X), 40 + rows * (BOX_H + GAP_Y)]}
    payload = json.dumps(data).replace("</", "<\\/")
    return _PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1em; }
 #controls button { font-size: 1em; margin-right: .5em; }
 #panel { font-family: monospace; white-space: pre; background: #f6f6f6; padding: .8em;
          margin: .8em 0; min-height: 5em; }
 rect { fill: white; stroke: #333; } rect.input { fill: #e8f0ff; }
 rect.current { stroke: #e67e00; stroke-width: 4; } rect.done { fill: #f3fff0; }
 line.fw { stroke: #333; } line.bw { stroke: red; stroke-dasharray: 4 3; }
 line.hot { stroke-width: 3; } text { font-family: monospace; font-size: 12px; }
 .hidden { visibility: hidden; }
</style></head><body>
<h1>__TITLE__</h1>
<div id="controls"><button id="prev">&#8592; Prev</button><button id="next">Next &#8594;</button>
<span id="counter"></span> <b id="phase"></b></div>
<div id="panel"><span id="formula"></span>
<span id="current-label"></span> of <span id="current-name"></span>:
<span id="current-number"></span></div>
<div style="overflow-x: auto"><svg id="graph" xmlns="http://www.w3.org/2000/svg"></svg></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const svg = document.getElementById("graph"), NS = "http://www.w3.org/2000/svg";
svg.setAttribute("width", D.size[0]); svg.setAttribute("height", D.size[1]);
const [W, H] = D.box, at = {};
D.nodes.forEach(n => at[n.name] = n);
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  (parent || svg).appendChild(e); return e;
}
const fwEdges = [], bwEdges = [];
D.nodes.forEach(n => n.parents.forEach(p => fwEdges.push([p, n.name, el("line", {
  class: "fw", x1: at[p].x + W, y1: at[p].y + H / 2 - 6, x2: n.x, y2: n.y + H / 2 - 6})])));
D.steps.filter(s => s.phase === "backward").forEach(s => (s.from || []).forEach(c => {
  if (!at[c]) return;
  bwEdges.push([c, s.node, el("line", {class: "bw hidden", x1: at[c].x, y1: at[c].y + H / 2 + 6,
    x2: at[s.node].x + W, y2: at[s.node].y + H / 2 + 6})]);
}));
const boxes = {}, gradText = {};
D.nodes.forEach(n => {
  const g = el("g", {id: "node-" + n.name});
  boxes[n.name] = el("rect", {x: n.x, y: n.y, width: W, height: H, rx: 8,
                              class: n.op === "input" ? "input" : ""}, g);
  [n.name + "  (" + n.op + ")", "value = " + n.value].forEach((t, i) =>
    el("text", {x: n.x + 8, y: n.y + 18 + 16 * i}, g).textContent = t);
  gradText[n.name] = el("text", {x: n.x + 8, y: n.y + 52, fill: "red", class: "hidden"}, g);
  gradText[n.name].textContent = "grad = " + n.grad;
});
let k = 0;
function show() {
  const s = D.steps[k];
  document.getElementById("counter").textContent = "step " + (k + 1) + " / " + D.steps.length;
  const $ = id => document.getElementById(id);
  $("phase").textContent = s.phase === "forward" ? "forward pass" : "backward pass";
  document.getElementById("formula").textContent = s.lines.join("\\n") + "\\n";
  document.getElementById("current-label").textContent = s.label;
  document.getElementById("current-name").textContent = s.node;
  $("current-number").textContent = s.number === null ? "(tensor)" : String(s.number);
  const done = new Set(D.steps.slice(0, k).filter(t => t.phase === s.phase).map(t => t.node));
  for (const name in boxes) {
    boxes[name].classList.toggle("current", name === s.node);
    boxes[name].classList.toggle("done", done.has(name));
    const shown = s.phase === "backward" && (done.has(name) || name === s.node);
    gradText[name].classList.toggle("hidden", !shown);
  }
  fwEdges.forEach(([a, b, e]) => e.classList.toggle("hot", s.phase === "forward" && b === s.node));
  bwEdges.forEach(([a, b, e]) => {
    const seen = s.phase === "backward" && (done.has(b) || b === s.node);
    e.classList.toggle("hidden", !seen); e.classList.toggle("hot", b === s.node);
  });
}
function go(d) { k = Math.max(0, Math.min(D.steps.length - 1, k + d)); show(); }
document.getElementById("next").onclick = () => go(1);
document.getElementById("prev").onclick = () => go(-1);
document.addEventListener("keydown", e => {  // arrows step, and must not scroll the page
  if (e.key === "ArrowRight") { go(1); e.preventDefault(); }
  if (e.key === "ArrowLeft") { go(-1); e.preventDefault(); } });
show();
</script></body></html>
"""
