"""Forward mode, traced (filled in below)."""
from __future__ import annotations


def comparison(ex):
    return None


def explain_forward(output, wrt):
    raise NotImplementedError
