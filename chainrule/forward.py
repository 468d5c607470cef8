"""Forward mode: eager tangents tagged with numbered levels.

A Tensor's ``_tangents`` maps level -> tangent Tensor. Each ``jvp`` opens a fresh level, so
nested ``jvp`` calls never mix their tangents (no perturbation confusion). A tangent may carry
extra *leading* dimensions: a batch of directions pushed through in one vectorized pass.

For an op with inputs at level L, the output's level-L tangent is the op's jvp rule evaluated
on the inputs *stripped of level L* (they keep their other levels and their reverse-mode node),
so tangents of other levels, and reverse-mode graphs, flow through the rule by ordinary ops.
``apply`` calls ``propagate`` (in ``apply.py``) for every op while a level is open.
"""
from __future__ import annotations

import itertools

from .engine import leaf_node
from .tensor import new_tensor

_level_ids = itertools.count(1)


def new_level() -> int:
    """A fresh level number; the caller opens it with ``STATE.mode.replace(fw_levels=...)``."""
    return next(_level_ids)


def view(t, tangents):
    """A Tensor sharing ``t``'s data and graph node, with the given tangents."""
    if t._requires_grad and t._node is None:
        leaf_node(t)
    v = new_tensor(t._data)
    v.name = t.name
    v._node = t._node
    v._requires_grad = t._requires_grad
    v._version = t._version
    v._tangents = tangents or None
    return v


def strip(t, level):
    """``t`` without its level-``level`` tangent (other levels and the graph node kept)."""
    tans = t._tangents
    if not tans or level not in tans:
        return t
    if len(tans) == 1:
        return view(t, None)
    return view(t, {k: d for k, d in tans.items() if k != level})


def attach(t, level, tangent):
    """``t`` carrying ``tangent`` at ``level``, in addition to its other levels."""
    tans = dict(t._tangents or {})
    tans[level] = tangent
    return view(t, tans)


def tangent_of(t, level):
    tans = t._tangents
    return tans.get(level) if tans else None
