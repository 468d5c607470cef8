"""The front ends' fast paths for code as users write it: they record fewer nodes, and give
the same values and gradients as the general path (checked against PyTorch)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((4, 3)).astype(np.float32),
            rng.standard_normal((5, 3)).astype(np.float32),
            rng.standard_normal(5).astype(np.float32))


def _grads(fn, arrays, lib):
    if lib == "torch":
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*ts)
        (out * out).sum().backward()
        return out.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in ts]
    ts = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    (out * out).sum().backward()
    return out.data, [None if t.grad is None else t.grad.data for t in ts]


@pytest.mark.parametrize("expr,node", [
    (lambda x, w, b: x @ w.T + b, "add"),  # not fused: cr.explain teaches the broadcast
    (lambda x, w, b: x @ w.T, "linear"),
    (lambda x, w, b: (x @ w.T) * b, "multiply"),
    (lambda x, w, b: (x @ w.T - b) ** 3, "pow_scalar"),
    (lambda x, w, b: (x @ w.T) ** 2 + b, "add"),
])
def test_natural_expressions_match_pytorch(expr, node):
    arrays = _arrays()
    out, grads = _grads(expr, arrays, "cr")
    want, want_grads = _grads(expr, arrays, "torch")
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    for g, t in zip(grads, want_grads, strict=True):
        assert (g is None) == (t is None)
        if g is not None:
            np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5)
            assert g.dtype == np.float32
    x, w, b = (cr.tensor(a, requires_grad=True) for a in arrays)
    assert expr(x, w, b).grad_fn == node


def test_matmul_by_a_transpose_runs_as_linear_unless_hooked_or_in_a_mode():
    x, w, _ = (cr.tensor(a, requires_grad=True) for a in _arrays())
    assert (x @ w.T).grad_fn == "linear"
    t = w.T
    t.register_hook(lambda g: g)
    assert (x @ t).grad_fn == "matmul"
    with cr.detect_anomaly():
        assert (x @ w.T).grad_fn == "matmul"


def test_integer_powers_multiply():
    v = cr.tensor(np.linspace(-2, 2, 7, dtype=np.float32), requires_grad=True)
    y = v ** 3
    assert y.grad_fn == "pow_scalar" and y.dtype == np.float32
    cr.sum(y).backward()
    np.testing.assert_allclose(v.grad.data, 3 * v.data ** 2, rtol=1e-6)
    assert (v ** 2.5).grad_fn == "pow_scalar" and (v ** 5).grad_fn == "pow_scalar"


def test_log_softmax_and_softmax_are_one_node():
    z = cr.tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32),
                  requires_grad=True)
    assert cr.log_softmax(z).grad_fn == "log_softmax"
    assert cr.softmax(z, axis=0).grad_fn == "softmax"
    assert cr.nn.functional.log_softmax(z, 1).grad_fn == "log_softmax"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_sums_match_the_ufunc_and_keep_no_long_vector(dtype, monkeypatch):
    """Row sums (kept) and column sums as BLAS products: NumPy's sums within a few ulps,
    NaN and inf propagated; a sum longer than ONES_MAX runs the ufunc and caches nothing."""
    from chainrule.ops import _front

    x = np.random.default_rng(0).standard_normal((7, 300)).astype(dtype)
    x[2, 5], x[4, 0], x[4, 1] = np.nan, np.inf, -np.inf
    finite = np.where(np.isfinite(x), np.abs(x), 0)

    def close(got, axis, keepdims):  # a sum's error scales with Σ|x|, not with the sum
        want = np.add.reduce(x, axis=axis, keepdims=keepdims)
        bound = 8 * np.finfo(dtype).eps * np.add.reduce(finite, axis=axis, keepdims=keepdims)
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        assert got.shape == want.shape and np.all(same | (np.abs(got - want) <= bound))

    with np.errstate(invalid="ignore"):  # inf − inf: NumPy's sum and BLAS's both warn
        close(_front.blas_sum(x, -1), -1, True)
        close(_front.blas_sum(x, 0), 0, False)
        monkeypatch.setattr(_front, "ONES_MAX", 100)
        monkeypatch.setattr(_front, "_ONES", {})
        assert np.array_equal(_front.blas_sum(x, -1), np.add.reduce(x, axis=-1, keepdims=True),
                              equal_nan=True)
    assert _front._ONES == {}  # 300 > ONES_MAX: nothing kept


def test_two_matrix_products_take_dot_but_batched_values_keep_matmuls_rules():
    from chainrule.batching import _wrap
    from chainrule.ops._front import mat_product
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    np.testing.assert_array_equal(mat_product(a, b), np.matmul(a, b))
    np.testing.assert_array_equal(mat_product(a[None], b), np.matmul(a[None], b))
    wb = _wrap(rng.standard_normal((5, 3, 2)), (1,))  # 5 examples of a 3x2 matrix
    assert wb.ndim == 2  # one example's rank: np.dot would contract the wrong axes
    got = np.asarray(mat_product(a, wb))
    assert got.shape == (5, 4, 2)
    np.testing.assert_allclose(got, np.matmul(a, np.asarray(wb)))
