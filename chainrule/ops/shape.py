"""Linear shape primitives. Each forward accepts extra leading (batch) dimensions, so the
same primitive applied to a batch of tangents is its own jvp; axes are kept negative and
shapes are the trailing ("core") part for that reason."""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..errors import ShapeError, describe
from ..registry import linear, one_element
from ..tensor import Tensor, holds_tensor
from ..tensor import as_tensor as _plain_tensor
from ..tensor import tensor as _new_leaf
from ._front import blas_sum, broadcast_shape, norm_axis, result_dtype, tracked


def _lead(x, core_ndim):
    return x.shape[:x.ndim - core_ndim]


# -- primitives -------------------------------------------------------------------------------
def _reshape(x, shape, shape_in):
    return x.reshape(_lead(x, len(shape_in)) + shape)


RESHAPE = linear("reshape", _reshape, lambda ops, g, out, x, shape, shape_in: ops.apply(
    RESHAPE, (g,), {"shape": shape_in, "shape_in": shape}),
    formula="the gradient is reshaped back to the input's shape", sympy=one_element)


_SWAP_LAST_TWO = (-1, -2)
_SUM = np.add.reduce  # the ufunc's reduce: half the cost of ``x.sum``


def _transpose(x, axes):
    if axes == _SWAP_LAST_TWO:  # ``w.T``, ``mT``: the hot case
        return x.T if x.ndim == 2 else x.swapaxes(-1, -2)  # (.T: 800 instructions fewer)
    lead = x.ndim - len(axes)
    return x.transpose(tuple(range(lead)) + tuple(x.ndim + a for a in axes))


def _inverse_perm(axes):
    n = len(axes)
    return tuple(int(i) - n for i in np.argsort([a + n for a in axes]))


TRANSPOSE = linear("transpose", _transpose, lambda ops, g, out, x, axes: ops.apply(
    TRANSPOSE, (g,), {"axes": _inverse_perm(axes)}),
    formula="the gradient is transposed back (inverse permutation)")


def _broadcast(x, shape, shape_in):
    lead = _lead(x, len(shape_in))
    x = x.reshape(lead + (1,) * (len(shape) - len(shape_in)) + shape_in)
    return np.broadcast_to(x, lead + shape)


def _sum_to(x, shape, shape_from):
    if len(shape) == 1 and shape_from == x.shape and len(shape_from) == 2 and \
            shape[0] == shape_from[1] != 1:  # a bias's gradient: the hot case
        return blas_sum(x, 0) if x.dtype.char in "fd" else _SUM(x, axis=0)
    lead = x.ndim - len(shape_from)
    extra = len(shape_from) - len(shape)
    axes = tuple(range(lead, lead + extra)) + tuple(
        lead + extra + i for i, n in enumerate(shape) if n == 1 and shape_from[extra + i] != 1)
    return x.sum(axis=axes).reshape(x.shape[:lead] + shape) if axes else x


BROADCAST = linear("broadcast_to", _broadcast, lambda ops, g, out, x, shape, shape_in:
                   ops.apply(SUM_TO, (g,), {"shape": shape_in, "shape_from": shape}),
                   formula="the gradient is summed over the broadcast dimensions",
                   sympy=one_element)
SUM_TO = linear("sum_to", _sum_to, lambda ops, g, out, x, shape, shape_from: ops.apply(
    BROADCAST, (g,), {"shape": shape_from, "shape_in": shape}),
    formula="the gradient is broadcast back")


def _getitem(x, index, shape_in, basic):
    lead = x.ndim - len(shape_in)
    return x[(slice(None),) * lead + index] if lead else x[index]


def _scatter(g, index, shape, ndim_g, basic):
    lead = _lead(g, ndim_g)
    out = np.zeros(lead + shape, g.dtype)
    idx = (slice(None),) * len(lead) + index
    if basic:
        out[idx] = g
    else:  # repeated integer indices must add up
        np.add.at(out, idx, g)
    return out


GETITEM = linear("getitem", _getitem, lambda ops, g, out, x, index, shape_in, basic: ops.apply(
    SCATTER, (g,), {"index": index, "shape": shape_in, "ndim_g": g.ndim, "basic": basic}),
    formula="the gradient is scattered (added) back into the indexed positions")
SCATTER = linear("scatter_add", _scatter,
                 lambda ops, g, out, x, index, shape, ndim_g, basic: ops.apply(
                     GETITEM, (g,), {"index": index, "shape_in": shape, "basic": basic}),
                 formula="the gradient is gathered from the scattered positions")


def _concat_transpose(i):
    """The transpose for piece i: its slice of the cotangent."""
    def rule(ops, g, out, *xs, axis, sizes, shape):
        start = sum(sizes[:i])
        index = (Ellipsis, slice(start, start + sizes[i])) + (slice(None),) * (-axis - 1)
        return ops.apply(GETITEM, (g,), {"index": index, "shape_in": shape, "basic": True})
    return rule


CONCAT = linear("concatenate", lambda *xs, axis, sizes, shape: np.concatenate(xs, axis=axis),
                rule_for=_concat_transpose, formula="the gradient is split back into the pieces")


def _pad(x, pad_width, shape_in):
    lead = x.ndim - len(pad_width)
    return np.pad(x, ((0, 0),) * lead + pad_width)


def _pad_transpose(ops, g, out, x, pad_width, shape_in):
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, shape_in))
    shape = tuple(n + lo + hi for (lo, hi), n in zip(pad_width, shape_in))
    return ops.apply(GETITEM, (g,), {"index": (Ellipsis,) + index, "shape_in": shape,
                                     "basic": True})


PAD = linear("pad", _pad, _pad_transpose,
             formula="the gradient is cropped back (padding gets none)")
FLIP = linear("flip", lambda x, axis: np.flip(x, axis),
              lambda ops, g, out, x, axis: ops.apply(FLIP, (g,), {"axis": axis}),
              formula="the gradient is flipped back")
ASTYPE = linear("astype", lambda x, dtype, dtype_in: x.astype(dtype),
                lambda ops, g, out, x, dtype, dtype_in: ops.apply(
                    ASTYPE, (g,), {"dtype": dtype_in, "dtype_in": dtype}),
                formula="the gradient is cast back to the input's dtype", sympy=one_element)


# -- conversion, broadcasting and promotion ---------------------------------------------------
def as_tensor(x):
    """``x`` as a Tensor: itself, a constant wrapping an array or number, or, for a (nested)
    list or tuple holding Tensors, their ``stack``: differentiable, never a constant.

    >>> import chainrule as cr
    >>> cr.as_tensor([1.0, 2.0]).tolist()
    [1.0, 2.0]
    >>> a = cr.tensor(1.0, requires_grad=True)
    >>> cr.as_tensor([a, a]).requires_grad
    True
    """
    if type(x) is Tensor:  # the hot case first
        return x
    if isinstance(x, (list, tuple)) and holds_tensor(x):
        return stack([as_tensor(v) for v in x])
    return _plain_tensor(x)


def tensor(data, *, dtype=None, requires_grad=False, name=None):
    """A new leaf tensor holding a copy of ``data`` (a number, nested list, array or Tensor).

    A list of tensors with gradient history is stacked differentiably (as JAX's
    ``jnp.array``), unless ``requires_grad=True`` asks for a new leaf.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> cr.grad(lambda x: cr.tensor([x, 3 * x]).sum())(x).item()
    4.0
    """
    if not requires_grad and isinstance(data, (list, tuple)) and holds_tensor(data) and any(
            tracked(t) for t in _tensors_in(data)):
        out = as_tensor(data)
        out = out if dtype is None else astype(out, dtype)
        out.name = name
        return out
    return _new_leaf(data, dtype=dtype, requires_grad=requires_grad, name=name)


def _tensors_in(data):
    for d in data:
        if isinstance(d, Tensor):
            yield d
        elif isinstance(d, (list, tuple)):
            yield from _tensors_in(d)


def unify(opname: str, *xs: Tensor) -> tuple:
    """Broadcast and promote ``xs`` to one shape and dtype, as graph ops when tracked (for
    ``where``; elementwise primitives take broadcasting operands and their kind sums the
    gradients back, ``registry.elementwise``)."""
    shape = broadcast_shape(*[x.shape for x in xs])
    if shape is None:
        names = ", ".join(describe(x) for x in xs)
        raise ShapeError(f"{opname}: operands cannot be broadcast together: {names}")
    dtype = xs[0].dtype
    if any(x.dtype != dtype for x in xs):
        dtype = result_dtype(*[x.dtype for x in xs])
    if not any(tracked(x) for x in xs):  # NumPy broadcasts by itself; nothing to differentiate
        return xs if all(x.dtype == dtype for x in xs) else tuple(
            x if x.dtype == dtype else Tensor._wrap(x._data.astype(dtype)) for x in xs)
    out = []
    for x in xs:
        if x.dtype != dtype:
            x = astype(x, dtype)
        if x.shape != shape:
            x = broadcast_to(x, shape)
        out.append(x)
    return tuple(out)


def promoted(*xs: Tensor) -> tuple:
    """``xs`` cast to their common dtype (``result_dtype``: float32 with ints stays float32),
    by ``astype`` ops when any is tracked, so a primitive's rules meet one dtype."""
    dtype = result_dtype(*[x.dtype for x in xs])
    if not any(tracked(x) for x in xs):
        return tuple(x if x.dtype == dtype else Tensor._wrap(x._data.astype(dtype)) for x in xs)
    return tuple(astype(x, dtype) for x in xs)


# -- the front end ----------------------------------------------------------------------------
def _resolve_shape(x, shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(int(n) for n in shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = int(np.prod([n for n in shape if n != -1]))
        if known == 0 or x.size % known:
            raise ShapeError(f"reshape: cannot reshape {describe(x)} into {shape}")
        shape = tuple(x.size // known if n == -1 else n for n in shape)
    if int(np.prod(shape)) != x.size:
        raise ShapeError(f"reshape: cannot reshape {describe(x)} into {shape}")
    return shape


def reshape(x, *shape):
    """A view of ``x`` with a new shape (one dimension may be -1).

    >>> import chainrule as cr
    >>> cr.reshape(cr.arange(6.0), (2, -1)).shape
    (2, 3)
    """
    x = as_tensor(x)
    shape = _resolve_shape(x, shape)
    if shape == x.shape:
        return x
    return apply(RESHAPE, (x,), {"shape": shape, "shape_in": x.shape})


def transpose(x, axes=None):
    """Permute the axes (reverse them by default), as ``numpy.transpose``.

    >>> import chainrule as cr
    >>> cr.transpose(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """
    if axes is None and type(x) is Tensor and x._data.ndim == 2:  # ``w.T``: the hot case
        return apply(TRANSPOSE, (x,), {"axes": _SWAP_LAST_TWO})
    x = as_tensor(x)
    n = x.ndim
    if axes is None:
        axes = tuple(range(n))[::-1]
    axes = tuple(int(a) + n if a < 0 else int(a) for a in axes)
    if sorted(axes) != list(range(n)):
        raise ShapeError(f"transpose: axes {axes} are not a permutation for {describe(x)}")
    if axes == tuple(range(n)):
        return x
    return apply(TRANSPOSE, (x,), {"axes": tuple(a - n for a in axes)})


def swapaxes(x, axis1: int, axis2: int):
    """Exchange the axes ``axis1`` and ``axis2``, as ``numpy.swapaxes``.

    >>> import chainrule as cr
    >>> cr.swapaxes(cr.zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def broadcast_to(x, shape):
    """Repeat ``x`` along new or size-1 dimensions; its gradient is summed back.

    >>> import chainrule as cr
    >>> cr.broadcast_to(cr.tensor([1.0, 2.0]), (2, 2)).tolist()
    [[1.0, 2.0], [1.0, 2.0]]
    """
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if broadcast_shape(x.shape, shape) != shape:
        raise ShapeError(f"broadcast_to: cannot broadcast {describe(x)} to {shape}")
    if shape == x.shape:
        return x
    return apply(BROADCAST, (x,), {"shape": shape, "shape_in": x.shape})


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the transpose of broadcasting to ``x.shape``.

    >>> import chainrule as cr
    >>> cr.sum_to(cr.ones((2, 3)), (1, 3)).tolist()
    [[2.0, 2.0, 2.0]]
    """
    x = as_tensor(x)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return apply(SUM_TO, (x,), {"shape": shape, "shape_from": x.shape})


def astype(x, dtype):
    """Cast to ``dtype``; the gradient is cast back.

    >>> import chainrule as cr
    >>> cr.astype(cr.tensor([1.5]), 'float64').dtype
    dtype('float64')
    """
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    return apply(ASTYPE, (x,), {"dtype": dtype, "dtype_in": x.dtype})


def expand_dims(x, axis):
    """Insert size-1 dimensions at ``axis`` (an int or a tuple, as NumPy).

    >>> import chainrule as cr
    >>> cr.expand_dims(cr.tensor([1.0, 2.0]), 0).shape
    (1, 2)
    """
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return reshape(x, np.expand_dims(np.empty(x.shape, dtype=bool), axes).shape)


def squeeze(x, axis=None):
    """Remove size-1 dimensions (all of them, or those in ``axis``).

    >>> import chainrule as cr
    >>> cr.squeeze(cr.zeros((1, 3, 1))).shape
    (3,)
    """
    x = as_tensor(x)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = norm_axis(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} of {describe(x)} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i - x.ndim not in axes))


def _norm_index(index) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray):
            if i.dtype == np.bool_:
                out.extend(np.nonzero(i))  # a mask is its integer positions
                continue
            if i.dtype.kind not in "iu":
                raise IndexError(f"index arrays must be integer or boolean, got {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x, index):
    """``x[index]`` with basic, integer-array and boolean indexing; differentiable.

    >>> import chainrule as cr
    >>> cr.getitem(cr.tensor([10.0, 20.0, 30.0]), [2, 0]).tolist()
    [30.0, 10.0]
    """
    x = as_tensor(x)
    index = _norm_index(index)
    basic = not any(isinstance(i, np.ndarray) for i in index)
    return apply(GETITEM, (x,), {"index": index, "shape_in": x.shape, "basic": basic})


def take(x, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened tensor if None), as NumPy.

    >>> import chainrule as cr
    >>> cr.take(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), [0, 3]).tolist()
    [1.0, 4.0]
    """
    x = as_tensor(x)
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if axis is None:
        return getitem(reshape(x, -1), idx)
    axis = norm_axis(axis, x.ndim)[0] + x.ndim
    return getitem(x, (slice(None),) * axis + (idx,))


def concatenate(tensors, axis: int = 0):
    """Join tensors along an existing axis (``axis``, 0 by default), as NumPy.

    >>> import chainrule as cr
    >>> cr.concatenate([cr.tensor([1.0]), cr.tensor([2.0, 3.0])]).tolist()
    [1.0, 2.0, 3.0]
    """
    xs = [as_tensor(t) for t in tensors]
    if not xs:
        raise ValueError("concatenate: need at least one tensor")
    ndim = xs[0].ndim
    if ndim == 0 or any(t.ndim != ndim for t in xs):
        raise ShapeError("concatenate: tensors must have the same number (≥ 1) of dimensions: "
                         + ", ".join(describe(t) for t in xs))
    ax = norm_axis(axis, ndim)[0]
    rest = [t.shape[:ndim + ax] + t.shape[ndim + ax + 1:] for t in xs]
    if any(r != rest[0] for r in rest):
        raise ShapeError(f"concatenate: shapes differ outside axis {axis}: "
                         + ", ".join(describe(t) for t in xs))
    xs = promoted(*xs)
    sizes = tuple(t.shape[ax] for t in xs)
    shape = list(xs[0].shape)
    shape[ax] = sum(sizes)
    return apply(CONCAT, tuple(xs), {"axis": ax, "sizes": sizes, "shape": tuple(shape)})


def stack(tensors, axis: int = 0):
    """Join tensors of equal shape along a new axis (``axis``, 0 by default).

    >>> import chainrule as cr
    >>> cr.stack([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])], axis=1).tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """
    xs = [as_tensor(t) for t in tensors]
    if xs and any(t.shape != xs[0].shape for t in xs):
        raise ShapeError("stack: tensors must have equal shapes: "
                         + ", ".join(describe(t) for t in xs))
    return concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def split(x, indices_or_sections, axis: int = 0) -> list:
    """Split into pieces, as ``numpy.split`` (equal sections or cut indices).

    >>> import chainrule as cr
    >>> [p.tolist() for p in cr.split(cr.arange(4.0), 2)]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    x = as_tensor(x)
    ax = norm_axis(axis, x.ndim)[0] + x.ndim
    n = x.shape[ax]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ShapeError(f"split: axis {axis} of {describe(x)} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))
    else:
        cuts = list(indices_or_sections)
    bounds = zip([0] + cuts, cuts + [n])
    return [getitem(x, (slice(None),) * ax + (slice(a, b),)) for a, b in bounds]


def pad(x, pad_width, mode: str = "constant", constant_values=0):
    """Pad with a constant, as ``numpy.pad`` (only ``mode="constant"``).

    >>> import chainrule as cr
    >>> cr.pad(cr.tensor([1.0, 2.0]), 1).tolist()
    [0.0, 1.0, 2.0, 0.0]
    """
    x = as_tensor(x)
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use 'constant'")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: negative pad widths {pad_width}")
    pw = tuple((int(a), int(b)) for a, b in pw)
    out = apply(PAD, (x,), {"pad_width": pw, "shape_in": x.shape})
    if constant_values != 0:
        frame = np.pad(np.zeros(x.shape, x.dtype), pw, constant_values=constant_values)
        out = out + frame
    return out


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None).

    >>> import chainrule as cr
    >>> cr.flip(cr.tensor([1.0, 2.0, 3.0])).tolist()
    [3.0, 2.0, 1.0]
    """
    x = as_tensor(x)
    return apply(FLIP, (x,), {"axis": norm_axis(axis, x.ndim)})
