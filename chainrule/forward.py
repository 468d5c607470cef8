"""Forward mode: eager tangents tagged with numbered levels.

A Tensor's ``_tangents`` maps level -> tangent Tensor. Each ``jvp`` opens a fresh level, so
nested ``jvp`` calls never mix their tangents (no perturbation confusion). A tangent may carry
extra *leading* dimensions: a batch of directions pushed through in one vectorized pass.

For an op with inputs at level L, the output's level-L tangent is the op's jvp rule evaluated
on the inputs *stripped of level L* (they keep their other levels and their reverse-mode node),
so tangents of other levels, and reverse-mode graphs, flow through the rule by ordinary ops.
"""
from __future__ import annotations

import contextlib
import itertools

from .engine import STATE, _new_tensor, apply, leaf_node, set_mode

_level_ids = itertools.count(1)


@contextlib.contextmanager
def new_level():
    level = next(_level_ids)
    prev = STATE.fw_levels
    set_mode(fw_levels=prev + (level,))
    try:
        yield level
    finally:
        set_mode(fw_levels=prev)


def view(t, tangents):
    """A Tensor sharing ``t``'s data and graph node, with the given tangents."""
    if t._requires_grad and t._node is None:
        leaf_node(t)
    v = _new_tensor(t.data)
    v.name = t.name
    v._node = t._node
    v._requires_grad = t._requires_grad
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


def propagate(prim, inputs, params, out):
    active = STATE.fw_levels
    if len(active) == 1:
        levels = active  # the usual case: one jvp open, nothing to sort
    else:
        levels = sorted({lv for t in inputs if t._tangents for lv in t._tangents
                         if lv in active})
    result = {}
    for level in levels:
        xs = tuple([strip(t, level) for t in inputs])
        dxs = tuple([tangent_of(t, level) for t in inputs])
        if not any(d is not None for d in dxs):
            continue
        o = apply(prim, xs, params) if prim.uses_out else None
        dout = prim.jvp(xs, dxs, o, params)
        if dout is not None:
            result[level] = dout
    out._tangents = result or None
