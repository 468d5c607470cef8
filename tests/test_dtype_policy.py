"""Dtypes stay what the user chose: a float Tensor combined with integer or boolean Tensors
or arrays keeps its float dtype (as PyTorch and JAX); complex data is refused at the boundary
with a clear error instead of silently making a complex Tensor with a wrong gradient."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

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
