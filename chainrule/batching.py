"""``vmap``: a function of one example, run on a whole batch at once, with no Python loop.

Inside ``vmap`` a batched value is a Tensor whose data is a ``BatchedArray``: the whole batch,
its batch dimensions in front (one per open ``vmap``, outermost first), that reports the
shape of ONE example. So every front end (``reshape``, ``sum(axis=0)``, ``x @ w``, indexing)
computes its parameters for one example, exactly as outside ``vmap``, and the registry runs
each primitive on the whole batch by its kind (``Primitive.batch``):

    "broadcast"  elementwise ops, matmul: batch dims broadcast, the example dims padded to a
                 common rank (NumPy broadcasting aligns from the right)
    "lead"       linear ops and reductions: every input gets the same leading batch dims;
                 their forwards accept leading dims already (negative axes, trailing shapes)
    a function   the few ops no kind covers (einsum, convolution, the fused ``linear``)

Reverse mode, forward mode and the rules' locally constant masks (``x > 0``) compute on
batched values like any others, so ``vmap`` composes with ``grad``, ``jvp``, ``vjp``,
``jacobian`` and itself.

>>> import chainrule as cr
>>> cr.vmap(lambda x: (x * x).sum())(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
[5.0, 25.0]
"""
from __future__ import annotations

import itertools

import numpy as np

from . import engine, registry, tree
from .apply import apply
from .engine import STATE
from .ops import vocab
from .ops.shape import as_tensor
from .registry import linear
from .tensor import Tensor, new_tensor
from .transforms import _plain, differentiable

_levels = itertools.count(1)


class BatchedArray(np.ndarray):
    """The whole batch (batch dims first); ``shape``/``ndim``/``size`` are one example's."""

    batch_levels: tuple = ()

    def __array_finalize__(self, obj):
        self.batch_levels = getattr(obj, "batch_levels", ())

    @property
    def shape(self):
        return np.ndarray.shape.__get__(self)[len(self.batch_levels):]

    @property
    def ndim(self):
        return np.ndarray.ndim.__get__(self) - len(self.batch_levels)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def __repr__(self):
        return (f"BatchedArray(levels={self.batch_levels}, example shape={self.shape}, "
                f"batch={np.ndarray.shape.__get__(self)[:len(self.batch_levels)]})")

    # Raw NumPy on batched values (the rules' masks, ``D(x) > 0``): elementwise ufuncs
    # broadcast batch dims; reductions over negative (example) axes keep them.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"vmap: in-place NumPy ({ufunc.__name__}, out=) on a batched "
                            "value is not supported")
        if method == "__call__":
            levels, sizes = _union(inputs)
            res = ufunc(*_broadcast_values(inputs, levels), **kwargs)
            if isinstance(res, tuple):
                return tuple(_wrap(r, levels) for r in res)
            return _wrap(res, levels)
        if method == "reduce" and isinstance(inputs[0], BatchedArray):
            x = inputs[0]
            k, nd = len(x.batch_levels), x.ndim
            axis = kwargs.get("axis", 0)
            if axis is None and ufunc in (np.logical_and, np.logical_or):
                # ``if mask.all():`` in a rule is a branch for every example at once: it
                # holds when it holds for the whole batch.
                return ufunc.reduce(np.asarray(x), **kwargs)
            axes = range(nd) if axis is None else axis if isinstance(axis, tuple) else (axis,)
            kwargs["axis"] = tuple(int(a) % nd + k for a in axes)  # an example's axes
            return _wrap(ufunc.reduce(np.asarray(x), **kwargs), x.batch_levels)
        return getattr(ufunc, method)(*[np.asarray(i) for i in inputs], **kwargs)

    # Python control flow on a batched value (``if x > 0:``, ``float(x)``) would need one
    # branch per example: refuse it, saying what to write instead (JAX refuses it too).
    def item(self, *args):
        raise TypeError("vmap: a Python value (if/while on a tensor, float(), .item()) was "
                        "asked of a batched tensor, which holds one value per example; "
                        "compute both branches and choose with cr.where, or move the "
                        "branch outside vmap")

    __bool__ = __float__ = __int__ = tolist = item

    def __getitem__(self, index):  # an example's index, on every example
        index = index if isinstance(index, tuple) else (index,)
        lead = (slice(None),) * len(self.batch_levels)
        return _wrap(np.asarray(self)[lead + index], self.batch_levels)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where and len(args) == 3 and not kwargs:
            levels, _ = _union(args)
            return _wrap(np.where(*_broadcast_values(args, levels)), levels)
        return super().__array_function__(func, types, args, kwargs)


def levels_of(v) -> tuple:
    return getattr(v, "batch_levels", ())


def _full(v) -> np.ndarray:
    """The plain ndarray behind a batched value (its true shape)."""
    return np.asarray(v)


def _wrap(arr, levels):
    if not levels:
        return arr
    out = np.asarray(arr).view(BatchedArray)
    out.batch_levels = tuple(levels)
    return out


def _union(values):
    """The levels of all values, outermost first, and the batch size of each."""
    sizes: dict = {}
    for v in values:
        lv = levels_of(v)
        full = np.shape(_full(v)) if lv else ()
        for i, level in enumerate(lv):
            n = full[i]
            if sizes.get(level, 1) not in (1, n) and n != 1:
                raise ValueError(f"vmap: batch sizes differ ({sizes[level]} and {n})")
            if n != 1 or level not in sizes:
                sizes[level] = n
    return tuple(sorted(sizes)), sizes


def _lift(v, levels) -> np.ndarray:
    """``v``'s array with one leading dim per level in ``levels`` (size 1 where absent)."""
    a, lv = _full(v), levels_of(v)
    if lv == tuple(levels):
        return a
    shape, src = [], list(np.shape(a)[:len(lv)])
    for level in levels:
        shape.append(src.pop(0) if level in lv else 1)
    return a.reshape(tuple(shape) + np.shape(a)[len(lv):])


def _broadcast_values(values, levels):
    """Batched values lifted to all levels, their example dims padded to the largest rank
    (the values are then right-aligned by NumPy broadcasting); plain values unchanged."""
    cores = [np.ndim(_full(v)) - len(levels_of(v)) for v in values]
    rank = max(cores, default=0)
    out = []
    for v, c in zip(values, cores):
        if not levels_of(v):
            out.append(v if not isinstance(v, np.ndarray) else _full(v))
            continue
        a = _lift(v, levels)
        out.append(a.reshape(a.shape[:len(levels)] + (1,) * (rank - c) + a.shape[len(levels):]))
    return out


def _lead_values(values, levels, sizes):
    """Every value with the same leading batch dims, one per level (broadcast views)."""
    lead = tuple(sizes[level] for level in levels)
    out = []
    for v in values:
        a = _lift(v, levels) if levels_of(v) else np.reshape(_full(v), (1,) * len(levels)
                                                              + np.shape(v))
        out.append(np.broadcast_to(a, lead + a.shape[len(levels):]))
    return out


def _example(v):
    """A stand-in with one example's shape and dtype (for rules that only read shapes)."""
    return np.broadcast_to(np.zeros((), _full(v).dtype), np.shape(v) if levels_of(v)
                           else np.shape(_full(v)))


def batch_apply(prim, forward, xs, params):
    """Run ``prim`` (its NumPy ``forward``) on values of which some hold a batch."""
    levels, sizes = _union(xs)
    if not levels:
        return forward(*[_full(x) for x in xs], **params)
    style = prim.batch
    if style == "self":
        return forward(*xs, **params)
    if style == "broadcast":
        res = forward(*_broadcast_values(xs, levels), **params)
    elif style == "lead":
        res = forward(*_lead_values(xs, levels, sizes), **params)
    elif callable(style) and prim.kind == "multilinear" and style is not _matmul:
        res = _multilinear(prim, style, xs, params, levels)
    elif callable(style):
        res = style(xs, params, levels, sizes)
    else:
        raise NotImplementedError(
            f"vmap: the op {prim.name!r} ({prim.kind}) has no batching rule; compute it "
            "outside vmap, or declare it by a kind (see chainrule.registry)")
    if isinstance(res, tuple):
        return tuple(_wrap(r, levels) for r in res)
    return _wrap(res, levels)


def _matmul(xs, params, levels, sizes):
    """matmul as NumPy's: 1-D operands (the untracked fast path passes them) gain a unit
    dim for the product, lost again after; batch dims broadcast."""
    x, y = xs
    xv = x if np.ndim(x) > 1 else _unit(x, -2)
    yv = y if np.ndim(y) > 1 else _unit(y, -1)
    out = np.matmul(*_broadcast_values((xv, yv), levels))
    if np.ndim(y) == 1:
        out = out[..., 0]
    if np.ndim(x) == 1:
        out = out[..., 0, :] if np.ndim(y) > 1 else out[..., 0]
    return out


def _unit(v, where):
    """``v`` with a size-1 example dim inserted at ``where`` (-2: before its last dim)."""
    lv = levels_of(v)
    a = _full(v)
    return _wrap(np.expand_dims(a, a.ndim + where + 1), lv)


def _multilinear(prim, hook, xs, params, levels):
    batched = [i for i, x in enumerate(xs) if levels_of(x)]
    if prim.name == "einsum":
        # Each operand's '...' holds its batch dims in front: pad the '...' parts to one
        # length, so batch dims meet batch dims.
        letters = [len(s.replace("...", "")) for s in params["ins"]]
        ells = [np.ndim(x) - n if levels_of(x) else np.ndim(_full(x)) - n
                for x, n in zip(xs, letters)]
        longest = max(ells)
        vals = []
        for x, ell in zip(xs, ells):
            if not levels_of(x):
                vals.append(_full(x))
                continue
            a = _lift(x, levels)
            k = len(levels)
            vals.append(a.reshape(a.shape[:k] + (1,) * (longest - ell) + a.shape[k:]))
        return prim.forward(*vals, **params)
    if len(batched) != 1:
        raise NotImplementedError(f"vmap: {prim.name} with more than one batched operand "
                                  "is not supported yet")
    i = batched[0]
    args = [_full(x) if j != i else _example(x) for j, x in enumerate(xs)]
    lead = _lift(xs[i], levels)
    return np.asarray(hook(vocab.RAW, prim, args, i, lead, params))


# -- entering and leaving a vmap: two linear primitives, each the other's transpose ----------
def _to_batch(x, level, axis, size, ndim):
    """Move example axis ``axis`` of ``x`` to the front (after outer levels): level ``level``."""
    lv = levels_of(x)
    a = _full(x)
    extra = a.ndim - len(lv) - ndim  # leading dims of a batched tangent (forward mode)
    # Batch dims stay sorted by level (outermost first); a transpose may add an outer level
    # to a value that holds an inner one already.
    at = sum(1 for v in lv if v < level)
    a = np.moveaxis(a, len(lv) + extra + axis, at)
    return _wrap(a, lv[:at] + (level,) + lv[at:])


def _from_batch(y, level, axis, size, ndim):
    """Level ``level`` of ``y`` as example axis ``axis`` (broadcast if ``y`` lacks it)."""
    lv = levels_of(y)
    a = _full(y)
    rest = tuple(v for v in lv if v != level)
    extra = a.ndim - len(lv) - ndim
    if level in lv:
        a = np.moveaxis(a, lv.index(level), len(lv) - 1 + extra + axis)
    else:
        a = np.expand_dims(a, len(lv) + extra + axis)
        shape = list(a.shape)
        shape[len(lv) + extra + axis] = size
        a = np.broadcast_to(a, tuple(shape))
    return _wrap(a, rest)


TO_BATCH = linear("vmap_in", _to_batch, lambda ops, g, out, x, **p: ops.apply(
    FROM_BATCH, (g,), {**p, "ndim": p["ndim"] - 1}),
    formula="vmap: an example axis becomes the batch; its gradient goes back to that axis")
FROM_BATCH = linear("vmap_out", _from_batch, lambda ops, g, out, y, **p: ops.apply(
    TO_BATCH, (g,), {**p, "ndim": p["ndim"] + 1}),
    formula="vmap: the batch becomes an output axis; its gradient becomes the batch again")
def _linear(xs, params, levels, sizes):
    """The fused x·Wᵀ + b: a matmul with Wᵀ, then the bias broadcast."""
    x, w = xs[0], xs[1]
    wt = _wrap(np.swapaxes(_full(w), -1, -2), levels_of(w))
    out = _wrap(_matmul((x, wt), params, levels, sizes), levels)
    return np.add(out, xs[2]) if len(xs) > 2 else out


def _softmax_ce(xs, params, levels, sizes):
    """The fused loss, one per example: its sums run over the example's (N, C) only."""
    x = _lift(xs[0], levels)
    onehot = params["onehot"]
    onehot = _lift(onehot, levels) if levels_of(onehot) else _full(onehot)
    shifted = x - x.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1))
    return (params["scale"] * (lse.sum(axis=-1) - (shifted * onehot).sum(axis=(-2, -1)))
            ).astype(x.dtype)


# The ops no kind covers: matmul's 1-D operands, einsum and convolution (multilinear, above),
# the fused linear and loss; NumPy's linalg functions take leading (stack) dims already.
TO_BATCH.batch = FROM_BATCH.batch = "self"
_RULES = {"matmul": _matmul, "linear": _linear, "softmax_cross_entropy": _softmax_ce,
          "inv": "lead", "solve": "lead", "det": "lead", "logabsdet": "lead",
          "cholesky": "lead"}
for _name, _rule in _RULES.items():
    if _name in registry.PRIMITIVES:
        registry.PRIMITIVES[_name].batch = _rule
engine.BATCHING.apply = batch_apply


def _enter(x, level, axis, size):
    x = as_tensor(x)
    n = x.ndim
    if not -n <= axis < n:
        raise ValueError(f"vmap: in_axes {axis} is out of range for an argument of shape "
                         f"{x.shape}")
    axis %= n
    if x.shape[axis] != size:
        raise ValueError(f"vmap: arguments have different batch sizes along in_axes "
                         f"({x.shape[axis]} and {size})")
    return apply(TO_BATCH, (x,), {"level": level, "axis": axis, "size": size, "ndim": n})


def _leave(y, level, axis, size):
    y = y if isinstance(y, Tensor) else new_tensor(np.asarray(y))
    if axis is None:  # the same for every example: returned as it is, if it is
        if level in levels_of(y._data):
            raise ValueError("vmap: out_axes is None for a result that differs from example "
                             "to example; give it an axis")
        return y
    n = y.ndim + 1
    if not -n <= axis < n:
        raise ValueError(f"vmap: out_axes {axis} is out of range for a result of "
                         f"{n} dimensions")
    return apply(FROM_BATCH, (y,), {"level": level, "axis": axis % n, "size": size,
                                    "ndim": y.ndim})


def _size_of(leaves, axes):
    sizes = set()
    for x, ax in zip(leaves, axes):
        if ax is None:
            continue
        shape = np.shape(x) if not isinstance(x, Tensor) else x.shape
        if not -len(shape) <= ax < len(shape):
            raise ValueError(f"vmap: in_axes {ax} is out of range for an argument of shape "
                             f"{tuple(shape)}")
        sizes.add(shape[ax])
    if not sizes:
        raise ValueError("vmap: in_axes maps no argument (all None): nothing to batch over")
    if len(sizes) > 1:
        raise ValueError(f"vmap: arguments have different sizes along in_axes: "
                         f"{sorted(sizes)}")
    return sizes.pop()


def vmap(f, in_axes=0, out_axes=0):
    """``f`` of one example -> a function of a batch (as ``jax.vmap``).

    ``in_axes``: for each argument (a pytree prefix of the arguments), the axis to map over,
    or None for an argument shared by all examples; keyword arguments are mapped over their
    first axis. ``out_axes``: where the batch goes in the results (None: a result that is
    the same for every example). Composes with ``grad``, ``jvp``, ``vjp``, ``jacobian`` and
    itself.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -1.0])
    >>> per_example = cr.vmap(cr.grad(lambda w, x: (w * x).sum() ** 2), in_axes=(None, 0))
    >>> per_example(w, cr.tensor([[1.0, 2.0], [3.0, 1.0]])).tolist()
    [[-2.0, -4.0], [12.0, 4.0]]
    """
    def wrapped(*args, **kwargs):
        axes_tree = in_axes if isinstance(in_axes, (list, tuple)) else (in_axes,) * len(args)
        if isinstance(in_axes, (list, tuple)) and len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries for {len(args)} "
                             "arguments")
        # Keyword arguments are mapped over their first axis (as JAX's vmap does).
        leaves, spec = tree.flatten((list(args), kwargs))
        axes = tree.broadcast_prefix((list(axes_tree), 0), (list(args), kwargs))
        size = _size_of(leaves, axes)
        level = next(_levels)
        engine.BATCHING.used = True
        prev_depth = STATE.depth
        STATE.depth = prev_depth + 1  # results must stay differentiable inside
        try:  # (restored in finally, with nothing between: interrupt-safe)
            engine.BATCHING.open.append(level)
            mapped = [x if ax is None else _enter(x, level, ax, size)
                      for x, ax in zip(leaves, axes)]
            args_in, kwargs_in = tree.unflatten(spec, mapped)
            out = f(*args_in, **kwargs_in)
            out_leaves, out_spec = tree.flatten(out)
            oaxes = tree.broadcast_prefix(out_axes, out)
            res = [_leave(y, level, ax, size) for y, ax in zip(out_leaves, oaxes)]
        finally:
            STATE.depth = prev_depth
            if level in engine.BATCHING.open:
                engine.BATCHING.open.remove(level)
        if not differentiable(leaves, res):  # nothing outside asked for a graph
            res = [_plain(y) if isinstance(y, Tensor) else y for y in res]
        return tree.unflatten(out_spec, res)

    wrapped.__name__ = f"vmap({getattr(f, '__name__', 'f')})"
    return wrapped
