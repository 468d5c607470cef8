"""Never silently wrong: in-place writes after recording, sequences of tensors, functions that
return an input, pullbacks of pullbacks, and one forward per op in every mode. Each test is a
reproduction of a silent wrong answer (or crash) the engine used to give."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.engine import STATE


# -- version counters -------------------------------------------------------------------------
def test_inplace_change_of_a_saved_input_raises_naming_op_tensor_and_versions():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True, name="w")
    y = cr.sum(w * w)
    with cr.no_grad():
        w += 1
    with pytest.raises(RuntimeError, match=r"multiply: its input w .* version 1; multiply "
                                           r"saved version 0"):
        y.backward()


def test_inplace_change_of_a_constant_raises_too():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = cr.tensor([1.0, 1.0, 1.0], name="a")
    y = cr.sum(w * a)
    a += 10
    with pytest.raises(RuntimeError, match="input a"):
        y.backward()


def _data_iadd(t):
    t.data += 1


@pytest.mark.parametrize("write", [
    lambda t: t.__setitem__(0, 5.0),
    lambda t: setattr(t, "data", t.data + 1),
    _data_iadd,
], ids=["setitem", "assign data", "data +="])
def test_writes_through_data_and_setitem_count(write):
    a = cr.tensor([1.0, 2.0], name="a")
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = cr.sum(cr.exp(w) * a)
    write(a)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_a_view_shares_its_base_version():
    base = cr.tensor([[1.0, 2.0], [3.0, 4.0]], name="base")
    w = cr.tensor(2.0, requires_grad=True)
    row = base[0]  # a view
    y = cr.sum(w * base)
    with cr.no_grad():
        row += 1
    with pytest.raises(RuntimeError, match="input base"):
        y.backward()


def test_a_detached_tensor_shares_the_version():
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    y = cr.sum(w * w)
    d = w.detach()
    d += 1  # d needs no grad: allowed, and it is w's memory
    with pytest.raises(RuntimeError, match="input w"):
        y.backward()


def test_inplace_change_of_a_saved_output_raises():
    w = cr.tensor([0.5, 1.0], requires_grad=True)
    e = cr.exp(w)  # exp's rule uses its output
    y = cr.sum(e)
    with cr.no_grad():
        e.data = e.data * 0
    with pytest.raises(RuntimeError, match="its output"):
        y.backward()


def test_inputs_a_rule_does_not_read_may_change():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    a = cr.tensor([5.0, 6.0])
    y = cr.sum(w + a)  # add's gradient does not read a
    a += 1
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])


def test_optimizer_step_after_backward_is_fine_and_a_stale_graph_is_refused():
    lin = cr.nn.Linear(3, 2)
    opt = cr.optim.SGD(lin.parameters(), lr=0.1)
    x = cr.tensor(np.ones((4, 3), np.float32))
    loss = lin(x).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="in-place operation"):
        loss.backward()


# -- sequences of tensors ---------------------------------------------------------------------
@pytest.mark.parametrize("f,expected", [
    (lambda x: cr.mean([x, x + 2]), 1.0),
    (lambda x: cr.sum([x, 3 * x]), 4.0),
    (lambda x: cr.sum(cr.exp([x, x])), 2.0),
    (lambda x: cr.sum(cr.tensor([x, x * x])), 1.0),
    (lambda x: cr.sum(cr.tensor([[x, 1.0], [2.0, x]])), 2.0),
], ids=["mean", "sum", "exp", "tensor", "nested with numbers"])
def test_sequences_of_tensors_are_stacked_differentiably(f, expected):
    assert cr.grad(f)(0.0).item() == pytest.approx(expected)


def test_a_sequence_of_tracked_tensors_never_becomes_a_constant():
    x = cr.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="cr.stack"):
        cr.Tensor([x, x])


# -- identity functions, functions returning an input -------------------------------------------
def test_grad_of_identity_and_of_functions_returning_an_input():
    assert cr.grad(lambda x: x)(2.0).item() == 1.0
    assert cr.grad(lambda x, y: x, argnums=1)(2.0, 3.0).item() == 0.0
    assert cr.grad(cr.grad(lambda x: x))(2.0).item() == 0.0
    np.testing.assert_array_equal(cr.jacobian(lambda x: x)(cr.tensor([1.0, 2.0])).data,
                                  np.eye(2))
    np.testing.assert_array_equal(
        cr.jacobian(lambda x: x, mode="forward")(cr.tensor([1.0, 2.0])).data, np.eye(2))
    out, pb = cr.vjp(lambda x: x, cr.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(pb(cr.tensor([3.0, 4.0]))[0].data, [3.0, 4.0])
    assert cr.hessian(lambda x: x * 1.0)(3.0).item() == 0.0


# -- pullbacks of pullbacks -------------------------------------------------------------------
def test_a_pullback_is_differentiable_in_its_cotangent():
    a = np.array([[1.0, 2.0, 0.5], [-1.0, 3.0, 2.0]])
    f = lambda x: cr.matmul(cr.tensor(a), x)  # noqa: E731
    _, pb = cr.vjp(f, cr.tensor(np.ones(3)))  # at top level
    c0 = cr.tensor(np.array([0.5, -2.0]))
    # pb is linear in c: its pullback is A·u, its Jacobian is Aᵀ.
    _, pbpb = cr.vjp(lambda c: pb(c)[0], c0)
    u = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(pbpb(cr.tensor(u))[0].data, a @ u)
    np.testing.assert_allclose(cr.jacobian(lambda c: pb(c)[0])(c0).data, a.T)
    np.testing.assert_allclose(cr.grad(lambda c: cr.sum(pb(c)[0]))(c0).data, a.sum(axis=1))
    torch_jac = torch.func.jacrev(lambda c: torch.func.vjp(
        lambda x: torch.tensor(a) @ x, torch.ones(3, dtype=torch.float64))[1](c)[0])(
        torch.tensor(c0.data))
    np.testing.assert_allclose(cr.jacobian(lambda c: pb(c)[0])(c0).data, torch_jac.numpy())


def test_transform_depth_is_per_thread():
    seen = []
    gate = threading.Event()

    def other():
        gate.wait(5)
        seen.append(STATE.depth)

    t = threading.Thread(target=other)
    t.start()

    def f(x):
        gate.set()
        t.join()
        return x * x

    cr.grad(f)(1.0)
    assert seen == [0]


# -- one forward per op, in every mode ----------------------------------------------------------
def test_each_primitive_forward_runs_once_per_call_in_every_mode():
    calls = []

    @cr.extend.elementwise(lambda ops, g, out, x: g * (1 - out * out), uses_out=True,
                           name="counted_tanh")
    def counted_tanh(x):
        calls.append(1)
        return np.tanh(x)

    def count(thunk):
        calls.clear()
        thunk()
        return len(calls)

    x = cr.tensor([0.1, 0.2], dtype=cr.float64)
    f = lambda t: cr.sum(counted_tanh(t))  # noqa: E731
    assert count(lambda: f(x)) == 1
    assert count(lambda: cr.grad(f)(x)) == 1
    assert count(lambda: cr.jvp(f, (x,), (cr.ones_like(x),))) == 1
    assert count(lambda: cr.hessian(f)(x)) == 1
    assert count(lambda: cr.hvp(f, (x,), (cr.ones_like(x),))) == 1
    assert count(lambda: cr.jvp(lambda t: cr.jvp(f, (t,), (cr.ones_like(t),))[1], (x,),
                                (cr.ones_like(x),))) == 1
