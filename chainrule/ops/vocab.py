"""The vocabulary rules compute with, in one place: the same names twice.

``RAW`` runs a rule on NumPy arrays: a plain ``backward()`` builds no graph of its own, so it
runs at NumPy speed. ``TENSOR`` runs the same rule on Tensors with chainrule's functions, so
the derivative is itself recorded and differentiable (``create_graph``, ``grad(grad(f))``,
forward mode, forward-over-reverse Hessians). A rule uses these names and operators only.
"""
from __future__ import annotations

import types

import numpy as np

from .. import engine
from ..apply import apply
from ..tensor import new_tensor
from ._front import blas_sum, mat_product
from .elementwise import (
    _sigmoid_array,
    abs,
    cos,
    erf,
    exp,
    log,
    reciprocal,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    tanh,
    where,
)
from .linalg import einsum, matmul
from .reduce import prod, sum
from .shape import (
    BROADCAST,
    RESHAPE,
    _sum_to,
    expand_dims,
    reshape,
    sum_to,
    swapaxes,
    transpose,
)
from .special import erf_array


def _raw_apply(prim, xs, params=None):
    return prim.forward(*xs, **params) if params else prim.forward(*xs)


def _lean_reshape(x, shape):
    """reshape for rules: no checks (a rule's shapes are right by construction)."""
    shape = tuple(shape)
    if -1 in shape:
        return reshape(x, shape)  # the front end resolves it
    return x if x.shape == shape else apply(RESHAPE, (x,), {"shape": shape,
                                                            "shape_in": x.shape})


def _lean_broadcast_to(x, shape):
    """broadcast_to for rules: no checks (a rule's shapes are right by construction)."""
    shape = tuple(shape)
    return x if x.shape == shape else apply(BROADCAST, (x,), {"shape": shape,
                                                              "shape_in": x.shape})


def _raw_broadcast_to(x, shape):
    """np.broadcast_to for rules on arrays. Small results are copied with one C-level call
    (np.broadcast_to is Python-level, ~3 µs: a reduction's gradient pays it every time);
    large ones stay zero-copy views."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    n = 1
    for d in shape:
        n *= d
    if n > 4096:
        return np.broadcast_to(x, shape)
    out = np.empty(shape, x.dtype)
    np.copyto(out, x)
    return out


def _output_tensor(node):
    """The node's output as a Tensor in its graph (rebuilt on its value if the user dropped
    it: the node is alive, the Tensor object need not be)."""
    out = node.out_ref()
    if out is None:
        out = new_tensor(node.out_data)
        out._node, out._requires_grad = node, True
    return out


_ROWS, _COLUMNS = (-1, (-1,), 1, (1,)), (0, (0,), -2, (-2,))


def _raw_sum(x, axis=None, keepdims=False):
    """``x.sum`` for rules on arrays (the method: NumPy's module function adds ~0.5–1 µs of
    dispatch). A float matrix's row sums, kept (softmax-like rules), or its column sums (a
    bias's gradient) are one BLAS product (``blas_sum``): about half the cost."""
    if x.ndim == 2 and x.dtype.char in "fd":
        if keepdims and axis in _ROWS:
            return blas_sum(x, -1)
        if not keepdims and axis in _COLUMNS:
            return blas_sum(x, 0)
    return x.sum(axis=axis, keepdims=keepdims)


RAW = types.SimpleNamespace(
    is_tensor=False, apply=_raw_apply, output=lambda node: node.out_data,
    zeros=np.zeros,
    exp=np.exp, log=np.log, sqrt=np.sqrt, sin=np.sin, cos=np.cos, tanh=np.tanh,
    sigmoid=_sigmoid_array, erf=erf_array, sign=np.sign, square=np.square,
    reciprocal=np.reciprocal, abs=np.abs, where=np.where, matmul=mat_product, einsum=np.einsum,
    prod=np.prod, broadcast_to=_raw_broadcast_to, expand_dims=np.expand_dims,
    # Methods, not NumPy's module functions: those add ~0.5–1 µs of dispatch to every call.
    sum=_raw_sum,
    reshape=lambda x, shape: x.reshape(shape),
    swapaxes=lambda x, axis1, axis2: x.swapaxes(axis1, axis2),
    transpose=lambda x, axes=None: x.transpose(axes),
    sum_to=lambda x, shape: _sum_to(x, tuple(shape), x.shape),
)

TENSOR = types.SimpleNamespace(
    is_tensor=True, apply=lambda prim, xs, params=None: apply(prim, tuple(xs), params),
    output=_output_tensor,
    zeros=lambda shape, dtype: new_tensor(np.zeros(shape, dtype)),
    exp=exp, log=log, sqrt=sqrt, sin=sin, cos=cos, tanh=tanh,
    sigmoid=sigmoid, erf=erf, sign=sign, square=square,
    reciprocal=reciprocal, abs=abs, where=where, matmul=matmul, einsum=einsum,
    prod=prod, broadcast_to=_lean_broadcast_to, expand_dims=expand_dims,
    sum=sum, reshape=_lean_reshape, swapaxes=swapaxes, transpose=transpose, sum_to=sum_to,
)

engine.install_vocabulary(RAW, TENSOR)
