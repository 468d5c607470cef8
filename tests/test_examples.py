"""The worked examples in examples/: every backprop value matches its hand-derived value,
every script runs on its own and prints the key numbers, and run_all/README list them all.

Each example's ``main()`` returns {name: (backprop, hand)} pairs (a third element loosens the
tolerance, for finite differences), except symbolic_vs_backprop, which returns operation
counts. The numbers checked against the printed output, and the matrices of the network
examples, are computed here independently of the examples' own code, so a wrong hand formula
in an example cannot agree with itself unnoticed. Examples that write files run in a
temporary folder."""
from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
STEMS = sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem != "run_all")


def _load(stem: str) -> ModuleType:
    """Import an example by path with run_all's own loader (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_test_run_all", EXAMPLES / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    return run_all.load(stem)


def _f(v: float) -> str:
    return f"{v:.9f}"  # the examples print scalars this way


# Numbers (and labels) each script must print.
_T = 0.5
_X, _Y = _T ** 2, math.exp(_T)
# The neuron with L2 regularisation: w, b, x, t, λ = 2, −1, 1.5, 1, 0.1.
_S = 1 / (1 + math.exp(-(2.0 * 1.5 - 1.0)))
_ZBAR = (_S - 1.0) * _S * (1 - _S)
KEY_OUTPUT = {
    "sin_of_square": [_f(6 * math.cos(9))],
    "exp_of_sin_of_square": [_f(math.exp(math.sin(0.49)) * math.cos(0.49) * 1.4)],
    "exp_of_sqrt": [_f(math.exp(math.sqrt(2)) / (2 * math.sqrt(2)))],
    "two_paths": [_f((2 * _X + _Y * math.cos(_X * _Y)) * 2 * _T),
                  _f(_X * math.cos(_X * _Y) * _Y),
                  _f((2 * _X + _Y * math.cos(_X * _Y)) * 2 * _T
                     + _X * math.cos(_X * _Y) * _Y)],
    "second_derivative": [_f(6 * math.cos(9)), _f(2 * math.cos(9) - 36 * math.sin(9))],
    "implicit_circle": [_f(1.2), _f(1.6), _f(-0.75)],
    "vector_chain_rule": ["J_yx reverse vs J_yu @ J_ux", "J_yx forward vs J_yu @ J_ux"],
    "rosenbrock_hessian": ["max |backprop − hand|"],
    "neuron_l2": [_f(_ZBAR), _f(_ZBAR * 1.5 + 0.1 * 2.0), "paths meet at w",
                  r"\bar{w} &= ", r"\bar{b} &= "],
    "vectorized_two_layer": ["W̄⁽²⁾ = ȳhᵀ", "h̄ = W⁽²⁾ᵀȳ", "z̄ = h̄ ∘ σ'(z)", "W̄⁽¹⁾ = z̄xᵀ"],
    "delta_propagation": ["δ⁽³⁾", "δ⁽¹⁾", "∂C/∂W⁽¹⁾", "∂C/∂b⁽¹⁾"],
    "two_layer_relu_gd": ["step   0  L = ", "after 100 steps"],
    "symbolic_vs_backprop": ["MLP 2-3-3-1", "sympy.count_ops"],
    "gradient_cost": ["FD / backprop", "gradient_cost.png"],
}
NOT_PAIRS = {"symbolic_vs_backprop"}  # checked by test_symbolic_vs_backprop_counts
WRITES = {"gradient_cost": ["gradient_cost.png"]}  # into chainrule-examples/ by default


def test_every_example_is_listed():
    module = _load("run_all")
    assert sorted(stem for stem, _ in module.EXAMPLES) == STEMS
    assert sorted(KEY_OUTPUT) == STEMS
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for stem in STEMS + ["run_all"]:
        assert f"{stem}.py" in readme, f"examples/README.md does not list {stem}.py"


@pytest.mark.parametrize("stem", sorted(set(STEMS) - NOT_PAIRS))
def test_backprop_matches_hand(stem, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # for the examples that write a plot
    results = _load(stem).main()
    assert results, f"{stem}.main() returned nothing to check"
    for name, (backprop, hand, *loose) in results.items():
        backprop, hand = np.asarray(backprop, float), np.asarray(hand, float)
        # assert_allclose treats NaN == NaN as equal: refuse NaN/Inf first.
        assert np.all(np.isfinite(backprop)) and np.all(np.isfinite(hand)), name
        assert backprop.shape == hand.shape, name
        # atol only matters for entries that are exactly zero (the Hessian's off-band); a
        # loose pair (finite differences) is compared at its tolerance of the largest entry.
        rtol, atol = (loose[0], loose[0] * np.max(np.abs(hand))) if loose else (1e-10, 1e-12)
        np.testing.assert_allclose(backprop, hand, rtol=rtol, atol=atol, err_msg=name)
    assert capsys.readouterr().out.strip(), f"{stem}.main() printed nothing"


@pytest.mark.parametrize("stem", STEMS + ["run_all"])
def test_script_runs(stem, tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{stem}.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    expected = [k for s in STEMS for k in KEY_OUTPUT[s]] if stem == "run_all" \
        else KEY_OUTPUT[stem]
    for text in expected:
        assert text in proc.stdout, f"{stem}.py output lacks {text!r}:\n{proc.stdout}"
    written = [f for s in STEMS for f in WRITES.get(s, [])] if stem == "run_all" \
        else WRITES.get(stem, [])
    for name in written:
        assert (tmp_path / "chainrule-examples" / name).read_bytes().startswith(b"\x89PNG")


def test_run_all_returns_every_example(capsys, tmp_path):
    results = _load("run_all").run_all(out=tmp_path)
    assert sorted(results) == STEMS
    out = capsys.readouterr().out
    assert out.count("\n== ") == len(STEMS)  # one heading per example
    assert (tmp_path / "gradient_cost.png").read_bytes().startswith(b"\x89PNG")


# -- the network examples, against central differences computed here in NumPy ---------------

def _central_differences(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂x for scalar f of an array x, one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_vectorized_two_layer_against_differences(capsys):
    module = _load("vectorized_two_layer")
    results = module.main()
    x, t, W1, W2 = module.X, module.T, module.W1, module.W2
    z = W1 @ x
    h = _sigmoid(z)
    expected = {  # each cotangent as the derivative of L with respect to that tensor
        "ȳ": _central_differences(lambda y: 0.5 * np.sum((y - t) ** 2), W2 @ h),
        "W̄⁽²⁾ = ȳhᵀ": _central_differences(lambda W: 0.5 * np.sum((W @ h - t) ** 2), W2),
        "h̄ = W⁽²⁾ᵀȳ": _central_differences(lambda h: 0.5 * np.sum((W2 @ h - t) ** 2), h),
        "z̄ = h̄ ∘ σ'(z)": _central_differences(
            lambda z: 0.5 * np.sum((W2 @ _sigmoid(z) - t) ** 2), z),
        "W̄⁽¹⁾ = z̄xᵀ": _central_differences(
            lambda W: 0.5 * np.sum((W2 @ _sigmoid(W @ x) - t) ** 2), W1),
    }
    assert results.keys() == expected.keys()
    for name, want in expected.items():
        np.testing.assert_allclose(results[name][0], want, rtol=1e-7, atol=1e-9, err_msg=name)


def test_delta_propagation_against_differences(capsys):
    module = _load("delta_propagation")
    results = module.main()
    X, Y, Ws, bs = module.X, module.Y, module.WEIGHTS, module.BIASES

    def cost(Ws, bs, at=None, z_at=None):
        """C of the network; with ``at`` = l, z⁽ˡ⁾ is replaced by ``z_at``."""
        a = X
        for layer, (W, b) in enumerate(zip(Ws, bs), start=1):
            a = _sigmoid(z_at if layer == at else W @ a + b)
        return np.sum((a - Y) ** 2) / (2 * X.shape[1])

    a = X
    for layer, (W, b) in enumerate(zip(Ws, bs), start=1):
        z = W @ a + b
        a_prev, a = a, _sigmoid(z)
        i = layer - 1
        sup = "⁽" + "⁰¹²³⁴⁵⁶⁷⁸⁹"[layer] + "⁾"
        delta = results[f"δ{sup}"][0]
        expected = {
            f"δ{sup}": _central_differences(lambda z, layer=layer: cost(Ws, bs, layer, z), z),
            f"∂C/∂W{sup}": _central_differences(
                lambda W, i=i: cost(Ws[:i] + [W] + Ws[i + 1:], bs), W),
            f"∂C/∂b{sup}": _central_differences(
                lambda b, i=i: cost(Ws, bs[:i] + [b] + bs[i + 1:]), b),
        }
        for name, want in expected.items():
            np.testing.assert_allclose(results[name][0], want, rtol=1e-6, atol=1e-10,
                                       err_msg=name)
        # The relations the example shows, between its own δ and the parameters' gradients.
        np.testing.assert_allclose(results[f"∂C/∂W{sup}"][0], delta @ a_prev.T, rtol=1e-12)
        np.testing.assert_allclose(results[f"∂C/∂b{sup}"][0], delta.sum(axis=1, keepdims=True),
                                   rtol=1e-12)


def test_two_layer_relu_gd_against_differences(capsys):
    module = _load("two_layer_relu_gd")
    results = module.main()
    out = capsys.readouterr().out
    X, Y, W1, W2 = module.problem()

    def loss(W1, W2):
        F = np.maximum(W2 @ np.maximum(W1 @ X, 0), 0)
        return np.sum((F - Y) ** 2) / (2 * X.shape[1])

    np.testing.assert_allclose(results["∂L/∂W₂ at step 0"][0],
                               _central_differences(lambda W: loss(W1, W), W2), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(results["∂L/∂W₁ at step 0"][0],
                               _central_differences(lambda W: loss(W, W2), W1), rtol=1e-6,
                               atol=1e-9)
    assert f"step   0  L = {_f(loss(W1, W2))}" in out
    printed = [float(line.split("L = ")[1].split()[0]) for line in out.splitlines()
               if "L = " in line]
    assert len(printed) == 6 and all(np.diff(printed) < 0), printed  # the loss goes down
    assert printed[-1] < printed[0] / 5


# -- symbolic_vs_backprop: the table's counts, derived here -------------------------------

def _sympy_mlp(widths):
    """(loss, parameters) of the example's scalar MLP, built directly in SymPy."""
    x, t = (sp.Rational(1, 2), -1), sp.Rational(1, 4)  # the example's input and target
    params, a = [], list(x[:widths[0]])
    for layer in range(1, len(widths)):
        zs = []
        for j in range(widths[layer]):
            b = sp.Symbol(f"b{layer}_{j}", real=True)
            ws = [sp.Symbol(f"w{layer}_{j}{i}", real=True) for i in range(len(a))]
            params += [b] + ws
            zs.append(b + sum(w * a_i for w, a_i in zip(ws, a)))
        a = zs if layer == len(widths) - 1 else [1 / (1 + sp.exp(-z)) for z in zs]
    return (a[0] - t) ** 2 / 2, params


def _mlp_backprop_ops(widths) -> tuple[int, int]:
    """(forward, backward) operations of backprop on the scalar MLP, counted by hand in
    sympy.count_ops's unit: a product or a sum is one, σ is four, and (y − 1/4) is two."""
    forward = 4  # the loss: − and the ÷ of 1/4, then ², then ½·
    backward = 3  # the loss: ½·ḡ, then 2·u and its product with ū
    for layer in range(1, len(widths)):
        fan_in, units = widths[layer - 1], widths[layer]
        forward += units * 2 * fan_in  # a product and a sum per input
        # ∂/∂w = ḡ·a for every weight; ∂/∂a = ḡ·w too, except for the network's input
        backward += units * fan_in * (1 if layer == 1 else 2)
        if layer < len(widths) - 1:
            forward += 4 * units  # σ(z) = 1/(1 + e⁻ᶻ)
            # ḡ·σ(1 − σ): three; and where a unit feeds k units, k − 1 sums of cotangents
            backward += 3 * units + units * (widths[layer + 1] - 1)
    return forward, backward


def test_symbolic_vs_backprop_counts(capsys):
    results = _load("symbolic_vs_backprop").main()
    out = capsys.readouterr().out
    w, b = sp.symbols("w b", real=True)
    neuron = (1 / (1 + sp.exp(-(sp.Rational(3, 2) * w + b))) - 1) ** 2 / 2
    # The neuron's (10, 8) is counted op by op in test_symbolic.test_op_counts_by_hand.
    cases = {"neuron ½(σ(1.5w + b) − 1)²": (neuron, [w, b], (10, 8))}
    for widths in ((2, 2, 2, 1), (2, 3, 3, 1)):
        cases[f"MLP {'-'.join(map(str, widths))}"] = (*_sympy_mlp(widths),
                                                     _mlp_backprop_ops(widths))
    assert results.keys() == cases.keys()
    for label, (expr, params, (forward, backward)) in cases.items():
        partials = [sp.diff(expr, p) for p in params]
        shared, reduced = sp.cse(partials)
        counts = results[label]
        assert (counts.function, counts.symbolic, counts.symbolic_cse) == (
            sp.count_ops(expr), sum(map(sp.count_ops, partials)),
            sum(sp.count_ops(e) for _, e in shared) + sum(map(sp.count_ops, reduced))), label
        assert (counts.forward, counts.backward) == (forward, backward), label
        row = next(line for line in out.splitlines() if line.startswith(label))
        assert f" {counts.symbolic} " in row and f"{forward + backward} = " in row, row
    assert results["MLP 2-3-3-1"].symbolic > 30 * results["MLP 2-3-3-1"].backprop
