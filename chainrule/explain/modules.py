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
    path: str  # "layers.0" ("" for the outermost module itself; "Linear[2].0" and "Linear[2]"
    # where several outermost modules were called: see module_groups)
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
    order of the graph, each after the group enclosing it.

    Names are paths in the outermost module called (``layers.0 (Linear)``, ``0.weight``).
    Where several distinct modules are called at the outermost level (``dec(relu(enc(x)))``),
    each is labelled by its type, numbered in the order of the graph where several share a
    type (``Linear[1]``, ``Linear[2]``), and that label starts the paths and parameter names
    inside it (``Linear[2].weight``). ``#n`` marks the n-th call of the same module object
    (shared weights, a loop)."""
    calls = _calls(order)
    if not calls:
        return [], {}, {}
    innermost = _nest(calls)
    roots = list({id(m): m for m in (_root(c).module for c in calls)}.values())
    labels = _numbered([(id(m), type(m).__name__) for m in roots])
    paths, param_names = {}, {}
    for root in roots:
        prefix = labels[id(root)] if len(roots) > 1 else ""
        for name, m in root.named_modules():
            paths.setdefault(id(m), _join(prefix, name))
        for name, p in root.named_parameters():
            param_names.setdefault(id(p), _join(prefix, name))
    ordered = _parents_first(calls)
    base = {}  # id(module) -> its key before numbering, for each distinct module called
    for call in ordered:
        path, kind = paths.get(id(call.module), ""), type(call.module).__name__
        base.setdefault(id(call.module), kind if not path else
                        path if id(call.module) in labels else f"{path} ({kind})")
    names = _numbered(list(base.items()))  # distinct modules that would share a key
    keys, depth, calls_of, groups = {}, {}, Counter(), []
    for call in ordered:
        key = names[id(call.module)]
        calls_of[id(call.module)] += 1
        if calls_of[id(call.module)] > 1:  # the same module called again
            key += f" #{calls_of[id(call.module)]}"
        keys[id(call)] = key
        parent = None if call.parent is None else keys[id(call.parent)]
        depth[key] = 0 if parent is None else depth[parent] + 1
        path = paths.get(id(call.module), "")
        groups.append(Group(key, path, parent, depth[key]))
    return groups, {node: keys[id(c)] for node, c in innermost.items()}, param_names


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _numbered(items: list[tuple]) -> dict:
    """``{id: name}`` from ``(id, name)`` pairs, in order; a name that several ids share is
    numbered ``name[1]``, ``name[2]``, ... (before any `` (Type)`` suffix)."""
    total = Counter(name for _, name in items)
    seen, out = Counter(), {}
    for key, name in items:
        if total[name] > 1:
            seen[name] += 1
            head, sep, kind = name.partition(" (")
            name = f"{head}[{seen[name]}]{sep}{kind}"
        out[key] = name
    return out


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
