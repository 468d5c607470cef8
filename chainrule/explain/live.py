"""Recompute an explanation with new leaf values, by chainrule itself: the recorded graph is
replayed op by op through ``chainrule.apply.apply`` (the same primitives, the same
parameters) with the edited leaf or constant swapped in, and the result is explained again.
Nothing here does an op's maths."""
from __future__ import annotations

import ast

import numpy as np

from ..apply import apply
from ..tensor import tensor
from . import notation
from .trace import explain


class EditError(ValueError):
    """An edit refused before anything changed (bad text, wrong shape, unknown leaf)."""


def _text(a) -> str:
    """A leaf's value as editable text: shortest round-trip numbers, nested lists."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        def one(x):
            return np.format_float_positional(x, unique=True, trim="-")
    else:
        def one(x):
            return str(x.item())
    if a.ndim == 0:
        return one(a[()])

    def nest(x):
        return "[" + ", ".join(nest(v) if np.ndim(v) else one(v) for v in x) + "]"
    return nest(a)


def editable(ex) -> list[dict]:
    """Every leaf the page lets the learner edit: inputs and constants, with their text."""
    return [{"name": r.name, "kind": r.kind, "shape": list(r.shape), "text": _text(r.value)}
            for r in ex.nodes if r.kind in ("input", "const") and r.value is not None]


def _number(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
            not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _number(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_number(e) for e in node.elts]
    raise EditError("expected a number or a nested list of numbers")


def parse_value(text: str, shape: tuple, dtype) -> np.ndarray:
    """The learner's text as an array of ``shape``, or a clear EditError.

    >>> parse_value("[1, -2.5]", (2,), np.float64).tolist()
    [1.0, -2.5]
    >>> parse_value("nan", (), np.float64)
    Traceback (most recent call last):
    ...
    chainrule.explain.live.EditError: not a finite number: use ordinary numbers (no NaN or infinity)
    """
    text = (text or "").strip()
    if not text:
        raise EditError("empty: type a number")
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise EditError("not a finite number: use ordinary numbers (no NaN or infinity)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise EditError(f"{text[:40]!r} is not a number or a list of numbers") from None
    try:
        value = np.asarray(_number(tree.body), dtype=np.float64)
    except ValueError as err:  # ragged lists
        raise EditError(f"{text[:40]!r}: {err}") from None
    if not np.all(np.isfinite(value)):
        raise EditError("not a finite number: use ordinary numbers (no NaN or infinity)")
    if value.shape != tuple(shape):
        if value.size == 1 and int(np.prod(shape)) == 1:
            value = value.reshape(shape)
        else:
            raise EditError(f"expected shape {tuple(shape)}, got {value.shape}")
    out = value.astype(dtype)
    if np.dtype(dtype).kind in "iub" and not np.array_equal(out, value):
        raise EditError(f"expected whole numbers ({np.dtype(dtype)})")
    return out


def recompute(ex, name: str, text: str):
    """A new explanation with leaf ``name`` set to the value ``text`` says; ``ex`` is left as
    it was. Raises EditError (changing nothing) for text that is not a fitting value.

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True, name="w")
    >>> y = w * w; y.name = "y"
    >>> float(recompute(cr.explain(y), "w", "5").node("w").grad)
    10.0
    """
    source = ex.source
    if source is None:
        raise EditError("this explanation cannot be recomputed (it was not made by explain)")
    row = next((r for r in ex.nodes if r.name == name and r.kind in ("input", "const")), None)
    if row is None:
        raise EditError(f"no input or constant named {name!r} here")
    value = parse_value(text, row.shape, np.asarray(row.value).dtype)
    graph = source.graph
    new = {}  # old node -> new output tensor
    swap = {}  # id(old constant tensor) -> new tensor
    params_for = {}  # old node -> its params with the edited constant
    if row.kind == "input":
        leaf = next(n for n in graph.order if graph.names[n] == name)
        old = graph.tensors[leaf]
        new[leaf] = tensor(value, dtype=old.dtype, requires_grad=True, name=old.name)
    else:
        const = next(c for c in graph.consts.items if c.name == name)
        for src in const.sources:
            if src[0] == "tensor":
                swap[id(src[1])] = tensor(value, dtype=src[1].dtype, name=src[1].name)
            else:
                node = src[1]
                key = "c" if src[0] == "c" else src[2]
                v = value
                if src[0] == "c" and notation.is_subtraction(node.prim.name, node.params):
                    v = -value  # shown as a subtraction: the op carries −c
                if src[0] == "c" and isinstance(node.params[key], (int, float)):
                    v = float(np.asarray(v).reshape(-1)[0])
                params_for[node] = {**params_for.get(node, node.params), key: v}
    out = None
    for node in graph.order:
        if node.prim is None:
            if node not in new:
                old = graph.tensors[node]
                new[node] = tensor(old.data, dtype=old.dtype, requires_grad=True, name=old.name)
            continue
        inputs = tuple(new[p] if p is not None else swap.get(id(t), t)
                       for p, t in zip(node.parents, node.inputs))
        out = apply(node.prim, inputs, params_for.get(node, node.params))
        old = graph.tensors.get(node)
        out.name = old.name if old is not None else None
        new[node] = out
    output = new[graph.root]
    focus = None
    if source.focus is not None:
        by_name = {graph.names[n]: new[n] for n in graph.order}
        focus = [by_name[f] for f in source.focus]
    return explain(output, focus=focus, _like=graph)


def apply_edit(ex, message) -> tuple:
    """One edit from a page, ``{"leaf": NAME, "text": VALUE}`` -> ``(new explanation or
    None, HTTP-like status, reply)``; the reply carries the new page data or the error."""
    from .render_html import _compare_for, page_data
    if not isinstance(message, dict) or not isinstance(message.get("leaf"), str) or \
            not isinstance(message.get("text"), str):
        return None, 400, {"error": "expected {\"leaf\": NAME, \"text\": VALUE}"}
    try:
        new = recompute(ex, message["leaf"], message["text"])
    except EditError as err:
        return None, 400, {"error": f"{message['leaf']}: {err}; nothing was changed"}
    return new, 200, {"data": page_data(new, live=True, compare=_compare_for(new))}
