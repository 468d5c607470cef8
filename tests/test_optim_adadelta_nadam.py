"""Adadelta and NAdam against torch.optim, step by step, and their state dict round trips
(the helpers and the model are test_optim's)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule import optim

from .test_optim import (
    INIT,
    _jsonish,
    assert_same_trajectory,
    cr_params,
    run_cr,
    run_torch,
    torch_params,
)

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5)),
    ("Adadelta", dict(weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.02, betas=(0.3, 0.9), maximize=True)),  # lerp weight >= 0.5
]


@pytest.fixture
def float64_default():
    """torch keeps NAdam's μ product in the default dtype: float64 here, as chainrule."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_torch(name, kwargs, float64_default):
    sign = -1.0 if kwargs.get("maximize") else 1.0
    ps, ts = cr_params(), torch_params()
    ours = run_cr(getattr(optim, name)(ps, **kwargs), ps, 50, sign)
    theirs = run_torch(getattr(torch.optim, name)(ts, **kwargs), ts, 50, sign)
    assert_same_trajectory(ours, theirs)
    assert not np.allclose(ours[-1][0], INIT[0])  # it moved


@pytest.mark.parametrize("name,kwargs", [("Adadelta", dict(lr=0.5)),
                                         ("NAdam", dict(lr=0.01))])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    ps = cr_params()
    full = run_cr(getattr(optim, name)(ps, **kwargs), ps, 30)
    ps = cr_params()
    opt = getattr(optim, name)(ps, **kwargs)
    first = run_cr(opt, ps, 12)
    sd = opt.state_dict()
    for entry in sd["state"].values():  # only plain values
        assert all(isinstance(v, (np.ndarray, int, float)) for v in entry.values())
    opt2 = getattr(optim, name)(ps, **kwargs)
    opt2.load_state_dict(_jsonish(sd))
    rest = run_cr(opt2, ps, 18)
    for a, b in zip(full, first + rest):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_names_are_torchs():
    for name in ("Adadelta", "NAdam"):
        ps, ts = cr_params(), torch_params()
        ours = getattr(optim, name)(ps)
        theirs = getattr(torch.optim, name)(ts)
        run_cr(ours, ps, 1)
        run_torch(theirs, ts, 1)
        assert sorted(ours.state_dict()["state"][0]) == sorted(theirs.state_dict()["state"][0])
        assert set(ours.param_groups[0]) <= set(theirs.param_groups[0])


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.Adadelta(p, lr=-1), "Invalid learning rate"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value"),
    (lambda p: optim.NAdam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value"),
])
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make(cr_params())
