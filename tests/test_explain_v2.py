"""Explain v2 without a browser: every number visible (constants, scalar operands, ops as
written, per-operand formulas, matrices, rounding noise), forward mode, the NumPy program,
live recomputation and its server, the notebook widget and the playground's API."""
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import fmt
from chainrule.explain.cases import explain_expression, mlp, neuron, two_layer


def _named(v, name, grad=True):
    return cr.tensor(v, dtype=cr.float64, requires_grad=grad, name=name)


# -- 1. every number visible ----------------------------------------------------------------------
def test_constants_named_or_not_are_nodes_with_their_values():
    ex = neuron()
    rows = {r.name: r for r in ex.nodes}
    assert rows["x"].kind == "const" and float(rows["x"].value) == 1.5
    assert rows["t"].kind == "const" and float(rows["t"].value) == 1.0
    assert rows["2"].kind == "const" and rows["0.5"].kind == "const"  # ** 2 and 0.5 * ...
    assert rows["mul₁"].parents == ["w", "x"] and rows["mul₁"].expr == "w · x"
    assert rows["sub₁"].op == "subtract" and rows["sub₁"].expr == "y − t"
    assert rows["pow₁"].op == "power" and rows["pow₁"].expr == "sub₁ ** 2"
    assert rows["L"].expr == "0.5 · pow₁"
    text = ex.to_text()
    assert "mul₁ = w · x = 0.5 · 1.5 = 0.75" in text  # names, numbers, value in one line
    assert "sub₁ = y − t = 0.6341 − 1 = -0.3659" in text
    assert re.search(r"^x +const +\(\) +1\.5 +–$", text, re.M)
    # the same for the picture and the page: a box per constant
    from chainrule.explain.render_svg import layered_svg
    for picture in (layered_svg(ex), ex.to_dot()):
        assert "x  (const)" in picture and "t  (const)" in picture
        assert "mul₁ = w · x" in picture


def test_an_unnamed_number_and_a_subtraction_of_a_number():
    w = _named(0.5, "w")
    y = 1.5 * w - 1.0  # recorded as mul_scalar and add_scalar(c = -1)
    y.name = "y"
    ex = cr.explain(y)
    assert [r.name for r in ex.nodes] == ["w", "1.5", "mul₁", "1", "y"]
    assert ex.node("y").op == "subtract" and ex.node("y").expr == "mul₁ − 1"
    assert ex.node("mul₁").expr == "1.5 · w"
    assert ex.step("w").terms[0].local == "1.5"  # ∂mul₁/∂w, the constant itself


def test_two_layer_names_x_and_t_and_writes_matmul_per_operand():
    ex = two_layer()
    assert ex.node("z₁").expr == "W₁ @ x" and ex.node("sub₁").expr == "f − t"
    h_term = ex.step("h").terms[0]
    w_term = ex.step("W₂").terms[0]
    assert h_term.local == "h̄ += W₂ᵀ @ z̄₂"  # right operand
    assert w_term.local == "W̄₂ += z̄₂ @ hᵀ"  # left operand: a different formula
    np.testing.assert_allclose(ex.node("W₂").grad,
                               ex.node("z₂").grad @ ex.node("h").value.T)
    text = ex.to_text()
    assert "Ȳ" not in text and "∂(xy)" not in text  # no letters that collide with x, y


def test_per_operand_formulas_use_the_operands_names_for_every_binary_op():
    a, b = _named(1.5, "a"), _named(-0.5, "b")
    for op, expect in [(lambda: a * b, ("b", "a")), (lambda: a / b, ("1/b", "−a/b²")),
                       (lambda: a - b, ("1", "−1"))]:
        out = op()
        ex = cr.explain(out)
        assert (ex.step("a").terms[0].local, ex.step("b").terms[0].local) == expect
    ex = cr.explain(a ** b)
    assert ex.step("a").terms[0].local == "b·a^(b − 1)"


def test_einsum_and_convolution_have_a_rule_per_operand():
    rng = np.random.default_rng(0)
    A = _named(rng.standard_normal((3, 4)), "A")
    v = _named(rng.standard_normal(4), "v")
    ex = cr.explain(cr.einsum("ij,j->i", A, v).sum())
    a_rule, v_rule = ex.step("A").terms[0].local, ex.step("v").terms[0].local
    assert a_rule.startswith(fmt.bar("A") + " += einsum(") and v_rule.startswith("v̄ += einsum(")
    x = _named(rng.standard_normal((1, 1, 5, 5)), "x")
    K = _named(rng.standard_normal((2, 1, 3, 3)), "K")
    ex = cr.explain(cr.nn.functional.conv2d(x, K).sum())
    assert ex.step("x").terms[0].local == "x̄ += conv_transpose(v̄[conv2d₁], K)"
    assert ex.step("K").terms[0].local == "K̄ += correlate(x, v̄[conv2d₁])"
    fx = cr.explain(cr.nn.functional.conv2d(x, K).sum(), mode="forward", wrt=K)
    assert "conv2d(x, K̇)" in fx.to_text()


def test_matrices_print_as_matrices_and_noise_as_zero():
    ex = two_layer()
    text = ex.to_text()
    row = next(i for i, line in enumerate(text.splitlines()) if line.startswith("W₁ "))
    assert "[[0.6, -0.2,  0.1]," in text.splitlines()[row]
    assert "[0.3,  0.4, -0.6]]" in text.splitlines()[row + 1]
    noisy = np.array([[0.4, -3.725e-09], [0.1, 0.2]], dtype=np.float32)
    assert fmt.matrix(noisy) == ["[[0.4,   0],", " [0.1, 0.2]]"]
    assert "mean=0 " in fmt.summary(np.array([0.25, -0.25, 3e-9, 0.1, -0.1, 0, 0],
                                             dtype=np.float32)) + " "
    ml = mlp()
    assert "-3.725e-09" not in ml.to_text() and "mean=0" in ml.to_text()
    # the exact value stays on hover (the box's tooltip)
    from chainrule.explain.picture import picture
    w = cr.tensor(np.array([0.4, -3.7e-9], dtype=np.float32), requires_grad=True, name="w")
    y = (w * w).sum()
    box = next(b for b in picture(cr.explain(y)).boxes if b.node == "w")
    assert "value = [0.4, 0]" in box.lines and "-3.7" in box.tooltip


def test_scalar_parameters_of_ops_are_shown():
    x = _named(np.array([-1.0, 2.0]), "x")
    y = cr.leaky_relu(x, 0.1).sum()
    y.name = "y"
    row = next(r for r in cr.explain(y).nodes if r.prim == "leaky_relu")
    assert any("0.1" in v for v in row.params.values()) and "0.1" in row.expr


# -- 5. forward mode ------------------------------------------------------------------------------
def test_forward_mode_trace_in_dot_notation_matches_jvp_and_reverse():
    w, b = _named(0.5, "w"), _named(-0.2, "b")
    x = _named(1.5, "x", grad=False)
    z = w * x + b
    z.name = "z"
    y = cr.sigmoid(z)
    y.name = "y"
    fx = cr.explain(y, mode="forward", wrt=w)
    text = fx.to_text()
    assert "ẇ = 1" in text and "ḃ = 0" in text
    assert "v̇[mul₁] = ẇ·x = 1 · 1.5 = 1.5" in text
    assert "ż = v̇[mul₁] + ḃ" in text and "ẏ = ż·(y·(1 − y))" in text
    _, tangent = cr.jvp(lambda w_: cr.sigmoid(w_ * x + b), (w,), (1.0,))
    np.testing.assert_allclose(fx.node("y").grad, tangent.data)
    np.testing.assert_allclose(fx.node("y").grad, cr.explain(y).node("w").grad)
    assert "tangent" in fx.to_svg() and fx.mode == "forward"
    assert r"\dot{z} &= \dot{\mathrm{mul}_{1}}\,\frac{\partial z}" in fx.to_latex()
    assert "**Tangents** (forward mode, v̇ = ∂v/∂w)" in fx.to_markdown()
    with pytest.raises(ValueError, match="wrt"):
        cr.explain(y, mode="forward")
    with pytest.raises(ValueError, match="mode"):
        cr.explain(y, mode="sideways")


def test_forward_and_reverse_side_by_side_with_their_costs():
    from chainrule.explain.forward import comparison
    ex = neuron()
    c = comparison(ex)
    passes = [col["pass"] for col in c["columns"]]
    assert passes == ["forward", "forward", "reverse"]
    assert c["forward_steps"] == 2 * c["reverse_steps"] == 12
    for col in c["columns"][:2]:
        np.testing.assert_allclose(col["result"], ex.node(col["wrt"]).grad, rtol=1e-12)
    assert "2 sweeps" in c["summary"] and "one sweep" in c["summary"]
    assert comparison(mlp()) is None  # matrices: no side-by-side
    assert '"pass": "forward"' in ex.to_html()


# -- 6. the backward pass as a program ------------------------------------------------------------
@pytest.mark.parametrize("make", [neuron, two_layer, mlp, lambda: explain_expression(
    "2**x - 3/x + x**3 - 4 - x/2 + exp(sin(x))*tanh(x) + sqrt(x)*log(x)", {"x": 0.7})])
def test_to_python_recomputes_every_value_and_gradient(make, tmp_path):
    ex = make()
    source = ex.to_python()
    scope: dict = {}
    exec(compile(source, "explanation.py", "exec"), scope)
    for r in ex.nodes:
        np.testing.assert_allclose(scope["values"][r.name], r.value, rtol=1e-5, err_msg=r.name)
    for s in ex.steps:
        np.testing.assert_allclose(scope["grads"][s.name], s.bar, rtol=1e-4, atol=1e-7,
                                   err_msg=s.name)
    # one line per forward step and per backward step, named with the v̄ names
    n_ops = sum(r.kind == "op" for r in ex.nodes)
    assert len(re.findall(r"^(?!\w+_bar )\w+ = .*  # \S+ = ", source, re.M)) == n_ops
    assert len(re.findall(r"^\w+_bar = .*  # ", source, re.M)) == len(ex.steps)
    path = tmp_path / "backprop.py"
    path.write_text(source)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and f"d{ex.output}/d" in run.stdout, run.stderr


def test_to_python_names_the_op_it_cannot_write():
    x = _named(np.arange(6.0).reshape(2, 3), "x")
    with pytest.raises(NotImplementedError, match="einsum"):
        cr.explain(cr.einsum("ij,ij->", x, x)).to_python()
    y = (cr.where(x > 2, x, -x)[1:, ::2] + cr.clip(x, 1, 4)[0, 1]).sum()  # these it can
    scope: dict = {}
    ex = cr.explain(y)
    exec(ex.to_python(), scope)
    np.testing.assert_allclose(scope["grads"]["x"], ex.node("x").grad)


# -- 4. live: recompute with chainrule -----------------------------------------------------------
def test_recompute_with_a_new_leaf_value_is_chainruleS_own_result():
    from chainrule.explain.live import EditError, recompute
    ex = neuron()
    new = recompute(ex, "w", "1.0")
    fresh = neuron(w=1.0)
    for r in fresh.nodes:
        np.testing.assert_allclose(new.node(r.name).value, r.value)
        if r.grad is not None:
            np.testing.assert_allclose(new.node(r.name).grad, r.grad)
    np.testing.assert_allclose(recompute(ex, "t", "0").node("L").value, neuron(target=0.0)
                               .node("L").value)
    np.testing.assert_allclose(recompute(ex, "2", "3").node("L").value,
                               0.5 * float(ex.node("sub₁").value) ** 3)
    before = ex.to_text()
    for bad, message in [("abc", "expected a number"), ("nan", "finite"), ("[1, 2]", "shape"),
                         ("", "empty")]:
        with pytest.raises(EditError, match=message):
            recompute(ex, "w", bad)
    with pytest.raises(EditError, match="no input or constant named 'q'"):
        recompute(ex, "q", "1")
    assert ex.to_text() == before  # nothing changed
    m = mlp()  # module groups and parameter names carry over
    m2 = recompute(m, "x", json.dumps(np.zeros((4, 4)).tolist()))
    assert [g.key for g in m2.groups] == [g.key for g in m.groups]
    assert "0.weight" in {r.name for r in m2.nodes}


def _post(url, message):
    req = urllib.request.Request(url + "api/edit", data=json.dumps(message).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_server_binds_localhost_serves_the_page_and_recomputes_edits():
    ex = neuron()
    with ex.serve() as live:
        assert live.url.startswith("http://127.0.0.1:") and live.port > 0
        page = urllib.request.urlopen(live.url, timeout=30).read().decode()
        assert '"live": true' in page and '"name": "w"' in page
        status, reply = _post(live.url, {"leaf": "w", "text": "1"})
        assert status == 200
        np.testing.assert_allclose(reply["data"]["nodes"]["L"]["value"]["exact"],
                                   float(neuron(w=1.0).node("L").value))
        status, reply = _post(live.url, {"leaf": "w", "text": "NaN"})
        assert status == 400 and "finite" in reply["error"] and "nothing was changed" in \
            reply["error"]
        assert float(live.explanation.node("w").value) == 1.0  # the refused edit changed nothing
        assert _post(live.url, {"text": "1"})[0] == 400
    with pytest.raises(OSError):
        urllib.request.urlopen(live.url, timeout=5)  # stopped


def test_cli_serve_prints_a_localhost_url(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "explain", "neuron", "--serve",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert "backpropagation, live" in urllib.request.urlopen(url, timeout=30).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = subprocess.run([sys.executable, "-m", "chainrule", "explain", "neuron", "--serve",
                          "--port", "70000"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--port" in bad.stderr
    alone = subprocess.run([sys.executable, "-m", "chainrule", "explain", "neuron", "--port",
                            "8000"], capture_output=True, text=True, timeout=60)
    assert alone.returncode == 2 and "--port goes with --serve" in alone.stderr


def test_widget_recomputes_an_edit_in_python():
    pytest.importorskip("anywidget", reason="the widget extra (anywidget) is not installed")
    w = neuron().widget()
    assert "ChainruleExplain" in w._esm and "export default" in w._esm
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._handle_custom_msg({"id": 7, "leaf": "w", "text": "1"}, [])
    assert sent[-1]["id"] == 7 and "data" in sent[-1]
    np.testing.assert_allclose(w.explanation.node("L").value, neuron(w=1.0).node("L").value)
    assert json.loads(w.data)["nodes"]["w"]["value"]["exact"] == 1.0
    w._handle_custom_msg({"id": 8, "leaf": "w", "text": "inf"}, [])
    assert "finite" in sent[-1]["error"] and float(w.explanation.node("w").value) == 1.0


# -- 7. the playground's engine side --------------------------------------------------------------
def test_playground_trains_with_chainrule_and_reports_what_the_page_draws():
    from chainrule.explain.playground import DATASETS, Playground, make_data
    for name in DATASETS:
        X, y = make_data(name, n=100)
        assert X.shape == (100, 2) and set(y.tolist()) == {0, 1}
        np.testing.assert_allclose(X.mean(0), 0, atol=1e-9)
    pg = Playground(dataset="xor", layers="8, 8", activation="tanh", optimizer="adam", lr=0.05)
    first = pg.state()
    status, state = pg.api_step({"steps": 100})
    assert status == 200 and state["step"] == 100 and len(state["losses"]) == 100
    assert state["losses"][-1] < 0.5 * state["losses"][0] and state["accuracy"] > 0.9
    assert len(state["boundary"]) == state["grid"] ** 2
    assert state["boundary"] != first["boundary"]
    sample = state["sample"]
    assert sample["nodes"]["0.weight"]["grad"] is not None and "L" in sample["nodes"]
    assert pg.api_step({"steps": 0})[0] == 400 and pg.api_sample({"index": 10 ** 6})[0] == 400
    assert pg.api_reset({"layers": "a, b"})[0] == 400
    assert pg.api_reset({"lr": "nan"})[0] == 400
    status, state = pg.api_reset({"dataset": "spirals", "layers": "16", "activation": "relu",
                                  "optimizer": "sgd", "lr": 0.1})
    assert status == 200 and state["step"] == 0 and state["settings"]["layers"] == [16]


# -- 8. the README's pictures are the examples' ---------------------------------------------------
def test_readme_pictures_are_current_and_match_the_snippet_and_the_text():
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("render_neuron", root / "docs" /
                                                  "render_neuron.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, content in module.pictures().items():  # regenerated: run docs/render_neuron.py
        assert (root / "docs" / name).read_text(encoding="utf-8") == content, name
    # the README's snippet, as written there (default dtype), gives the lines the README quotes
    w = cr.tensor(2.0, requires_grad=True, name="w")
    b = cr.tensor(-1.0, requires_grad=True, name="b")
    x, t = cr.tensor(1.5, name="x"), cr.tensor(1.0, name="t")
    z = w * x + b
    y = cr.sigmoid(z)
    L = 0.5 * (y - t) ** 2
    z.name, y.name, L.name = "z", "y", "L"
    snippet = cr.explain(L).to_text()
    readme = (root / "README.md").read_text(encoding="utf-8")
    picture = (root / "docs" / "neuron.txt").read_text(encoding="utf-8")
    for quoted in ("sub₁ = y − t = 0.8808 − 1 = -0.1192",
                   "w̄ = v̄[mul₁]·∂mul₁/∂w = (-0.01252) · 1.5 = -0.01877",
                   "∂mul₁/∂w (multiply): x = 1.5"):
        assert quoted in readme and quoted in snippet and quoted in picture, quoted
    svg = (root / "docs" / "neuron.svg").read_text(encoding="utf-8")
    assert "grad = -0.01877" in svg and "value = 0.8808" in svg


def test_cli_playground_serves_its_page_and_refuses_bad_settings(capsys):
    from chainrule import cli
    with pytest.raises(SystemExit) as stop:
        cli.main(["playground", "--help"])
    assert stop.value.code == 0 and "TensorFlow Playground" in capsys.readouterr().out
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0",
                             "--dataset", "circles"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "chainrule playground" in page and '"dataset": "circles"' in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = subprocess.run([sys.executable, "-m", "chainrule", "playground", "--layers", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "layers" in bad.stderr and len(bad.stderr.splitlines()) == 1
