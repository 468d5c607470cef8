"""Finite differences and gradient checking: the public tools the test-suite also uses."""
from __future__ import annotations

import numpy as np

from .engine import enable_grad, no_grad
from .errors import GradcheckError
from .ops import concatenate, reshape, sum
from .ops.shape import as_tensor
from .tensor import Tensor
from .transforms import grad, jacobian


def _float64_inputs(inputs):
    out = []
    for x in inputs:
        arr = np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
        out.append(arr)
    return out


def numerical_grad(f, *inputs, eps: float = 1e-6):
    """Central differences in float64: for each input, ∂f/∂input shaped
    ``f(...).shape + input.shape`` (a plain gradient when f is scalar).

    Returns one array for one input, else a tuple.

    >>> import chainrule as cr
    >>> float(cr.numerical_grad(lambda x: x ** 2, 3.0).round(6))
    6.0
    """
    xs = _float64_inputs(inputs)

    def call(values):
        with no_grad():
            return np.array(as_tensor(f(*[Tensor._wrap(v) for v in values])).data,
                            dtype=np.float64)

    base_shape = call(xs).shape
    grads = []
    for i, x in enumerate(xs):
        jac = np.zeros(base_shape + x.shape)
        flat = jac.reshape(base_shape + (-1,))
        for j in range(x.size):
            plus, minus = [v.copy() for v in xs], [v.copy() for v in xs]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            flat[..., j] = (call(plus) - call(minus)) / (2 * eps)
        grads.append(jac)
    return grads[0] if len(grads) == 1 else tuple(grads)


def _analytic_jacobians(f, xs, mode):
    nums = tuple(range(len(xs)))
    jac = jacobian(f, nums, mode=mode)(*[Tensor._wrap(x) for x in xs])
    return [np.asarray(j.data, dtype=np.float64) for j in jac]


def _compare(analytic, numeric, i, name, atol, rtol, what):
    bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol, equal_nan=False)
    if not bad.any():
        return
    pos = np.unravel_index(int(np.argmax(bad)), analytic.shape)
    raise GradcheckError(
        f"gradcheck ({what}): input {i}{f' ({name})' if name else ''}, element "
        f"{tuple(int(p) for p in pos)} (output index first): analytic {analytic[pos]:.10g}, "
        f"numeric {numeric[pos]:.10g}, difference {abs(analytic[pos] - numeric[pos]):.3g} > "
        f"atol {atol} + rtol {rtol}·|numeric|")


def gradcheck(f, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              order: int = 1) -> bool:
    """Check reverse- and forward-mode derivatives of ``f`` against central differences
    (float64). ``f`` may return any shape. ``order=2`` also checks second derivatives
    (the derivative of ⟨v, ∂f/∂x⟩ for a random v). Returns True or raises
    ``GradcheckError`` naming the input, the element, the analytic and the numeric value.

    >>> import chainrule as cr
    >>> cr.gradcheck(lambda x: cr.tanh(x) * x, cr.tensor([0.5, -1.0]))
    True
    """
    xs = _float64_inputs(inputs)
    names = [getattr(x, "name", None) for x in inputs]
    numeric = numerical_grad(f, *xs, eps=eps)
    numeric = [numeric] if len(xs) == 1 else list(numeric)
    for mode in ("reverse", "forward"):
        for i, (a, n) in enumerate(zip(_analytic_jacobians(f, xs, mode), numeric)):
            _compare(a, n, i, names[i], atol, rtol, f"{mode} mode")
    if order >= 2:
        rng = np.random.default_rng(0)
        with no_grad():
            out_shape = as_tensor(f(*[Tensor._wrap(x) for x in xs])).shape
        v = rng.standard_normal(out_shape)

        contract = grad(lambda *a: sum(as_tensor(f(*a)) * v), argnums=tuple(range(len(xs))))

        def first_derivative(*args):
            with enable_grad():
                return concatenate([reshape(g, -1) for g in contract(*args)])

        gradcheck(first_derivative, *xs, eps=eps, atol=atol, rtol=rtol, order=order - 1)
    return True
