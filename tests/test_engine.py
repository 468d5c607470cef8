"""Small exact tests of the engine's behaviour: reuse, accumulation, freeing, modes, hooks."""
from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import chainrule as cr


def test_reused_input_sums_both_paths():
    a = cr.tensor(3.0, requires_grad=True)
    (a + a).backward()
    assert a.grad.item() == 2.0
    b = cr.tensor(3.0, requires_grad=True)
    (b * b * b).backward()
    assert b.grad.item() == 27.0


def test_leaf_grads_accumulate_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 12.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0])


def test_accumulated_grad_does_not_alias_between_leaves():
    x = cr.tensor([1.0], requires_grad=True)
    y = cr.tensor([1.0], requires_grad=True)
    (x + y).sum().backward()
    x.grad.data += 100  # must not change y.grad
    assert y.grad.item() == 1.0


def test_unused_inputs_get_zero_gradient_from_gradient():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(5.0, requires_grad=True)
    gx, gy = cr.gradient(x * 3, [x, y])
    assert gx.item() == 3.0 and gy.item() == 0.0
    (x * 3).backward()
    assert y.grad is None


def test_gradient_does_not_touch_grad_attributes():
    x = cr.tensor(2.0, requires_grad=True)
    cr.gradient(x * x, x)
    assert x.grad is None


def test_nonleaf_input_to_gradient():
    x = cr.tensor(2.0, requires_grad=True)
    h = x * x
    (gh,) = cr.gradient(cr.sin(h), h)
    assert np.isclose(gh.item(), np.cos(4.0))


def test_deep_chain_of_100000_ops_forward_and_backward():
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a 100,000-deep graph must not overflow the C stack either
    gc.collect()


def test_graph_is_freed_after_backward_and_when_outputs_die():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = cr.tanh(x)
    node = weakref.ref(h._node)
    loss = (h * h).sum()
    loss.backward()
    assert h._node.inputs is None  # saved values released by the sweep
    del h, loss
    gc.collect()
    assert node() is None  # and the node itself goes with its outputs


def test_no_reference_cycles_keep_graphs_alive():
    gc.disable()
    try:
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = cr.exp(x)  # exp saves its output: held weakly by the node
        ref = weakref.ref(y._node)
        del y
        assert ref() is None  # reference counting alone frees it: no cycle
    finally:
        gc.enable()


def test_second_backward_through_freed_graph_raises():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.sin(x * x)
    y.backward()
    with pytest.raises(cr.GraphFreedError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.sin(x * x)
    y.backward(retain_graph=True)
    y.backward()
    assert np.isclose(x.grad.item(), 2 * 2 * 2 * np.cos(4.0))


def test_create_graph_gives_differentiable_grad():
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (g2,) = cr.gradient(g, x)
    assert g2.item() == 18.0


def test_no_grad_and_enable_grad():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad and cr.is_grad_enabled()


def test_no_grad_as_decorator_is_reentrant_and_restores():
    x = cr.tensor(1.0, requires_grad=True)

    @cr.no_grad()
    def f(n):
        assert not cr.is_grad_enabled()
        return x * 2 if n == 0 else f(n - 1)

    assert not f(3).requires_grad and cr.is_grad_enabled()
    assert f.__name__ == "f"
    with cr.no_grad():
        assert cr.enable_grad()(lambda: (x * 2).requires_grad)()
        assert not cr.is_grad_enabled()


def test_set_grad_enabled_acts_at_once_and_as_a_block():
    try:
        cr.set_grad_enabled(False)  # as PyTorch's: a plain call switches recording off
        assert not cr.is_grad_enabled()
        with cr.set_grad_enabled(True):
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_register_hook_sees_and_can_replace_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    handle = x.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert seen == [[1.0, 1.0]]
    np.testing.assert_allclose(x.grad.data, [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_inplace_on_tensor_without_history_and_refused_with_history():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        p -= 1.0
    with cr.no_grad():
        p -= 1.0
    np.testing.assert_allclose(p.data, [0.0, 1.0])
    c = cr.tensor([1.0, 2.0])
    c *= 2
    assert c.dtype == cr.float32 and c.tolist() == [2.0, 4.0]


def test_python_scalars_do_not_upcast_and_defaults():
    x = cr.tensor([1.0, 2.0])
    assert x.dtype == cr.float32
    assert (x * 2.5).dtype == cr.float32 and (2.5 - x).dtype == cr.float32
    assert cr.tensor(np.zeros(2)).dtype == cr.float64  # NumPy arrays keep their dtype
    assert cr.tensor([1, 2]).dtype == cr.int64
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor(1.0).dtype == cr.float64 and cr.ones(2).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)


def test_numpy_defers_to_tensor():
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    a = np.ones((2, 1), dtype=np.float32)
    for out in (a @ x, np.float32(2.0) * x, 2.0 - x, a + x):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(np.asarray(x), [[1.0, 2.0]])


def test_tensor_attributes_and_factories():
    x = cr.arange(6).reshape(2, 3)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    assert x.T.shape == (3, 2) and x.dtype == cr.int64
    assert cr.zeros(2, 3).shape == cr.ones((2, 3)).shape == (2, 3)
    assert cr.full((2,), 7).tolist() == [7, 7]
    assert cr.eye(3).data.trace() == 3 and cr.linspace(0, 1, 5).tolist()[-1] == 1.0
    cr.manual_seed(0)
    a = cr.randn(3).tolist()
    cr.manual_seed(0)
    assert cr.randn(3).tolist() == a
    rng = np.random.default_rng(1)
    assert cr.rand(2, rng=rng).shape == (2,)
    t = cr.tensor(1.0, requires_grad=True, name="w")
    assert t.is_leaf and not (t * 2).is_leaf and "w" in repr(t)
    assert (t * 2).detach().requires_grad is False
    assert (x > 2).dtype == cr.bool_ and (x == 3).tolist() == [[False] * 3, [True, False, False]]


def test_memory_stays_flat_over_many_training_like_iterations():
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((16, 8)), requires_grad=True)
    b = cr.zeros(8, requires_grad=True)
    x = cr.tensor(rng.standard_normal((4, 16)))

    def step():
        loss = cr.mean(cr.square(cr.tanh(x @ w + b)))
        loss.backward()
        with cr.no_grad():
            w.data -= 0.01 * w.grad.data
            b.data -= 0.01 * b.grad.data
        w.grad = b.grad = None

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 10,000 iterations"
