"""cr.special without SciPy: importing chainrule never needs it, and a function that does
says which extra to install."""
from __future__ import annotations

import builtins
import subprocess
import sys

import pytest

import chainrule as cr


def test_missing_scipy_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match=r"chainrule\[special\]"):
        cr.special.gammaln(cr.tensor([1.5]))


def test_importing_chainrule_does_not_import_scipy():
    code = "import sys, chainrule; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
