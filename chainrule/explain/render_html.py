"""A self-contained interactive page (no network): step through the forward pass, node by
node, then the backward pass in the order the engine ran it, with each step's formula and
numbers; buttons and the arrow keys move, the current node and its edges are highlighted.
Module clusters are framed; clicking a module's name collapses it to one box (and back)."""
from __future__ import annotations

import html
import json

from . import fmt
from .layout import clip, layout
from .picture import picture
from .render_text import step_lines


def _steps(ex):
    steps = []
    for row in ex.nodes:
        lines = ([f"{row.name} is an input: {fmt.summary(row.value)}"] if row.op == "input"
                 else [f"{row.name} = {row.op}({', '.join(row.parents)}) = "
                       f"{fmt.summary(row.value)}", f"local derivative: {row.local}"])
        steps.append({"phase": "forward", "node": row.name, "lines": lines,
                      "number": _scalar(row.value), "text": fmt.shaped(row.value),
                      "label": "value"})
    for step in ex.steps:
        steps.append({"phase": "backward", "node": step.name, "lines": step_lines(step),
                      "number": _scalar(step.bar), "text": fmt.shaped(step.bar),
                      "label": "gradient",
                      "from": [t.child for t in step.terms]})
    return steps


def _scalar(a):
    return float(a.reshape(-1)[0]) if a is not None and a.size == 1 else None


def _frames(ex, lay) -> list[dict]:
    """Each module frame with every node inside it, nested modules' included."""
    parent = {g.key: g.parent for g in ex.groups}
    inside: dict = {}
    for row in ex.nodes:
        key = row.group
        while key is not None:
            inside.setdefault(key, []).append(row.name)
            key = parent[key]
    return [{"key": key, "x": x, "y": y, "w": w, "h": h, "nodes": inside.get(key, [])}
            for key, x, y, w, h in lay.frames]


def to_html(ex, title: str = "chainrule: backpropagation, step by step") -> str:
    pic = picture(ex)
    lay = layout(pic)
    lines = {box.id: [clip(line) for line in box.lines] for box in pic.boxes}
    data = {"nodes": [{"name": r.name, "op": r.op, "parents": r.parents,
                       "box": lay.boxes[pic.box_of[r.name]],
                       "lines": lines[pic.box_of[r.name]]} for r in ex.nodes],
            "frames": _frames(ex, lay), "steps": _steps(ex), "size": [lay.width, lay.height]}
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
 rect.frame { fill: #00000009; stroke: #999; }
 .fold rect { fill: #fff4dc; }
 .frame-label { font-family: sans-serif; fill: #444; cursor: pointer; }
 line.fw { stroke: #333; } line.bw { stroke: red; stroke-dasharray: 4 3; }
 line.hot { stroke-width: 3; } text { font-family: monospace; font-size: 12px; }
 .hidden { visibility: hidden; } #hint { color: #555; }
</style></head><body>
<h1>__TITLE__</h1>
<div id="controls"><button id="prev">&#8592; Prev</button><button id="next">Next &#8594;</button>
<span id="counter"></span> <b id="phase"></b></div>
<div id="panel"><span id="formula"></span>
<span id="current-label"></span> of <span id="current-name"></span>:
<span id="current-number"></span></div>
<p id="hint" class="hidden">Boxes around nodes are the nn.Module calls that computed them:
click a module's name to collapse it into one box, and again to open it.</p>
<div style="overflow-x: auto"><svg id="graph" xmlns="http://www.w3.org/2000/svg"></svg></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const svg = document.getElementById("graph"), NS = "http://www.w3.org/2000/svg";
svg.setAttribute("width", D.size[0]); svg.setAttribute("height", D.size[1]);
const at = {};
D.nodes.forEach(n => { const [x, y, w, h] = n.box; at[n.name] = {x, y, w, h}; });
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  (parent || svg).appendChild(e); return e;
}
const collapsed = D.frames.map(() => false);
D.frames.forEach((f, i) => {  // module frames, outer ones first, under everything else
  el("rect", {class: "frame", x: f.x, y: f.y, width: f.w, height: f.h, rx: 10});
  const t = el("text", {class: "frame-label", id: "frame-" + i, x: f.x + 8, y: f.y + 15});
  t.textContent = f.key + "  [\u2212]"; t.onclick = () => toggle(i);
});
document.getElementById("hint").classList.toggle("hidden", D.frames.length === 0);
const fwEdges = [], bwEdges = [];
D.nodes.forEach(n => n.parents.forEach(p => fwEdges.push([p, n.name, el("line", {
  class: "fw", x1: at[p].x + at[p].w, y1: at[p].y + at[p].h / 2 - 6, x2: at[n.name].x,
  y2: at[n.name].y + at[n.name].h / 2 - 6})])));
D.steps.filter(s => s.phase === "backward").forEach(s => (s.from || []).forEach(c => {
  if (!at[c]) return;
  const a = at[c], b = at[s.node];
  bwEdges.push([c, s.node, el("line", {class: "bw hidden", x1: a.x, y1: a.y + a.h / 2 + 6,
    x2: b.x + b.w, y2: b.y + b.h / 2 + 6})]);
}));
const boxes = {}, gradText = {};
D.nodes.forEach(n => {
  const g = el("g", {id: "node-" + n.name}), b = at[n.name];
  boxes[n.name] = el("rect", {x: b.x, y: b.y, width: b.w, height: b.h, rx: 8,
                              class: n.op === "input" ? "input" : ""}, g);
  n.lines.forEach((t, i) => {
    const e = el("text", {x: b.x + 8, y: b.y + 19 + 15 * i}, g);
    e.textContent = t;
    if (i === n.lines.length - 1) { e.setAttribute("fill", "red"); gradText[n.name] = e; }
  });
});
const folds = [];  // a collapsed module: one box over its frame; outer ones drawn last, on top
for (let i = D.frames.length - 1; i >= 0; i--) {
  const f = D.frames[i], g = el("g", {class: "fold hidden", id: "fold-" + i});
  folds[i] = el("rect", {x: f.x, y: f.y, width: f.w, height: f.h, rx: 10}, g);
  el("text", {class: "frame-label", x: f.x + 8, y: f.y + 15}, g).textContent = f.key + "  [+]";
  el("text", {x: f.x + 8, y: f.y + 33}, g).textContent = f.nodes.length + " nodes inside";
  g.onclick = () => toggle(i);
}
function toggle(i) {
  collapsed[i] = !collapsed[i];
  document.getElementById("fold-" + i).classList.toggle("hidden", !collapsed[i]);
  show();
}
let k = 0;
function show() {
  const s = D.steps[k];
  document.getElementById("counter").textContent = "step " + (k + 1) + " / " + D.steps.length;
  const $ = id => document.getElementById(id);
  $("phase").textContent = s.phase === "forward" ? "forward pass" : "backward pass";
  document.getElementById("formula").textContent = s.lines.join("\\n") + "\\n";
  document.getElementById("current-label").textContent = s.label;
  document.getElementById("current-name").textContent = s.node;
  $("current-number").textContent = s.number === null ? s.text : String(s.number);
  const done = new Set(D.steps.slice(0, k).filter(t => t.phase === s.phase).map(t => t.node));
  for (const name in boxes) {
    boxes[name].classList.toggle("current", name === s.node);
    boxes[name].classList.toggle("done", done.has(name));
    const shown = s.phase === "backward" && (done.has(name) || name === s.node);
    gradText[name].classList.toggle("hidden", !shown);
  }
  // inside collapsed modules, the outermost one stands for the current node
  const cover = D.frames.findIndex((f, i) => collapsed[i] && f.nodes.includes(s.node));
  folds.forEach((r, i) => r.classList.toggle("current", i === cover));
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
