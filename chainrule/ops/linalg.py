"""Products: matmul (bilinear), einsum (multilinear), and composites dot, outer, trace."""
from __future__ import annotations

import numpy as np

from ..apply import apply
from ..engine import HOOKED, HOOKS, STATE
from ..errors import ShapeError, describe
from ..registry import general, multilinear, pad_core
from ..tensor import Tensor
from ._front import check_batch_dims, mat_product, tracked
from .reduce import sum as sum_
from .shape import TRANSPOSE, as_tensor, promoted, reshape

# The primitive sees ≥2-D operands only (the front end reshapes vectors), so its rules need
# no 1-D special cases; batch dimensions broadcast, and the kind sums them back (fit).
MATMUL = multilinear(
    "matmul", mat_product,
    lambda ops, g, out, x, y: ops.matmul(g, ops.swapaxes(y, -1, -2)),
    lambda ops, g, out, x, y: ops.matmul(ops.swapaxes(x, -1, -2), g),
    formula="Z = XY: X̄ = Z̄·Yᵀ, Ȳ = Xᵀ·Z̄")


def _plain_transpose_of(y):
    """The 2-D tensor ``w`` when ``y`` is ``w.T`` recorded just now (no hook on it), else
    None: ``x @ w.T`` is then the fused ``linear``, whose weight gradient comes out in w's
    own layout (no transposed gradient to copy, one node fewer in the sweep)."""
    node = y._node
    if node is None or node.prim is not TRANSPOSE or node.params["axes"] != (-1, -2):
        return None
    w = node.inputs[0]
    if w._data.ndim != 2 or HOOKED[0] and node in HOOKS:
        return None
    return w


def matmul(x, y):
    """Matrix product with NumPy's rules (1-D operands, broadcasting batch dimensions).

    >>> import chainrule as cr
    >>> cr.matmul(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    if type(x) is Tensor and type(y) is Tensor and x._data.ndim == 2 == y._data.ndim \
            and x._data.dtype == y._data.dtype:  # the hot case: two matrices, one dtype
        if x._data.shape[1] != y._data.shape[0]:
            raise ShapeError(f"matmul: inner dimensions differ ({x.shape[1]} vs "
                             f"{y.shape[0]}): {describe(x)} @ {describe(y)}")
        w = _plain_transpose_of(y) if y._requires_grad else None
        if w is not None and STATE.mode.plain:
            return apply(LINEAR, (x, w))
        return apply(MATMUL, (x, y))
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension: {describe(x)}, "
                         f"{describe(y)}")
    k_y = y.shape[-2] if y.ndim > 1 else y.shape[0]
    if x.shape[-1] != k_y:
        raise ShapeError(f"matmul: inner dimensions differ ({x.shape[-1]} vs {k_y}): "
                         f"{describe(x)} @ {describe(y)}")
    check_batch_dims("matmul", x, y)
    if not (tracked(x) or tracked(y)):
        return apply(MATMUL, promoted(x, y) if x.dtype != y.dtype else (x, y))
    x, y = promoted(x, y)
    # The primitive sees ≥2-D operands only, so its rules need no 1-D special cases.
    xv = reshape(x, (1,) + x.shape) if x.ndim == 1 else x
    yv = reshape(y, y.shape + (1,)) if y.ndim == 1 else y
    out = apply(MATMUL, (xv, yv))
    if x.ndim == 1 or y.ndim == 1:  # drop the dimensions the 1-D operands gained
        keep = [True] * out.ndim
        keep[-2] = x.ndim > 1
        keep[-1] = y.ndim > 1
        out = reshape(out, tuple(n for n, k in zip(out.shape, keep) if k))
    return out


# -- einsum -----------------------------------------------------------------------------------
def _letters(spec: str) -> str:
    return spec.replace("...", "")


def _einsum_transpose(i):
    """x̄ᵢ = einsum(ȳ, the other operands -> xᵢ's indices); indices only xᵢ has (summed in
    the forward) get the result broadcast back over them."""
    def rule(ops, g, out, *xs, ins, out_spec):
        others = [out_spec] + [s for j, s in enumerate(ins) if j != i]
        operands = [g] + [v for j, v in enumerate(xs) if j != i]
        present = set(_letters("".join(others)))
        letters = _letters(ins[i])
        kept = "".join(c for c in letters if c in present)
        r = ops.einsum(",".join(others) + "->..." + kept, *operands)
        if kept != letters:
            x = xs[i]
            ell = r.shape[:r.ndim - len(kept)]
            sizes = dict(zip(letters, x.shape[x.ndim - len(letters):]))
            ones = ell + tuple(sizes[c] if c in present else 1 for c in letters)
            r = ops.broadcast_to(ops.reshape(r, ones), ell + tuple(sizes[c] for c in letters))
        return r
    return rule


def _einsum_batch(ops, prim, xs, i, dx, p):
    """A batched tangent at operand i: its batch dims go in front of every operand's '...'
    dims, so pad its '...' part to the longest one."""
    ells = [x.ndim - len(_letters(s)) for x, s in zip(xs, p["ins"])]
    args = list(xs)
    args[i] = pad_core(dx, xs[i].ndim, xs[i].ndim + max(ells) - ells[i])
    return ops.apply(prim, tuple(args), p)


EINSUM = multilinear(
    "einsum", lambda *xs, ins, out_spec: np.einsum(",".join(ins) + "->" + out_spec, *xs,
                                                   optimize=len(xs) > 2),
    rule_for=_einsum_transpose, batch=_einsum_batch,
    formula="multilinear: x̄ᵢ contracts the output's gradient with the other operands")


def einsum(subscripts: str, *operands):
    """Einstein summation, as ``numpy.einsum``; differentiable in every operand.

    Repeated indices inside one operand (diagonals such as ``"ii->i"``) are not supported
    for differentiation; use ``trace`` or index with ``arange`` instead.

    >>> import chainrule as cr
    >>> a = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.einsum('ij,j->i', a, cr.tensor([1.0, 0.0])).tolist()
    [1.0, 3.0]
    """
    xs = [as_tensor(o) for o in operands]
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        lhs, rhs = spec.split("->")
    else:  # implicit mode: indices that appear once, alphabetically
        lhs = spec
        letters = [c for c in lhs.replace("...", "") if c.isalpha()]
        rhs = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != len(xs):
        raise ShapeError(f"einsum: {subscripts!r} names {len(ins)} operands, got {len(xs)}")
    for s, x in zip(ins + [rhs], xs + [None]):
        if "..." in s and not s.startswith("...") and (x is None or tracked(x)):
            raise NotImplementedError(f"einsum: '...' must lead the subscripts {s!r} to be "
                                      "differentiable")
        letters = _letters(s)
        if x is not None and tracked(x) and len(set(letters)) != len(letters):
            raise NotImplementedError(
                f"einsum: repeated index in {s!r} is not differentiable; use trace")
    # A leading '...' everywhere lets batched tangents through as extra leading dimensions.
    ins = [s if s.startswith("...") else "..." + s for s in ins]
    rhs = rhs if rhs.startswith("...") else "..." + rhs
    xs = promoted(*xs)
    try:
        return apply(EINSUM, tuple(xs), {"ins": tuple(ins), "out_spec": rhs})
    except ShapeError as err:
        raise ShapeError(f"einsum {subscripts!r}: {err}") from None


def dot(x, y):
    """Inner product of vectors, or matrix product for 2-D operands (as ``numpy.dot``)."""
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim > 2 or y.ndim > 2:
        raise ShapeError(f"dot: operands of more than 2 dimensions ({describe(x)}, "
                         f"{describe(y)}); use matmul or einsum")
    return matmul(x, y)


def outer(x, y):
    """Outer product of two vectors (flattened first, as ``numpy.outer``).

    >>> import chainrule as cr
    >>> cr.outer(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    return reshape(x, (-1, 1)) * reshape(y, (1, -1))


def trace(x):
    """Sum of the main diagonal of a 2-D tensor."""
    x = as_tensor(x)
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-D tensor, got {describe(x)}")
    return sum_(x * np.eye(*x.shape, dtype=x.dtype))




# -- fused primitives for the layers that dominate training ----------------------------------
def _linear_forward(x, w, b=None):
    out = mat_product(x, w.T)
    if b is not None:
        out += b
    return out


def _linear_jvp(ops, g, out, x, w, b=None):
    dx, dw = g[0], g[1]
    terms = []
    if dx is not None:
        terms.append(ops.matmul(dx, ops.swapaxes(w, -1, -2)))
    if dw is not None:  # a batch of weight tangents must not meet x's leading dims
        terms.append(ops.matmul(x, ops.swapaxes(pad_core(dw, 2, x.ndim), -1, -2)))
    if len(g) == 3 and g[2] is not None:
        terms.append(pad_core(g[2], 1, x.ndim))
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    out_shape = x.shape[:-1] + (w.shape[0],)
    return ops.broadcast_to(total, total.shape[:total.ndim - len(out_shape)] + out_shape)


def _flat(ops, v):
    """Leading dims folded into one: (N, features)."""
    return ops.reshape(v, (-1, v.shape[-1]))


# General: affine, not multilinear (the bias enters linearly, not as a factor), and fused so
# that W̄ = ȳᵀ·x comes out in the weight's own (out, in) layout without a transposing copy.
LINEAR = general(
    "linear", _linear_forward,
    vjp=[lambda ops, g, out, x, w, b=None: ops.matmul(g, w),
         lambda ops, g, out, x, w, b=None: ops.matmul(ops.swapaxes(g, -1, -2), x) if g.ndim == 2
         else ops.matmul(ops.swapaxes(_flat(ops, g), -1, -2), _flat(ops, x)),
         lambda ops, g, out, x, w, b=None: ops.sum(g, axis=tuple(range(g.ndim - 1)))],
    jvp=_linear_jvp, formula="y = x·Wᵀ + b: x̄ = ȳ·W, W̄ = ȳᵀ·x, b̄ = Σₙ ȳₙ")


def linear(x, weight, bias=None):
    """x·Wᵀ + b with ``weight`` (out, in): one fused primitive (one node, and a weight
    gradient computed directly in the weight's layout).

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 2.0]])
    >>> w = cr.tensor([[1.0, 1.0], [0.0, 2.0], [1.0, -1.0]])
    >>> cr.nn.functional.linear(x, w, cr.tensor([0.0, 0.0, 10.0])).tolist()
    [[3.0, 4.0, 9.0]]
    """
    x, w = as_tensor(x), as_tensor(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: input {describe(x)} does not fit weight {describe(w)} "
                         "(out, in)")
    xs = (x, w)
    if bias is not None:
        b = as_tensor(bias)
        if b.shape != (w.shape[0],):
            raise ShapeError(f"linear: bias {describe(b)} should have shape ({w.shape[0]},)")
        xs = (x, w, b)
    if any(t.dtype != x.dtype for t in xs):  # the hot path checks dtypes, nothing else
        xs = promoted(*xs)
    return apply(LINEAR, xs)
