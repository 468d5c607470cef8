"""Group a graph's nodes by the ``nn.Module`` call that computed them, for clusters.

``Module.__call__`` notes each call's output node and input nodes (nothing per op). A call's
nodes are those reached from its output, walking towards the inputs and stopping at its
inputs: the ops of its ``forward`` and the parameters they read. Calls nest (a Sequential's
region holds its layers'), and every node goes to the innermost call that holds it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..nn.module import module_calls


@dataclass
class Group:
    """The nodes one module call computed, drawn as a cluster labelled ``key``."""
    key: str  # "layers.0 (Linear)": the module's path in the outermost module called
    path: str  # "layers.0" ("" for the outermost module itself)
    parent: str | None  # the key of the enclosing call's group
    depth: int  # 0 for an outermost call


@dataclass
class _Call:
    module: object
    out: object  # the output node
    rank: int  # 0 for the innermost of the calls returning the same node
    region: set
    parent: _Call | None = None


def _region(out, inputs: set) -> set:
    """Nodes reachable from ``out`` without passing through ``inputs`` (iterative)."""
    region, stack = {out}, [out]
    while stack:
        for p in stack.pop().parents:
            if p is not None and p not in inputs and p not in region:
                region.add(p)
                stack.append(p)
    return region


def _calls(order) -> list[_Call]:
    calls = []
    for node in order:
        for rank, (module, inputs) in enumerate(module_calls(node)):
            inputs = {n for n in inputs if n is not None}
            if node not in inputs:  # an identity (Dropout in eval) computed nothing
                calls.append(_Call(module, node, rank, _region(node, inputs)))
    return calls


def _size(call: _Call) -> tuple:
    return len(call.region), call.rank


def _nest(calls: list[_Call]) -> dict:
    """Each call's parent: the smallest other call whose region holds its output and is
    larger (or the same, for an outer call returning the same node). Returns, for every
    node, the innermost call holding it."""
    holders: dict = {}
    for call in calls:
        for node in call.region:
            holders.setdefault(node, []).append(call)
    for call in calls:
        outer = [c for c in holders[call.out] if _size(c) > _size(call)]
        call.parent = min(outer, key=_size, default=None)
    return {node: min(cs, key=_size) for node, cs in holders.items()}


def _root(call: _Call) -> _Call:
    while call.parent is not None:
        call = call.parent
    return call


def module_groups(order) -> tuple[list[Group], dict, dict]:
    """``(groups, {node: group key}, {id(parameter): its name})``; the groups come in the
    order of the graph, each after the group enclosing it."""
    calls = _calls(order)
    if not calls:
        return [], {}, {}
    innermost = _nest(calls)
    paths, param_names = {}, {}
    for root in {id(c): c for c in (_root(c) for c in calls)}.values():
        for name, m in root.module.named_modules():
            paths.setdefault(id(m), name)
        for name, p in root.module.named_parameters():
            param_names.setdefault(id(p), name)
    keys, depth, seen, groups = {}, {}, Counter(), []
    for call in _parents_first(calls):
        path = paths.get(id(call.module), "")
        kind = type(call.module).__name__
        key = f"{path} ({kind})" if path else kind
        seen[key] += 1
        if seen[key] > 1:  # the same module called again (shared weights, a loop)
            key += f" #{seen[key]}"
        keys[id(call)] = key
        parent = None if call.parent is None else keys[id(call.parent)]
        depth[key] = 0 if parent is None else depth[parent] + 1
        groups.append(Group(key, path, parent, depth[key]))
    return groups, {node: keys[id(c)] for node, c in innermost.items()}, param_names


def _parents_first(calls: list[_Call]) -> list[_Call]:
    out, placed = [], set()
    pending = list(calls)  # in the graph's order
    while pending:
        later = []
        for call in pending:
            if call.parent is None or id(call.parent) in placed:
                out.append(call)
                placed.add(id(call))
            else:
                later.append(call)
        pending = later
    return out
