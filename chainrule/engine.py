"""The graph: grad modes, nodes, version counters, and the one backward sweep.

The engine knows nodes and values, not the Tensor class: it reads a tensor's ``_data``,
``_node``, ``_requires_grad`` and ``_version`` and nothing else. Tensors are made one layer up
(``tensor.py``); ``apply.py`` runs a primitive and calls ``record`` here.

Invariants
- A tensor that requires grad owns a node: the Node of the op that made it, or a leaf Node
  (``prim is None``) made the first time it is used. Nodes hold their inputs strongly and
  their output weakly, so a graph lives exactly as long as the outputs that reach it.
- Internal maps are keyed by Node identity, never by Tensor (Tensor overloads ``==``).
- No recursion: the topological sort is an explicit stack, so 100,000-op chains work.
- Modes change by one store of an immutable ``Mode`` and are restored in ``finally`` blocks
  with no call in between, so a KeyboardInterrupt can never leave a mode half-changed.
"""
from __future__ import annotations

import functools
import itertools
import operator
import os
import threading
import traceback
import weakref

import numpy as np

from .errors import AnomalyError, ChainruleError, GraphFreedError, ShapeError, describe

# --------------------------------------------------------------------------------------------
# Modes.


class Mode:
    """Grad recording, anomaly mode and the open forward-mode levels of one thread.

    ``plain`` (grad on, no anomaly mode, no forward mode) is the one case the hot path handles
    inline, read as one flag."""
    __slots__ = ("grad_enabled", "anomaly", "fw_levels", "plain")

    def __init__(self, grad_enabled: bool = True, anomaly: bool = False, fw_levels=()):
        self.grad_enabled = grad_enabled
        self.anomaly = anomaly
        self.fw_levels = fw_levels  # active forward-mode levels, innermost last
        self.plain = grad_enabled and not anomaly and not fw_levels

    def replace(self, grad_enabled=None, anomaly=None, fw_levels=None) -> Mode:
        """This mode with some settings changed (modes are immutable: a change is one store
        of a new Mode). Modes without forward levels are shared (made once), since every
        backward pass and optimizer step switches one."""
        g = self.grad_enabled if grad_enabled is None else grad_enabled
        a = self.anomaly if anomaly is None else anomaly
        levels = self.fw_levels if fw_levels is None else fw_levels
        if levels:
            return Mode(g, a, levels)
        return _BASIC_MODES[g, a]


_BASIC_MODES = {(g, a): Mode(g, a) for g in (False, True) for a in (False, True)}


class _State(threading.local):
    mode = _BASIC_MODES[True, False]
    # How many reverse transforms (grad, vjp) are running a function right now: inside one,
    # every result must stay differentiable (see ``transforms.differentiable``).
    depth = 0


STATE = _State()


class _GradMode:
    """A ``with`` block (or a decorator) that turns recording on or off and restores it."""
    __slots__ = ("enabled", "prev")

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        prev = STATE.mode
        new = prev.replace(grad_enabled=self.enabled)
        self.prev = prev
        STATE.mode = new  # last: an interrupt before this store changed nothing

    def __exit__(self, *exc):
        STATE.mode = self.prev

    def __call__(self, fn):
        """As a decorator: a fresh block per call (re-entrant, thread-safe), restored in a
        ``finally`` with no call in between (interrupt-safe)."""
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = STATE.mode
            new = prev.replace(grad_enabled=enabled)
            STATE.mode = new
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.mode = prev
        return wrapper


class _SetGradEnabled(_GradMode):
    """``set_grad_enabled``: takes effect at once (as PyTorch's); a ``with`` block restores."""
    __slots__ = ()

    def __init__(self, enabled: bool):
        self.enabled, self.prev = enabled, STATE.mode
        STATE.mode = self.prev.replace(grad_enabled=enabled)

    def __enter__(self):
        pass


def no_grad() -> _GradMode:
    """Context manager (and decorator) in which ops record no graph.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 3
    >>> y.requires_grad
    False
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager (and decorator) that turns recording back on inside ``no_grad``.

    >>> import chainrule as cr
    >>> with cr.no_grad():
    ...     with cr.enable_grad():
    ...         print(cr.is_grad_enabled())
    True
    """
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    """Turn recording on or off now; used as ``with set_grad_enabled(b):`` it is restored at
    the end of the block.

    >>> import chainrule as cr
    >>> with cr.set_grad_enabled(False):
    ...     print(cr.is_grad_enabled())
    False
    """
    return _SetGradEnabled(bool(enabled))


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread now.

    >>> import chainrule as cr
    >>> cr.is_grad_enabled()
    True
    """
    return STATE.mode.grad_enabled


class detect_anomaly:  # noqa: N801  (a context manager named like PyTorch's)
    """Raise ``AnomalyError`` at the first op whose forward or backward yields NaN or Inf.

    The error names the op, its inputs' names and shapes, and the line of user code that
    created the op (recorded while the mode is on).

    >>> import chainrule as cr
    >>> with cr.detect_anomaly():
    ...     cr.log(cr.tensor(-1.0))
    Traceback (most recent call last):
    ...
    chainrule.errors.AnomalyError: log produced NaN in its forward pass; ...
    """
    __slots__ = ("prev",)

    def __enter__(self):
        prev = STATE.mode
        new = prev.replace(anomaly=True)
        self.prev = prev
        STATE.mode = new

    def __exit__(self, *exc):
        STATE.mode = self.prev


# --------------------------------------------------------------------------------------------
# Nodes and recording.

class Node:
    """One recorded op: its primitive, inputs (Tensors), parents (their nodes, None where an
    input needs no gradient), params, and what its rules need of the output."""
    __slots__ = ("prim", "inputs", "parents", "needs", "params", "out_data", "out_ref",
                 "stamp", "seq", "calls", "__weakref__")  # calls: nn.Module calls that returned it

    def __repr__(self):
        return f"<Node {self.prim.name if self.prim else 'leaf'}>"


class LeafNode(Node):
    """Where a leaf's gradient ends (a tensor that requires grad and was made by no op)."""
    __slots__ = ("tensor_ref",)


# Rarely used per-node extras live beside the nodes, so the hot path never sets them.
HOOKS: weakref.WeakKeyDictionary[Node, list] = weakref.WeakKeyDictionary()
# Whether any hook was ever added: until then the hot paths skip the WeakKeyDictionary, whose
# every test (even ``len``) is a Python-level call of about 1,300 instructions.
HOOKED = [False]
CREATED_AT: weakref.WeakKeyDictionary[Node, str] = weakref.WeakKeyDictionary()


def leaf_node(t) -> Node:
    """The node of a leaf tensor that requires grad (made on first use)."""
    node = t._node
    if node is None:
        node = LeafNode()
        node.prim = None
        node.parents = node.needs = node.inputs = ()
        node.out_data = None
        node.stamp = 0
        node.seq = _next_seq()
        node.tensor_ref = weakref.ref(t)
        t._node = node
    return node


_ONE_NEED = (True,)
_BOTH_NEED, _FIRST_NEED, _SECOND_NEED = (True, True), (True, False), (False, True)
_next_seq = itertools.count(1).__next__


def record(prim, inputs: tuple, params, out) -> None:
    """Make ``out`` the output of a new node of ``prim`` (some input requires grad)."""
    node = Node()
    node.prim = prim
    node.inputs = inputs
    if len(inputs) == 1:
        t = inputs[0]
        node.parents = (t._node or leaf_node(t),)
        node.needs = _ONE_NEED
    elif len(inputs) == 2:  # binary ops: no list, and the needs from three shared tuples
        a, b = inputs
        pa = (a._node or leaf_node(a)) if a._requires_grad else None
        pb = (b._node or leaf_node(b)) if b._requires_grad else None
        node.parents = (pa, pb)
        node.needs = (_BOTH_NEED if pb is not None else _FIRST_NEED) if pa is not None \
            else _SECOND_NEED
    else:
        node.parents = tuple([(t._node or leaf_node(t)) if t._requires_grad else None
                              for t in inputs])
        node.needs = tuple([p is not None for p in node.parents])
    node.params = params
    node.stamp = CLOCK
    node.seq = _next_seq()  # the order of recording: a topological order (toposort)
    if prim.uses_out:
        node.out_data = out._data
        node.out_ref = weakref.ref(out)
    else:
        node.out_data = None
    out._node = node
    out._requires_grad = True


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_location() -> str:
    """``file:line in function: code`` of the innermost frame outside chainrule."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


def op_error(prim, inputs, err):
    """A forward's ValueError with the operands' names. NumPy's come from mismatched operands;
    a ChainruleError (LinAlgError) names its op already and keeps its class."""
    names = ", ".join(describe(t) for t in inputs)
    if isinstance(err, ChainruleError):
        return type(err)(f"{err} (inputs: {names})")
    return ShapeError(f"{prim.name}: {err} (inputs: {names})")


def check_finite(prim, inputs, value, phase, node):
    """Anomaly mode: raise at the first NaN/Inf, naming the op and where it was created."""
    value = getattr(value, "_data", value)
    if value is None or value.dtype.kind not in "fc" or np.isfinite(value).all():
        return
    where = (CREATED_AT.get(node) if node is not None else None) or user_location()
    names = ", ".join(describe(t) for t in inputs)
    bad = "NaN" if np.isnan(value).any() else "Inf"
    raise AnomalyError(f"{prim.name} produced {bad} in its {phase} pass; inputs: {names}; "
                       f"created at {where}")


# --------------------------------------------------------------------------------------------
# Version counters: an in-place write after an op recorded its inputs makes that op's saved
# values wrong, so the backward pass must refuse it (as PyTorch does).
#
# CLOCK ticks once per in-place write anywhere. A node stamps the clock when recorded; a
# tensor's counter remembers the clock of its last write. A saved input written after its
# node was stamped has ``last > stamp``. Views share their base's counter (apply.py).

CLOCK = 0


def new_version() -> list:
    """A version counter: [writes, clock of the last write, clock of the one before it]. A
    plain list, not a class: views make one per base tensor, on the hot path."""
    return [0, 0, 0]


def bump_version(t) -> None:
    """Record an in-place write to ``t``'s memory (every in-place path calls this)."""
    bump_versions((t,))


def bump_versions(tensors) -> None:
    """Record an in-place write to each of ``tensors``, in order (one call for a whole
    optimizer step: ``cr.compile``'s replay)."""
    global CLOCK
    clock = CLOCK
    for t in tensors:
        clock += 1
        v = t._version
        if v is None:
            v = t._version = [0, 0, 0]
        v[0] += 1
        v[2], v[1] = v[1], clock
    CLOCK = clock


def _check_versions(node) -> None:
    """Raise if a value ``node``'s rules read was written in place after it was recorded."""
    out = node.out_ref() if node.prim.uses_out else None
    for t in node.inputs + ((out,) if out is not None else ()):
        v = t._version
        if v is not None and v[1] > node.stamp:
            count, _, before = v
            # One write since recording (the usual case) is exact; more: an upper bound.
            then = f"{count - 1}" if before <= node.stamp else f"{count - 2} or earlier"
            role = "output" if t is out else "input"
            raise RuntimeError(
                f"{node.prim.name}: its {role} {describe(t)} was modified by an in-place "
                f"operation after {node.prim.name} saved it for the backward pass: it is at "
                f"version {count}; {node.prim.name} saved version {then}. Compute the "
                "gradient before changing it, or change a copy (t.clone()).")


# --------------------------------------------------------------------------------------------
# The vocabulary rules compute with (RAW on arrays, TENSOR on Tensors) is defined in
# ``chainrule.ops.vocab``, one layer up, and installed here once when it is imported.
VOCABULARY: dict = {}


def install_vocabulary(raw, tensor) -> None:
    VOCABULARY["raw"], VOCABULARY["tensor"] = raw, tensor


class _Batching:
    """vmap's hooks, installed by ``chainrule/batching.py`` (one layer up): ``apply`` runs an
    op on batched values by its batching rule; ``used`` turns on the per-op check for batched
    inputs only once a vmap has run (until then ``apply`` pays one flag test); ``open`` holds
    the levels of the vmaps running now."""
    apply = None
    used = False
    open: list = []


BATCHING = _Batching()


def tensor_mode_needed(create_graph: bool) -> bool:
    """A sweep computes on Tensors when its results must be differentiable or carry
    forward-mode tangents; on raw arrays otherwise (a plain ``backward()``: fast)."""
    return create_graph or bool(STATE.mode.fw_levels)


# --------------------------------------------------------------------------------------------
# The backward sweep.

def toposort(roots) -> list:
    """Nodes reachable from ``roots``, parents before children. Every node is recorded after
    its parents (a leaf's node is made when first used), so the order of recording is a
    topological order: the walk only collects (an explicit stack, no recursion), and one
    C-level sort orders."""
    seen = set(roots)
    stack = list(seen)
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        for p in pop().parents:
            if p is not None and p not in seen:
                add(p)
                push(p)
    return sorted(seen, key=_SEQ)


_SEQ = operator.attrgetter("seq")


def _needed(order, targets) -> set:
    """The nodes on a path to one of ``targets``: only their cotangents are computed."""
    needed = set(targets)
    for node in order:
        if node not in needed and any(p in needed for p in node.parents):
            needed.add(node)
    return needed


def sweep(roots, root_grads, targets=None, *, retain_graph=False, create_graph=False,
          observer=None, order=None) -> dict:
    """v̄ᵢ = Σⱼ v̄ⱼ·∂vⱼ/∂vᵢ from ``roots`` (seeded with ``root_grads``) back to ``targets``.

    Returns {target node: its cotangent}; without ``targets``, {leaf node: its cotangent} for
    every leaf reached. The rules run on raw arrays unless the result must be differentiable
    (``create_graph``) or carry tangents (a jvp is open). ``observer(node, g, gs)`` sees each
    step (``cr.explain``); ``order`` is the graph, when the caller has sorted it already.
    """
    tensor_mode = tensor_mode_needed(create_graph)
    ops = VOCABULARY["tensor" if tensor_mode else "raw"]
    order = toposort(roots) if order is None else order
    wanted = None if targets is None else set(targets)
    needed = None if targets is None else _needed(order, wanted)
    grads, results, clock, anomaly = {}, {}, CLOCK, STATE.mode.anomaly
    for node, g in zip(roots, root_grads):
        _add(grads, node, g)
    hooks = HOOKS if HOOKED[0] and len(HOOKS) else ()  # WeakKeyDictionary tests are slow
    filtered = wanted is not None or bool(hooks)  # the rarer paths, tested once per node
    watched = observer is not None or anomaly
    pop = grads.pop
    prev = STATE.mode
    new = prev.replace(grad_enabled=create_graph)
    STATE.mode = new
    try:
        for node in reversed(order):
            g = pop(node, None)
            if g is None:
                continue
            if filtered:  # targets (only the nodes on a path to them), or hooks
                if needed is not None and node not in needed:
                    continue
                if node in hooks:
                    g = _run_hooks(node, g, ops)
                if wanted is not None and node in wanted:
                    results[node] = g
            prim, inputs = node.prim, node.inputs
            if prim is None:  # a leaf: its gradient ends here
                results[node] = g
                continue
            if inputs is None:
                raise _freed(prim)
            if node.stamp != clock and prim.saves:  # something was written since: ours?
                _check_versions(node)
            needs = node.needs if needed is None else tuple(
                [p is not None and p in needed for p in node.parents])
            if tensor_mode:
                gs = prim.vjp(ops, g, ops.output(node) if prim.uses_out else None, inputs,
                              node.params, needs)
            else:  # the rule on the arrays
                n = len(inputs)
                gs = prim.vjp(ops, g, node.out_data, (inputs[0]._data,) if n == 1 else
                              (inputs[0]._data, inputs[1]._data) if n == 2 else
                              [t._data for t in inputs], node.params, needs)
            if watched:  # cr.explain's observer, anomaly mode
                if observer is not None:
                    observer(node, g, gs)
                if anomaly:
                    for gi in gs:
                        check_finite(prim, inputs, gi, "backward", node)
            parents = node.parents
            if len(parents) == 1:  # most nodes: no zip (a zip costs a third of this loop)
                p, gi = parents[0], gs[0]
                if gi is not None:  # v̄ₚ += gᵢ, inline: this line runs once per edge
                    grads[p] = grads[p] + gi if p in grads else gi
            else:
                for p, gi in zip(parents, gs):
                    if gi is not None and p is not None:
                        grads[p] = grads[p] + gi if p in grads else gi
            if not retain_graph:
                node.inputs = node.out_data = None
    finally:
        STATE.mode = prev
    return results


def _add(grads, node, g):
    """v̄ += g: the sum over a node's children, one term at a time."""
    grads[node] = grads[node] + g if node in grads else g


def _freed(prim):
    return GraphFreedError(f"backward through {prim.name} a second time, but its saved values "
                           "were freed by the first backward; pass retain_graph=True to the "
                           "first call")


def _run_hooks(node, g, ops):
    for hook in HOOKS[node]:
        new = hook(g, ops)
        if new is not None:
            g = new
    return g


def add_hook(node, hook):
    """Run ``hook(g, ops) -> g | None`` when ``node``'s cotangent is complete; returns a
    handle whose ``remove()`` takes it away."""
    hooks = HOOKS.setdefault(node, [])
    hooks.append(hook)
    HOOKED[0] = True

    class _Handle:
        def remove(self):
            hooks.remove(hook)

    return _Handle()
