"""The graph: nodes, grad modes, applying a primitive, and the one backward sweep.

Invariants
- A Tensor that requires grad owns a node: the Node of the op that made it, or a leaf Node
  (``prim is None``) created the first time it is used. Nodes hold their inputs strongly and
  their output weakly, so a graph lives exactly as long as the outputs that reach it.
- Internal maps are keyed by Node identity, never by Tensor (Tensor overloads ``==``).
- No recursion: the topological sort is an explicit stack, so 100,000-op chains work.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import traceback
import weakref

import numpy as np

from .errors import AnomalyError, ChainruleError, GraphFreedError, ShapeError, describe
from .registry import RAW, TENSOR


class _State(threading.local):
    grad_enabled = True
    anomaly = False
    fw_levels: tuple = ()  # active forward-mode levels, innermost last
    # grad_enabled and neither anomaly mode nor forward mode: the one case ``apply`` handles
    # inline. Kept in step by ``set_mode``, so the hot path reads one flag, not three.
    plain = True


STATE = _State()


def set_mode(**changes) -> None:
    """Change the thread's grad/anomaly/forward-mode state (and the ``plain`` summary)."""
    st = STATE
    for k, v in changes.items():
        setattr(st, k, v)
    st.plain = st.grad_enabled and not st.anomaly and not st.fw_levels


# --------------------------------------------------------------------------------------------
# Grad modes.

class _GradMode:
    """A ``with`` block (or a decorator) that turns recording on or off and restores it.
    A class, not a generator context manager: every ``backward`` and optimizer step
    enters one, and this costs a third as much."""
    __slots__ = ("enabled", "prev")

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        self.prev = STATE.grad_enabled
        set_mode(grad_enabled=self.enabled)

    def __exit__(self, *exc):
        set_mode(grad_enabled=self.prev)

    def __call__(self, fn):
        """As a decorator: a fresh block per call, so re-entrant and thread-safe."""
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(enabled):
                return fn(*args, **kwargs)
        return wrapper


class _SetGradEnabled(_GradMode):
    """``set_grad_enabled``: takes effect at once (as PyTorch's); a ``with`` block restores."""
    __slots__ = ()

    def __init__(self, enabled: bool):
        self.enabled, self.prev = enabled, STATE.grad_enabled
        set_mode(grad_enabled=enabled)

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
    """Context manager (and decorator) that turns recording back on inside ``no_grad``."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    """Turn recording on or off now; used as ``with set_grad_enabled(b):`` it is restored at
    the end of the block."""
    return _SetGradEnabled(bool(enabled))


def is_grad_enabled() -> bool:
    return STATE.grad_enabled


@contextlib.contextmanager
def detect_anomaly():
    """Raise ``AnomalyError`` at the first op whose forward or backward yields NaN or Inf.

    The error names the op, its inputs' names and shapes, and the line of user code that
    created the op (recorded while the mode is on).
    """
    prev = STATE.anomaly
    set_mode(anomaly=True)
    try:
        yield
    finally:
        set_mode(anomaly=prev)


# --------------------------------------------------------------------------------------------
# Nodes.

class Node:
    __slots__ = ("prim", "inputs", "parents", "needs", "params", "out_data", "out_ref",
                 "__weakref__")

    def __repr__(self):
        return f"<Node {self.prim.name if self.prim else 'leaf'}>"


class LeafNode(Node):
    """Where a leaf's gradient ends: it accumulates into the (weakly held) tensor's .grad."""
    __slots__ = ("tensor_ref",)


# Rarely used per-node extras live beside the nodes, so the hot path never sets them.
HOOKS: weakref.WeakKeyDictionary[Node, list] = weakref.WeakKeyDictionary()
CREATED_AT: weakref.WeakKeyDictionary[Node, str] = weakref.WeakKeyDictionary()


def leaf_node(t) -> Node:
    """The node of a leaf tensor that requires grad (made on first use)."""
    node = t._node
    if node is None:
        node = LeafNode()
        node.prim = None
        node.parents = node.needs = ()
        node.inputs = ()
        node.out_data = None
        node.tensor_ref = weakref.ref(t)
        t._node = node
    return node


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_location() -> str:
    """``file:line in function: code`` of the innermost frame outside chainrule."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


# --------------------------------------------------------------------------------------------
# Applying a primitive: the hot path.

def _op_error(prim, inputs, err):
    """A forward's ValueError with the operands' names. NumPy's come from mismatched operands;
    a ChainruleError (LinAlgError) names its op already and keeps its class."""
    names = ", ".join(describe(t) for t in inputs)
    if isinstance(err, ChainruleError):
        return type(err)(f"{err} (inputs: {names})")
    return ShapeError(f"{prim.name}: {err} (inputs: {names})")


_TENSOR = []  # [Tensor], bound by chainrule.tensor (it imports this module first)
_ONE_NEED = (True,)


def apply(prim, inputs: tuple, params: dict | None = None, data=None):
    """Run ``prim`` on Tensors, record a node if needed and propagate forward-mode tangents.

    ``data``: the forward value when the caller has it already, exactly as ``prim.forward``
    would give it (max pooling finds the maxima while choosing its mask).
    """
    if data is None:
        try:
            if len(inputs) == 1:
                data = prim.forward(inputs[0].data, **params) if params else \
                    prim.forward(inputs[0].data)
            elif params:
                data = prim.forward(*[t.data for t in inputs], **params)
            else:
                data = prim.forward(*[t.data for t in inputs])
        except (ValueError, IndexError) as err:
            raise _op_error(prim, inputs, err) from None
    out = _new_tensor(data)
    st = STATE
    plain = st.plain
    if plain or st.grad_enabled:
        for t in inputs:
            if t._requires_grad:
                _record(prim, inputs, params, out)
                break
    return out if plain else _apply_modes(prim, inputs, params, out)


def _apply_modes(prim, inputs, params, out):
    """``apply``'s tail when anomaly or forward mode is on (or grad is off: then nothing)."""
    st = STATE
    if st.fw_levels:
        for t in inputs:
            if t._tangents:
                _forward.propagate(prim, inputs, params, out)
                break
    if st.anomaly:
        if out._node is not None:  # recorded just now: remember the user's line
            CREATED_AT[out._node] = user_location()
        _check_finite(prim, inputs, out.data, "forward", out._node)
    return out


def _new_tensor(data):
    if type(data) is not np.ndarray:  # NumPy returns scalars for 0-d results
        data = np.asarray(data)
    out = _TENSOR[0].__new__(_TENSOR[0])
    out.data = data
    out.grad = out.name = out._tangents = out._node = None
    out._requires_grad = False
    return out


def _record(prim, inputs, params, out):
    node = Node()
    node.prim = prim
    node.inputs = inputs
    if len(inputs) == 1:
        t = inputs[0]
        node.parents = (t._node or leaf_node(t),)
        node.needs = _ONE_NEED
    else:
        node.parents = tuple([(t._node or leaf_node(t)) if t._requires_grad else None
                              for t in inputs])
        node.needs = tuple([p is not None for p in node.parents])
    node.params = params
    if prim.uses_out:
        node.out_data = out.data
        node.out_ref = weakref.ref(out)
    else:
        node.out_data = None
    out._node = node
    out._requires_grad = True


def _check_finite(prim, inputs, value, phase, node):
    value = value.data if hasattr(value, "_node") else value
    if value is None or value.dtype.kind not in "fc" or np.isfinite(value).all():
        return
    where = CREATED_AT.get(node) if node is not None else None
    where = where or user_location()
    names = ", ".join(describe(t) for t in inputs)
    bad = "NaN" if np.isnan(value).any() else "Inf"
    raise AnomalyError(f"{prim.name} produced {bad} in its {phase} pass; inputs: {names}; "
                       f"created at {where}")


# --------------------------------------------------------------------------------------------
# The backward sweep.

def toposort(roots) -> list:
    """Nodes reachable from ``roots``, parents before children (iterative DFS)."""
    order, seen = [], set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.parents))]
        while stack:
            node, it = stack[-1]
            for p in it:
                if p is not None and p not in seen:
                    seen.add(p)
                    stack.append((p, iter(p.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _wrap(v):
    from .tensor import Tensor
    return v if isinstance(v, Tensor) else Tensor._wrap(v)


def sweep(roots, root_grads, *, targets=None, retain_graph=False, create_graph=False,
          observer=None, order=None):
    """Propagate cotangents from ``roots`` backwards.

    With ``targets`` (a list of nodes) returns {node: cotangent} for them and touches no
    ``.grad``; without, accumulates into every leaf's ``.grad`` (``backward()``).
    The sweep runs on raw ndarrays unless its results must be differentiable
    (``create_graph``) or carry forward-mode tangents (a jvp is active).
    """
    tensor_mode = create_graph or bool(STATE.fw_levels)
    ops = TENSOR if tensor_mode else RAW
    if order is None:  # a caller that already sorted the graph passes its ``order``
        order = toposort(roots)
    target_set = needed = None
    if targets is not None:
        target_set = set(targets)
        needed = set(target_set)
        for node in order:
            if node not in needed and any(p in needed for p in node.parents):
                needed.add(node)
    grads: dict = {}
    for node, g in zip(roots, root_grads):
        grads[node] = grads[node] + g if node in grads else g
    results = {}
    pop = grads.pop
    anomaly = STATE.anomaly
    given: set = set()
    hooks = HOOKS if len(HOOKS) else None  # WeakKeyDictionary.__len__ is slow: ask once
    with _GradMode(create_graph):
        for node in reversed(order):
            g = pop(node, None)
            if g is None:
                continue
            if hooks is not None and node in hooks:
                g = _run_hooks(node, g, tensor_mode)
            if target_set is not None and node in target_set:
                results[node] = g
            prim = node.prim
            if prim is None:
                if target_set is None:
                    _accumulate(node, g, tensor_mode, given)
                continue
            inputs = node.inputs
            if inputs is None:
                raise GraphFreedError(
                    f"backward through {prim.name} a second time, but its saved values were "
                    "freed by the first backward; pass retain_graph=True to the first call")
            if needed is None:
                needs = node.needs
            else:
                needs = tuple([p is not None and p in needed for p in node.parents])
                if True not in needs:
                    continue
            if tensor_mode:
                gs = prim.vjp(ops, g, inputs, _output_tensor(node) if prim.uses_out else None,
                              node.params, needs)
            elif len(inputs) == 1:
                gs = prim.vjp(ops, g, (inputs[0].data,), node.out_data, node.params, needs)
            else:
                gs = prim.vjp(ops, g, [t.data for t in inputs], node.out_data, node.params,
                              needs)
            if observer is not None:
                observer(node, g, gs)
            parents = node.parents
            if len(parents) == 1:  # most nodes: skip the zip
                gi = gs[0]
                if gi is not None:
                    p = parents[0]
                    if anomaly:
                        _check_finite(prim, inputs, gi, "backward", node)
                    grads[p] = grads[p] + gi if p in grads else gi
            else:
                for p, gi in zip(parents, gs):
                    if gi is None or p is None:
                        continue
                    if anomaly:
                        _check_finite(prim, inputs, gi, "backward", node)
                    grads[p] = grads[p] + gi if p in grads else gi
            if not retain_graph:
                node.inputs = None
                node.out_data = None
    return results


def _run_hooks(node, g, tensor_mode):
    for hook in HOOKS[node]:
        new = hook(_wrap(g))
        if new is not None:
            g = new if tensor_mode else np.asarray(getattr(new, "data", new))
    return g


def _output_tensor(node):
    out = node.out_ref()
    if out is None:  # the output was dropped by the user: recompute it from the inputs
        out = apply(node.prim, node.inputs, node.params)
    return out


def _accumulate(node, g, tensor_mode, given):
    """Add ``g`` into the leaf's ``.grad``. In raw mode ``.grad`` gets an array of its own
    (writable, aliasing no other leaf's), so optimizers may update it in place."""
    t = node.tensor_ref()
    if t is None:
        return
    if not tensor_mode:
        if t.grad is not None:
            g = t.grad.data + g
        elif g.base is not None or not g.flags.writeable or id(g) in given:
            g = g.copy()
        given.add(id(g))
        g = _new_tensor(g)
    elif t.grad is not None:
        g = t.grad + g
    t.grad = g


def register_hook(t, hook):
    """``hook(grad) -> grad | None`` runs when ``t``'s cotangent is complete."""
    if not t._requires_grad:
        raise RuntimeError(f"register_hook: {describe(t)} does not require grad")
    node = t._node or leaf_node(t)
    hooks = HOOKS.setdefault(node, [])
    hooks.append(hook)

    class _Handle:
        def remove(self):
            hooks.remove(hook)

    return _Handle()


from . import forward as _forward  # noqa: E402  (forward mode builds on apply)
