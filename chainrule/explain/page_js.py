"""The explanation page's style and script, shared by the saved page, the served (live) page,
the notebook widget and the playground. ``ChainruleExplain(root, data, {send})`` draws into
``root`` and returns ``{update(data)}``; ``send(message) -> Promise(reply)`` (live pages only)
carries an edited leaf to Python, which recomputes with chainrule and replies with new data.
The script computes no maths: it shows numbers and positions it was given."""

PAGE_CSS = """
 body { font-family: system-ui, sans-serif; margin: 1em; }
 .cr-controls button, .cr-controls select { font-size: 1em; margin-right: .4em; }
 .cr-panel { font-family: monospace; white-space: pre; background: #f6f6f6; padding: .8em;
             margin: .8em 0; min-height: 5em; overflow-x: auto; }
 .cr-view { overflow: auto; max-height: 72vh; border: 1px solid #ddd; position: relative; }
 .cr-view.fit svg { width: 100%; height: auto; }
 rect.box { fill: white; stroke: #333; } rect.box.input { fill: #e8f0ff; }
 rect.box.const { fill: #eeeeee; } rect.box.module { fill: #fff4dc; }
 g.current rect.box { stroke: #e67e00; stroke-width: 4; } g.done rect.box.op { fill: #f3fff0; }
 rect.frame { fill: #00000009; stroke: #999; }
 .frame-label { font-family: sans-serif; fill: #444; cursor: pointer; }
 g.module-box { cursor: pointer; } g.node-box text, g.module-box text { pointer-events: none; }
 line.fw { stroke: #333; } line.bw { stroke: red; stroke-dasharray: 4 3; }
 line.hot { stroke-width: 3; } svg text { font-family: "DejaVu Sans Mono", monospace;
 font-size: 12px; white-space: pre; } text.grad { fill: red; }
 text.elabel { fill: red; stroke: white; stroke-width: 3px; paint-order: stroke; }
 .hidden { visibility: hidden; } .gone { display: none; } .cr-hint { color: #555; }
 .cr-error { color: #b00020; font-weight: bold; min-height: 1.2em; }
 .cr-leaves label { display: inline-block; margin: .2em 1em .2em 0; font-family: monospace; }
 .cr-leaves input { font-family: monospace; width: 14em; }
 .cr-leaves input[aria-invalid="true"] { outline: 2px solid #b00020; }
 .cr-heat { display: flex; gap: 2em; flex-wrap: wrap; margin: .5em 0; }
 .cr-heat figure { margin: 0; } .cr-heat figcaption { font-family: monospace; }
 .cr-compare { display: flex; gap: 1.5em; flex-wrap: wrap; }
 .cr-compare section { background: #f6f6f6; padding: .6em; font-family: monospace;
                       white-space: pre; }
"""

PAGE_JS = r"""
function ChainruleExplain(root, D, opts) {
  "use strict";
  opts = opts || {};
  const NS = "http://www.w3.org/2000/svg";
  root.innerHTML = `
<div class="cr-controls"><button class="cr-prev" id="prev">&#8592; Prev</button><button
 class="cr-next" id="next">Next &#8594;</button><button id="play"
 aria-pressed="false">&#9654; Play</button><label>speed <input id="speed" type="range"
 min="0.5" max="8" step="0.5" value="2"> <span id="speed-value">2</span> steps/s</label>
 <button id="fit" aria-pressed="false">Fit</button>
 <span id="counter"></span> <b id="phase"></b></div>
<div class="cr-panel" id="panel"><span id="formula"></span>
<span id="current-label"></span> of <span id="current-name"></span>: <span
 id="current-number"></span></div>
<div class="cr-error" id="error" role="alert"></div>
<div class="cr-leaves" id="leaves"></div>
<p class="cr-hint" id="hint">Click a module's name to collapse it into one box (and again to
open it); click a matrix to see it as a heatmap.</p>
<div class="cr-heat gone" id="heatmap"></div>
<div class="cr-view" id="view"><svg id="graph" xmlns="${NS}"></svg></div>
<div id="compare"></div>`;
  const $ = id => root.querySelector("#" + id);
  const svg = $("graph");
  let k = 0, timer = null, sc = null;
  const collapsed = new Set();
  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const a in attrs) e.setAttribute(a, attrs[a]);
    (parent || svg).appendChild(e); return e;
  }
  function sceneKey() {
    const parent = {};
    D.groups.forEach(g => { parent[g.key] = g.parent; });
    const hidden = key => { for (let p = parent[key]; p; p = parent[p]) if (collapsed.has(p))
      return true; return false; };
    return [...collapsed].filter(key => !hidden(key)).sort().join("|");
  }
  let boxes = [], fws = [], bws = [];
  function draw() {
    sc = D.scenes[sceneKey()];
    if (!sc) {  // a combination not laid out in advance: open everything but the newest
      collapsed.clear(); sc = D.scenes[""];
    }
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("width", sc.size[0]); svg.setAttribute("height", sc.size[1]);
    svg.setAttribute("viewBox", "0 0 " + sc.size[0] + " " + sc.size[1]);
    const defs = el("defs", {});
    [["arrow-fw", "#333"], ["arrow-bw", "red"]].forEach(([id, color]) => {
      const m = el("marker", {id: id, markerWidth: 8, markerHeight: 8, refX: 8, refY: 4,
                              orient: "auto", markerUnits: "userSpaceOnUse"}, defs);
      el("path", {d: "M0,0 L8,4 L0,8 z", fill: color}, m);
    });
    sc.frames.forEach(f => {
      el("rect", {class: "frame", x: f.x, y: f.y, width: f.w, height: f.h, rx: 10});
      const t = el("text", {class: "frame-label", "data-frame": f.key, x: f.x + 8, y: f.y + 15});
      t.textContent = f.key + "  [\u2212]";
      t.addEventListener("click", () => toggle(f.key));
    });
    fws = sc.fw.map(e => ({e, line: el("line", {class: "fw", x1: e.ends[0], y1: e.ends[1],
      x2: e.ends[2], y2: e.ends[3], "marker-end": "url(#arrow-fw)"})}));
    bws = sc.bw.map(e => ({e, line: el("line", {class: "bw", x1: e.ends[0], y1: e.ends[1],
      x2: e.ends[2], y2: e.ends[3], "marker-end": "url(#arrow-bw)"})}));
    boxes = sc.boxes.map(b => {
      const attrs = {class: b.kind === "module" ? "module-box" : "node-box", "data-box": b.id};
      if (b.node) attrs["data-node"] = b.node;
      if (b.module) attrs["data-module"] = b.module;
      const g = el("g", attrs);
      el("title", {}, g).textContent = b.tip || (D.nodes[b.node] || {}).tip || "";
      el("rect", {class: "box " + b.kind, x: b.x, y: b.y, width: b.w, height: b.h, rx: 8}, g);
      const texts = b.lines.map((line, i) => {
        const a = {x: b.x + 8, y: b.y + 19 + 15 * i, "xml:space": "preserve"};
        if (line.field === "value" || line.field === "grad") a["data-field"] = line.field;
        if (line.field === "grad") a.class = "grad";
        const t = el("text", a, g);
        t.textContent = line.text;
        return {t, line};
      });
      if (b.kind === "module") g.addEventListener("click", () => toggle(b.module));
      else if (b.node && D.nodes[b.node] && D.nodes[b.node].value &&
               D.nodes[b.node].value.grid) g.addEventListener("click", () => heatmap(b.node));
      return {b, g, texts};
    });
    // gradient labels last: on top of boxes and edges
    bws.forEach(o => { if (o.e.spot) { o.label = el("text", {class: "elabel",
      x: o.e.spot[0] + 2, y: o.e.spot[1] + 11}); o.label.textContent = o.e.label; } });
    $("hint").classList.toggle("gone", D.groups.length === 0 && !hasGrid());
    show(false);
  }
  function hasGrid() { return Object.values(D.nodes).some(n => n.value && n.value.grid); }
  function toggle(key) {
    const was = new Set(collapsed);
    if (collapsed.has(key)) collapsed.delete(key); else collapsed.add(key);
    if (!D.scenes[sceneKey()]) {  // not laid out in advance (a big graph): every module
      const group = D.groups.find(g => g.key === key);  // at this depth together
      collapsed.clear();
      if (!was.has(key)) D.groups.filter(g => g.depth === group.depth)
        .forEach(g => collapsed.add(g.key));
    }
    draw();
  }
  const fwdIndex = {}, bwdIndex = {};
  function indexSteps() {
    for (const n in fwdIndex) delete fwdIndex[n];
    for (const n in bwdIndex) delete bwdIndex[n];
    D.steps.forEach((s, i) => { (s.phase === "forward" ? fwdIndex : bwdIndex)[s.node] = i; });
  }
  function fmtNumber(s) {
    if (s.number === null) return s.text;
    return s.text;
  }
  function show(scroll) {
    const s = D.steps[k];
    $("counter").textContent = "step " + (k + 1) + " / " + D.steps.length;
    $("phase").textContent = s.phase === "forward" ? "forward pass" :
      s.phase === "tangent" ? "forward mode: tangents" : "backward pass";
    $("formula").textContent = s.lines.join("\n") + "\n";
    $("current-label").textContent = s.label;
    $("current-name").textContent = s.node;
    const num = $("current-number");
    num.textContent = fmtNumber(s);
    if (s.number !== null) num.setAttribute("title", String(s.number));
    else num.removeAttribute("title");
    const seenValue = n => n in fwdIndex && fwdIndex[n] <= k;
    const seenGrad = n => n in bwdIndex && bwdIndex[n] <= k;
    let current = null;
    boxes.forEach(o => {
      const here = o.b.covers.includes(s.node);
      o.g.classList.toggle("current", here);
      if (here) { o.g.setAttribute("aria-current", "step"); current = o.g; }
      else o.g.removeAttribute("aria-current");
      o.g.classList.toggle("done", o.b.covers.some(n => seenValue(n)));
      o.texts.forEach(({t, line}) => {
        let shown = true;
        if (line.field === "value") shown = seenValue(line.node);
        if (line.field === "grad") shown = seenGrad(line.node);
        t.classList.toggle("hidden", !shown);
      });
    });
    fws.forEach(({e, line}) => line.classList.toggle("hot",
      s.phase === "forward" && e.to === s.node));
    bws.forEach(o => {
      const seen = o.e.from.some(n => seenGrad(n));
      o.line.classList.toggle("hidden", !seen);
      o.line.classList.toggle("hot", seen && o.e.from.includes(s.node));
      if (o.label) o.label.classList.toggle("hidden", !seen);
    });
    if (current && scroll !== false) keepInView(current);
  }
  function keepInView(g) {
    const view = $("view"), r = g.getBoundingClientRect(), v = view.getBoundingClientRect();
    if (r.left < v.left || r.right > v.right)
      view.scrollLeft += r.left - v.left - (v.width - r.width) / 2;
    if (r.top < v.top || r.bottom > v.bottom)
      view.scrollTop += r.top - v.top - (v.height - r.height) / 2;
    const after = g.getBoundingClientRect();  // then the window, if the node is outside it
    if (after.top < 0 || after.bottom > window.innerHeight)
      window.scrollBy(0, after.top - (window.innerHeight - after.height) / 2);
  }
  function go(d) { k = Math.max(0, Math.min(D.steps.length - 1, k + d)); show(); }
  function stop() {
    if (timer) clearInterval(timer);
    timer = null; $("play").innerHTML = "&#9654; Play";
    $("play").setAttribute("aria-pressed", "false");
  }
  function play() {
    if (timer) { stop(); return; }
    if (k >= D.steps.length - 1) k = -1;
    $("play").innerHTML = "&#10074;&#10074; Pause"; $("play").setAttribute("aria-pressed", "true");
    const tick = () => { if (k >= D.steps.length - 1) { stop(); return; } go(1); };
    timer = setInterval(tick, 1000 / parseFloat($("speed").value));
  }
  $("next").onclick = () => { stop(); go(1); };
  $("prev").onclick = () => { stop(); go(-1); };
  $("play").onclick = play;
  $("speed").oninput = () => {
    $("speed-value").textContent = $("speed").value;
    if (timer) { stop(); play(); }
  };
  $("fit").onclick = () => {
    const on = !$("view").classList.contains("fit");
    $("view").classList.toggle("fit", on); $("fit").setAttribute("aria-pressed", String(on));
    show();
  };
  root.addEventListener("keydown", e => {
    if (e.target && e.target.tagName === "INPUT") return;
  });
  if (!opts.noKeys) document.addEventListener("keydown", e => {
    if (e.target && e.target.tagName === "INPUT") return;  // typing in a field
    if (e.key === "ArrowRight") { stop(); go(1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { stop(); go(-1); e.preventDefault(); }
  });
  function heatmap(name) {
    const node = D.nodes[name], box = $("heatmap");
    box.innerHTML = ""; box.classList.remove("gone");
    [["value", node.value], [D.mode === "forward" ? "tangent" : "grad", node.grad]].forEach(
      ([label, f]) => {
        if (!f || !f.grid) return;
        const rows = f.grid.length, cols = f.grid[0].length;
        const fit = Math.floor(360 / Math.max(rows, cols));
        const cell = f.cells ? 46 : Math.max(6, Math.min(28, fit));
        let top = 0;
        (f.shown || f.grid).forEach(r => r.forEach(v => {
          top = Math.max(top, Math.abs(v || 0)); }));
        const fig = document.createElement("figure");
        fig.setAttribute("data-heatmap", label);
        const cap = document.createElement("figcaption");
        cap.textContent = name + " " + label + " (" + rows + "\u00d7" + cols + "), |max| = " +
          f.absmax + "; hover a cell for its exact value";
        fig.appendChild(cap);
        const s = document.createElementNS(NS, "svg");
        s.setAttribute("width", cols * cell); s.setAttribute("height", rows * cell);
        f.grid.forEach((r, i) => r.forEach((v, j) => {
          const t = top > 0 ? ((f.shown || f.grid)[i][j] || 0) / top : 0;  // blue < 0 < red
          const c = t >= 0 ? [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]
                           : [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255];
          const rect = el("rect", {x: j * cell, y: i * cell, width: cell, height: cell,
            fill: "rgb(" + c.join(",") + ")", stroke: "white", "data-i": i, "data-j": j}, s);
          el("title", {}, rect).textContent = "[" + i + ", " + j + "] = " + v;
          if (f.cells) {
            const tx = el("text", {x: j * cell + cell / 2, y: i * cell + cell / 2 + 4,
              "text-anchor": "middle", "pointer-events": "none",
              fill: Math.abs(t) > 0.6 ? "white" : "black"}, s);
            tx.textContent = f.cells[i][j];
          }
        }));
        fig.appendChild(s); box.appendChild(fig);
      });
    const close = document.createElement("button");
    close.textContent = "close"; close.onclick = () => box.classList.add("gone");
    close.style.alignSelf = "flex-start";
    box.appendChild(close);
  }
  function leaves() {
    const box = $("leaves");
    box.innerHTML = "";
    if (!D.live || !opts.send) return;
    const head = document.createElement("div");
    head.textContent = "Edit any input or constant and press Enter: chainrule recomputes " +
      "every value and gradient.";
    box.appendChild(head);
    D.leaves.forEach(leaf => {
      const label = document.createElement("label");
      label.textContent = leaf.name + " = ";
      const input = document.createElement("input");
      input.setAttribute("data-leaf", leaf.name);
      input.value = leaf.text;
      input.addEventListener("change", () => edit(leaf.name, input));
      label.appendChild(input); box.appendChild(label);
    });
  }
  function edit(name, input) {
    $("error").textContent = "";
    opts.send({leaf: name, text: input.value}).then(reply => {
      if (reply.error) {
        $("error").textContent = reply.error;
        input.setAttribute("aria-invalid", "true");
        return;
      }
      input.removeAttribute("aria-invalid");
      update(reply.data);
    }).catch(err => { $("error").textContent = "the server did not answer: " + err; });
  }
  function compare() {
    const box = $("compare"), C = D.compare;
    box.innerHTML = "";
    if (!C) return;
    const h = document.createElement("h2");
    h.textContent = "Forward mode beside reverse mode";
    const p = document.createElement("p");
    p.textContent = C.summary;
    const row = document.createElement("div");
    row.className = "cr-compare";
    C.columns.forEach(col => {
      const s = document.createElement("section");
      s.setAttribute("data-pass", col.pass);
      s.textContent = col.title + "\n\n" + col.lines.join("\n");
      row.appendChild(s);
    });
    box.append(h, p, row);
  }
  function update(data) {
    D = data; indexSteps();
    k = Math.min(k, D.steps.length - 1);
    leaves(); compare(); draw();
    const map = $("heatmap");
    if (!map.classList.contains("gone")) {
      const cap = map.querySelector("figcaption");
      const name = cap ? cap.textContent.split(" ")[0] : null;
      if (name && D.nodes[name]) heatmap(name);
    }
  }
  if (opts.start === "end") k = D.steps.length - 1;  // everything shown (the playground)
  indexSteps(); leaves(); compare(); draw(); show(false);
  return {update, go: d => go(d), get step() { return k; }, get data() { return D; }};
}
"""
