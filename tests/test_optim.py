"""Optimizers, schedulers and gradient clipping against torch.optim, step by step."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim
from chainrule.nn.utils import clip_grad_norm_
from chainrule.optim import lr_scheduler

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 3))
Y = RNG.standard_normal((5, 2))
INIT = [RNG.standard_normal((3, 4)), RNG.standard_normal(4), RNG.standard_normal((4, 2))]


def cr_loss(params, sign=1.0):
    """A tiny MLP loss in chainrule: mean((tanh(x W + b) V - y)²) + 0.1 |b|²."""
    w, b, v = params
    out = cr.tanh(cr.tensor(X) @ w + b) @ v
    return sign * (cr.mean((out - cr.tensor(Y)) ** 2) + 0.1 * cr.sum(b ** 2))


def torch_loss(params, sign=1.0):
    w, b, v = params
    out = torch.tanh(torch.tensor(X) @ w + b) @ v
    return sign * (torch.mean((out - torch.tensor(Y)) ** 2) + 0.1 * torch.sum(b ** 2))


def cr_params():
    return [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in INIT]


def torch_params():
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in INIT]


def run_cr(opt, params, steps, sign=1.0):
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        cr_loss(params, sign).backward()
        opt.step()
        traj.append([p.data.copy() for p in params])
    return traj


def run_torch(opt, params, steps, sign=1.0):
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(params, sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def assert_same_trajectory(a, b, rtol=1e-10, atol=1e-12):
    assert len(a) == len(b)
    for step, (pa, pb) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(pa, pb)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"step {step + 1}, parameter {i}")


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9)),
    ("RMSprop", dict(centered=True, alpha=0.4, maximize=True)),  # lerp weight >= 0.5
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1)),
    ("Adagrad", dict(initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9))),  # lerp weight >= 0.5
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_torch(name, kwargs):
    # maximize=True ascends -loss, so both runs stay bounded
    sign = -1.0 if kwargs.get("maximize") else 1.0
    kw = dict(kwargs)
    if name == "SGD":
        kw.setdefault("lr", 0.1)
    ps, ts = cr_params(), torch_params()
    ours = run_cr(getattr(optim, name)(ps, **kw), ps, 50, sign)
    theirs = run_torch(getattr(torch.optim, name)(ts, **kw), ts, 50, sign)
    assert_same_trajectory(ours, theirs)
    assert not np.allclose(ours[-1][0], INIT[0])  # it moved


def test_param_groups_with_their_own_hyperparameters():
    ps, ts = cr_params(), torch_params()
    groups = lambda p: [{"params": p[:2]}, {"params": p[2:], "lr": 0.3, "momentum": 0.5}]
    ours = run_cr(optim.SGD(groups(ps), lr=0.05, momentum=0.9), ps, 30)
    theirs = run_torch(torch.optim.SGD(groups(ts), lr=0.05, momentum=0.9), ts, 30)
    assert_same_trajectory(ours, theirs)
    ps, ts = cr_params(), torch_params()
    groups = lambda p: [{"params": p[:1], "lr": 0.05}, {"params": p[1:], "betas": (0.5, 0.9)}]
    ours = run_cr(optim.Adam(groups(ps), lr=0.01), ps, 30)
    theirs = run_torch(torch.optim.Adam(groups(ts), lr=0.01), ts, 30)
    assert_same_trajectory(ours, theirs)


def test_params_without_grad_are_skipped():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    cr.sum(a * a).backward()
    opt.step()
    assert b.grad is None and b.data.tolist() == [3.0]
    assert b not in opt.state and a in opt.state


def test_step_is_in_place_and_keeps_dtype():
    for cls in (optim.SGD, optim.RMSprop, optim.Adagrad, optim.Adam, optim.AdamW):
        w = cr.tensor(np.ones((3, 2), np.float32), requires_grad=True)
        before = w.data
        opt = cls([w], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
        for _ in range(2):
            cr.sum(w * w).backward()
            opt.step()
        assert w.data is before and w.data.dtype == np.float32
        for v in opt.state[w].values():
            assert not isinstance(v, np.ndarray) or v.dtype == np.float32


def test_closure_returns_the_loss():
    ps = cr_params()
    opt = optim.SGD(ps, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = cr_loss(ps)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(cr_loss([cr.tensor(a) for a in INIT]).item())


def test_zero_grad():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    cr.sum(a * a).backward()
    grad_array = a.grad.data
    opt.zero_grad(set_to_none=False)
    assert a.grad.data is grad_array and a.grad.data.tolist() == [0.0, 0.0]
    assert b.grad is None  # as in torch: only existing gradients are zeroed
    opt.zero_grad()
    assert a.grad is None


def _jsonish(sd):
    """What a round trip through safetensors + JSON metadata gives: string keys, lists."""
    return {"state": {str(k): dict(v) for k, v in sd["state"].items()},
            "param_groups": json.loads(json.dumps(sd["param_groups"]))}


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("RMSprop", dict(centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    ps = cr_params()
    full = run_cr(getattr(optim, name)(ps, **kwargs), ps, 40)

    ps = cr_params()
    opt = getattr(optim, name)(ps, **kwargs)
    first = run_cr(opt, ps, 15)
    sd = opt.state_dict()
    for entry in sd["state"].values():  # only plain values
        for v in entry.values():
            assert isinstance(v, (np.ndarray, int, float, str, bool, type(None)))
    saved = [p.data.copy() for p in ps]
    run_cr(opt, ps, 5)  # the snapshot must not follow the optimizer
    fresh = [cr.tensor(a, requires_grad=True) for a in saved]
    opt2 = getattr(optim, name)(fresh, **kwargs)
    opt2.load_state_dict(_jsonish(sd))
    for entry in sd["state"].values():  # loading copies: no aliasing with the dict
        for v in entry.values():
            if isinstance(v, np.ndarray):
                assert not any(np.shares_memory(v, w) for s in opt2.state.values()
                               for w in s.values() if isinstance(w, np.ndarray))
    rest = run_cr(opt2, fresh, 25)
    for a, b in zip(full, first + rest):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_dict_shape():
    ps = cr_params()
    opt = optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.1}])
    run_cr(opt, ps, 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert sd["param_groups"][1]["lr"] == 0.1
    assert set(sd["state"]) == {0, 1, 2}
    assert sd["state"][2]["step"] == 2
    assert sd["state"][2]["exp_avg"].shape == (4, 2)


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    ps = cr_params()
    opt = optim.Adam(ps, lr=0.01)
    run_cr(opt, ps, 3)
    sd = opt.state_dict()
    before = opt.state_dict()

    def unchanged():
        after = opt.state_dict()
        assert after["param_groups"] == before["param_groups"]
        for k, entry in before["state"].items():
            for name, v in entry.items():
                np.testing.assert_array_equal(after["state"][k][name], v)

    bad = {"state": {**sd["state"], 1: {**sd["state"][1], "exp_avg": np.zeros((5,))}},
           "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(5,\).*shape \(4,\)"):
        opt.load_state_dict(bad)
    unchanged()
    with pytest.raises(ValueError, match="2 parameter group"):
        opt.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})
    unchanged()
    short = [{**sd["param_groups"][0], "params": [0, 1]}]
    with pytest.raises(ValueError, match="group 0 has 2 parameter"):
        opt.load_state_dict({"state": {}, "param_groups": short})
    unchanged()
    neg = [{**sd["param_groups"][0], "lr": -1.0}]
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        opt.load_state_dict({"state": sd["state"], "param_groups": neg})
    unchanged()
    with pytest.raises(ValueError, match="parameter 7"):
        opt.load_state_dict({"state": {7: {"step": 1}}, "param_groups": sd["param_groups"]})
    unchanged()
    with pytest.raises(ValueError, match="'step' should be a scalar"):
        opt.load_state_dict({"state": {0: {**sd["state"][0], "step": np.zeros(3)}},
                             "param_groups": sd["param_groups"]})
    unchanged()


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires"),
    (lambda p: optim.SGD(p), "required optimization parameter lr"),
    (lambda p: optim.SGD([{"params": p, "lr": -2}], lr=0.1), "Invalid learning rate: -2"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.RMSprop(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda p: optim.Adam([]), "empty parameter list"),
    (lambda p: optim.Adam([p[0], p[0]]), "more than once"),
    (lambda p: optim.Adam([{"params": p[:1]}, {"params": p[:1]}]), "more than one"),
    (lambda p: optim.Adam([p[0] * 2]), "non-leaf"),
])
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make(cr_params())


def test_bad_params_types():
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(cr_params()[0])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.zeros(3)])


# -- schedulers ---------------------------------------------------------------------------

def _lrs(opt_cls, sched, steps, groups=((0.1,), (0.02,))):
    def make(lib_opt, params):
        return lib_opt([{"params": [p], "lr": lr[0]} for p, lr in zip(params, groups)])

    if opt_cls == "torch":
        opt = make(torch.optim.SGD, [torch.zeros(1, requires_grad=True) for _ in groups])
    else:
        opt = make(lambda g: optim.SGD(g, lr=1.0), [cr.zeros(1, requires_grad=True)
                                                    for _ in groups])
    s = sched(opt)
    out = [s.get_last_lr()]
    for _ in range(steps):
        opt.step()
        s.step()
        assert s.get_last_lr() == [g["lr"] for g in opt.param_groups]
        out.append(s.get_last_lr())
    return np.array(out)


@pytest.mark.parametrize("cls,kwargs", [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=30)),
])
def test_scheduler_matches_torch(cls, kwargs):
    steps = 65  # past T_max and beyond one full cosine period
    ours = _lrs("cr", lambda o: getattr(lr_scheduler, cls)(o, **kwargs), steps)
    theirs = _lrs("torch", lambda o: getattr(torch.optim.lr_scheduler, cls)(o, **kwargs),
                  steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_linear_warmup_values():
    lrs = _lrs("cr", lambda o: lr_scheduler.LinearWarmup(o, warmup_steps=4,
                                                        start_factor=0.2), 8)
    expected = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(lrs[:, 0], 0.1 * np.array(expected), rtol=1e-15)
    np.testing.assert_allclose(lrs[:, 1], 0.02 * np.array(expected), rtol=1e-15)
    lrs = _lrs("cr", lambda o: lr_scheduler.LinearWarmup(o, warmup_steps=0), 2)
    assert lrs[:, 0].tolist() == [0.1, 0.1, 0.1]
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearWarmup(optim.SGD(cr_params(), lr=0.1), 3, start_factor=1.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        lr_scheduler.LinearWarmup(optim.SGD(cr_params(), lr=0.1), -1)


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.StepLR(o, 3, gamma=0.5),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.01),
    lambda o: lr_scheduler.LinearWarmup(o, 5),
])
def test_scheduler_state_dict_round_trip(make):
    ps = cr_params()
    opt = optim.SGD(ps, lr=0.1)
    sched = make(opt)
    for _ in range(4):
        opt.step()
        sched.step()
    sd = json.loads(json.dumps(sched.state_dict()))  # plain numbers only
    osd = opt.state_dict()
    later = []
    for _ in range(10):
        opt.step()
        sched.step()
        later.append(sched.get_last_lr())
    opt2 = optim.SGD(cr_params(), lr=0.1)
    sched2 = make(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(sd)
    assert sched2.last_epoch == 4
    resumed = []
    for _ in range(10):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    np.testing.assert_allclose(resumed, later, rtol=1e-15)


def test_cosine_closed_form_matches_torch_recursion_long_run():
    ours = _lrs("cr", lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=13, eta_min=1e-4),
                500)
    theirs = _lrs("torch", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=13, eta_min=1e-4), 500)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-16)


# -- gradient clipping ----------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    grads = [RNG.standard_normal(s) for s in [(3, 4), (4,), (2,)]]
    ps = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ps, ts, grads):
        p.grad = cr.tensor(g)
        t.grad = torch.tensor(g)
    extra = cr.tensor([1.0], requires_grad=True)  # no gradient: skipped
    total = clip_grad_norm_(ps + [extra], max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.ndim == 0 and total.dtype == np.float64
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
    if max_norm < 1:
        assert not np.allclose(ps[0].grad.data, grads[0])


def test_clip_grad_norm_edge_cases():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    assert clip_grad_norm_(p, 1.0).item() == 0.0  # no gradients at all
    p.grad = cr.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    p.grad = cr.tensor([3.0, 4.0])
    grad_array = p.grad.data
    clip_grad_norm_(p, 1.0)  # a single Tensor is accepted; scaling is in place
    assert p.grad.data is grad_array
    np.testing.assert_allclose(grad_array, [0.6, 0.8], rtol=1e-6)


def test_a_wrong_shaped_gradient_changes_no_parameter():
    """step() checks every gradient before it writes anything: bad input changes nothing."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = cr.optim.SGD([a, b], lr=0.1)
    a.grad, b.grad = cr.tensor([1.0, 1.0]), cr.tensor([1.0, 1.0])
    versions = [a._version, b._version]
    with pytest.raises(ValueError, match=r"SGD.step: the gradient has shape \(2,\), but its "
                                         r"parameter has shape \(1,\)"):
        opt.step()
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [3.0]
    assert [a._version, b._version] == versions


def test_step_bumps_every_updated_parameters_version_once():
    ps = [cr.tensor([1.0, 2.0], requires_grad=True) for _ in range(3)]
    opt = cr.optim.SGD(ps, lr=0.1)
    ps[0].grad, ps[2].grad = cr.tensor([1.0, 1.0]), cr.tensor([1.0, 1.0])
    y = (ps[1] * 2).sum()  # a graph through the parameter without a gradient stays valid
    opt.step()
    assert [None if p._version is None else p._version[0] for p in ps] == [1, None, 1]
    y.backward()
    assert ps[1].grad.tolist() == [2.0, 2.0]
