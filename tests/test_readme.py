"""The README's Python examples run as written (the front door must not lie)."""
from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the training example writes a checkpoint
    exec(compile(code, str(README), "exec"), {})
    assert capsys.readouterr().out or "ckpt" in code


def test_readme_has_both_examples():
    assert len(BLOCKS) >= 2
