"""The worked examples in examples/: every backprop value matches its hand-derived value,
every script runs on its own and prints the key numbers, and run_all/README list them all."""
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


# Numbers each script must print, computed here independently of the examples' own code,
# so a wrong hand formula in an example cannot agree with itself unnoticed.
_T = 0.5
_X, _Y = _T ** 2, math.exp(_T)
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
}


def test_every_example_is_listed():
    module = _load("run_all")
    assert sorted(stem for stem, _ in module.EXAMPLES) == STEMS
    assert sorted(KEY_OUTPUT) == STEMS
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for stem in STEMS + ["run_all"]:
        assert f"{stem}.py" in readme, f"examples/README.md does not list {stem}.py"


@pytest.mark.parametrize("stem", STEMS)
def test_backprop_matches_hand(stem, capsys):
    results = _load(stem).main()
    assert results, f"{stem}.main() returned nothing to check"
    for name, (backprop, hand) in results.items():
        backprop, hand = np.asarray(backprop, float), np.asarray(hand, float)
        # assert_allclose treats NaN == NaN as equal: refuse NaN/Inf first.
        assert np.all(np.isfinite(backprop)) and np.all(np.isfinite(hand)), name
        assert backprop.shape == hand.shape, name
        # atol only matters for entries that are exactly zero (the Hessian's off-band).
        np.testing.assert_allclose(backprop, hand, rtol=1e-10, atol=1e-12, err_msg=name)
    assert capsys.readouterr().out.strip(), f"{stem}.main() printed nothing"


@pytest.mark.parametrize("stem", STEMS + ["run_all"])
def test_script_runs(stem):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, f"examples/{stem}.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert proc.returncode == 0, proc.stderr
    expected = [k for s in STEMS for k in KEY_OUTPUT[s]] if stem == "run_all" \
        else KEY_OUTPUT[stem]
    for text in expected:
        assert text in proc.stdout, f"{stem}.py output lacks {text!r}:\n{proc.stdout}"


def test_run_all_returns_every_example(capsys):
    results = _load("run_all").run_all()
    assert sorted(results) == STEMS
    out = capsys.readouterr().out
    assert out.count("\n== ") == len(STEMS)  # one heading per example
