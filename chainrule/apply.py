"""Applying a primitive to Tensors: the forward value, the recorded node, the tangents.

``apply`` is the one door every op goes through: it runs the NumPy forward once, wraps the
result, records a node when an input requires grad (engine), and, while a jvp is open, computes
the output's tangents from the primitive's jvp rule (forward mode).
"""
from __future__ import annotations

import numpy as np

from . import engine
from .engine import BATCHING, CREATED_AT, STATE, VOCABULARY, check_finite, op_error, record
from .forward import strip, tangent_of
from .tensor import new_tensor


def apply(prim, inputs: tuple, params: dict | None = None, data=None):
    """Run ``prim`` on Tensors, record a node if needed and propagate forward-mode tangents.

    ``data``: the forward value when the caller holds it already (forward mode reusing the
    primal; slogdet, whose one factorisation gives the sign as well); it must be exactly what
    ``prim.forward`` would return.
    """
    if data is None:
        try:
            if BATCHING.used and _holds_batch(inputs):  # under vmap (chainrule/batching.py)
                data = BATCHING.apply(prim, prim.forward, [t._data for t in inputs],
                                      params or {})
            elif len(inputs) == 1:
                data = prim.forward(inputs[0]._data) if not params else \
                    prim.forward(inputs[0]._data, params[prim.param]) if prim.param else \
                    prim.forward(inputs[0]._data, **params)
            elif len(inputs) == 2 and not params:  # binary ops: no list to build
                data = prim.forward(inputs[0]._data, inputs[1]._data)
            elif params:
                data = prim.forward(*[t._data for t in inputs], **params)
            else:
                data = prim.forward(*[t._data for t in inputs])
        except (ValueError, IndexError) as err:
            raise op_error(prim, inputs, err) from None
    out = new_tensor(data)
    if prim.views and out._data.base is not None:
        _share_version(inputs, out)
    mode = STATE.mode
    plain = mode.plain
    if plain or mode.grad_enabled:
        for t in inputs:
            if t._requires_grad:
                record(prim, inputs, params, out)
                break
    return out if plain else _apply_modes(prim, inputs, params, out, mode)


def _holds_batch(inputs) -> bool:
    """Whether an input's value holds a vmap batch (an ndarray subclass that knows its
    levels); only asked once a vmap has run in this process."""
    for t in inputs:
        d = t._data
        if type(d) is not np.ndarray and hasattr(d, "batch_levels"):
            return True
    return False


def _share_version(inputs, out):
    """A view's writes are its base's writes: they share one version counter."""
    base = inputs[0]
    if base._version is None:
        base._version = engine.new_version()
    out._version = base._version


def _apply_modes(prim, inputs, params, out, mode):
    """``apply``'s tail when anomaly or forward mode is on (or grad is off: then nothing)."""
    if mode.fw_levels:
        for t in inputs:
            if t._tangents:
                propagate(prim, inputs, params, out, mode.fw_levels)
                break
    if mode.anomaly:
        if out._node is not None:  # recorded just now: remember the user's line
            CREATED_AT[out._node] = engine.user_location()
        check_finite(prim, inputs, out._data, "forward", out._node)
    return out


def propagate(prim, inputs, params, out, active):
    """Set ``out``'s tangents at every open level its inputs carry tangents at."""
    if len(active) == 1:
        levels = active  # the usual case: one jvp open, nothing to sort
    else:
        levels = sorted({lv for t in inputs if t._tangents for lv in t._tangents
                         if lv in active})
    ops = VOCABULARY["tensor"]
    result = {}
    for level in levels:
        xs = tuple([strip(t, level) for t in inputs])
        dxs = tuple([tangent_of(t, level) for t in inputs])
        if all(d is None for d in dxs):
            continue
        o = None
        if prim.uses_out:
            # The rule's ``out`` must carry the other levels' tangents: reuse the value and
            # let apply compute those (the forward itself never runs twice).
            o = out if not any(x._tangents for x in xs) else apply(prim, xs, params, out._data)
        dout = prim.jvp(ops, dxs, o, xs, params)
        if dout is not None:
            result[level] = dout
    out._tangents = result or None
