"""grad / value_and_grad / vjp / jvp / jacobian / hessian / hvp, and their compositions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.fixture(autouse=True)
def float64():
    cr.set_default_dtype(cr.float64)
    yield
    cr.set_default_dtype(cr.float32)


def test_grad_of_grad_to_fourth_order():
    f = lambda x: cr.sin(x * x)
    d = [f]
    for _ in range(4):
        d.append(cr.grad(d[-1]))
    x = 0.7
    expected = [np.sin(x * x), 2 * x * np.cos(x * x),
                2 * np.cos(x * x) - 4 * x * x * np.sin(x * x),
                -12 * x * np.sin(x * x) - 8 * x ** 3 * np.cos(x * x),
                -12 * np.sin(x * x) - 48 * x * x * np.cos(x * x) + 16 * x ** 4 * np.sin(x * x)]
    for fn, want in zip(d[1:], expected[1:]):
        assert np.isclose(fn(x).item(), want, rtol=1e-12)


def test_argnums_tuple_and_has_aux():
    f = lambda x, y: (x * y ** 2, {"note": 1})
    (gx, gy), aux = cr.grad(f, argnums=(0, 1), has_aux=True)(3.0, 2.0)
    assert (gx.item(), gy.item(), aux) == (4.0, 12.0, {"note": 1})
    (v, aux), g = cr.value_and_grad(f, argnums=1, has_aux=True)(3.0, 2.0)
    assert (v.item(), g.item()) == (12.0, 12.0)
    assert not v.requires_grad  # nothing outside asked for a graph


def test_nested_grads_do_not_confuse_perturbations():
    # d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1  (the classic perturbation-confusion case)
    f = lambda x: x * cr.grad(lambda y: x + y)(1.0)
    assert cr.grad(f)(2.0).item() == 1.0
    # grad of a function that takes grad of the same variable again
    g = lambda x: cr.grad(lambda y: x * y)(x)  # = x
    assert cr.grad(g)(5.0).item() == 1.0


def test_nested_jvps_do_not_confuse_perturbations():
    def inner(x):
        return cr.jvp(lambda y: x * y, (1.0,), (1.0,))[1]  # d/dy (x·y) = x
    out, t = cr.jvp(inner, (2.0,), (1.0,))
    assert out.item() == 2.0 and t.item() == 1.0


def test_a_tangent_left_over_from_a_finished_jvp_is_ignored():
    leaked = []

    def f(x):
        y = x * 2
        leaked.append(y)  # keeps its tangent after this jvp has ended
        return y

    cr.jvp(f, (1.0,), (1.0,))
    assert leaked[0]._tangents  # the stale tangent is still there...
    out, t = cr.jvp(lambda z: z * leaked[0] + leaked[0], (3.0,), (1.0,))
    assert out.item() == 8.0 and t.item() == 2.0  # ...and does not leak into d/dz (2z + 2)


def test_grad_through_closure_over_parameter_is_differentiable():
    w = cr.tensor(3.0, requires_grad=True)
    gx = cr.grad(lambda x: w * x * x)(2.0)  # 2wx = 12
    assert gx.item() == 12.0 and gx.requires_grad
    gx.backward()
    assert w.grad.item() == 4.0  # d(2wx)/dw = 2x


def test_vjp_and_jvp_match_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    f = lambda x: cr.tanh(x @ a).sum(axis=0)
    tf = lambda x: torch.tanh(x @ torch.tensor(a)).sum(0)
    x = rng.standard_normal((2, 3))
    v = rng.standard_normal(4)
    u = rng.standard_normal((2, 3))
    out, pull = cr.vjp(f, x)
    (g,) = pull(v)
    _, tg = torch.func.vjp(tf, torch.tensor(x))
    np.testing.assert_allclose(g.data, tg(torch.tensor(v))[0].numpy(), rtol=1e-12)
    (g_again,) = pull(v)  # vjp_fn may be called many times
    np.testing.assert_allclose(g_again.data, g.data)
    _, t = cr.jvp(f, (x,), (u,))
    _, tt = torch.func.jvp(tf, (torch.tensor(x),), (torch.tensor(u),))
    np.testing.assert_allclose(t.data, tt.numpy(), rtol=1e-12)


def test_jvp_is_true_forward_mode():
    x = cr.tensor([1.0, 2.0])
    out, t = cr.jvp(lambda x: cr.exp(x) * x, (x,), (cr.ones(2),))
    assert not out.requires_grad and not t.requires_grad  # no reverse graph was built
    np.testing.assert_allclose(t.data, np.exp([1.0, 2.0]) * [2.0, 3.0])


def test_batched_jvp_pushes_many_directions_at_once():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3))
    f = lambda x: cr.sin(a @ x)
    x = rng.standard_normal(3)
    dirs = rng.standard_normal((5, 3))
    _, tb = cr.jvp(f, (x,), (dirs,), batched=True)
    assert tb.shape == (5, 4)
    for k in range(5):
        _, t = cr.jvp(f, (x,), (dirs[k],))
        np.testing.assert_allclose(tb.data[k], t.data, rtol=1e-12)


def test_jacobian_both_modes_match_torch():
    rng = np.random.default_rng(2)
    f = lambda x, y: cr.tanh(x[:, None] * y).sum(axis=1)
    tf = lambda x, y: torch.tanh(x[:, None] * y).sum(1)
    x, y = rng.standard_normal(3), rng.standard_normal((3, 2))
    want = torch.autograd.functional.jacobian(tf, (torch.tensor(x), torch.tensor(y)))
    for mode in ("forward", "reverse"):
        jx, jy = cr.jacobian(f, (0, 1), mode=mode)(x, y)
        np.testing.assert_allclose(jx.data, want[0].numpy(), rtol=1e-12)
        np.testing.assert_allclose(jy.data, want[1].numpy(), rtol=1e-12)


def test_hessian_and_hvp_match_torch():
    rng = np.random.default_rng(3)
    f = lambda x: cr.sum(cr.exp(x) * cr.sin(x[::-1])) + cr.logsumexp(x) ** 2
    tf = lambda x: (torch.exp(x) * torch.sin(x.flip(0))).sum() + torch.logsumexp(x, 0) ** 2
    x = rng.standard_normal(6)
    h = cr.hessian(f)(x)
    th = torch.autograd.functional.hessian(tf, torch.tensor(x))
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-10)
    v = rng.standard_normal(6)
    np.testing.assert_allclose(cr.hvp(f, (x,), (v,)).data, th.numpy() @ v, rtol=1e-10)


def test_hessian_of_two_arguments_is_a_nested_tuple():
    f = lambda x, y: cr.sum(x * x * y)
    (hxx, hxy), (hyx, hyy) = cr.hessian(f, argnums=(0, 1))(cr.tensor([1.0, 2.0]),
                                                            cr.tensor([3.0, 4.0]))
    np.testing.assert_allclose(hxx.data, np.diag([6.0, 8.0]))
    np.testing.assert_allclose(hxy.data, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(hyx.data, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(hyy.data, np.zeros((2, 2)))


def test_reverse_over_forward_and_third_order_mixed():
    f = lambda x: cr.sum(cr.sin(x) * x)
    x = cr.tensor([0.3, -1.2])
    # d/dx of the directional derivative along v (reverse over forward) = H·v
    v = cr.tensor([1.0, 0.5])
    hv = cr.grad(lambda x: cr.jvp(f, (x,), (v,))[1])(x)
    np.testing.assert_allclose(hv.data, cr.hvp(f, (x,), (v,)).data, rtol=1e-12)
    # the third derivative of sin(x)·x at x through hessian of grad-of-... compositions
    third = cr.jacobian(cr.hessian(lambda t: cr.sin(t) * t), mode="forward")(cr.tensor(0.4))
    want = -3 * np.sin(0.4) - 0.4 * np.cos(0.4)
    assert np.isclose(third.item(), want, rtol=1e-12)


def test_gradcheck_reports_the_bad_element():
    bad = cr.extend.elementwise(lambda ops, g, out, x: g * 3 * x, name="wrong_square")(
        lambda x: x * x)
    with pytest.raises(cr.GradcheckError) as err:
        cr.gradcheck(bad, cr.tensor([1.0, 2.0], name="x"))
    msg = str(err.value)
    assert "input 0 (x)" in msg and "element (0, 0)" in msg
    assert "analytic 3" in msg and "numeric 2" in msg
    assert cr.gradcheck(lambda x: cr.tanh(x) ** 2, cr.tensor([0.1, 0.2]), order=2)


def test_numerical_grad_shapes():
    g = cr.numerical_grad(lambda x, y: cr.sum(x * y), np.ones(3), np.arange(3.0))
    np.testing.assert_allclose(g[0], np.arange(3.0), atol=1e-8)
    jac = cr.numerical_grad(lambda x: x * 2, np.ones(2))
    np.testing.assert_allclose(jac, 2 * np.eye(2), atol=1e-8)
