"""docs/for-pytorch-and-jax-users.md, section "JAX": every row of the table runs, the JAX
cell under JAX and the chainrule cell under chainrule, on the same inputs, and gives the same
result (pytrees compared leaf by leaf: structure, shape, dtype and value); the custom-rule
code blocks run in pairs and agree too."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

PAGE = Path(__file__).resolve().parent.parent / "docs" / "for-pytorch-and-jax-users.md"
ROW = re.compile(r"^\| `(?P<theirs>[^|]+)` \| `(?P<ours>[^|]+)` \|(?P<notes>[^|]*)\|$")
BLOCK = re.compile(r"```python\n# (JAX|chainrule)\n(.*?)```", re.S)


def _section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("## JAX\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


ROWS = [(m["theirs"], m["ours"]) for line in _section().splitlines() if (m := ROW.match(line))]
BLOCKS = BLOCK.findall(_section())


def _jax():
    try:
        import jax
    except ImportError:
        if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
            pytest.fail("JAX is required here (CHAINRULE_REQUIRE_ALL=1): pip install jax")
        pytest.skip("JAX is not installed (pip install jax): the JAX cells are not run")
    return jax


X = np.array([0.5, -1.25, 2.0], dtype=np.float32)
XS = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
W = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 1.0]], dtype=np.float32)
B = np.array([0.1, -0.3], dtype=np.float32)


def namespace(lib: str) -> dict:
    """The names the cells use, the same arrays in either library."""
    if lib == "jax":
        jax = _jax()
        import jax.numpy as mod
        ns = {"jax": jax, "jnp": mod}
        arr = mod.asarray
    else:
        mod = cr
        ns = {"cr": cr}
        arr = cr.tensor
    ns.update(np=np, x=arr(X), xs=arr(XS), params={"W": arr(W), "b": arr(B)})
    ns["f"] = lambda x: mod.sum(mod.sin(x) * x)
    ns["g"] = lambda x: mod.tanh(x) * mod.sum(x * x)
    ns["loss"] = lambda p, x: mod.sum(mod.tanh(x @ p["W"] + p["b"]) ** 2)
    return ns


def same(ours, theirs, where: str):
    """Equal pytrees: the same containers, and leaves of equal shape, dtype and value."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), where
        for k in theirs:
            same(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (where, ours)
        for i, (o, t) in enumerate(zip(ours, theirs)):
            same(o, t, f"{where}[{i}]")
    elif theirs is None or isinstance(theirs, (int, str)):
        assert ours == theirs, where
    else:
        assert isinstance(ours, cr.Tensor), (where, type(ours))
        theirs = np.asarray(theirs)
        assert ours.shape == theirs.shape, (where, ours.shape, theirs.shape)
        assert ours.dtype == theirs.dtype, (where, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.data, theirs, rtol=2e-5, atol=1e-6, err_msg=where)


def test_the_table_is_there():
    assert len(ROWS) >= 30
    assert len(BLOCKS) == 4 and [lang for lang, _ in BLOCKS] == ["JAX", "chainrule"] * 2


@pytest.mark.parametrize("theirs, ours", ROWS, ids=[o for _, o in ROWS])
def test_row(theirs, ours):
    expected = eval(theirs, namespace("jax"))  # noqa: S307  (the page's own cells)
    got = eval(ours, namespace("chainrule"))  # noqa: S307
    same(got, expected, ours)


@pytest.mark.parametrize("pair", [0, 1])
def test_custom_rule_blocks(pair):
    (_, theirs), (_, ours) = BLOCKS[2 * pair], BLOCKS[2 * pair + 1]
    ns_jax, ns_cr = namespace("jax"), namespace("chainrule")
    exec(theirs, ns_jax)  # noqa: S102
    exec(ours, ns_cr)  # noqa: S102
    same(ns_cr["result"], ns_jax["result"], f"custom rule block {pair}")
