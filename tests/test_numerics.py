"""Masked (-inf) logits and empty inputs: values and gradients finite wherever PyTorch's are,
and reductions over nothing give NumPy's NaN (or identity) with its warning, never an error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import functional as F

RNG = np.random.default_rng(7)
NEG = -np.inf


def masked_logits(shape, target_axis_len, targets, rng=RNG):
    """Random float64 logits with about a third of the entries -inf, never at a target."""
    x = rng.standard_normal(shape)
    mask = rng.random(shape) < 0.35
    # keep every target's logit finite (otherwise PyTorch's loss is inf too)
    tgt = np.zeros(shape, bool)
    np.put_along_axis(tgt, targets[:, None, ...] if x.ndim > 2 else targets[:, None], True, 1)
    x[mask & ~tgt] = NEG
    return x


def finite_differences(f, x, eps=1e-6):
    """Central differences of a scalar f at the finite entries of x (-inf entries stay put:
    their exact gradient is 0, checked against PyTorch instead)."""
    grad = np.zeros_like(x)
    for i in zip(*np.nonzero(np.isfinite(x))):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def ours_and_torch(fn_cr, fn_torch, x):
    """(value, gradient of value·w summed) from chainrule and from PyTorch, in float64."""
    w = RNG.standard_normal(np.shape(fn_torch(torch.tensor(x))))
    a = cr.tensor(x, requires_grad=True)
    out = fn_cr(a)
    cr.sum(cr.where(np.isfinite(out.data), out, 0.0) * w).backward()
    t = torch.tensor(x, requires_grad=True)
    tout = fn_torch(t)
    (torch.where(torch.isfinite(tout), tout, 0.0) * torch.tensor(w)).sum().backward()
    return (out.data, a.grad.data), (tout.detach().numpy(), t.grad.numpy()), w


CASES = {
    "cross_entropy mean": (lambda x, y: F.cross_entropy(x, y),
                           lambda x, y: torch.nn.functional.cross_entropy(x, y)),
    "cross_entropy sum": (lambda x, y: F.cross_entropy(x, y, reduction="sum"),
                          lambda x, y: torch.nn.functional.cross_entropy(x, y, reduction="sum")),
    "cross_entropy none": (lambda x, y: F.cross_entropy(x, y, reduction="none"),
                           lambda x, y: torch.nn.functional.cross_entropy(x, y,
                                                                          reduction="none")),
    "nll_loss of log_softmax": (
        lambda x, y: F.nll_loss(F.log_softmax(x, 1), y),
        lambda x, y: torch.nn.functional.nll_loss(torch.log_softmax(x, 1), y)),
}


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2)], ids=["NC", "NCL"])
@pytest.mark.parametrize("case", list(CASES))
def test_losses_with_masked_logits_match_torch_and_finite_differences(case, shape):
    fn_cr, fn_torch = CASES[case]
    targets = RNG.integers(0, shape[1], (shape[0],) + shape[2:])
    x = masked_logits(shape, shape[1], targets)
    assert np.isneginf(x).sum() > 0
    (value, grad), (t_value, t_grad), w = ours_and_torch(
        lambda a: fn_cr(a, targets), lambda t: fn_torch(t, torch.tensor(targets)), x)
    assert np.isfinite(t_value).all() and np.isfinite(value).all()
    np.testing.assert_allclose(value, t_value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    assert (grad[np.isneginf(x)] == 0).all()

    def scalar(v):
        return float(np.sum(fn_cr(cr.tensor(v), targets).data * w))
    np.testing.assert_allclose(grad, finite_differences(scalar, x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["log_softmax", "softmax", "logsumexp"])
def test_masked_rows_in_softmax_family_match_torch(name):
    x = masked_logits((5, 6), 6, RNG.integers(0, 6, 5))
    ours = {"log_softmax": lambda a: F.log_softmax(a, 1), "softmax": lambda a: F.softmax(a, 1),
            "logsumexp": lambda a: cr.logsumexp(a, 1)}[name]
    theirs = {"log_softmax": lambda t: torch.log_softmax(t, 1),
              "softmax": lambda t: torch.softmax(t, 1),
              "logsumexp": lambda t: torch.logsumexp(t, 1)}[name]
    (value, grad), (t_value, t_grad), w = ours_and_torch(ours, theirs, x)
    np.testing.assert_allclose(value, t_value, rtol=1e-12, atol=1e-12)  # -inf where torch's
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    assert np.isfinite(grad).all()

    def scalar(v):
        out = ours(cr.tensor(v)).data
        return float(np.sum(np.where(np.isfinite(out), out, 0.0) * w))
    np.testing.assert_allclose(grad, finite_differences(scalar, x), rtol=1e-5, atol=1e-7)


def test_the_issue_example_and_float32():
    x = cr.tensor([[0.0, NEG, 1.0]], requires_grad=True)  # float32 by default
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value" from 0·(-inf) any more
        loss = F.cross_entropy(x, np.array([0]))
    loss.backward()
    t = torch.tensor([[0.0, -torch.inf, 1.0]], requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(t, torch.tensor([0]))
    t_loss.backward()
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-6) == pytest.approx(1.3133, 1e-4)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-6)


def test_a_masked_target_is_inf_as_in_torch():
    x = np.array([[0.0, NEG, 1.0]])
    ours = F.cross_entropy(cr.tensor(x), np.array([1])).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor([1])).item()
    assert ours == theirs == np.inf


# -- empty inputs ------------------------------------------------------------------------------

def warned(fn):
    """fn()'s result and the messages of the warnings it raised (none may be an error)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught]


EMPTY = np.zeros((0, 3))


@pytest.mark.parametrize("name,ours,numpy_fn,message", [
    ("mean all", lambda a: cr.mean(a), lambda e: np.mean(e), "Mean of empty slice"),
    ("mean axis 0", lambda a: cr.mean(a, 0), lambda e: np.mean(e, 0), "Mean of empty slice"),
    ("var all", lambda a: cr.var(a), lambda e: np.var(e), "Degrees of freedom <= 0"),
    ("var axis 0", lambda a: cr.var(a, 0), lambda e: np.var(e, 0), "Degrees of freedom <= 0"),
    ("std axis 0", lambda a: cr.std(a, 0), lambda e: np.std(e, 0), "Degrees of freedom <= 0"),
    ("sum", lambda a: cr.sum(a, 0), lambda e: np.sum(e, 0), None),
    ("prod", lambda a: cr.prod(a, 0), lambda e: np.prod(e, 0), None),
    ("logsumexp", lambda a: cr.logsumexp(a, 0), lambda e: np.full(3, -np.inf), "divide by zero"),
    ("max", lambda a: cr.max(a, 0), lambda e: np.full(3, np.nan), "max of empty slice"),
    ("min", lambda a: cr.min(a), lambda e: np.nan, "min of empty slice"),
    ("mean over the non-empty axis", lambda a: cr.mean(a, 1), lambda e: np.mean(e, 1), None),
])
def test_reductions_over_nothing_follow_numpy(name, ours, numpy_fn, message):
    a = cr.tensor(EMPTY, requires_grad=True)
    out, messages = warned(lambda: ours(a))
    expected, _ = warned(lambda: numpy_fn(EMPTY))
    np.testing.assert_array_equal(out.data, expected)
    assert out.dtype == np.float64 and out.shape == np.shape(expected)
    if message is None:
        assert messages == []
    else:
        assert any(message in m for m in messages), messages
    warned(lambda: cr.sum(out).backward())  # the gradient of nothing: empty, no error
    assert a.grad.shape == EMPTY.shape


def test_no_degrees_of_freedom_left_is_numpy_and_torch():
    for values, ddof in (([1.0], 1), ([1.0, 2.0], 3), ([2.0, 2.0], 2)):
        (out, messages), (expected, _) = warned(lambda: cr.var(cr.tensor(values), ddof=ddof)), \
            warned(lambda: np.var(values, ddof=ddof))
        np.testing.assert_array_equal(out.data, expected)
        assert any("Degrees of freedom" in m for m in messages)
    t = torch.tensor([1.0], dtype=torch.float64)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert np.isnan(torch.var(t, correction=1).item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_losses_of_an_empty_batch_match_torch(loss, reduction):
    x = np.zeros((0, 4))
    y = np.zeros(0, np.int64)
    a = cr.tensor(x, requires_grad=True)
    out, messages = warned(lambda: getattr(F, loss)(a, y, reduction=reduction))
    t = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn.functional, loss)(t, torch.tensor(y), reduction=reduction)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    assert ("Mean of empty slice" in messages) == (reduction == "mean")
    warned(lambda: cr.sum(out).backward())
    assert a.grad.shape == (0, 4)
