"""Dtypes stay what the user chose: a float Tensor combined with integer or boolean Tensors
or arrays keeps its float dtype (as PyTorch and JAX); complex data is refused at the boundary
with a clear error instead of silently making a complex Tensor with a wrong gradient."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import more_elementwise, special_fns
from chainrule.registry import Primitive

OPS = {
    "add": lambda a, b: a + b, "rsub": lambda a, b: b - a, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": cr.maximum,
    "minimum": cr.minimum, "where": lambda a, b: cr.where(np.array([True, False]), a, b),
    "matmul": lambda a, b: a @ b, "concatenate": lambda a, b: cr.concatenate([a, b]),
    "einsum": lambda a, b: cr.einsum("i,i->", a, b), "np_add": np.add,
}
OTHERS = {
    "int_tensor": lambda: cr.tensor(np.array([1, 2])),
    "int_array": lambda: np.array([1, 2], dtype=np.int64),
    "int32_array": lambda: np.array([1, 2], dtype=np.int32),
    "bool_array": lambda: np.array([True, False]),
    "numpy_int": lambda: np.int64(3),
}


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("other", OTHERS, ids=str)
@pytest.mark.parametrize("op", OPS, ids=str)
def test_float32_with_integers_stays_float32(op, other, requires_grad):
    x = cr.tensor([0.5, 1.5], requires_grad=requires_grad)
    o = OTHERS[other]()
    if op in ("concatenate", "einsum", "matmul") and np.ndim(o) == 0:
        o = np.array([3, 4])
    out = OPS[op](x, o)
    assert out.dtype == np.float32, (op, other, out.dtype)
    if requires_grad:
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_integer_tensor_with_a_float32_array_is_float32():
    assert (cr.tensor([1, 2]) * np.array([0.5, 0.5], np.float32)).dtype == np.float32
    assert (np.arange(2) + cr.tensor([0.5, 0.5])).dtype == np.float32


def test_two_floats_promote_as_numpy():
    assert (cr.tensor([1.0]) + np.array([1.0])).dtype == np.float64


@pytest.mark.parametrize("make", [
    lambda t: t * 0.2j, lambda t: 0.2j + t, lambda t: t ** 1j, lambda t: t + np.array([1j, 2]),
    lambda t: np.multiply(t, 1j), lambda t: cr.add(t, np.complex128(1j)),
    lambda t: cr.tensor([1j, 2.0]), lambda t: t @ np.array([1j, 1.0]),
], ids=["mul", "radd", "pow", "array", "np_multiply", "numpy_scalar", "tensor", "matmul"])
def test_complex_is_refused_with_a_clear_error(make):
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="complex"):
        make(t)
    assert t.dtype == np.float32 and t.grad is None


# -- the new elementwise primitives' SymPy counterparts agree with their NumPy forwards ------
NEW_ELEMENTWISE = {  # name -> (inputs, params)
    "log2": ((1.7,), {}), "log10": ((1.7,), {}), "exp2": ((0.3,), {}), "sinh": ((0.3,), {}),
    "cosh": ((0.3,), {}), "arcsin": ((0.3,), {}), "arccos": ((0.3,), {}),
    "arctan": ((0.3,), {}), "arcsinh": ((0.3,), {}), "arccosh": ((1.3,), {}),
    "arctanh": ((0.3,), {}), "cbrt": ((1.7,), {}), "deg2rad": ((30.0,), {}),
    "rad2deg": ((0.3,), {}), "sinc": ((0.3,), {}), "floor": ((1.7,), {}), "ceil": ((1.2,), {}),
    "trunc": ((-1.7,), {}), "rint": ((1.7,), {}), "round": ((1.26,), {"decimals": 1}),
    "nan_to_num": ((1.5,), {"nan": 0.0, "posinf": None, "neginf": None}),
    "sqrt_zero_safe": ((1.7,), {}), "arctan2": ((0.3, -0.8), {}), "hypot": ((0.3, 0.4), {}),
    "logaddexp": ((0.3, 0.4), {}), "logaddexp2": ((0.3, 0.4), {}),
    "remainder": ((-1.7, 0.5), {}), "fmod": ((-1.7, 0.5), {}), "fmax": ((0.3, 0.4), {}),
    "fmin": ((0.3, 0.4), {}), "copysign": ((0.3, -0.4), {}), "heaviside": ((0.0, 0.4), {}),
    "polygamma": ((1.3,), {"n": 2}), "digamma": ((1.3,), {}), "gammaln": ((1.3,), {}),
    "erfc": ((0.3,), {}), "erfinv": ((0.3,), {}), "logit": ((0.3,), {}), "ndtr": ((0.3,), {}),
    "log_ndtr": ((0.3,), {}), "ndtri": ((0.3,), {}), "i0": ((0.3,), {}), "i1": ((0.3,), {}),
    "i0e": ((-0.3,), {}), "i1e": ((-0.3,), {}), "xlogy": ((0.3, 1.4), {}),
    "xlog1py": ((0.3, 1.4), {}),
}


# The primitive objects themselves: a user extension may reuse a name in the registry.
_OWN = {p.name: p for m in (more_elementwise, special_fns) for p in vars(m).values()
        if isinstance(p, Primitive)}


@pytest.mark.parametrize("name", sorted(NEW_ELEMENTWISE))
def test_sympy_counterpart_matches_the_forward(name):
    sp = pytest.importorskip("sympy")
    prim = _OWN[name]
    xs, params = NEW_ELEMENTWISE[name]
    ours = float(prim.forward(*[np.float64(x) for x in xs], **params))
    theirs = float(sp.N(prim.sympy(sp, *[sp.Float(x) for x in xs], **params)))
    assert np.isclose(ours, theirs, rtol=1e-9), (name, ours, theirs)
