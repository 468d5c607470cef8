"""Every layer and loss against torch.nn with copied weights (values, input and parameter
gradients), gradcheck to second order in float64, and the Module machinery."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

TN = torch.nn
RNG = np.random.default_rng(0)

# (id, chainrule module factory, torch module factory, input shape, input kind)
LAYERS = [
    ("linear", lambda: nn.Linear(5, 3), lambda: TN.Linear(5, 3), (4, 5)),
    ("linear_nobias", lambda: nn.Linear(5, 3, bias=False), lambda: TN.Linear(5, 3, bias=False),
     (2, 4, 5)),
    ("conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1),
     lambda: TN.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 9)),
    ("conv2d", lambda: nn.Conv2d(2, 3, (3, 2), padding=1),
     lambda: TN.Conv2d(2, 3, (3, 2), padding=1), (2, 2, 6, 5)),
    ("conv2d_dilated", lambda: nn.Conv2d(1, 2, 3, stride=2, dilation=2),
     lambda: TN.Conv2d(1, 2, 3, stride=2, dilation=2), (1, 1, 9, 9)),
    ("maxpool1d", lambda: nn.MaxPool1d(2), lambda: TN.MaxPool1d(2), (2, 3, 8)),
    ("maxpool2d", lambda: nn.MaxPool2d(2), lambda: TN.MaxPool2d(2), (2, 3, 6, 4)),
    ("maxpool2d_stride", lambda: nn.MaxPool2d(3, 2), lambda: TN.MaxPool2d(3, 2), (1, 2, 7, 7)),
    ("avgpool2d", lambda: nn.AvgPool2d(2), lambda: TN.AvgPool2d(2), (2, 3, 6, 4)),
    ("flatten", lambda: nn.Flatten(), lambda: TN.Flatten(), (2, 3, 4)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(3), lambda: TN.BatchNorm1d(3), (5, 3)),
    ("batchnorm1d_3d", lambda: nn.BatchNorm1d(3), lambda: TN.BatchNorm1d(3), (4, 3, 2)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(2), lambda: TN.BatchNorm2d(2), (3, 2, 3, 3)),
    ("layernorm", lambda: nn.LayerNorm(4), lambda: TN.LayerNorm(4), (3, 4)),
    ("layernorm_2d", lambda: nn.LayerNorm((2, 3)), lambda: TN.LayerNorm((2, 3)), (4, 2, 3)),
    ("relu", lambda: nn.ReLU(), lambda: TN.ReLU(), (3, 4)),
    ("leaky_relu", lambda: nn.LeakyReLU(0.2), lambda: TN.LeakyReLU(0.2), (3, 4)),
    ("sigmoid", lambda: nn.Sigmoid(), lambda: TN.Sigmoid(), (3, 4)),
    ("tanh", lambda: nn.Tanh(), lambda: TN.Tanh(), (3, 4)),
    ("gelu", lambda: nn.GELU(), lambda: TN.GELU(), (3, 4)),
    ("gelu_tanh", lambda: nn.GELU(approximate="tanh"), lambda: TN.GELU(approximate="tanh"),
     (3, 4)),
    ("softmax", lambda: nn.Softmax(dim=1), lambda: TN.Softmax(dim=1), (3, 4)),
]


def _pair(make, tmake):
    ours, theirs = make().to(cr.float64), tmake().double()
    for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        tp.data = torch.tensor(RNG.standard_normal(p.shape))
        p.data[...] = tp.data.numpy()
    return ours, theirs


def _away_from_kinks(shape):
    """Random inputs with none near 0 (ReLU's kink), moved by a continuous map: one fixed
    replacement value would make exact ties that a max pool cannot differentiate."""
    x = RNG.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, np.copysign(0.3 + np.abs(x), x), x)


@pytest.mark.parametrize("lid,make,tmake,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_matches_torch(lid, make, tmake, shape):
    ours, theirs = _pair(make, tmake)
    x = _away_from_kinks(shape)
    xi = cr.tensor(x, requires_grad=True)
    txi = torch.tensor(x, requires_grad=True)
    out, tout = ours(xi), theirs(txi)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = RNG.standard_normal(out.shape)
    cr.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xi.grad.data, txi.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(b.data, tb.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("lid,make,tmake,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_gradcheck_second_order(lid, make, tmake, shape):
    ours, _ = _pair(make, tmake)
    x = _away_from_kinks(shape)
    params = list(ours.parameters())
    # a nonlinearity after the layer, so its second derivatives are not all zero
    assert cr.gradcheck(lambda x, *ps: cr.tanh(_call_with(ours, params, ps, x)), x,
                        *[p.data.copy() for p in params], order=2, atol=1e-6, rtol=1e-4)


def _call_with(module, params, values, x):
    """Run ``module`` with its parameters temporarily replaced by ``values`` (tensors that may
    carry graph or tangents), so gradcheck can differentiate with respect to them."""
    owners = []
    for m in module.modules():
        for k, p in m._parameters.items():
            owners.append((m, k, p))
    try:
        for (m, k, _), v in zip(owners, values):
            m._parameters[k] = v
        return module(x)
    finally:
        for m, k, p in owners:
            m._parameters[k] = p


def test_batchnorm_eval_uses_running_stats_like_torch():
    ours, theirs = _pair(lambda: nn.BatchNorm2d(2, momentum=0.3),
                         lambda: TN.BatchNorm2d(2, momentum=0.3))
    for _ in range(3):
        x = RNG.standard_normal((4, 2, 3, 3)) * 2 + 1
        ours(cr.tensor(x))
        theirs(torch.tensor(x))
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 2, 3, 3))
    np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)
    assert ours.num_batches_tracked.item() == 3


def test_dropout_is_seedable_and_scaled():
    d = nn.Dropout(0.25, rng=np.random.default_rng(7))
    x = cr.ones(1000)
    y = d(x).data
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (y == 0).mean() < 0.3
    d2 = nn.Dropout(0.25, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(d2(x).data, y)
    d.eval()
    np.testing.assert_array_equal(d(x).data, x.data)


def test_embedding_matches_torch():
    ours, theirs = _pair(lambda: nn.Embedding(5, 3), lambda: TN.Embedding(5, 3))
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    out, tout = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.data, tout.detach().numpy())
    cr.sum(out * out).backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy())


LOSSES = [
    ("mse", F.mse_loss, torch.nn.functional.mse_loss, "real"),
    ("l1", F.l1_loss, torch.nn.functional.l1_loss, "real"),
    ("bce_logits", F.binary_cross_entropy_with_logits,
     torch.nn.functional.binary_cross_entropy_with_logits, "prob"),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("lid,fn,tfn,kind", LOSSES, ids=[loss[0] for loss in LOSSES])
def test_regression_losses_match_torch(lid, fn, tfn, kind, reduction):
    x = RNG.standard_normal((4, 3))
    t = RNG.random((4, 3)) if kind == "prob" else RNG.standard_normal((4, 3))
    xi, txi = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = fn(xi, cr.tensor(t), reduction=reduction), tfn(txi, torch.tensor(t),
                                                               reduction=reduction)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    cr.sum(out).backward()
    tout.sum().backward()
    np.testing.assert_allclose(xi.grad.data, txi.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_nll_match_torch(reduction):
    x = RNG.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    xi, txi = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.cross_entropy(xi, t, reduction=reduction)
    tout = torch.nn.functional.cross_entropy(txi, torch.tensor(t), reduction=reduction)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    cr.sum(out).backward()
    tout.sum().backward()
    np.testing.assert_allclose(xi.grad.data, txi.grad.numpy(), rtol=1e-10)
    lp = RNG.standard_normal((5, 4))
    np.testing.assert_allclose(
        F.nll_loss(lp, t, reduction=reduction).data,
        torch.nn.functional.nll_loss(torch.tensor(lp), torch.tensor(t),
                                     reduction=reduction).numpy(), rtol=1e-12)
    assert cr.gradcheck(lambda z: F.cross_entropy(z, t), x, order=2)


def test_losses_are_finite_for_logits_of_1000():
    logits = cr.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], requires_grad=True)
    loss = F.cross_entropy(logits, [1, 2])
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.data).all()
    tl = torch.tensor(logits.data, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tl, torch.tensor([1, 2]))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    np.testing.assert_allclose(logits.grad.data, tl.grad.numpy(), atol=1e-6)
    z = cr.tensor([1000.0, -1000.0, 0.0], requires_grad=True)
    bce = F.binary_cross_entropy_with_logits(z, cr.tensor([0.0, 1.0, 1.0]))
    bce.backward()
    assert np.isfinite(bce.item()) and np.isfinite(z.grad.data).all()
    assert np.isclose(bce.item(), (1000 + 1000 + np.log(2)) / 3, rtol=1e-6)


def test_loss_modules_and_errors():
    x = cr.randn(4, 3)
    assert np.isclose(nn.CrossEntropyLoss()(x, [0, 1, 2, 0]).item(),
                      F.cross_entropy(x, [0, 1, 2, 0]).item())
    assert nn.MSELoss(reduction="sum")(x, x).item() == 0.0
    with pytest.raises(IndexError, match=r"target out of range \[0, 3\)"):
        F.cross_entropy(x, [0, 1, 2, 3])
    with pytest.raises(cr.ShapeError, match="differ in shape"):
        F.mse_loss(x, cr.randn(3, 4))
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(x, x, reduction="avg")


def test_default_init_matches_torch_distribution():
    cr.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.bias.data).max() <= bound
    assert np.isclose(lin.weight.data.std(), bound / np.sqrt(3), rtol=0.02)
    conv = nn.Conv2d(3, 8, 5)
    assert np.abs(conv.weight.data).max() <= 1 / np.sqrt(75)
    w = cr.zeros(200, 100)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert np.isclose(w.data.std(), np.sqrt(2 / 100), rtol=0.03)
    nn.init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= np.sqrt(6 / 300)
    nn.init.xavier_normal_(w)
    assert np.isclose(w.data.std(), np.sqrt(2 / 300), rtol=0.03)
    assert nn.Embedding(10, 4).weight.dtype == cr.float32


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1)])
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(cr.ones(1))

    def forward(self, x):
        h = self.bn(self.body(x))
        return self.heads[0](h) * self.scale, self.heads[1](h)


def test_module_registration_state_dict_and_modes():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "heads.1.bias", "bn.weight", "bn.bias"]  # torch's order
    sd = net.state_dict()
    assert "bn.running_mean" in sd and "bn.num_batches_tracked" in sd
    other = Net()
    other.load_state_dict(sd)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.data, sd[k].data)
    net.eval()
    assert not net.bn.training and not net.body[0].training
    net.train()
    assert net.heads[1].training
    a, b = net(cr.randn(5, 3))
    (cr.sum(a) + cr.sum(b)).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert "ModuleList" in repr(net) and "Linear(in_features=3" in repr(net)


def test_load_state_dict_errors_change_nothing():
    net = Net()
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    bad = dict(Net().state_dict())
    bad["body.0.weight"] = np.zeros((5, 3))
    bad["extra"] = np.zeros(1)
    del bad["scale"]
    with pytest.raises(cr.ShapeError) as err:
        net.load_state_dict(bad)
    msg = str(err.value)
    assert "body.0.weight: checkpoint (5, 3) vs model (4, 3)" in msg
    assert "missing keys: ['scale']" in msg and "unexpected keys: ['extra']" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])


def test_cnn_hessian_vector_product_matches_torch():
    """Second derivatives through conv, pooling and a linear layer (forward over reverse)."""
    torch.manual_seed(0)
    tnet = TN.Sequential(TN.Conv2d(1, 2, 3), TN.Tanh(), TN.MaxPool2d(2), TN.Flatten(),
                         TN.Linear(8, 3)).double()
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8, 3)).to(cr.float64)
    net.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()})
    x = RNG.standard_normal((2, 1, 6, 6))
    y = np.array([0, 2])
    params = list(net.parameters())
    vs = [RNG.standard_normal(p.shape) for p in params]

    def loss(*ps):
        return F.cross_entropy(_call_with(net, params, ps, x), y)

    hv = cr.hvp(loss, [p.detach() for p in params], vs)
    tparams = [p.detach().requires_grad_() for p in tnet.parameters()]
    names = [n for n, _ in tnet.named_parameters()]

    def tloss(*ps):
        out = torch.func.functional_call(tnet, dict(zip(names, ps)), (torch.tensor(x),))
        return torch.nn.functional.cross_entropy(out, torch.tensor(y))

    _, thv = torch.autograd.functional.hvp(tloss, tuple(tparams),
                                           tuple(torch.tensor(v) for v in vs))
    for a, b in zip(hv, thv):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-8, atol=1e-10)


def test_max_pool_ties_and_nan_windows_route_the_gradient_as_torch():
    from chainrule.ops.conv import max_pool2d
    x = np.zeros((1, 2, 4, 4))  # every window of channel 0 is a tie
    x[0, 1] = np.arange(16).reshape(4, 4)
    x[0, 1, 0, 1] = np.nan  # one NaN in a window
    x[0, 1, 2, 2] = x[0, 1, 3, 3] = np.nan  # two NaNs in a window
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    y = max_pool2d(xc, 2)
    y.sum().backward()
    np.testing.assert_array_equal(np.isnan(y.data), [[[[0, 0], [0, 0]], [[1, 0], [0, 1]]]])
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


@pytest.mark.parametrize("stride", [2, 1])
def test_max_pool_with_infinities_and_infinite_cotangents_as_torch(stride):
    """A loser's -inf must not turn the window into NaN (0·inf), nor an infinite cotangent
    spill onto the losers: the one-hot selects, it does not multiply."""
    from chainrule.ops.conv import max_pool2d
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 0, 0] = x[0, 0, 3, 2] = -np.inf  # masked positions, as attention masks make
    x[0, 1, 1, 1] = np.inf
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, 2, stride)
    g = np.ones(tuple(yt.shape))
    g[0, 0, 0, 0] = np.inf
    yt.backward(torch.tensor(g))
    xc = cr.tensor(x, requires_grad=True)
    y = max_pool2d(xc, 2, stride)
    y.backward(g)
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


def test_load_state_dict_casts_like_torch_and_checks_everything_first():
    """A float64 state into float32 weights and BatchNorm's int64 counter: PyTorch casts and
    loads; so does chainrule. A value that cannot be cast stops the load before any change."""
    tnet = TN.Sequential(TN.Linear(3, 4), TN.BatchNorm1d(4), TN.Linear(4, 2))
    state = {k: v.detach().double().numpy() + 1.5 for k, v in tnet.state_dict().items()}
    tnet.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    assert net.load_state_dict(state) == ([], [])
    for k, v in net.state_dict().items():
        want = tnet.state_dict()[k].numpy()
        assert v.dtype == want.dtype, k
        np.testing.assert_array_equal(v.data, want, err_msg=k)
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    for bad, message, error in (
            ({"1.num_batches_tracked": np.array(np.nan)}, "NaN or infinity", TypeError),
            ({"1.num_batches_tracked": np.array(1e30)}, "outside the range", TypeError),
            ({"0.bias": np.array(["a"] * 4)}, "dtype <U1 cannot be cast", TypeError),
            ({"0.bias": np.zeros(4, complex)}, "complex128 cannot be cast", TypeError),
            ({"0.bias": [[1, 2], [3]]}, "not an array", TypeError),
            ({"0.bias": np.zeros(5), "2.bias": np.array([1.0, np.nan])}, r"\(5,\) vs model",
             cr.ShapeError)):
        with pytest.raises(error, match=message):
            net.load_state_dict({**state, **bad})
        for k, v in net.state_dict().items():  # the keys before the bad one are untouched too
            np.testing.assert_array_equal(v.data, before[k], err_msg=k)
    # NaN is fine in a float tensor, as in PyTorch
    net.load_state_dict({**state, "2.bias": np.array([1.0, np.nan])})
    assert np.isnan(net[2].bias.data[1])
