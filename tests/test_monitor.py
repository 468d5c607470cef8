"""GradientMonitor and the vanishing-gradient example: sigmoid layers shrink the gradient
geometrically towards the input; ReLU with He initialisation does not."""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "diagnostics" / \
    "vanishing_gradients.py"


def test_vanishing_gradients_example(tmp_path):
    spec = importlib.util.spec_from_file_location("vanishing_gradients", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(plot=str(tmp_path / "vg.png"))
    sig, relu = result["sigmoid"], result["relu+he"]
    assert len(sig) == len(relu) == 10
    assert sig[0] < 1e-4 * sig[-1]  # vanished
    assert 0.1 < relu[0] / relu[-1] < 10  # kept its scale
    assert all(np.diff(np.log(sig)) > 0)  # shrinking layer after layer towards the input
    for name in ("vg_sigmoid.png", "vg_relu_he.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_monitor_records_norms_and_update_ratios():
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    mon = cr.nn.utils.GradientMonitor(net)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    x = cr.randn(5, 3)
    for _ in range(3):
        opt.zero_grad()
        cr.sum(net(x) ** 2).backward()
        mon.record()
        opt.step()
        mon.record(after_step=True)
    w = net[0].weight
    assert len(mon.grad_norms["0.weight"]) == 3
    assert np.isclose(mon.grad_norms["0.weight"][-1], np.linalg.norm(w.grad.data))
    ratio = mon.update_ratios["0.weight"][-1]
    assert np.isclose(ratio, 0.1 * np.linalg.norm(w.grad.data)
                      / np.linalg.norm(w.data + 0.1 * w.grad.data), rtol=1e-5)
    with pytest.raises(RuntimeError, match="before the step"):
        mon.record(after_step=True)


def test_plot_leaves_out_layers_with_no_record_and_refuses_an_empty_monitor(tmp_path):
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    mon = cr.nn.utils.GradientMonitor(net)
    with pytest.raises(RuntimeError, match="nothing to plot"):
        mon.plot(tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
    cr.sum(net(cr.randn(5, 3)) ** 2).backward()
    mon.record()
    mon.grad_norms["2.weight"].clear()  # as if this layer had never been recorded
    assert list(mon.mean_grad_norms()) == ["0.weight"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mean of an empty list (NaN, RuntimeWarning)
        mon.plot(tmp_path / "some.png")
    assert (tmp_path / "some.png").read_bytes()[:4] == b"\x89PNG"
