"""cr.autograd.Function against torch.autograd.Function: the same subclass body, run by both."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def make(lib):
    """The same Function subclasses written against ``lib`` (torch or chainrule)."""

    class LegendreP3(lib.autograd.Function):
        """P₃(x) = ½(5x³ − 3x), as PyTorch's tutorial example, with its own backward."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    class ScaledMul(lib.autograd.Function):
        """x · y · k with a non-tensor argument k (its gradient: None)."""

        @staticmethod
        def forward(ctx, x, k, y):
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y * ctx.k, None, g * x * ctx.k

    return LegendreP3, ScaledMul


CR, TORCH = make(cr), make(torch)
X = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])
Y = np.array([[1.5, 0.2, -0.3], [2.0, -1.0, 0.5]])


def test_values_and_gradients_match_torch():
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    y, ty = cr.tensor(Y, requires_grad=True), torch.tensor(Y, requires_grad=True)
    out = (CR[0].apply(x) * CR[1].apply(x, 2.5, y)).sum()
    tout = (TORCH[0].apply(tx) * TORCH[1].apply(tx, 2.5, ty)).sum()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
    out.backward()
    tout.backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-12)


def test_the_hand_written_backward_is_the_one_used():
    class Wrong(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 7  # deliberately not the derivative

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    Wrong.apply(x).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]


def test_second_order_through_a_differentiable_backward():
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    g, = cr.gradient(CR[0].apply(x).sum(), [x], create_graph=True)
    tg, = torch.autograd.grad(TORCH[0].apply(tx).sum(), [tx], create_graph=True)
    g2, = cr.gradient((g * g).sum(), [x])
    tg2, = torch.autograd.grad((tg * tg).sum(), [tx])
    np.testing.assert_allclose(g2.data, tg2.numpy(), rtol=1e-12)
    # and as a transform: d²P₃/dx² = 15x
    h = cr.grad(cr.grad(lambda v: CR[0].apply(v)))(cr.tensor(0.4, dtype=cr.float64))
    assert np.isclose(h.item(), 15 * 0.4)


def test_forward_mode_differentiates_forward():
    _, tangent = cr.jvp(CR[0].apply, [cr.tensor(X)], [cr.ones(X.shape, dtype=cr.float64)])
    np.testing.assert_allclose(tangent.data, 1.5 * (5 * X ** 2 - 1), rtol=1e-12)


def test_forward_runs_without_recording_and_ctx_knows_what_needs_grad():
    seen = {}

    class Probe(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["grad_enabled"] = cr.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g

    Probe.apply(cr.ones(2, requires_grad=True), cr.ones(2))
    assert seen == {"grad_enabled": False, "needs": (True, False)}


def test_mistakes_get_clear_errors():
    class TooFew(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    out = TooFew.apply(cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True))
    with pytest.raises(ValueError, match="returned 1 gradient.*2 argument"):
        out.sum().backward()
    with pytest.raises(TypeError, match=r"call TooFew.apply\(...\)"):
        TooFew()

    class NotATensor(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return [x, x]

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="must return one Tensor"):
        NotATensor.apply(cr.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="store other values as ctx attributes"):
        cr.autograd.FunctionCtx().save_for_backward(3.0)


def test_autograd_grad_is_gradient():
    x = cr.tensor(3.0, requires_grad=True)
    (g,) = cr.autograd.grad(x * x, [x])
    assert g.item() == 6.0
