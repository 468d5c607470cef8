"""The interactive pages, driven for real: Playwright in Debian's Chromium (no browser
download). The saved page (steps, values and gradients appearing in order, the current node in
view, play, collapse, heatmaps), the built-in layout measured for overlaps, the live page that
recomputes with chainrule, and the playground."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from chainrule.explain.cases import CASES, explain_expression, mlp, neuron, two_layer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
        sync_playwright = None
    if path is None:
        if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
            pytest.fail("Chromium and the playwright package are required "
                        "(CHAINRULE_REQUIRE_ALL=1) but missing")
        pytest.skip("LOUD SKIP: Debian's chromium or the playwright package is missing; "
                    "apt-get install chromium && pip install playwright to run this")
    return path, sync_playwright


@pytest.fixture(scope="module")
def browser():
    path, sync_playwright = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


def _open(browser, ex, tmp_path, name, width=1200, height=900):
    page_file = tmp_path / f"{name}.html"
    ex.save_html(page_file)
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    return page, errors


def _field(name, field):
    return f'[data-node="{name}"] [data-field="{field}"]'


# -- 2. the page follows the learner ---------------------------------------------------------------
def test_page_steps_through_forward_and_backward_with_the_engines_numbers(browser, tmp_path):
    ex = neuron()
    page, errors = _open(browser, ex, tmp_path, "neuron")
    text = (tmp_path / "neuron.html").read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # offline, one file
    forward = [(r.name, "value", r.value) for r in ex.nodes]
    backward = [(s.name, "gradient", s.bar) for s in ex.steps]
    expected = forward + backward
    for i, (name, label, number) in enumerate(expected):
        assert page.inner_text("#counter") == f"step {i + 1} / {len(expected)}"
        assert page.inner_text("#current-name") == name
        assert page.inner_text("#current-label") == label
        shown = page.locator("#current-number")
        assert np.isclose(float(shown.get_attribute("title")), float(number), rtol=1e-12)
        assert np.isclose(float(shown.inner_text()), float(number), rtol=1e-3)  # rounded
        current = page.locator('[aria-current="step"]')
        assert current.count() == 1 and current.get_attribute("data-node") == name
        if label == "value":  # values appear as the forward pass reaches them
            assert page.is_visible(_field(name, "value"))
            later = [n for n, _, _ in forward[i + 1:]]
            assert all(not page.is_visible(_field(n, "value")) for n in later)
            assert not any(page.is_visible(_field(r.name, "grad")) for r in ex.nodes
                           if r.kind != "const")
        else:  # gradients appear as the backward pass reaches them
            assert page.is_visible(_field(name, "grad"))
            later = [n for n, _, _ in backward[i - len(forward) + 1:]]
            assert all(not page.is_visible(_field(n, "grad")) for n in later)
        if i % 2:
            page.click("#next")
        else:
            page.keyboard.press("ArrowRight")
    assert "w̄ = " in page.inner_text("#formula")
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#counter") == f"step {len(expected) - 1} / {len(expected)}"
    # arrowheads on every edge, and gradient labels on the gradient edges
    assert page.locator("line.fw[marker-end]").count() == page.locator("line.fw").count() > 0
    assert page.locator("line.bw[marker-end]").count() == page.locator("line.bw").count() > 0
    labels = page.locator("text.elabel").all_text_contents()
    assert "-0.1273" in labels and "1.5" not in labels  # w̄, not a forward value
    page.screenshot(path=str(tmp_path / "last-step.png"))
    assert not errors
    page.close()


def test_forward_mode_page_steps_through_the_tangents(browser, tmp_path):
    import chainrule as cr
    w = cr.tensor(0.5, requires_grad=True, name="w")
    x = cr.tensor(1.5, name="x")
    y = cr.sigmoid(w * x)
    y.name = "y"
    fx = cr.explain(y, mode="forward", wrt=w)
    page, errors = _open(browser, fx, tmp_path, "forward")
    n = int(page.inner_text("#counter").split("/ ")[1])
    assert n == len(fx.nodes) + len(fx.steps)
    for _ in range(n - 1):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#phase") == "forward mode: tangents"
    assert page.inner_text("#current-label") == "tangent"
    assert page.inner_text("#formula").startswith("ẏ = v̇[mul₁]·(y·(1 − y))")
    assert float(page.get_attribute("#current-number", "title")) == pytest.approx(
        float(fx.node("y").grad), rel=1e-12)
    assert page.text_content(_field("y", "grad")).startswith("tangent = ")
    assert not errors
    page.close()


def test_the_current_node_is_always_in_view(browser, tmp_path):
    ex = mlp()
    page, errors = _open(browser, ex, tmp_path, "mlp", width=900, height=700)
    n = int(page.inner_text("#counter").split("/ ")[1])
    scrolled = 0
    for i in range(n):
        scrolled = max(scrolled, page.evaluate("document.querySelector('#view').scrollLeft"))
        box = page.locator('[aria-current="step"]').bounding_box()
        view = page.locator("#view").bounding_box()
        assert box is not None, i
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        assert view["x"] <= cx <= view["x"] + view["width"], (i, box, view)
        assert view["y"] <= cy <= view["y"] + view["height"], (i, box, view)
        assert 0 <= cy <= 700, (i, box)  # and within the window
        page.keyboard.press("ArrowRight")
    assert scrolled > 500  # the loss is far to the right: the view followed it
    page.click("#fit")  # or fit the whole graph to the width
    assert page.evaluate("document.querySelector('#graph').getBoundingClientRect().width") \
        <= page.evaluate("document.querySelector('#view').clientWidth") + 1
    assert not errors
    page.close()


def test_play_runs_the_steps_at_the_chosen_speed_and_pauses(browser, tmp_path):
    page, errors = _open(browser, neuron(), tmp_path, "play")
    page.evaluate("const s = document.querySelector('#speed'); s.value = 8; "
                  "s.dispatchEvent(new Event('input'))")
    assert page.inner_text("#speed-value") == "8"
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_function("parseInt(document.querySelector('#counter').textContent.split(' ')[1])"
                           " >= 6", timeout=10000)
    page.click("#play")  # pause
    stopped = page.inner_text("#counter")
    page.wait_for_timeout(600)
    assert page.inner_text("#counter") == stopped
    assert page.get_attribute("#play", "aria-pressed") == "false"
    assert not errors
    page.close()


def test_collapse_saves_the_room_it_claims_and_opens_again(browser, tmp_path):
    ex = mlp()
    page, errors = _open(browser, ex, tmp_path, "collapse", width=1400)
    width = float(page.get_attribute("#graph", "width"))
    page.click('[data-frame="2 (Linear)"]')
    folded = page.locator('[data-module="2 (Linear)"]')
    assert folded.count() == 1
    assert float(page.get_attribute("#graph", "width")) < width - 100  # the layout closed up
    assert page.locator('[data-node="2.weight"]').count() == 0
    for _ in range([r.name for r in ex.nodes].index("linear₂")):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#current-name") == "linear₂"
    assert folded.get_attribute("aria-current") == "step"  # it stands for its current node
    page.screenshot(path=str(tmp_path / "collapsed.png"))
    folded.click()
    assert float(page.get_attribute("#graph", "width")) == width
    assert page.locator('[data-node="linear₂"]').get_attribute("aria-current") == "step"
    assert not errors
    page.close()


def test_a_matrix_node_opens_as_heatmaps_of_value_and_gradient(browser, tmp_path):
    ex = two_layer()
    page, errors = _open(browser, ex, tmp_path, "heat")
    assert not page.is_visible("#heatmap figure")
    page.click('[data-node="W₁"] rect')
    for kind in ("value", "grad"):
        cells = page.locator(f'#heatmap [data-heatmap="{kind}"] rect')
        assert cells.count() == 6
    cell = page.locator('#heatmap [data-heatmap="grad"] rect[data-i="0"][data-j="1"] title')
    assert float(cell.text_content().split("= ")[1]) == pytest.approx(
        float(ex.node("W₁").grad[0, 1]), rel=1e-12)
    assert not errors
    page.close()


# -- 3. no overlaps in the built-in layout ---------------------------------------------------------
_MEASURE = """() => {
  const r = e => { const b = e.getBBox(); const m = e.getCTM();
    return [b.x + m.e, b.y + m.f, b.width, b.height]; };
  const boxes = [...document.querySelectorAll('rect.box')].map(e => ({rect: r(e),
    owner: e.parentNode}));
  const texts = [...document.querySelectorAll('text')].filter(t => t.textContent.trim() &&
    getComputedStyle(t).visibility !== 'hidden' && getComputedStyle(t).display !== 'none')
    .map(t => ({rect: r(t), owner: t.parentNode, text: t.textContent,
      cls: t.getAttribute('class') || ''}));
  return {boxes: boxes.map(b => ({rect: b.rect, id: boxes.indexOf(b)})),
    texts: texts.map(t => ({rect: t.rect, text: t.text, cls: t.cls,
      owner: boxes.findIndex(b => b.owner === t.owner)}))};
}"""


def _overlap(a, b, air=0.5):
    return a[0] + air < b[0] + b[2] and b[0] + air < a[0] + a[2] and \
        a[1] + air < b[1] + b[3] and b[1] + air < a[1] + a[3]


def _inside(a, b, slack=1.0):
    return a[0] >= b[0] - slack and a[1] >= b[1] - slack and \
        a[0] + a[2] <= b[0] + b[2] + slack and a[1] + a[3] <= b[1] + b[3] + slack


def _assert_no_overlaps(m, what):
    boxes, texts = m["boxes"], m["texts"]
    assert boxes and texts, what
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not _overlap(a["rect"], b["rect"]), f"{what}: two boxes overlap"
    for t in texts:
        if t["owner"] >= 0:  # a box's own line stays inside its box
            assert _inside(t["rect"], boxes[t["owner"]]["rect"]), (what, t["text"])
        for b in boxes:
            if b["id"] != t["owner"]:
                assert not _overlap(t["rect"], b["rect"]), (what, t["text"], "covers a box")
    free = [t for t in texts if t["owner"] < 0]  # edge labels and frame titles
    for i, a in enumerate(free):
        for b in free[i + 1:]:
            assert not _overlap(a["rect"], b["rect"]), (what, a["text"], b["text"])


SHIPPED = {**{name: make for name, make in CASES.items()},
           "expr": lambda: explain_expression("exp(sin(x**2)) * x - x / 3", {"x": 0.7})}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_builtin_layout_has_no_overlaps_in_real_chromium(browser, tmp_path, name):
    from chainrule.explain.render_svg import layered_svg
    ex = SHIPPED[name]()
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    variants = [(None, "LR"), (None, "TB")] + ([(True, "LR"), (True, "TB"), (0, "LR")]
                                               if ex.groups else [])
    for collapse, direction in variants:
        svg = layered_svg(ex, collapse, direction)
        page.set_content(f"<!DOCTYPE html><html><body style='margin:0'>{svg}</body></html>")
        _assert_no_overlaps(page.evaluate(_MEASURE), f"{name} {collapse} {direction}")
    # the page uses the same layout: at the last step every label is shown
    page.close()
    page, errors = _open(browser, ex, tmp_path, name)
    n = int(page.inner_text("#counter").split("/ ")[1])
    for _ in range(n):
        page.keyboard.press("ArrowRight")
    _assert_no_overlaps(page.evaluate(_MEASURE), f"{name} page")
    assert not errors
    page.close()


def test_readme_pictures_fit_880_pixels():
    import xml.etree.ElementTree as ET
    from pathlib import Path
    docs = Path(__file__).resolve().parents[1] / "docs"
    for svg in ("neuron.svg", "explain-mlp.svg"):
        root = ET.parse(docs / svg).getroot()
        assert float(root.get("width")) <= 880, svg  # shown at its own size: 12 px text


# -- 4. the live page ------------------------------------------------------------------------------
def test_live_page_recomputes_every_edit_with_chainrule(browser):
    ex = neuron()
    with ex.serve() as live:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live.url)
        leaves = page.locator("input[data-leaf]")
        assert sorted(leaves.evaluate_all("es => es.map(e => e.dataset.leaf)")) == sorted(
            r.name for r in ex.nodes if r.kind in ("input", "const"))
        n = int(page.inner_text("#counter").split("/ ")[1])
        for _ in range(n - 1):
            page.keyboard.press("ArrowRight")  # the last step: w̄
        before = page.inner_text("#current-number")
        page.fill('input[data-leaf="w"]', "1")
        page.press('input[data-leaf="w"]', "Enter")
        expect = neuron(w=1.0)
        page.wait_for_function(f"document.querySelector('#current-number').textContent !== "
                               f"'{before}'", timeout=15000)
        assert page.inner_text("#current-name") == "w"
        assert float(page.get_attribute("#current-number", "title")) == pytest.approx(
            float(expect.node("w").grad), rel=1e-12)
        assert page.text_content(_field("L", "value")).endswith(
            f"{float(expect.node('L').value):.4g}")
        assert "w = 1" in page.inner_text("#formula") or "1 · 1.5" in \
            page.evaluate("JSON.stringify(window.chainrulePage.data.steps)")
        # bad input: a message, and nothing changes
        for bad in ("abc", "NaN"):
            page.fill('input[data-leaf="x"]', bad)
            page.press('input[data-leaf="x"]', "Enter")
            page.wait_for_function("document.querySelector('#error').textContent !== ''",
                                   timeout=15000)
            assert "nothing was changed" in page.inner_text("#error")
            assert page.get_attribute('input[data-leaf="x"]', "aria-invalid") == "true"
            assert float(page.get_attribute("#current-number", "title")) == pytest.approx(
                float(expect.node("w").grad), rel=1e-12)
            page.evaluate("document.querySelector('#error').textContent = ''")
        assert float(live.explanation.node("x").value) == 1.5
        assert not errors
        page.close()


# -- 7. the playground -----------------------------------------------------------------------------
def test_playground_trains_live_in_the_browser(browser):
    from chainrule.explain.playground import serve_playground
    with serve_playground() as server:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url)
        page.select_option("#dataset", "xor")
        page.wait_for_function("window.playground.state.settings.dataset === 'xor'")
        assert page.get_attribute("#boundary", "data-step") == "0"
        grad = page.text_content(_field("0.weight", "grad"))
        page.click("#train")
        page.wait_for_function("parseInt(document.querySelector('#pg-step').textContent) >= 60",
                               timeout=60000)
        page.click("#train")  # pause; a step already asked for still arrives
        page.wait_for_timeout(1000)
        state = page.evaluate("window.playground.state")
        assert state["losses"][-1] < 0.7 * state["losses"][0]
        assert int(page.get_attribute("#boundary", "data-step")) >= 60
        assert int(page.get_attribute("#loss", "data-points")) >= 60
        assert page.text_content(_field("0.weight", "grad")) != grad  # the sample's gradients
        assert server.playground.step_count == state["step"]  # trained by chainrule, here
        page.click("#boundary", position={"x": 20, "y": 20})  # explain another sample
        page.wait_for_function("window.playground.state.sample_index !== 0", timeout=15000)
        page.fill("#layers", "lots")
        page.click("#reset")
        page.wait_for_function("document.querySelector('#pg-error').textContent !== ''",
                               timeout=15000)
        assert "layers" in page.inner_text("#pg-error")
        assert not errors
        page.close()


def test_a_big_graph_collapses_a_whole_depth_at_once(browser, tmp_path):
    from chainrule.explain import explain
    from tests.test_explain import net_loss
    _, loss = net_loss(depth=3)
    ex = explain(loss)
    assert len(ex.nodes) > 60  # laid out per depth only, so the page stays small
    page, errors = _open(browser, ex, tmp_path, "big", width=1400)
    width = float(page.get_attribute("#graph", "width"))
    depth = {g.key: g.depth for g in ex.groups}
    key = next(g.key for g in ex.groups if g.depth == 2)
    page.click(f'[data-frame="{key}"]')
    modules = page.locator("[data-module]").evaluate_all("es => es.map(e => e.dataset.module)")
    assert sorted(modules) == sorted(k for k, d in depth.items() if d == 2)
    assert float(page.get_attribute("#graph", "width")) < width
    page.click(f'[data-module="{key}"]')  # and open them again
    assert page.locator("[data-module]").count() == 0
    assert not errors
    page.close()


_HARNESS = """
const mod = await import(URL.createObjectURL(new Blob([__ESM__], {type: "text/javascript"})));
const handlers = {};
window.__sent = [];
window.__fire = (event, message) => (handlers[event] || []).forEach(f => f(message));
const model = {get: key => __DATA__, on: (event, f) => {
  (handlers[event] = handlers[event] || []).push(f); }, send: m => window.__sent.push(m)};
mod.default.render({model, el: document.getElementById("root")});
window.__ready = true;
"""


def test_widget_script_draws_and_round_trips_an_edit_through_python(browser):
    """The anywidget front end with a stand-in for Jupyter's model: the edit goes out as a
    message, Python recomputes (the widget's own handler), the reply redraws the page."""
    pytest.importorskip("anywidget", reason="the widget extra (anywidget) is not installed")
    import json
    w = neuron().widget()
    replies = []
    w.send = lambda content, buffers=None: replies.append(content)
    script = _HARNESS.replace("__ESM__", json.dumps(w._esm)).replace(
        "__DATA__", json.dumps(w.data))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f'<!DOCTYPE html><html><body><div id="root"></div>'
                     f'<script type="module">{script}</script></body></html>')
    page.wait_for_function("window.__ready === true", timeout=15000)
    assert page.locator('[data-node="w"]').count() == 1
    page.fill('input[data-leaf="w"]', "1")
    page.press('input[data-leaf="w"]', "Enter")
    page.wait_for_function("window.__sent.length === 1", timeout=15000)
    message = page.evaluate("window.__sent[0]")
    assert message["leaf"] == "w" and message["text"] == "1"
    w._handle_custom_msg(message, [])  # what Jupyter does with the message
    page.evaluate("m => window.__fire('msg:custom', m)", replies[-1])
    expect = neuron(w=1.0)
    page.wait_for_function("document.querySelector('[data-node=\"L\"] [data-field=\"value\"]')"
                           f".textContent.endsWith('{float(expect.node('L').value):.4g}')",
                           timeout=15000)
    assert not errors
    page.close()
