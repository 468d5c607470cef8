"""chainrule: automatic differentiation and neural networks on NumPy, by backpropagation.

>>> import chainrule as cr
>>> w, x, b = cr.tensor(2.0, requires_grad=True), cr.tensor(3.0), cr.tensor(1.0, requires_grad=True)
>>> y = cr.sigmoid(w * x + b)
>>> y.backward()
>>> round(w.grad.item(), 6)
0.002731
"""
from . import (_malloc, data, distributed, exercises, extend, io, linalg, methods, nn, optim,
               registry)
from .check import gradcheck, numerical_grad
from .compile import CompileError, compile
from .engine import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .errors import (
    AnomalyError,
    ChainruleError,
    GradcheckError,
    GraphFreedError,
    LinAlgError,
    ShapeError,
)
from .explain import Explanation, explain
from .explain.symbolic import Symbolic, symbolic
from .extend import custom_vjp
from .functional import log_softmax, mean, softmax, std, var
from .io import CheckpointError, load, save
from .ops import (
    abs,
    add,
    as_tensor,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cos,
    divide,
    dot,
    einsum,
    elu,
    erf,
    exp,
    expand_dims,
    expm1,
    flip,
    gelu,
    getitem,
    leaky_relu,
    log,
    log1p,
    logsumexp,
    matmul,
    max,
    maximum,
    min,
    minimum,
    multiply,
    neg,
    norm,
    outer,
    pad,
    power,
    prod,
    reciprocal,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softplus,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    sum,
    sum_to,
    swapaxes,
    take,
    tan,
    tanh,
    tensor,
    trace,
    transpose,
    where,
)
from .tensor import (
    Tensor,
    arange,
    bool_,
    eye,
    float32,
    float64,
    full,
    get_default_dtype,
    int64,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    set_default_dtype,
    zeros,
    zeros_like,
)
from .transforms import grad, gradient, hessian, hvp, jacobian, jvp, value_and_grad, vjp

methods.install()
_malloc.tune()
registry.BUILTIN = frozenset(registry.PRIMITIVES)

__version__ = "0.1.0"
