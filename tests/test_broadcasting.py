"""Property tests: for any pair of broadcastable shapes, values and gradients of binary ops
match PyTorch, and each gradient has its input's shape (summed back by ``sum_to``)."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

OPS = [
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: a - b, lambda a, b: a - b),
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    (cr.maximum, torch.maximum),
    (lambda a, b: cr.where(a.data > 0, a, b), lambda a, b: torch.where(a > 0, a, b)),
]


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       op=st.sampled_from(OPS), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_like_torch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    fn, tfn = op
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = fn(x, y), tfn(tx, ty)
    assert out.shape == tuple(tout.shape) == shapes.result_shape
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(out.shape)
    cr.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    assert x.grad.shape == sa and y.grad.shape == sb
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), seed=st.integers(0, 2**16),
       data=st.data())
def test_reductions_over_any_axes(shape, seed, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keep = data.draw(st.booleans())
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    axis = tuple(axes) if axes else None
    dims = tuple(axes) if axes else tuple(range(len(shape)))
    for fn, tfn in [(cr.sum, torch.sum), (cr.logsumexp, torch.logsumexp),
                    (cr.max, torch.amax)]:
        x = cr.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        out, tout = fn(x, axis, keep), tfn(tx, dims, keepdim=keep)
        # summation order differs from torch's: allow for cancellation near zero
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-13)
        w = rng.standard_normal(out.shape)
        cr.sum(out * w).backward()
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3),
                       min_size=1, max_size=3))
def test_broadcast_shape_agrees_with_numpy(shapes):
    """The front end's own broadcast rule (faster than NumPy's on short tuples) is NumPy's."""
    from chainrule.ops._front import broadcast_shape
    try:
        want = np.broadcast_shapes(*shapes)
    except ValueError:
        want = None
    assert broadcast_shape(*shapes) == want
