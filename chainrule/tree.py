"""Pytrees: nested containers of values, flattened to a list of leaves and rebuilt.

A pytree is a dict, list, tuple, namedtuple or ``None`` holding other pytrees, or a leaf
(anything else: a Tensor, an array, a number). Classes registered with ``register`` are
containers too. Dict keys are visited in sorted order (as JAX), so two dicts with the same
keys flatten alike whatever their insertion order; ``None`` is an empty container.

>>> import chainrule as cr
>>> leaves, spec = cr.tree.flatten({"b": (1, 2), "a": [3, None]})
>>> leaves
[3, 1, 2]
>>> cr.tree.unflatten(spec, [x * 10 for x in leaves])
{'a': [30, None], 'b': (10, 20)}
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

_REGISTRY: dict[type, tuple[Callable, Callable]] = {}


class TreeSpec(NamedTuple):
    """The structure of a pytree without its leaves: ``kind`` (a type, or None for a leaf),
    ``meta`` (dict keys, a registered class's auxiliary data) and the children's specs.

    >>> import chainrule as cr
    >>> cr.tree.structure({"a": 1, "b": (2, 3)}).num_leaves
    3
    """
    kind: Any
    meta: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)


LEAF = TreeSpec(None, None, ())


def register(cls: type, flatten_fn: Callable, unflatten_fn: Callable) -> type:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, aux)`` and
    ``unflatten_fn(aux, children) -> obj`` (as ``jax.tree_util.register_pytree_node``).

    >>> import chainrule as cr
    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> _ = cr.tree.register(Pair, lambda p: ((p.a, p.b), None), lambda aux, c: Pair(*c))
    >>> cr.tree.leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    if not isinstance(cls, type):
        raise TypeError(f"tree.register: expected a class, got {cls!r}")
    _REGISTRY[cls] = (flatten_fn, unflatten_fn)
    return cls


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(x):
    """(kind, meta, children) for a container, or None for a leaf."""
    t = type(x)
    if t in _REGISTRY:
        children, aux = _REGISTRY[t][0](x)
        return t, aux, tuple(children)
    if x is None:
        return type(None), None, ()
    if t is dict or isinstance(x, dict):
        keys = sorted(x, key=_sort_key)
        return t, tuple(keys), tuple(x[k] for k in keys)
    if _is_namedtuple(x):
        return t, None, tuple(x)
    if isinstance(x, (list, tuple)):
        return t, None, tuple(x)
    return None


def _sort_key(k):
    return (type(k).__name__, k) if not isinstance(k, (int, float)) else ("", k)


def flatten(tree, is_leaf: Callable | None = None) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``: the leaves left to right and the structure to rebuild with;
    ``is_leaf(x)``, if given, stops the descent at the containers it accepts.

    >>> import chainrule as cr
    >>> cr.tree.flatten([1, {"y": 2, "x": None}])[0]
    [1, 2]
    >>> cr.tree.flatten([[1, 2], [3]], is_leaf=lambda v: isinstance(v, list) and len(v) == 1)[0]
    [1, 2, [3]]
    """
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


# Module-level recursions, not closures that call themselves: such a closure is a reference
# cycle, which would keep the leaves (tensors, and the arrays they hold) alive until the
# garbage collector runs.
def _flatten(x, is_leaf, leaves):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return LEAF
    c = _children(x)
    if c is None:
        leaves.append(x)
        return LEAF
    kind, meta, children = c
    return TreeSpec(kind, meta, tuple(_flatten(ch, is_leaf, leaves) for ch in children))


def unflatten(spec: TreeSpec, leaves) -> Any:
    """The pytree of structure ``spec`` with ``leaves`` in place of the original ones.

    >>> import chainrule as cr
    >>> spec = cr.tree.structure((1, [2, 3]))
    >>> cr.tree.unflatten(spec, ["a", "b", "c"])
    ('a', ['b', 'c'])
    """
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree.unflatten: the structure has {spec.num_leaves} leaves, "
                         f"got {len(leaves)}")
    return _build(spec, iter(leaves))


def _build(s, it):
    if s.kind is None:
        return next(it)
    children = [_build(c, it) for c in s.children]
    if s.kind in _REGISTRY:
        return _REGISTRY[s.kind][1](s.meta, children)
    if s.kind is type(None):
        return None
    if issubclass(s.kind, dict):
        return s.kind(zip(s.meta, children))
    if issubclass(s.kind, tuple) and hasattr(s.kind, "_fields"):
        return s.kind(*children)
    return s.kind(children)


def leaves(tree, is_leaf: Callable | None = None) -> list:
    """The leaves of ``tree``, left to right (dict keys sorted).

    >>> import chainrule as cr
    >>> cr.tree.leaves([1, (2, None), {"x": 3}])
    [1, 2, 3]
    """
    return flatten(tree, is_leaf)[0]


def structure(tree, is_leaf: Callable | None = None) -> TreeSpec:
    """The structure of ``tree`` without its leaves (a ``TreeSpec``, comparable with ==).

    >>> import chainrule as cr
    >>> cr.tree.structure({"a": [1, 2]}) == cr.tree.structure({"a": [5, 6]})
    True
    """
    return flatten(tree, is_leaf)[1]


def map(fn: Callable, tree, *rest, is_leaf: Callable | None = None):  # noqa: A001
    """``fn`` applied leaf by leaf; ``rest`` are trees of the same structure whose leaves
    are passed alongside.

    >>> import chainrule as cr
    >>> cr.tree.map(lambda a, b: a + b, {"w": 1, "b": (2,)}, {"w": 10, "b": (20,)})
    {'b': (22,), 'w': 11}
    """
    flat, spec = flatten(tree, is_leaf)
    others = []
    for r in rest:
        lv, s = flatten(r, is_leaf)
        if s != spec:
            raise ValueError(f"tree.map: structures differ: {spec} and {s}")
        others.append(lv)
    return unflatten(spec, [fn(*xs) for xs in zip(flat, *others)])


def broadcast_prefix(prefix, tree, is_leaf: Callable | None = None) -> list:
    """The leaves of ``prefix`` repeated over the leaves of ``tree`` that each covers
    (``in_axes=0`` covers everything; ``in_axes=(0, None)`` one value per argument).

    >>> import chainrule as cr
    >>> cr.tree.broadcast_prefix((0, None), ([1, 2], {"k": 3}))
    [0, 0, None]
    """
    out: list = []
    _cover(prefix, tree, is_leaf, out, prefix)
    return out


def _cover(p, t, is_leaf, out, prefix):
    c = _children(p) if p is not None else None
    if c is None or (is_leaf is not None and is_leaf(p)):
        out.extend([p] * len(leaves(t, is_leaf)))
        return
    ct = _children(t)
    if ct is None or ct[0] != c[0] or ct[1] != c[1] or len(ct[2]) != len(c[2]):
        raise ValueError(f"in_axes/out_axes {prefix!r} does not match the structure of "
                         "the arguments (a prefix of their pytree is expected)")
    for pc, tc in zip(c[2], ct[2]):
        _cover(pc, tc, is_leaf, out, prefix)
