"""Every differentiable function of the public API, one module per kind of primitive."""
import numpy as _np

from .. import registry as _registry
from .conv import avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d
from .elementwise import (
    _sigmoid_array,
    abs,
    add,
    clip,
    cos,
    divide,
    elu,
    erf,
    exp,
    expm1,
    gelu,
    leaky_relu,
    log,
    log1p,
    maximum,
    minimum,
    multiply,
    neg,
    power,
    reciprocal,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    where,
)
from .linalg import dot, einsum, matmul, outer, trace
from .reduce import logsumexp, max, min, norm, prod, softmax_cross_entropy, sum
from .shape import _sum_to as _sum_to_array
from .shape import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    getitem,
    pad,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    take,
    transpose,
)
from .special import erf_array as _erf_array

# The names rules use, bound to Tensor-level functions (for differentiable backward passes)...
_registry.TENSOR.__dict__.update(
    exp=exp, log=log, sqrt=sqrt, sin=sin, cos=cos, tanh=tanh, sigmoid=sigmoid,
    erf=erf, sign=sign, square=square, reciprocal=reciprocal, abs=abs, where=where, sum=sum,
    sum_to=sum_to, matmul=matmul, swapaxes=swapaxes, einsum=einsum, transpose=transpose,
    reshape=reshape, broadcast_to=broadcast_to, expand_dims=expand_dims, prod=prod)
# ...and the NumPy ones that ``RAW`` lacks.
_registry.RAW.__dict__.update(
    sum_to=lambda x, shape: _sum_to_array(x, tuple(shape), x.shape),
    broadcast_to=_np.broadcast_to, expand_dims=_np.expand_dims,
    prod=_np.prod, sigmoid=_sigmoid_array, erf=_erf_array)


def _tensor_apply(prim, xs, params=None):
    from ..engine import apply
    return apply(prim, tuple(xs), params)


_registry.TENSOR.apply = _tensor_apply
