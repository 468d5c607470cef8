"""docs/for-pytorch-and-jax-users.md: every row of the PyTorch table runs, both cells on the
same inputs, and gives the same result (values, shapes and dtypes; for random draws, shapes
and dtypes); the page's code blocks run too."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

PAGE = Path(__file__).resolve().parent.parent / "docs" / "for-pytorch-and-jax-users.md"
ROW = re.compile(r"^\| `(?P<theirs>[^|]+)` \| `(?P<ours>[^|]+)` \|(?P<notes>[^|]*)\|$")


def section(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def rows(title: str) -> list[tuple[str, str, str]]:
    out = [(m["theirs"], m["ours"], m["notes"].strip())
           for line in section(title).splitlines() if (m := ROW.match(line))]
    assert len(out) >= 10, f"no table found in the {title} section"
    return out


A = np.array([[0.5, -1.0, 2.0, 1.0], [3.0, 0.0, -0.5, 1.5], [-2.0, 1.0, 0.25, 2.5]],
             dtype=np.float32)
I = np.array([[0, 2], [1, 0], [3, 3]])
M = A > 1


def namespace(lib):
    """The names the cells use, built from the same arrays in either library."""
    mod = torch if lib is torch else cr
    model = mod.nn.Linear(4, 2)
    with mod.no_grad():
        model.weight.copy_(torch.ones(2, 4)) if lib is torch else None
    if lib is cr:
        model.weight.data = np.ones((2, 4), np.float32)
    ns = {"x": mod.tensor(A), "i": mod.tensor(I), "m": mod.tensor(M),
          "w": mod.tensor([1.0, 2.0], requires_grad=True), "model": model,
          "F": mod.nn.functional, "nn": mod.nn}
    ns["torch" if lib is torch else "cr"] = mod
    return ns


def run(cell: str, ns: dict):
    if cell.startswith("import "):
        exec(cell, ns)
        return ns[cell.split()[-1]]
    return eval(cell, ns)


def as_numpy_dtype(d):
    return torch.empty(0, dtype=d).numpy().dtype if isinstance(d, torch.dtype) else np.dtype(d)


def same(ours, theirs, random: bool, where: str):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"{where}: got {type(ours).__name__}"
        assert ours.shape == tuple(theirs.shape), where
        assert ours.dtype == theirs.detach().numpy().dtype, (where, ours.dtype, theirs.dtype)
        if not random:
            np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=where)
    elif isinstance(theirs, (tuple, list)):  # torch.Size, return_types, lists of tensors
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), where
        for o, t in zip(ours, theirs):
            same(o, t, random, where)
    elif isinstance(theirs, torch.dtype):
        assert ours == as_numpy_dtype(theirs), where
    elif isinstance(theirs, torch.device):
        assert isinstance(ours, cr.device) and str(ours) == str(theirs), where
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=where)
    elif isinstance(theirs, (bool, int, float)):
        assert ours == pytest.approx(theirs, rel=1e-6), where
    elif type(theirs).__name__ == "module":
        assert ours is cr, where
    elif not random:  # objects (optimizers): the same kind of object
        assert type(ours).__name__ == type(theirs).__name__, where


@pytest.mark.parametrize("theirs,ours,notes", rows("PyTorch"),
                         ids=[r[0][:60] for r in rows("PyTorch")])
def test_pytorch_row(theirs, ours, notes):
    expected = run(theirs, namespace(torch))
    got = run(ours, namespace(cr))
    same(got, expected, "random" in notes, f"{theirs} -> {ours}")


def test_the_comparison_can_fail():
    with pytest.raises(AssertionError):
        same(cr.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]), False, "a wrong value")
    with pytest.raises(AssertionError):
        same(cr.tensor([1, 2]), torch.tensor([1.0, 2.0]), True, "a wrong dtype")


def test_code_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", section("PyTorch"), re.S)
    assert blocks
    for block in blocks:
        exec(block, {})
