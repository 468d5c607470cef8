"""vmap: against a Python loop over the examples, against torch.func.vmap for per-example
gradients, composed with every transform and with itself, and never a loop of its own."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from torch.func import grad as tgrad
from torch.func import hessian as thessian
from torch.func import vmap as tvmap

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import engine
from chainrule.ops import softmax_cross_entropy


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def _loop(f, *args, in_axes=0):
    """The reference: f on each example, stacked."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    outs = [f(*[a if ax is None else cr.tensor(np.take(np.asarray(a), i, axis=ax))
                for a, ax in zip(args, axes)]) for i in range(n)]
    return np.stack([np.asarray(o.data) for o in outs])


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(getattr(a, "data", a)), np.asarray(b), rtol=tol,
                               atol=tol)


X = _rng("x").standard_normal((5, 3, 4))
W = _rng("w").standard_normal((4, 2))
V = _rng("v").standard_normal(4)

# One example is a (3, 4) matrix; each function exercises one kind's batching rule.
FUNCTIONS = {
    "elementwise": lambda x: cr.tanh(x) * cr.exp(-x) + x ** 2,
    "broadcast_unbatched": lambda x: x * cr.tensor(V) - cr.tensor(np.ones((2, 3, 4))),
    "reduce_all": lambda x: x.sum(),
    "reduce_axis0": lambda x: cr.max(x, axis=0),
    "mean_keepdims": lambda x: x - x.mean(axis=1, keepdims=True),
    "softmax": lambda x: cr.softmax(x, axis=0),
    "logsumexp": lambda x: cr.logsumexp(x, axis=1),
    "reshape": lambda x: x.reshape((2, 6)).T,
    "transpose": lambda x: cr.transpose(x),
    "getitem": lambda x: x[1, ::2] + x[:, 0].sum(),
    "fancy_index": lambda x: x[np.array([2, 0, 2])],
    "concatenate": lambda x: cr.concatenate([x, cr.tensor(np.zeros((1, 4))), x[:1]], axis=0),
    "stack": lambda x: cr.stack([x[0], x[1]], axis=1),
    "matmul_right": lambda x: x @ cr.tensor(W),
    "matmul_left": lambda x: cr.tensor(W.T) @ x.T,
    "matvec": lambda x: x @ cr.tensor(V),
    "vecmat": lambda x: cr.tensor(V) @ x.T @ x,
    "einsum": lambda x: cr.einsum("ij,jk->ik", x, cr.tensor(W)),
    "relu_where_mask": lambda x: cr.relu(x) + cr.where(x > 0, x, 0.1 * x),
    "pad_flip": lambda x: cr.flip(cr.pad(x, ((1, 0), (0, 2))), 1),
    "linear": lambda x: F.linear(x, cr.tensor(W.T), cr.tensor(np.ones(2))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vmap_equals_the_loop(name):
    f = FUNCTIONS[name]
    _close(cr.vmap(f)(cr.tensor(X)), _loop(f, X))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vmap_of_grad_equals_the_loop(name):
    f = FUNCTIONS[name]

    def loss(x):
        return (f(x) ** 2).sum()

    _close(cr.vmap(cr.grad(loss))(cr.tensor(X)), _loop(cr.grad(loss), X))


def test_batch_axes_in_and_out_and_unbatched_arguments():
    f = lambda a, b, c: a * b.sum() + c  # noqa: E731
    a, b, c = X[:, 0, :], X[:, :, 0].T, V  # a batched on axis 0, b on axis 1, c shared
    got = cr.vmap(f, in_axes=(0, 1, None), out_axes=1)(cr.tensor(a), cr.tensor(b), cr.tensor(c))
    ref = _loop(lambda a, b, c: f(a, b, c), a, b, c, in_axes=(0, 1, None))
    _close(got, np.moveaxis(ref, 0, 1))


def test_keyword_arguments_are_mapped_over_their_first_axis():
    got = cr.vmap(lambda a, scale: a * scale, in_axes=(None,))(cr.tensor(V),
                                                                 scale=cr.tensor(X[:, 0, 0]))
    _close(got, X[:, 0, 0][:, None] * V)


def test_pytrees_in_and_out():
    params = {"w": cr.tensor(W), "b": (cr.tensor(np.ones(2)),)}

    def f(p, x):
        y = x @ p["w"] + p["b"][0]
        return {"y": y, "norm": (y ** 2).sum()}

    out = cr.vmap(f, in_axes=({"w": None, "b": (None,)}, 0))(params, cr.tensor(X))
    assert sorted(out) == ["norm", "y"]
    _close(out["y"], X @ W + 1)
    _close(out["norm"], ((X @ W + 1) ** 2).sum(axis=(1, 2)))


def _mlp_params(rng):
    return {"W1": rng.standard_normal((4, 8)) * 0.5, "b1": rng.standard_normal(8) * 0.1,
            "W2": rng.standard_normal((8, 3)) * 0.5, "b2": np.zeros(3)}


def _mlp_loss(p, x, y, lib):
    """The same per-example loss in both libraries: a ReLU MLP and softmax cross-entropy."""
    h = lib.relu(x @ p["W1"] + p["b1"])
    logits = h @ p["W2"] + p["b2"]
    logp = logits - lib.logsumexp(logits, axis=-1, keepdims=True) if lib is cr else \
        logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return -(logp * y).sum()


def test_per_example_gradients_match_torch_func_vmap_and_the_loop():
    rng = _rng("mlp")
    p = _mlp_params(rng)
    x = rng.standard_normal((16, 4))
    y = np.eye(3)[rng.integers(0, 3, 16)]
    per_example = cr.vmap(cr.grad(lambda p, x, y: _mlp_loss(p, x, y, cr)), in_axes=(None, 0, 0))
    got = per_example({k: cr.tensor(v) for k, v in p.items()}, cr.tensor(x), cr.tensor(y))
    tp = {k: torch.tensor(v) for k, v in p.items()}
    ref = tvmap(tgrad(lambda p, x, y: _mlp_loss(p, x, y, torch)), in_dims=(None, 0, 0))(
        tp, torch.tensor(x), torch.tensor(y))
    for k in p:
        assert got[k].shape == (16,) + p[k].shape
        _close(got[k], ref[k].numpy())
        loop = np.stack([cr.grad(lambda q: _mlp_loss(q, cr.tensor(x[i]), cr.tensor(y[i]), cr))(
            {n: cr.tensor(v) for n, v in p.items()})[k].numpy() for i in range(16)])
        _close(got[k], loop)
    # The mean of the per-example gradients is the batch gradient.
    batch = cr.grad(lambda q: sum(_mlp_loss(q, cr.tensor(x[i]), cr.tensor(y[i]), cr)
                                  for i in range(16)) / 16)({k: cr.tensor(v) for k, v in p.items()})
    for k in p:
        _close(got[k].numpy().mean(0), batch[k])


def test_batched_hessians_match_torch_func():
    f = lambda x: (x ** 3).sum() * x[0] + cr.sin(x).prod()  # noqa: E731
    tf = lambda x: (x ** 3).sum() * x[0] + torch.sin(x).prod()  # noqa: E731
    xs = _rng("hess").standard_normal((6, 3))
    _close(cr.vmap(cr.hessian(f))(cr.tensor(xs)), tvmap(thessian(tf))(torch.tensor(xs)).numpy())


def test_vmap_of_vmap_over_one_argument():
    x = _rng("vv").standard_normal((3, 4, 5))
    f = lambda m: (cr.softmax(m) * m).sum() + m[0] * m[-1]  # noqa: E731
    ref = np.array([[f(cr.tensor(x[i, :, j])).item() for i in range(3)] for j in range(5)])
    _close(cr.vmap(cr.vmap(f, in_axes=0), in_axes=2)(cr.tensor(x)), ref)
    grads = cr.vmap(cr.vmap(cr.grad(f)))(cr.tensor(x))
    _close(grads, cr.vmap(cr.grad(lambda m: cr.vmap(f)(m).sum()))(cr.tensor(x)))


def test_vmap_of_vmap_is_the_double_loop():
    f = lambda a, b: cr.tanh(a @ b) * a.sum()  # noqa: E731
    a = _rng("a").standard_normal((3, 4))
    b = _rng("b").standard_normal((5, 4))
    got = cr.vmap(cr.vmap(f, in_axes=(None, 0)), in_axes=(0, None))(cr.tensor(a), cr.tensor(b))
    ref = np.array([[f(cr.tensor(a[i]), cr.tensor(b[j])).item() for j in range(5)]
                    for i in range(3)])
    _close(got, ref)


def test_vmap_composes_with_jvp_vjp_jacobians():
    f = lambda x: cr.sin(x) * x.sum()  # noqa: E731
    xs = _rng("jac").standard_normal((4, 3))
    ref = tvmap(torch.func.jacrev(lambda x: torch.sin(x) * x.sum()))(torch.tensor(xs)).numpy()
    _close(cr.vmap(cr.jacrev(f))(cr.tensor(xs)), ref)
    _close(cr.vmap(cr.jacfwd(f))(cr.tensor(xs)), ref)
    _close(cr.vmap(cr.jacobian(f))(cr.tensor(xs)), ref)
    ts = _rng("tan").standard_normal((4, 3))
    _, tangents = cr.vmap(lambda x, t: cr.jvp(f, (x,), (t,)))(cr.tensor(xs), cr.tensor(ts))
    _close(tangents, np.einsum("bij,bj->bi", ref, ts))
    cts = cr.vmap(lambda x, c: cr.vjp(f, x)[1](c)[0])(cr.tensor(xs), cr.tensor(ts))
    _close(cts, np.einsum("bij,bi->bj", ref, ts))
    # ...and the other way round: transforms of a vmapped function.
    w = _rng("wv").standard_normal(3)
    g = cr.grad(lambda w: cr.vmap(lambda x: (cr.tensor(w) * 0 + w * x).sum() ** 2)(
        cr.tensor(xs)).sum())(cr.tensor(w))
    _close(g, 2 * ((xs @ w)[:, None] * xs).sum(0))
    _close(cr.jacobian(cr.vmap(f))(cr.tensor(xs)),
           np.einsum("bij,bc->bicj", ref, np.eye(4)))


def test_backward_through_vmap_accumulates_the_batch_sum():
    w = cr.tensor(V, requires_grad=True)
    x = cr.tensor(X[:, 0, :])
    y = cr.vmap(lambda r: (w * r).sum() ** 2)(x)
    assert y.requires_grad and y.shape == (5,)
    y.sum().backward()
    _close(w.grad, 2 * ((X[:, 0, :] @ V)[:, None] * X[:, 0, :]).sum(0))
    assert w.grad.grad_fn is None
    with pytest.raises(cr.GraphFreedError):  # freed as after any backward()
        y.sum().backward()


def test_results_carry_no_graph_unless_asked():
    out = cr.vmap(cr.grad(lambda x: (x ** 2).sum()))(cr.tensor(X))
    assert not out.requires_grad and out.grad_fn is None
    assert type(out.data) is np.ndarray  # the batch is a plain array again outside


def test_fused_loss_and_linalg_batch():
    rng = _rng("fused")
    logits = rng.standard_normal((5, 4, 3))
    onehot = np.eye(3)[rng.integers(0, 3, 4)]
    got = cr.vmap(lambda z: softmax_cross_entropy(z, onehot, 0.25))(cr.tensor(logits))
    _close(got, _loop(lambda z: softmax_cross_entropy(z, onehot, 0.25), logits))
    a = rng.standard_normal((5, 3, 3)) + 3 * np.eye(3)
    _close(cr.vmap(cr.linalg.inv)(cr.tensor(a)), np.linalg.inv(a))
    _close(cr.vmap(cr.grad(lambda m: cr.linalg.det(m)))(cr.tensor(a)),
           _loop(cr.grad(lambda m: cr.linalg.det(m)), a))


def test_custom_rules_batch():
    @cr.custom_vjp
    def f(x):
        return cr.sin(x)

    f.defvjp(lambda x: (f(x), cr.cos(x)), lambda c, g: (g * c,))
    _close(cr.vmap(cr.grad(lambda x: f(x).sum()))(cr.tensor(X)), np.cos(X))


def test_no_python_loop_over_the_batch(monkeypatch):
    """Each op runs once on the whole batch: the number of batched op calls does not grow
    with the batch size."""
    calls = []
    inner = engine.BATCHING.apply
    monkeypatch.setattr(engine.BATCHING, "apply",
                        lambda *a: calls.append(a[0].name) or inner(*a))
    rng = _rng("count")
    p = {k: cr.tensor(v) for k, v in _mlp_params(rng).items()}
    counts = []
    for n in (2, 64):
        calls.clear()
        x, y = rng.standard_normal((n, 4)), np.eye(3)[rng.integers(0, 3, n)]
        cr.vmap(cr.grad(lambda p, x, y: _mlp_loss(p, x, y, cr)), in_axes=(None, 0, 0))(
            p, cr.tensor(x), cr.tensor(y))
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0


def test_clear_errors():
    with pytest.raises(ValueError, match="different sizes"):
        cr.vmap(lambda a, b: a + b)(cr.tensor(np.ones(3)), cr.tensor(np.ones(4)))
    with pytest.raises(ValueError, match="out of range"):
        cr.vmap(lambda a: a, in_axes=2)(cr.tensor(np.ones((3, 4))))
    with pytest.raises(ValueError, match="nothing to batch"):
        cr.vmap(lambda a: a, in_axes=None)(cr.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="in_axes has 1 entries for 2"):
        cr.vmap(lambda a, b: a, in_axes=(0,))(1.0, 2.0)
    with pytest.raises(ValueError, match="out_axes is None"):
        cr.vmap(lambda a: a * 2, out_axes=None)(cr.tensor(np.ones(3)))
    assert cr.vmap(lambda a, b: (a * 2, b), in_axes=(0, None), out_axes=(0, None))(
        cr.tensor(np.ones(3)), 5.0)[1].item() == 5.0
    with pytest.raises(TypeError, match="cr.where"):
        cr.vmap(lambda a: a if a > 0 else -a)(cr.tensor(np.ones(3)))
    with pytest.raises(NotImplementedError, match="max_pool.*no batching rule"):
        cr.vmap(lambda x: F.max_pool2d(x, 2))(cr.tensor(np.ones((2, 1, 1, 4, 4))))
