"""The interactive page, driven for real: Playwright clicks through every step of the seed
neuron in Debian's Chromium (no browser download) and checks the numbers it displays."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from chainrule.explain.cases import neuron


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


def test_page_steps_through_forward_and_backward_with_the_engines_numbers(tmp_path):
    path, sync_playwright = _chromium()
    ex = neuron()
    page_file = tmp_path / "neuron.html"
    ex.save_html(page_file)
    text = page_file.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # offline
    expected = [(r.name, "value", float(r.value)) for r in ex.nodes] + [
        (s.name, "gradient", float(s.bar)) for s in ex.steps]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(page_file.as_uri())
        for i, (name, label, number) in enumerate(expected):
            assert page.inner_text("#counter") == f"step {i + 1} / {len(expected)}"
            assert page.inner_text("#current-name") == name
            assert page.inner_text("#current-label") == label
            assert np.isclose(float(page.inner_text("#current-number")), number, rtol=1e-12)
            assert page.get_attribute(f"#node-{name} rect", "class").startswith(
                ("current", "input current")) or "current" in page.get_attribute(
                f"#node-{name} rect", "class")
            if i == len(expected) - 1:
                page.screenshot(path=str(tmp_path / "last-step.png"))
            if i % 2:
                page.click("#next")
            else:
                page.keyboard.press("ArrowRight")
        assert "w̄ = " in page.inner_text("#formula")
        page.keyboard.press("ArrowLeft")
        assert page.inner_text("#counter") == f"step {len(expected) - 1} / {len(expected)}"
        browser.close()
    assert (tmp_path / "last-step.png").stat().st_size > 1000


def test_page_frames_modules_and_collapses_them_on_click(tmp_path):
    from chainrule.explain.cases import mlp
    path, sync_playwright = _chromium()
    ex = mlp()
    page_file = tmp_path / "mlp.html"
    ex.save_html(page_file)
    keys = [g.key for g in ex.groups]
    layer = keys.index("2 (Linear)")
    forward_step = [r.name for r in ex.nodes].index("linear₂")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_file.as_uri())
        assert page.is_visible("#hint")
        assert [page.text_content(f"#frame-{i}").rsplit("  ", 1)[0]
                for i in range(len(keys))] == keys
        assert not page.is_visible(f"#fold-{layer}")
        page.click(f"#frame-{layer}")  # collapse "2 (Linear)" to one box
        assert page.is_visible(f"#fold-{layer}")
        assert "3 nodes inside" in page.text_content(f"#fold-{layer}")
        for _ in range(forward_step):
            page.keyboard.press("ArrowRight")
        assert page.inner_text("#current-name") == "linear₂"
        fold = page.locator(f"#fold-{layer} rect")
        assert fold.get_attribute("class") == "current"  # it stands for its current node
        page.screenshot(path=str(tmp_path / "collapsed.png"))
        page.click(f"#fold-{layer}")  # and open it again
        assert not page.is_visible(f"#fold-{layer}")
        assert "current" in page.get_attribute('[id="node-linear₂"] rect', "class")
        browser.close()
    assert (tmp_path / "collapsed.png").stat().st_size > 1000
