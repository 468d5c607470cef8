"""The playground's page: settings, a train/pause button, the decision boundary over the
data (a canvas), the loss curve, and one sample's graph drawn by the explanation page's
script. It asks the server (``playground.py``) for steps; it computes nothing itself: every
probability, loss and gradient arrives from chainrule."""
from __future__ import annotations

import html
import json

from .page_js import PAGE_CSS, PAGE_JS
from .playground import ACTIVATIONS, DATASETS, OPTIMIZERS

_CSS = """
 .pg-top { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
 .pg-top > div { max-width: 380px; }
 .pg-settings label { display: block; margin: .3em 0; }
 .pg-settings input { width: 7em; }
 #boundary { border: 1px solid #ccc; image-rendering: pixelated; }
 #loss { border: 1px solid #ccc; background: white; }
 .pg-stats { font-family: monospace; margin: .5em 0; }
 #pg-error { color: #b00020; font-weight: bold; min-height: 1.2em; }
"""

_BODY = """
<div class="pg-top">
 <div class="pg-settings">
  <label>data <select id="dataset">__DATASETS__</select></label>
  <label>hidden layers <input id="layers" value="__LAYERS__" title="units per hidden layer,
 e.g. 8, 8"></label>
  <label>activation <select id="activation">__ACTIVATIONS__</select></label>
  <label>optimizer <select id="optimizer">__OPTIMIZERS__</select></label>
  <label>learning rate <input id="lr" value="__LR__"></label>
  <button id="reset">Reset</button> <button id="train" aria-pressed="false">&#9654; Train</button>
  <button id="step">Step</button>
  <div class="pg-stats">step <span id="pg-step">0</span>, loss <span id="pg-loss">–</span>,
  accuracy <span id="pg-acc">–</span></div>
  <div id="pg-error" role="alert"></div>
 </div>
 <div><canvas id="boundary" width="360" height="360" data-step="0"></canvas>
  <div class="cr-hint">Orange: class 1, blue: class 0; the background is the model's
  probability of class 1. Click a point to explain that sample.</div></div>
 <div><svg id="loss" width="360" height="200" data-points="0"></svg>
  <div class="cr-hint">loss over the training steps</div></div>
</div>
<h2>One sample's graph: <span id="pg-sample"></span></h2>
<div id="sample-graph"></div>
"""

_JS = r"""
"use strict";
(function () {
  let S = JSON.parse(document.getElementById("state").textContent);
  const $ = id => document.getElementById(id);
  const graph = ChainruleExplain($("sample-graph"), S.sample, {noKeys: true, start: "end"});
  let playing = false, busy = false;
  function post(name, msg) {
    return fetch("api/" + name, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(msg)}).then(r => r.json());
  }
  function settings() {
    return {dataset: $("dataset").value, layers: $("layers").value,
            activation: $("activation").value, optimizer: $("optimizer").value,
            lr: $("lr").value};
  }
  const X = (S, v) => (v - S.extent[0]) / (S.extent[1] - S.extent[0]);
  const Y = (S, v) => (S.extent[3] - v) / (S.extent[3] - S.extent[2]);
  function drawBoundary() {
    const c = $("boundary"), g = c.getContext("2d"), n = S.grid, w = c.width, h = c.height;
    const cw = w / n, ch = h / n;
    S.boundary.forEach((p, i) => {  // p: the model's probability of class 1 (from chainrule)
      const r = Math.floor(i / n), col = i % n;
      const a = Math.abs(p - 0.5) * 1.4;
      g.fillStyle = p > 0.5 ? `rgba(245,147,34,${a})` : `rgba(8,119,189,${a})`;
      g.clearRect(col * cw, r * ch, cw + 1, ch + 1);
      g.fillRect(col * cw, r * ch, cw + 1, ch + 1);
    });
    S.points.forEach(([x, y], i) => {
      g.beginPath();
      g.arc(X(S, x) * w, Y(S, y) * h, i === S.sample_index ? 6 : 3.2, 0, 2 * Math.PI);
      g.fillStyle = S.labels[i] ? "#f59322" : "#0877bd";
      g.fill(); g.lineWidth = i === S.sample_index ? 2.5 : 1; g.strokeStyle = "white";
      if (i === S.sample_index) g.strokeStyle = "black";
      g.stroke();
    });
    c.setAttribute("data-step", S.step);
  }
  function drawLoss() {
    const s = $("loss"), NS = "http://www.w3.org/2000/svg", L = S.losses;
    while (s.firstChild) s.removeChild(s.firstChild);
    s.setAttribute("data-points", L.length);
    if (!L.length) return;
    const top = Math.max(...L), w = 360, h = 200;
    const pts = L.map((v, i) => [(L.length > 1 ? i / (L.length - 1) : 0) * (w - 10) + 5,
                                 h - 5 - (v / (top || 1)) * (h - 20)]);
    const line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", pts.map(p => p.join(",")).join(" "));
    line.setAttribute("fill", "none"); line.setAttribute("stroke", "#333");
    s.appendChild(line);
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", 10); t.setAttribute("y", 14); t.textContent = "max " + top.toFixed(3);
    s.appendChild(t);
  }
  function render(state) {
    S = state;
    $("pg-step").textContent = S.step;
    $("pg-loss").textContent = S.loss === null ? "–" : S.loss.toFixed(4);
    $("pg-acc").textContent = S.accuracy.toFixed(3);
    $("pg-sample").textContent = "point " + S.sample_index + " (class " +
      S.labels[S.sample_index] + ")";
    drawBoundary(); drawLoss(); graph.update(S.sample);
  }
  function reply(r) {
    if (r.error) { $("pg-error").textContent = r.error; stop(); return false; }
    $("pg-error").textContent = ""; render(r); return true;
  }
  function loop() {
    if (!playing || busy) return;
    busy = true;
    post("step", {steps: 5}).then(r => { busy = false; if (reply(r) && playing)
      setTimeout(loop, 30); }).catch(e => { busy = false; $("pg-error").textContent = String(e);
      stop(); });
  }
  function stop() { playing = false; $("train").innerHTML = "&#9654; Train";
    $("train").setAttribute("aria-pressed", "false"); }
  $("train").onclick = () => {
    if (playing) { stop(); return; }
    playing = true; $("train").innerHTML = "&#10074;&#10074; Pause";
    $("train").setAttribute("aria-pressed", "true"); loop();
  };
  $("step").onclick = () => { stop(); post("step", {steps: 1}).then(reply); };
  $("reset").onclick = () => { stop(); post("reset", settings()).then(reply); };
  ["dataset", "activation", "optimizer"].forEach(id => $(id).onchange = () => $("reset").onclick());
  $("boundary").addEventListener("click", e => {
    const c = $("boundary"), r = c.getBoundingClientRect();
    const px = (e.clientX - r.left) / r.width, py = (e.clientY - r.top) / r.height;
    let best = 0, bd = Infinity;
    S.points.forEach(([x, y], i) => { const d = (X(S, x) - px) ** 2 + (Y(S, y) - py) ** 2;
      if (d < bd) { bd = d; best = i; } });
    post("sample", {index: best}).then(reply);
  });
  render(S);
  window.playground = {render, get state() { return S; }};
})();
"""


def _options(items, chosen) -> str:
    return "".join(f'<option value="{v}"{" selected" if v == chosen else ""}>{v}</option>'
                   for v in items)


def page(state: dict) -> str:
    """The playground page with ``state`` (a ``Playground.state()``) already in it."""
    s = state["settings"]
    body = (_BODY.replace("__DATASETS__", _options(DATASETS, s["dataset"]))
            .replace("__ACTIVATIONS__", _options(ACTIVATIONS, s["activation"]))
            .replace("__OPTIMIZERS__", _options(OPTIMIZERS, s["optimizer"]))
            .replace("__LAYERS__", html.escape(", ".join(map(str, s["layers"]))))
            .replace("__LR__", html.escape(repr(s["lr"]))))
    payload = json.dumps(state, allow_nan=False).replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>chainrule playground</title><style>" + PAGE_CSS + _CSS +
            "</style></head><body><h1>chainrule playground</h1>" + body +
            '<script type="application/json" id="state">' + payload + "</script>"
            "<script>" + PAGE_JS + "</script><script>" + _JS + "</script></body></html>")
