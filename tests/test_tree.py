"""Pytrees: round trips, registered classes, and pytrees through every transform and the
optimizers."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch

import chainrule as cr

Point = namedtuple("Point", "x y")


class Affine:
    """A user class made a container with cr.tree.register."""

    def __init__(self, w, b):
        self.w, self.b = w, b


cr.tree.register(Affine, lambda a: ((a.w, a.b), None), lambda aux, c: Affine(*c))

TREES = [
    1.0,
    None,
    [],
    {"b": [1, (2, 3)], "a": None, "c": {"d": 4}},
    (1, [2, {"z": 3, "y": Point(4, 5)}]),
    Point([1, 2], {"k": (3,)}),
    [Affine(1, [2, 3]), Affine(4, None)],
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_round_trip(tree):
    leaves, spec = cr.tree.flatten(tree)
    rebuilt = cr.tree.unflatten(spec, leaves)
    assert cr.tree.flatten(rebuilt) == (leaves, spec)
    assert cr.tree.leaves(tree) == leaves
    doubled = cr.tree.map(lambda v: v * 2, tree)
    assert cr.tree.leaves(doubled) == [v * 2 for v in leaves]
    assert cr.tree.structure(doubled) == spec


def test_dicts_flatten_in_key_order_and_keep_their_type():
    leaves, spec = cr.tree.flatten({"b": 2, "a": 1})
    assert leaves == [1, 2]
    assert cr.tree.unflatten(spec, [10, 20]) == {"a": 10, "b": 20}
    assert type(cr.tree.unflatten(*cr.tree.flatten(Point(1, 2))[::-1])) is Point


def test_errors_name_the_mismatch():
    _, spec = cr.tree.flatten([1, 2])
    with pytest.raises(ValueError, match="2 leaves, got 3"):
        cr.tree.unflatten(spec, [1, 2, 3])
    with pytest.raises(ValueError, match="structures differ"):
        cr.tree.map(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(TypeError, match="expected a class"):
        cr.tree.register("Affine", None, None)


def _params():
    return {"w": cr.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=cr.float64),
            "b": (cr.tensor([0.1, -0.2], dtype=cr.float64),),
            "p": Point(cr.tensor(2.0, dtype=cr.float64), None)}


def _loss(p, x):
    h = cr.tanh(x @ p["w"] + p["b"][0]) * p["p"].x
    return (h ** 2).sum()


def _torch_grads(x):
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in
         {"w": [[1.0, -2.0], [0.5, 3.0]], "b": [0.1, -0.2], "s": 2.0}.items()}
    loss = ((torch.tanh(torch.tensor(x) @ p["w"] + p["b"]) * p["s"]) ** 2).sum()
    return dict(zip(p, torch.autograd.grad(loss, list(p.values()))))


def test_grad_returns_the_structure_of_the_argument():
    x = np.array([[0.3, -0.7], [1.0, 0.2]])
    g = cr.grad(_loss)(_params(), cr.tensor(x))
    assert sorted(g) == ["b", "p", "w"] and isinstance(g["b"], tuple)
    assert isinstance(g["p"], Point) and g["p"].y is None
    ref = _torch_grads(x)
    np.testing.assert_allclose(g["w"].data, ref["w"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(g["b"][0].data, ref["b"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(g["p"].x.data, ref["s"].numpy(), rtol=1e-12)
    v, g2 = cr.value_and_grad(_loss)(_params(), cr.tensor(x))
    assert np.isclose(v.item(), _loss(_params(), cr.tensor(x)).item())
    np.testing.assert_allclose(g2["w"].data, g["w"].data)


def test_grad_with_a_tuple_of_argnums_returns_a_tuple():
    gx, gy = cr.grad(lambda x, y: x * y * y, argnums=(0, 1))(2.0, 3.0)
    assert (gx.item(), gy.item()) == (9.0, 12.0)
    (gp, gx), aux = cr.grad(lambda p, x: (_loss(p, x), "aux"), argnums=(0, 1), has_aux=True)(
        _params(), cr.tensor([[0.3, -0.7]], dtype=cr.float64))
    assert aux == "aux" and gx.shape == (1, 2) and sorted(gp) == ["b", "p", "w"]


def test_a_registered_class_through_grad():
    a = Affine(cr.tensor([2.0]), cr.tensor([1.0]))
    g = cr.grad(lambda a, x: ((a.w * x + a.b) ** 2).sum())(a, cr.tensor([3.0]))
    assert isinstance(g, Affine)
    assert (g.w.item(), g.b.item()) == (42.0, 14.0)


def test_vjp_jvp_jacobian_hessian_hvp_take_pytrees():
    p = {"a": cr.tensor([1.0, 2.0], dtype=cr.float64), "b": cr.tensor(3.0, dtype=cr.float64)}
    f = lambda p: {"y": p["a"] * p["b"], "z": (p["a"] ** 2).sum()}  # noqa: E731
    out, pull = cr.vjp(f, p)
    (ct,) = pull({"y": cr.tensor([1.0, 0.0], dtype=cr.float64),
                  "z": cr.tensor(1.0, dtype=cr.float64)})
    np.testing.assert_allclose(ct["a"].data, [3 + 2, 4])
    assert ct["b"].item() == 1.0
    out, t = cr.jvp(f, (p,), ({"a": cr.tensor([1.0, 0.0], dtype=cr.float64),
                               "b": cr.tensor(1.0, dtype=cr.float64)},))
    np.testing.assert_allclose(t["y"].data, [3 + 1, 2])
    assert t["z"].item() == 2.0
    for jac in (cr.jacobian(f), cr.jacfwd(f), cr.jacrev(f)):
        j = jac(p)
        np.testing.assert_allclose(j["y"]["a"].data, 3 * np.eye(2))
        np.testing.assert_allclose(j["y"]["b"].data, [1, 2])
        np.testing.assert_allclose(j["z"]["a"].data, [2, 4])
    s = lambda p: (p["a"] ** 2 * p["b"]).sum()  # noqa: E731
    h = cr.hessian(s)(p)
    np.testing.assert_allclose(h["a"]["a"].data, 6 * np.eye(2))
    np.testing.assert_allclose(h["a"]["b"].data, [2, 4])
    hv = cr.hvp(s, (p,), ({"a": cr.tensor([1.0, 0.0], dtype=cr.float64),
                           "b": cr.tensor(0.0, dtype=cr.float64)},))
    np.testing.assert_allclose(hv["a"].data, [6, 0])
    assert hv["b"].item() == 2.0


def test_optimizers_take_pytrees_of_parameters():
    p = {"w": cr.tensor([1.0, 2.0], requires_grad=True),
         "inner": (cr.tensor(3.0, requires_grad=True), [cr.tensor([4.0], requires_grad=True)])}
    opt = cr.optim.SGD(p, lr=0.5)
    assert len(opt.param_groups[0]["params"]) == 3
    (p["w"].sum() * p["inner"][0] + p["inner"][1][0].sum()).backward()
    opt.step()
    np.testing.assert_allclose(p["w"].data, [1 - 1.5, 2 - 1.5])
    assert p["inner"][0].item() == 3 - 0.5 * 3
    opt = cr.optim.Adam([{"params": p, "lr": 0.1}, {"params": Point(
        cr.tensor(1.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)), "lr": 0.2}])
    assert [len(g["params"]) for g in opt.param_groups] == [3, 2]
