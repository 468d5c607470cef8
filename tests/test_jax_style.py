"""The JAX-style per-example-gradient program (examples/jax_style/per_example_grads.py):
right against a loop and torch.func.vmap, and the very same program, its import lines
swapped for JAX's, prints the same numbers under JAX."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.func import grad as tgrad
from torch.func import vmap as tvmap

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "jax_style" / "per_example_grads.py"

# chainrule's import lines -> JAX's: the only lines the two programs differ in.
TO_JAX = {
    "import chainrule as jnp": "import jax.numpy as jnp",
    "from chainrule import grad, log_softmax, vmap":
        "from jax import grad, vmap\nfrom jax.nn import log_softmax",
    "from chainrule.tree import leaves as tree_leaves":
        "from jax.tree_util import tree_leaves",
    "from chainrule.tree import map as tree_map": "from jax.tree_util import tree_map",
}


def _run(source: str, name: str):
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, str(PROGRAM), "exec"), module.__dict__)  # noqa: S102
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = module.main()
    return result, out.getvalue()


@pytest.fixture(scope="module")
def ran():
    return _run(PROGRAM.read_text(encoding="utf-8"), "per_example_grads")


def test_it_checks_itself(ran):
    result, printed = ran
    assert result["vs_loop"] < 1e-12 and result["vs_mean"] < 1e-12
    assert result["clipped_norms"].max() <= 1 + 1e-12
    assert "per-example dW (32, 8, 16)" in printed


def test_matches_torch_func_vmap(ran):
    result, _ = ran
    params = [tuple(torch.tensor(a) for a in layer) for layer in result["params"]]

    def loss(params, x, y):
        for w, b in params[:-1]:
            x = torch.tanh(x @ w + b)
        w, b = params[-1]
        return -(torch.log_softmax(x @ w + b, dim=-1) * y).sum()

    ref = tvmap(tgrad(loss), in_dims=(None, 0, 0))(
        params, torch.tensor(result["xs"]), torch.tensor(result["ys"]))
    for mine, theirs in zip(result["grads"], ref):
        for g, t in zip(mine, theirs):
            np.testing.assert_allclose(np.asarray(g), t.numpy(), rtol=1e-10, atol=1e-12)


def test_only_the_import_lines_differ_from_the_jax_program(ran):
    source = PROGRAM.read_text(encoding="utf-8")
    code_lines = [ln for ln in source.splitlines() if ln in TO_JAX]
    assert sorted(code_lines) == sorted(TO_JAX), "the import lines changed: update TO_JAX"
    body = [ln for ln in source.split('"""', 2)[2].splitlines()
            if ln and not ln.startswith(("import ", "from "))]
    assert not any("chainrule" in ln or "cr." in ln for ln in body)
    try:
        import jax
    except ImportError:
        if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
            pytest.fail("JAX is required here (CHAINRULE_REQUIRE_ALL=1): pip install jax")
        pytest.skip("JAX is not installed (pip install jax): the JAX run is not checked")
    jax_source = "\n".join(TO_JAX.get(ln, ln) for ln in source.splitlines())
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)  # float64, as the NumPy inputs
    try:
        theirs, printed = _run(jax_source, "per_example_grads_jax")
    finally:
        jax.config.update("jax_enable_x64", previous)
    mine, my_printed = ran
    assert printed.splitlines()[:3] == my_printed.splitlines()[:3]  # the shapes
    for a, b in zip(sys.modules["jax"].tree_util.tree_leaves(theirs["grads"]),
                    [np.asarray(g) for layer in mine["grads"] for g in layer]):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(theirs["norms"], mine["norms"], rtol=1e-10)
