"""The PyTorch-style examples (examples/pytorch_style/) are PyTorch programs: each differs
from a torch program only in its import line, and both fit the same coefficients.

Each program is run twice, in this process: as written (chainrule), and with the import line
replaced by ``import torch``. Both start from the same initial values (the random draws, and
Linear's random initialisation, are replaced by one shared sequence: the two libraries'
random streams differ). The default dtype is float64 in both (polynomial_autograd asks for
float32 itself), so the plain gradient descent fits agree to 1e-9. RMSprop (polynomial_optim)
reaches the optimum by step 1400 and then circles it in steps of about lr = 1e-3, where
rounding decides the way round: its printed losses agree until then, its final coefficients
to the size of those steps.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

HERE = Path(__file__).resolve().parent.parent / "examples" / "pytorch_style"
PROGRAMS = ["polynomial_autograd", "polynomial_nn", "polynomial_optim"]
IMPORT = "import chainrule as torch"


def torch_version(source: str) -> str:
    return source.replace(IMPORT, "import torch")


def _shared_draws(seed=0):
    rng = np.random.default_rng(seed)
    return lambda shape: rng.uniform(-0.5, 0.5, shape)


@contextlib.contextmanager
def same_start(monkeypatch, seed=0):
    """Both libraries' randn and Linear initialisation draw from one NumPy sequence each run."""
    draws = {"cr": _shared_draws(seed), "torch": _shared_draws(seed)}

    def cr_randn(*shape, dtype=None, requires_grad=False, device=None, **_):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return cr.tensor(draws["cr"](shape), dtype=dtype or cr.float32,
                         requires_grad=requires_grad)

    def torch_randn(*shape, dtype=None, requires_grad=False, device=None, **_):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return torch.tensor(draws["torch"](shape), dtype=dtype or torch.float32,
                            requires_grad=requires_grad)

    def cr_linear_init(weight, bias, rng=None):
        weight.data = draws["cr"](weight.shape).astype(weight.dtype)
        bias.data = draws["cr"](bias.shape).astype(bias.dtype)

    def torch_reset(self):
        with torch.no_grad():
            self.weight.copy_(torch.tensor(draws["torch"](tuple(self.weight.shape))))
            self.bias.copy_(torch.tensor(draws["torch"](tuple(self.bias.shape))))

    monkeypatch.setattr(cr, "randn", cr_randn)
    monkeypatch.setattr(torch, "randn", torch_randn)
    monkeypatch.setattr(cr.nn.init, "default_linear_init_", cr_linear_init)
    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", torch_reset)
    dtypes = cr.get_default_dtype(), torch.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        cr.set_default_dtype(dtypes[0])
        torch.set_default_dtype(dtypes[1])


def run(source: str) -> tuple[list[float], str]:
    """Run a program; its fitted (a, b, c, d) and what it printed."""
    out = io.StringIO()
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<example>", "exec"), namespace)
    coef = [namespace[k] for k in "abcd"]
    return [float(v.item() if hasattr(v, "item") else v) for v in coef], out.getvalue()


@pytest.mark.parametrize("name", PROGRAMS)
def test_only_the_import_line_differs(name):
    source = (HERE / f"{name}.py").read_text(encoding="utf-8")
    assert source.count(IMPORT) == 1
    changed = [(a, b) for a, b in zip(source.splitlines(), torch_version(source).splitlines())
               if a != b]
    assert changed == [(IMPORT, "import torch")]
    assert "chainrule" not in torch_version(source).replace(
        "chainrule runs", "").replace("run by chainrule", "").replace("(chainrule)", "")


@pytest.mark.parametrize("name", PROGRAMS)
def test_fits_the_same_coefficients_as_torch(name, monkeypatch):
    source = (HERE / f"{name}.py").read_text(encoding="utf-8")
    with same_start(monkeypatch):
        ours, printed = run(source)
    with same_start(monkeypatch):
        theirs, printed_torch = run(torch_version(source))
    atol = {"polynomial_autograd": 2e-4, "polynomial_nn": 1e-9, "polynomial_optim": 2e-3}[name]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)
    # the fit is a fit: b ≈ 0.85 and d ≈ −0.09 are the least-squares cubic's, up to how far
    # 2000 steps get
    assert 0.8 < ours[1] < 0.9 and -0.1 < ours[3] < -0.08
    losses = [float(v) for v in re.findall(r"loss\s+([\d.]+)", printed)]
    torch_losses = [float(v) for v in re.findall(r"loss\s+([\d.]+)", printed_torch)]
    assert len(losses) == 10 and losses[-1] < losses[0] / 10
    np.testing.assert_allclose(losses[:7], torch_losses[:7], rtol=1e-6)  # float32: 1e-6


def test_different_starts_would_be_told_apart(monkeypatch):
    """The tolerance above is tight enough to fail for a run from other initial values."""
    source = (HERE / "polynomial_autograd.py").read_text(encoding="utf-8")
    with same_start(monkeypatch, seed=0):
        ours, _ = run(source)
    with same_start(monkeypatch, seed=1):
        other, _ = run(torch_version(source))
    assert np.max(np.abs(np.subtract(ours, other))) > 2e-3
