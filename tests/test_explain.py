"""cr.explain: an observer of the engine's own backward sweep, and its renderers."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphFreedError
from chainrule.explain import Explanation, explain

W0, X0, B0, T0, LAM = 0.5, 1.5, -0.2, 1.0, 0.1


def named(value, name, requires_grad=True):
    t = cr.tensor(value, requires_grad=requires_grad)
    t.name = name
    return t


def neuron():
    """z = w·x + b, y = σ(z), L = ½(y − t)², R = ½w², L_reg = L + λR."""
    w, x, b = named(W0, "w"), named(X0, "x", False), named(B0, "b")
    t = named(T0, "t", False)
    z = w * x + b
    z.name = "z"
    y = cr.sigmoid(z)
    y.name = "y"
    L = 0.5 * (y - t) ** 2
    L.name = "L"
    R = 0.5 * w ** 2
    R.name = "R"
    L_reg = L + LAM * R
    L_reg.name = "L_reg"
    return w, b, L_reg


def hand():
    z = W0 * X0 + B0
    y = 1 / (1 + np.exp(-z))
    y_bar = y - T0
    z_bar = y_bar * y * (1 - y)
    R_bar = LAM
    return {"L_reg": 1.0, "L": 1.0, "R": R_bar, "y": y_bar, "z": z_bar,
            "w": z_bar * X0 + R_bar * W0, "b": z_bar}, {"z": z, "y": y}


def test_neuron_grads_match_engine_and_hand_formulas():
    w, b, L_reg = neuron()
    ex = explain(L_reg)
    assert isinstance(ex, Explanation)
    assert w.grad is None and b.grad is None  # explain touches no .grad
    L_reg.backward()  # the graph is retained by explain, so backward still works
    np.testing.assert_allclose(ex.node("w").grad, w.grad.data)
    np.testing.assert_allclose(ex.node("b").grad, b.grad.data)
    bars, values = hand()
    for name, expected in bars.items():
        np.testing.assert_allclose(ex.node(name).grad, expected, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(ex.step(name).bar, expected, rtol=1e-6, err_msg=name)
    for name, expected in values.items():
        np.testing.assert_allclose(ex.node(name).value, expected, rtol=1e-6)
    np.testing.assert_allclose(ex.node("L_reg").value, L_reg.data)
    assert ex.node("y").op == "sigmoid" and "σ(x)(1 − σ(x))" in ex.node("y").local
    assert ex.node("w").op == "input" and ex.node("w").shape == ()


def test_step_for_w_has_two_terms_summing_to_w_bar():
    _, _, L_reg = neuron()
    ex = explain(L_reg)
    bars, _ = hand()
    step = ex.step("w")
    assert len(step.terms) == 2
    by_child = {t.child: t for t in step.terms}
    mul, pow_ = by_child["mul₁"], by_child["pow₂"]
    z_bar = bars["z"]
    np.testing.assert_allclose(mul.value, z_bar * X0)  # z̄·∂z/∂w (through mul₁ = w·x)
    np.testing.assert_allclose(pow_.value, LAM * W0)  # R̄·∂R/∂w (through w²)
    np.testing.assert_allclose(mul.partial, X0)
    np.testing.assert_allclose(sum(t.value for t in step.terms), step.bar)
    assert mul.local == "x"  # in the operands' own names, not the registry's x and y
    assert any("2 paths" in n for n in step.notes)


def test_order_names_and_steps():
    _, _, L_reg = neuron()
    ex = explain(L_reg)
    names = [r.name for r in ex.nodes]
    assert len(set(names)) == len(names)
    for i, row in enumerate(ex.nodes):  # parents first
        assert all(names.index(p) < i for p in row.parents)
    assert names[-1] == "L_reg" == ex.output
    assert {"mul₁", "mul₂", "pow₁", "pow₂", "sub₁"} <= set(names)
    assert ex.node("z").parents == ["mul₁", "b"]
    steps = [s.name for s in ex.steps]
    assert steps[0] == "L_reg" and ex.steps[0].is_output and float(ex.steps[0].bar) == 1.0
    assert sorted(steps) == sorted(r.name for r in ex.nodes if r.kind != "const")
    assert [r.name for r in ex.nodes if r.kind == "const"] == ["x", "t", "2", "0.5", "0.1"]
    for s in ex.steps:  # a node's step comes after the steps of all its children
        for t in s.terms:
            assert steps.index(t.child) < steps.index(s.name)


def test_existing_grads_are_untouched():
    w, b, L_reg = neuron()
    L_reg.backward(retain_graph=True)
    before = w.grad.data.copy(), b.grad.data.copy()
    explain(L_reg)
    np.testing.assert_array_equal(w.grad.data, before[0])
    np.testing.assert_array_equal(b.grad.data, before[1])


def test_variable_used_twice_gives_two_terms():
    x = named(3.0, "x")
    y = x * x
    ex = explain(y)
    step = ex.step("x")
    assert [t.child for t in step.terms] == ["mul₁", "mul₁"]
    assert [t.index for t in step.terms] == [0, 1]
    assert [float(t.value) for t in step.terms] == [3.0, 3.0]
    assert float(step.bar) == 6.0
    text = ex.to_text()
    assert "x̄ = v̄[mul₁]·∂mul₁/∂x + v̄[mul₁]·∂mul₁/∂x = 1 · 3 + 1 · 3 = 6" in text


def test_automatic_leaf_names():
    a, c = cr.tensor(2.0, requires_grad=True), cr.tensor(4.0, requires_grad=True)
    ex = explain(cr.sigmoid(a + c))
    assert [r.name for r in ex.nodes] == ["x₁", "x₂", "add₁", "sigmoid₁"]


def test_broadcast_note_and_grads():
    rng = np.random.default_rng(0)
    W = named(rng.standard_normal((3, 2)), "W")
    X = named(rng.standard_normal((4, 2)), "X", False)
    b = named(rng.standard_normal(3), "b")
    out = ((X @ W.transpose() + b) ** 2).sum()
    ex = explain(out)
    out.backward()
    np.testing.assert_allclose(ex.node("b").grad, b.grad.data)
    np.testing.assert_allclose(ex.node("W").grad, W.grad.data)
    step = ex.step("b")
    assert step.terms[0].child_op == "add" and step.terms[0].summed  # one node, no broadcast_to
    assert np.shape(step.terms[0].child_bar) == (4, 3) and step.bar.shape == (3,)
    assert any("broadcast" in n and "summed" in n for n in step.notes)
    assert "(3,) to (4, 3)" in ex.to_text()


def test_freed_graph_gives_a_clear_error():
    _, _, L_reg = neuron()
    L_reg.backward()
    with pytest.raises(GraphFreedError, match="before .*backward.*retain_graph=True"):
        explain(L_reg)


def test_bad_outputs():
    with pytest.raises(ValueError, match="one element"):
        explain(named([1.0, 2.0], "v") * 2)
    with pytest.raises(ValueError, match="does not require grad"):
        explain(cr.tensor(1.0))


def test_inputs_stop_the_explanation():
    w, b, L_reg = neuron()
    ex_all = explain(L_reg)
    ex = explain(L_reg, inputs=[b])
    assert "w" not in [r.name for r in ex.nodes]
    np.testing.assert_allclose(ex.node("b").grad, ex_all.node("b").grad)
    y = L_reg._node.parents[0].parents[0].parents[0].parents[0]  # L -> pow -> sub -> y
    y_t = next(t for t in L_reg._node.parents[0].parents[0].parents[0].inputs if t.name == "y")
    assert y is y_t._node
    ex_y = explain(L_reg, inputs=y_t)
    assert [r.name for r in ex_y.nodes][0] == "y" and ex_y.step("y").bar == ex_all.step("y").bar
    assert "z" not in [r.name for r in ex_y.nodes]


def test_leaf_output():
    w = named(2.0, "w")
    ex = explain(w)
    assert [r.name for r in ex.nodes] == ["w"] and float(ex.step("w").bar) == 1.0


def test_renderers():
    _, _, L_reg = neuron()
    ex = explain(L_reg)
    bars, _ = hand()
    w_bar = f"{bars['w']:.4g}"
    text = ex.to_text()
    assert "L_reg" in text and "sigmoid" in text and w_bar in text
    assert "w̄ = v̄[pow₂]·∂pow₂/∂w + v̄[mul₁]·∂mul₁/∂w = 0.05 · 1 + " in text
    md = ex.to_markdown()
    assert md.startswith("**Explanation of `L_reg`**") and "| w | input | () |" in md
    assert w_bar in md and ex._repr_markdown_() == md
    tex = ex.to_latex()
    assert tex.startswith("\\begin{align*}") and tex.endswith("\\end{align*}")
    assert "\\bar{w} &= " in tex and "\\frac{\\partial \\mathrm{mul}_{1}}{\\partial w}" in tex
    assert "\\bar{R}" in tex and w_bar in tex
    dot = ex.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "color=red" in dot and "color=black" in dot and w_bar in dot
    assert dot.count("[color=red") == sum(len(s.terms) for s in ex.steps)
    assert "Explanation of L_reg" in repr(ex)


def test_big_tensors_are_summarised():
    v = named(np.arange(100.0), "v")
    ex = explain((v * v).sum())
    label = ex.to_dot()
    assert "(100,)" in label and "mean=" in label and "99" not in label.split("max=")[0][-5:]
    assert "‖·‖" in ex.to_text()


# -- pictures -------------------------------------------------------------------------------------
def _neuron_explanation():
    w = cr.tensor(0.5, requires_grad=True, name="w")
    b = cr.tensor(-0.2, requires_grad=True, name="b")
    z = w * 1.5 + b
    z.name = "z"
    return cr.explain(0.5 * (cr.sigmoid(z) - 1.0) ** 2)


def test_builtin_layout_svg_is_valid_and_shows_every_node():
    import xml.etree.ElementTree as ET

    from chainrule.explain.render_svg import layered_svg
    ex = _neuron_explanation()
    svg = layered_svg(ex)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    for row in ex.nodes:
        assert row.name in svg
    assert 'stroke="red"' in svg and "grad = " in svg


def require_dot():
    import os
    import shutil
    if shutil.which("dot") is None:
        if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
            pytest.fail("Graphviz `dot` is required (CHAINRULE_REQUIRE_ALL=1) but not installed")
        pytest.skip("LOUD SKIP: Graphviz `dot` is not installed; the built-in layout is tested "
                    "instead (apt-get install graphviz to run this)")


def test_to_svg_uses_graphviz_dot_when_installed():
    require_dot()
    ex = _neuron_explanation()
    svg = ex.to_svg()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert "w" in svg and "red" in svg
    assert ex._repr_svg_() == svg


def test_a_failing_or_hanging_dot_falls_back_with_its_message(tmp_path, monkeypatch):
    import subprocess

    from chainrule.explain import render_svg
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: <stdin>: syntax error in line 3' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(render_svg.shutil, "which", lambda name: str(fake))
    monkeypatch.setattr(render_svg, "_warned", [])
    ex = _neuron_explanation()
    with pytest.warns(UserWarning, match=r"failed \(exit status 1: Error: <stdin>: syntax error"):
        svg = ex.to_svg()
    assert svg == render_svg.layered_svg(ex)

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout"))

    monkeypatch.setattr(render_svg.subprocess, "run", hang)
    monkeypatch.setattr(render_svg, "_warned", [])
    with pytest.warns(UserWarning, match="took over 60 s"):
        assert ex.to_svg() == svg


# -- "reuses": explain after backward -------------------------------------------------------------
def test_explain_after_backward_neither_changes_nor_doubles_grads():
    w, b, L_reg = neuron()
    L_reg.backward(retain_graph=True)
    once = w.grad.data.copy(), b.grad.data.copy()
    for _ in range(2):  # its own sweep each time, with no .grad touched
        ex = explain(L_reg)
        np.testing.assert_array_equal(w.grad.data, once[0])
        np.testing.assert_array_equal(b.grad.data, once[1])
        np.testing.assert_allclose(ex.node("w").grad, once[0])  # ∂L/∂w, not a sum of sweeps
    L_reg.backward()  # the graph is still there: a second backward accumulates, as always
    np.testing.assert_allclose(w.grad.data, 2 * once[0])


def test_explain_after_backward_of_a_model_keeps_parameter_grads():
    model, loss = small_mlp()
    loss.backward(retain_graph=True)
    grads = {k: p.grad.data.copy() for k, p in model.named_parameters()}
    ex = explain(loss)
    for k, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad.data, grads[k], err_msg=k)
        np.testing.assert_allclose(ex.node(k).grad, grads[k], rtol=1e-6, err_msg=k)


# -- module clusters ------------------------------------------------------------------------------
def small_mlp(seed=0):
    from chainrule import nn
    from chainrule.nn import functional as F
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.ReLU(), nn.Linear(6, 3, rng=rng))
    x = cr.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    return model, F.cross_entropy(model(x), rng.integers(0, 3, 5))


class Block(cr.nn.Module):
    """A residual block with nested modules: y = gelu(norm(fc(x))) + x."""

    def __init__(self, n, rng):
        super().__init__()
        self.fc = cr.nn.Linear(n, n, rng=rng)
        self.norm = cr.nn.LayerNorm(n)

    def forward(self, x):
        return cr.gelu(self.norm(self.fc(x))) + x


class Net(cr.nn.Module):
    def __init__(self, depth=4, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.inp = cr.nn.Linear(4, 8, rng=rng)
        self.layers = cr.nn.ModuleList([Block(8, rng) for _ in range(depth)])
        self.head = cr.nn.Linear(8, 3, rng=rng)

    def forward(self, x):
        x = self.inp(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def net_loss(depth=4):
    from chainrule.nn import functional as F
    net = Net(depth)
    x = cr.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    return net, F.cross_entropy(net(x), np.array([0, 1, 2, 0, 1]))


def test_sequential_nodes_are_grouped_by_layer_and_parameters_named():
    model, loss = small_mlp()
    ex = explain(loss)
    assert [(g.key, g.path, g.parent, g.depth) for g in ex.groups] == [
        ("Sequential", "", None, 0), ("0 (Linear)", "0", "Sequential", 1),
        ("1 (ReLU)", "1", "Sequential", 1), ("2 (Linear)", "2", "Sequential", 1)]
    groups = {r.name: r.group for r in ex.nodes}
    assert groups == {"0.weight": "0 (Linear)", "0.bias": "0 (Linear)",
                      "linear₁": "0 (Linear)", "relu₁": "1 (ReLU)", "2.weight": "2 (Linear)",
                      "2.bias": "2 (Linear)", "linear₂": "2 (Linear)",
                      "const₁": None, "onehot": None,  # the data and the targets
                      "cross_entropy₁": None}  # the loss was computed outside


def test_nested_modules_give_nested_groups_with_their_paths():
    _, loss = net_loss(depth=2)
    ex = explain(loss)
    by_key = {g.key: g for g in ex.groups}
    assert set(by_key) == {"Net", "inp (Linear)", "layers.0 (Block)", "layers.1 (Block)",
                           "layers.0.fc (Linear)", "layers.0.norm (LayerNorm)",
                           "layers.1.fc (Linear)", "layers.1.norm (LayerNorm)", "head (Linear)"}
    assert by_key["layers.1.norm (LayerNorm)"].parent == "layers.1 (Block)"
    assert by_key["layers.1.norm (LayerNorm)"].depth == 2
    keys = [g.key for g in ex.groups]
    assert all(keys.index(g.parent) < keys.index(g.key) for g in ex.groups if g.parent)
    rows = {r.name: r for r in ex.nodes}
    assert rows["layers.0.norm.weight"].group == "layers.0.norm (LayerNorm)"
    gelu, residual = rows["gelu₁"], next(r for r in ex.nodes if r.parents[-1:] == ["linear₁"]
                                         and r.op == "add")
    assert gelu.group == residual.group == "layers.0 (Block)"  # its own ops, not its layers'
    assert sum(r.group == "layers.1.norm (LayerNorm)" for r in ex.nodes) > 5


def test_a_module_called_twice_and_an_identity_module():
    from chainrule import nn
    lin, drop = nn.Linear(3, 3, rng=np.random.default_rng(0)), nn.Dropout(0.5).eval()
    x = cr.tensor(np.ones((2, 3)))
    ex = explain(drop(lin(lin(x))).sum())
    assert [g.key for g in ex.groups] == ["Linear", "Linear #2"]  # Dropout computed nothing
    assert [r.group for r in ex.nodes if r.op == "linear"] == ["Linear", "Linear #2"]
    assert ex.node("weight").group == "Linear"  # a shared parameter goes to one group


class Concat(cr.nn.Module):
    """A module taking a list of tensors."""

    def forward(self, xs):
        return cr.concatenate(xs, axis=1)


class ConcatDict(cr.nn.Module):
    def forward(self, xs):
        return cr.concatenate(list(xs.values()), axis=1)


def test_a_module_taking_a_list_holds_only_its_own_nodes():
    from chainrule import nn
    rng = np.random.default_rng(0)
    a, b = nn.Linear(3, 2, rng=rng), nn.Linear(3, 2, rng=rng)
    x = cr.tensor(np.ones((2, 3), np.float32))
    ex = explain(Concat()([a(x), b(x)]).sum())
    assert [(g.key, g.parent) for g in ex.groups] == [
        ("Linear[1]", None), ("Linear[2]", None), ("Concat", None)]
    assert [r.name for r in ex.nodes if r.group == "Concat"] == ["concatenate₁"]
    assert [r.name for r in ex.nodes if r.group == "Linear[2]"] == [
        "Linear[2].weight", "Linear[2].bias", "linear₂"]
    ex = explain(ConcatDict()({"a": a(x), "b": b(x)}).sum())  # a dict of tensors too
    assert [r.name for r in ex.nodes if r.group == "ConcatDict"] == ["concatenate₁"]


def test_distinct_modules_of_one_type_get_distinct_labels_and_parameter_names():
    from chainrule import nn
    rng = np.random.default_rng(0)
    enc, dec = nn.Linear(3, 4, rng=rng), nn.Linear(4, 2, rng=rng)
    x = cr.tensor(np.ones((2, 3), np.float32))
    ex = explain(dec(cr.relu(enc(x))).sum())
    assert [g.key for g in ex.groups] == ["Linear[1]", "Linear[2]"]
    assert ex.node("Linear[1].weight").group == "Linear[1]"
    assert ex.node("Linear[2].weight").group == "Linear[2]"
    assert ex.node("relu₁").group is None
    # the same module called twice is one module, its calls numbered
    sq = nn.Linear(3, 3, rng=rng)
    ex = explain(dec(enc(sq(sq(x)))).sum())
    assert [g.key for g in ex.groups] == ["Linear[1]", "Linear[1] #2", "Linear[2]", "Linear[3]"]
    assert ex.node("Linear[1].weight").group == "Linear[1]"
    # distinct roots of distinct types: their names start with the type
    body, head = nn.Sequential(nn.Linear(3, 3, rng=rng), nn.ReLU()), nn.Linear(3, 1, rng=rng)
    ex = explain(head(body(x)).sum())
    assert [g.key for g in ex.groups] == [
        "Sequential", "Linear", "Sequential.0 (Linear)", "Sequential.1 (ReLU)"]
    assert ex.node("Sequential.0.weight").group == "Sequential.0 (Linear)"
    assert ex.node("Linear.weight").group == "Linear"


def test_module_records_cost_nothing_without_a_graph_and_go_with_it():
    import weakref

    from chainrule.nn.module import module_calls
    model = small_mlp()[0]
    with cr.no_grad():
        out = model(cr.tensor(np.ones((2, 4), np.float32)))
    assert out._node is None  # no graph, nothing recorded
    out = model(cr.tensor(np.ones((2, 4), np.float32)))
    assert [type(m).__name__ for m, _ in module_calls(out._node)] == ["Linear", "Sequential"]
    node = weakref.ref(out._node)  # the record lives on the node: it goes with the graph
    del out
    assert node() is None

    class Table(cr.nn.Module):  # returns its parameter: a leaf that outlives any graph
        def __init__(self):
            super().__init__()
            self.weight = cr.nn.Parameter(np.ones(3))

        def forward(self):
            return self.weight

    table = Table()
    table.weight * 2.0  # now the parameter has a node of its own
    table()
    assert module_calls(table.weight._node) == []  # a leaf, which may live forever: no record


# -- focus ----------------------------------------------------------------------------------------
def test_focus_keeps_the_paths_from_a_parameter_with_the_same_numbers():
    model, loss = small_mlp()
    full = explain(loss)
    ex = explain(loss, focus=model[0].bias)
    # the constants the kept ops read (the data, the one-hot targets) stay visible
    assert [r.name for r in ex.nodes] == ["0.bias", "const₁", "linear₁", "relu₁", "linear₂",
                                          "onehot", "cross_entropy₁"]
    assert [s.name for s in ex.steps] == ["cross_entropy₁", "linear₂", "relu₁",
                                          "linear₁", "0.bias"]
    for row in ex.nodes:
        np.testing.assert_array_equal(row.value, full.node(row.name).value)
        if row.kind != "const":  # constants get no gradient
            np.testing.assert_allclose(row.grad, full.node(row.name).grad, rtol=1e-6)
        assert set(row.parents) <= {r.name for r in ex.nodes}
    assert [g.key for g in ex.groups] == ["Sequential", "0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    # no box or table row for the weights; the ops' expressions still name all operands
    assert "2.weight (input)" not in ex.to_dot() and "\n0.weight " not in ex.to_text()
    two = explain(loss, focus=[model[0].bias, model[2].weight])
    assert {"0.bias", "2.weight"} <= {r.name for r in two.nodes}
    assert "0.weight" not in {r.name for r in two.nodes}


def test_focus_errors_name_the_tensor():
    model, loss = small_mlp()
    other = cr.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"focus weight \(shape \(2, 2\).*not in the output's"):
        other.weight.name = "weight"
        explain(loss, focus=other.weight)
    with pytest.raises(ValueError, match="focus unnamed tensor .* does not require grad"):
        explain(loss, focus=cr.tensor([1.0]))
    with pytest.raises(TypeError, match="must be tensors"):
        explain(loss, focus=["0.weight"])
    with pytest.raises(ValueError, match="not both"):
        explain(loss, focus=model[0].bias, inputs=model[0].bias)
    model.unused = cr.nn.Parameter(np.ones(2))  # named by its place in the model
    with pytest.raises(ValueError, match=r"focus unused \(shape \(2,\)\) is not in the"):
        explain(loss, focus=[model[0].weight, model.unused])
    model2, _ = small_mlp()
    with pytest.raises(ValueError, match=r"focus unnamed tensor \(shape \(6, 4\), float32\)"):
        explain(loss, focus=model2[0].weight)  # another model's: no name to give


# -- pictures with clusters, collapsed modules ----------------------------------------------------
def test_dot_has_one_nested_cluster_per_module_call():
    _, loss = net_loss(depth=2)
    ex = explain(loss)
    dot = ex.to_dot()
    assert dot.count("subgraph cluster_") == len(ex.groups) == 9
    assert 'label="layers.1.norm (LayerNorm)"' in dot
    assert dot.count("{") == dot.count("}")
    # the Block's cluster opens before its LayerNorm's and closes after it
    block, norm = dot.index('label="layers.1 (Block)"'), dot.index('label="layers.1.norm')
    assert block < norm
    assert dot.count("[color=red") == sum(len(s.terms) for s in ex.steps)


def test_collapse_draws_chosen_modules_as_one_box():
    from chainrule.explain.picture import picture
    _, loss = net_loss(depth=2)
    ex = explain(loss)
    layers = picture(ex, collapse=True)  # the innermost modules: Linear and LayerNorm
    modules = [b for b in layers.boxes if b.kind == "module"]
    assert [b.lines[0] for b in modules] == [
        "inp (Linear)", "layers.0.fc (Linear)", "layers.0.norm (LayerNorm)",
        "layers.1.fc (Linear)", "layers.1.norm (LayerNorm)", "head (Linear)"]
    assert [c.key for c in layers.clusters] == ["Net", "layers.0 (Block)", "layers.1 (Block)"]
    fc = modules[1]
    assert fc.lines[1] == "out linear₂: shape (5, 8)" and fc.cluster == "layers.0 (Block)"
    assert any(line.startswith("layers.0.fc.weight (8, 8): grad ‖·‖=") for line in fc.lines)
    assert len(set(layers.forward)) == len(layers.forward)  # merged: one arrow per box pair
    blocks = picture(ex, collapse=1)
    assert [b.lines[0] for b in blocks.boxes if b.kind == "module"] == [
        "inp (Linear)", "layers.0 (Block)", "layers.1 (Block)", "head (Linear)"]
    assert len(blocks.boxes) == 7  # and the loss, the data and the one-hot targets
    assert ("m0", "m1") in blocks.forward and ("m0", "m2") not in blocks.forward
    assert ("m1", "m0", "‖·‖=" + f"{np.linalg.norm(ex.node('linear₁').grad):.4g}") in \
        blocks.backward  # the gradient the first block sends back to inp's output
    only = picture(ex, collapse=["layers.1"])
    assert [b.lines[0] for b in only.boxes if b.kind == "module"] == ["layers.1 (Block)"]
    assert "cluster_" in ex.to_dot(collapse=True) and ex.to_dot(collapse=0).count("cluster_") == 0
    with pytest.raises(ValueError, match="no module 'layers.7'.*'layers.0 \\(Block\\)'"):
        ex.to_dot(collapse="layers.7")


def test_a_training_step_of_hundreds_of_nodes_reduces_to_a_readable_picture():
    from chainrule.explain.layout import layout
    from chainrule.explain.picture import picture
    net, loss = net_loss(depth=12)
    ex = explain(loss)
    assert len(ex.nodes) > 200
    blocks = picture(ex, collapse=1)  # one box per top-level module, and the loss
    assert len(blocks.boxes) == 12 + 3 + 2 and len(blocks.forward) < 32  # + data, targets
    last = explain(loss, focus=net.layers[11].fc.weight)  # the last block, the head, the loss
    assert len(last.nodes) < 40 and {g.key for g in last.groups} == {
        "Net", "layers.11 (Block)", "layers.11.fc (Linear)", "layers.11.norm (LayerNorm)",
        "head (Linear)"}
    pic = picture(last)
    _frames_hold_exactly_their_boxes(pic, layout(pic))


def test_big_tensor_boxes_show_shape_and_statistics():
    from chainrule.explain.picture import picture
    _, loss = small_mlp()
    ex = explain(loss)
    box = next(b for b in picture(ex).boxes if b.lines[0].startswith("linear₁"))
    assert box.lines[1] == "linear  shape (5, 6)"
    norm = np.linalg.norm(ex.node("linear₁").value.astype(np.float64))
    assert box.lines[2].startswith(f"value = ‖·‖={norm:.4g} mean=")
    assert box.lines[3].startswith("grad = ‖·‖=") and box.n_grad == 1
    assert f"{ex.node('linear₁').value[0, 0]:.6f}"[:7] in box.tooltip  # the exact entries


def _frames_hold_exactly_their_boxes(pic, lay):
    inside_of = {c.key: c.parent for c in pic.clusters}

    def chain(key):
        while key is not None:
            yield key
            key = inside_of[key]

    for key, x, y, w, h in lay.frames:
        members = {b.id for b in pic.boxes if key in chain(b.cluster)}
        within = {i for i, (bx, by, bw, bh) in lay.boxes.items()
                  if bx >= x and by >= y and bx + bw <= x + w and by + bh <= y + h}
        overlapping = {i for i, (bx, by, bw, bh) in lay.boxes.items()
                       if bx < x + w and x < bx + bw and by < y + h and y < by + bh}
        assert members == within == overlapping, key


@pytest.mark.parametrize("collapse", [None, True, 1])
def test_builtin_layout_frames_each_module_around_its_own_boxes_only(collapse):
    import xml.etree.ElementTree as ET

    from chainrule.explain.layout import layout
    from chainrule.explain.picture import picture
    from chainrule.explain.render_svg import layered_svg
    _, loss = net_loss(depth=3)
    ex = explain(loss)
    pic = picture(ex, collapse)
    lay = layout(pic)
    _frames_hold_exactly_their_boxes(pic, lay)
    boxes = list(lay.boxes.values())
    for i, (x, y, w, h) in enumerate(boxes):  # no two boxes overlap
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    svg = layered_svg(ex, collapse)
    ET.fromstring(svg)
    for c in pic.clusters:
        assert f">{c.key}</text>" in svg
    assert svg.count("<title>") == len(pic.boxes)


def test_to_svg_with_graphviz_draws_the_clusters():
    require_dot()
    _, loss = small_mlp()
    ex = explain(loss)
    svg = ex.to_svg()
    assert svg.count('class="cluster"') == 4 and "0 (Linear)" in svg
    assert ex.to_svg(collapse=True).count('class="cluster"') == 1


# -- ready-made cases and the command line --------------------------------------------------------
def test_two_layer_case_matches_the_vectorized_formulas():
    from chainrule.explain.cases import two_layer
    ex = two_layer()
    x = np.array([[1.0], [2.0], [-1.0]])
    W1, W2 = ex.node("W₁").value, ex.node("W₂").value
    z1 = W1 @ x
    h = np.maximum(z1, 0)
    z2 = W2 @ h
    f = np.maximum(z2, 0)
    f_bar = f - np.array([[1.0], [0.5]])
    z2_bar = f_bar * (z2 > 0)
    h_bar = W2.T @ z2_bar
    z1_bar = h_bar * (z1 > 0)
    np.testing.assert_allclose(ex.node("W₂").grad, z2_bar @ h.T)  # W̄₂ = z̄₂ hᵀ
    np.testing.assert_allclose(ex.node("W₁").grad, z1_bar @ x.T)  # W̄₁ = z̄₁ xᵀ
    np.testing.assert_allclose(ex.node("h").grad, h_bar)
    assert z2[1, 0] < 0 and ex.node("z₂").grad[1, 0] == 0  # the ReLU blocks that path
    assert "W̄₁ = z̄₁ @ xᵀ\n" in ex.to_text()  # the matrix rule, written as the product
    assert two_layer(focus="W2").nodes[0].name == "W₂"


def test_mlp_case_groups_by_layer_and_its_text_stays_short():
    from chainrule.explain.cases import mlp
    ex = mlp()
    assert [g.key for g in ex.groups] == ["Sequential", "0 (Linear)", "1 (ReLU)", "2 (Linear)",
                                          "3 (ReLU)", "4 (Linear)"]
    assert ex.node("0.weight").grad.shape == (8, 4) and ex.output == "L"
    assert max(len(line) for line in ex.to_text().splitlines()) < 100
    focused = mlp(focus="2.weight")
    assert [r.name for r in focused.nodes] == ["2.weight", "linear₂", "relu₂", "linear₃",
                                               "onehot", "L"]


@pytest.mark.parametrize("case,expect", [
    ("two-layer", ["W̄₁ = ", "W̄₂ = "]), ("mlp", ["v̄[0.weight] = ", "    = [["])])
def test_cli_explain_case_prints_trace_and_writes_files(tmp_path, capsys, case, expect):
    from chainrule import cli
    assert cli.main(["explain", case, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert all(e in out for e in expect)
    stem = tmp_path / f"explain-{case}"
    assert stem.with_suffix(".txt").read_text().startswith("Explanation of L")
    assert stem.with_suffix(".svg").read_text().count("<svg") == 1
    assert "<script" in stem.with_suffix(".html").read_text()
    if case == "mlp":
        assert "4 (Linear)" in stem.with_suffix(".svg").read_text()


@pytest.mark.parametrize("args,message", [
    ([], "give exactly one of a case (neuron, two-layer, mlp) or --expr"),
    (["neuron", "--expr", "x"], "or --expr, not both"),
    (["neuron", "--at", "x=1"], "--at NAME=VALUE goes with --expr"),
    (["--expr", "x +", "--at", "x=1"], "is not a formula"),
])
def test_cli_explain_usage_errors_are_one_line(args, message, capsys):
    from chainrule import cli
    with pytest.raises(SystemExit) as stop:
        cli.main(["explain", *args])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err
    assert len(err.strip().splitlines()) == 1


def test_cli_explain_expr_with_a_huge_power_fails_at_once(tmp_path):
    import subprocess
    import sys
    import time
    begin = time.perf_counter()
    for expr in ("x + 9**9**9**9", "x * 1" + "0" * 400):  # in a process of its own: an
        r = subprocess.run(  # integer power would hang it (and not the test run)
            [sys.executable, "-m", "chainrule.cli", "explain", "--expr", expr, "--at", "x=1",
             "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "overflows" in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1
    assert time.perf_counter() - begin < 30
    from chainrule.explain.expr import evaluate
    assert evaluate("2**10", {}) == 1024.0 and isinstance(evaluate("3", {}), float)


def test_cli_explain_focus_and_collapse(tmp_path, capsys):
    from chainrule import cli
    cli.main(["explain", "mlp", "--focus", "4.bias", "--collapse", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Explanation of L: 4 nodes" in out and "0.weight" not in out  # + the targets
    assert "4 (Linear)" in (tmp_path / "explain-mlp.svg").read_text()
    with pytest.raises(SystemExit) as stop:
        cli.main(["explain", "two-layer", "--focus", "W3"])
    assert stop.value.code == 2
    assert "not a parameter here; choose from W₁, W₂" in capsys.readouterr().err
