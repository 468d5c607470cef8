"""Plain NumPy code, unmodified, differentiated by passing Tensors to it (NEP 13/18 dispatch):
gradients against central differences; unsupported functions refused by name; ``out=`` and
in-place forms into NumPy arrays compute on the values."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(11)


# -- functions written for NumPy, with no thought of chainrule ---------------------------------
def rosenbrock(p):
    return np.sum(100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2)


def softmax_regression_loss(W, b, X, y):
    logits = np.dot(X, W) + b
    logits = logits - np.max(logits, axis=1, keepdims=True)
    log_p = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(y)), y])


def mlp(W1, b1, W2, b2, X):
    h = np.tanh(X @ W1 + b1)
    z = np.maximum(np.matmul(h, W2) + b2, 0.0)
    return np.sum(np.square(z)) / np.size(z) + 0.1 * np.linalg.norm(W1)


def _check_against_fd(f, *arrays):
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    out = f(*xs)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, f(*arrays), rtol=1e-12)  # same value as NumPy's
    grads = cr.gradient(out, xs)
    for i, (g, a) in enumerate(zip(grads, arrays)):
        others = list(arrays)

        def fi(v, i=i, others=others):
            args = list(others)
            args[i] = v
            return f(*args)
        numeric = cr.numerical_grad(fi, a)
        np.testing.assert_allclose(g.data, numeric, rtol=1e-6, atol=1e-7)


def test_rosenbrock_as_written():
    _check_against_fd(rosenbrock, RNG.standard_normal(5))


def test_softmax_regression_loss_as_written():
    X, y = RNG.standard_normal((6, 4)), np.array([0, 2, 1, 1, 0, 2])
    _check_against_fd(lambda W, b: softmax_regression_loss(W, b, X, y),
                      RNG.standard_normal((4, 3)), RNG.standard_normal(3))


def test_mlp_forward_as_written():
    X = RNG.standard_normal((5, 3))
    _check_against_fd(lambda W1, b1, W2, b2: mlp(W1, b1, W2, b2, X),
                      RNG.standard_normal((3, 4)), RNG.standard_normal(4),
                      RNG.standard_normal((4, 2)), RNG.standard_normal(2))


def test_second_order_through_numpy_calls():
    """cr.hessian of plain NumPy code: the Rosenbrock Hessian at (1, 1) is known exactly."""
    h = cr.hessian(rosenbrock)(cr.tensor([1.0, 1.0], dtype=cr.float64))
    np.testing.assert_allclose(h.data, [[802.0, -400.0], [-400.0, 200.0]], rtol=1e-12)


# -- what comes back ---------------------------------------------------------------------------
def test_numpy_functions_return_tensors_with_history():
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = cr.tensor([4.0, 5.0], requires_grad=True)
    for out in (np.sin(t), np.sum(t, axis=0), np.dot(np.ones(3), t), np.linalg.norm(t),
                np.concatenate([t, u]), np.add.reduce(t), np.multiply.outer(t, u),
                np.mean(t), np.transpose(np.reshape(t, (3, 1))), np.clip(t, 1.5, 2.5),
                np.where(t.data > 1, t, 0.0), np.einsum("i,i->", t, t)):
        assert isinstance(out, cr.Tensor) and out.requires_grad, out


def test_binary_operators_with_an_array_on_the_left_still_give_tensors():
    t = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    for out in (a @ t, a - t, a * t, a / t, a ** t, a + t):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    (a @ t).sum().backward()
    np.testing.assert_allclose(t.grad.data, [4.0, 6.0])
    assert isinstance(a < t, cr.Tensor) and (a < t).dtype == np.bool_


def test_functions_without_a_rule_are_refused_by_name():
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.fft\.fft"):
        np.fft.fft(t)
    with pytest.raises(TypeError, match=r"numpy\.interp"):
        np.interp(t, [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(TypeError, match=r"numpy\.frexp"):
        np.frexp(t)
    with pytest.raises(TypeError, match="where"):
        np.sum(t, where=np.array([True, False, True]))


def test_results_without_derivative_run_on_the_values():
    t = cr.tensor([1.0, 5.0, 3.0], requires_grad=True)
    assert np.shape(t) == (3,) and np.ndim(t) == 1 and int(np.argmax(t)) == 1
    assert np.allclose(t, [1.0, 5.0, 3.0])
    assert np.isfinite(t).data.all() and np.isclose(t, t).data.all()


def test_in_place_into_an_array_computes_on_the_values():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    before = p.data
    p.data -= 0.5 * p.grad            # NumPy runs this as np.subtract(a, g, out=a)
    assert p.data is before and p.data.tolist() == [0.0, 0.0]
    a = np.ones(2)
    a += cr.tensor([1.0, 2.0])
    a *= cr.tensor([2.0, 2.0])
    assert type(a) is np.ndarray and a.tolist() == [4.0, 6.0]
    out = np.zeros(2)
    assert np.exp(cr.tensor([0.0, 0.0]), out=out) is out and out.tolist() == [1.0, 1.0]
    assert np.sum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0, out=out) is out
    assert out.tolist() == [4.0, 6.0]


def test_out_tensor_with_history_is_refused():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.exp(np.ones(2), out=t)


CALLS = {
    "cumsum": lambda np_, t: np_.cumsum(t, axis=1), "sort": lambda np_, t: np_.sort(t, axis=0),
    "median": lambda np_, t: np_.median(t), "std": lambda np_, t: np_.std(t, ddof=1),
    "var": lambda np_, t: np_.var(t, axis=0), "round": lambda np_, t: np_.round(t, 2),
    "svd": lambda np_, t: np_.linalg.svd(t, compute_uv=False),
    "norm_nuc": lambda np_, t: np_.linalg.norm(t, "nuc"), "trace": lambda np_, t: np_.trace(t),
    "tensordot": lambda np_, t: np_.tensordot(t, t, 1),
    "log10": lambda np_, t: np_.log10(t * t + 1), "vstack": lambda np_, t: np_.vstack([t, t]),
    "diff": lambda np_, t: np_.diff(t, axis=0),
    "inv": lambda np_, t: np_.linalg.inv(t + 3 * np_.eye(3)), "mod": lambda np_, t: t % 0.3,
}


@pytest.mark.parametrize("name", CALLS)
def test_numpy_calls_agree_with_numpy_and_differentiate(name):
    call = CALLS[name]
    a = np.random.default_rng(3).standard_normal((3, 3))
    t = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    out = call(np, t)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, call(np, a), rtol=1e-10, atol=1e-12)
    cr.sum(out).backward()
    assert t.grad is not None and t.grad.shape == (3, 3)


def test_ndarray_methods_on_tensors():
    t = cr.tensor([[3.0, 1.0], [2.0, 4.0]], requires_grad=True)
    assert t.cumsum(0).tolist() == [[3.0, 1.0], [5.0, 5.0]]
    assert t.trace().item() == 7.0 and t.diagonal().tolist() == [3.0, 4.0]
    assert int(t.argmax()) == 3 and t.ravel().shape == (4,)
    assert (t % 2.0).tolist() == [[1.0, 1.0], [0.0, 0.0]]


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_full_svd_of_a_rectangular_matrix_is_orthogonal_and_reconstructs(shape):
    a = np.random.default_rng(5).standard_normal(shape)
    u, s, vh = np.linalg.svd(cr.tensor(a, dtype=cr.float64, requires_grad=True))
    assert u.shape == (shape[0],) * 2 and vh.shape == (shape[1],) * 2
    np.testing.assert_allclose((u.T @ u).data, np.eye(shape[0]), atol=1e-12)
    np.testing.assert_allclose((vh @ vh.T).data, np.eye(shape[1]), atol=1e-12)
    k = min(shape)
    np.testing.assert_allclose((u[:, :k] * s @ vh[:k]).data, a, atol=1e-12)


def test_a_one_element_result_formats_as_a_number():
    t = cr.tensor([1.0, 2.5], requires_grad=True)
    assert f"{np.max(t):.2f}" == "2.50" and f"{np.mean(t):.1e}" == "1.8e+00"
    assert f"{t}" == str(t)
