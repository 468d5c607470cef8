"""(h) Code as users write it, and ``cr.compile``, next to PyTorch eager and jax.jit.

"As written": single ops with grad recording on (a bias broadcast ``h + b``, ``x @ w.T``,
``log_softmax``, ``x ** 3``) and MLP steps in the natural style (``h @ w.T + b``, ``relu``,
``log_softmax(h) * onehot``, ``cr.optim.SGD``). "Compiled": the bench's fused MLP steps and
the LeNet step under ``cr.compile`` (traced once, replayed). jax.jit runs the same MLP steps
in its own process (``bench/jax_steps.py``); its ratio to PyTorch is chained through the NumPy
reference step timed in both processes. Every compiled step is first checked bitwise against
eager chainrule.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from timing import Row, Stats, compare

import chainrule as cr
from cases import _nn_step, lenet, mlp

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
import jax_steps  # noqa: E402

LR = mlp.LR


def _log_softmax_numpy(z):
    """The NumPy a user writes for it (the NumPy column: the floor of any NumPy-based op)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _ops(budget) -> list[Row]:
    rng = np.random.default_rng(0)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    h, b, x, w, z, v = f32(16, 32), f32(32), f32(16, 64), f32(32, 64), f32(16, 10), f32(2000)
    cases = [  # (name, arrays, the op on Tensors and, written by hand, on arrays)
        ("h + b (bias broadcast, 16×32)", (h, b), lambda h, b: h + b),
        ("x @ w.T (16×64 · 64×32)", (x, w), lambda x, w: x @ w.T),
        ("log_softmax(h, axis=-1) (16×10)", (z,), None),
        ("x ** 3 (2,000 float32)", (v,), lambda x: x ** 3),
    ]
    rows = []
    for name, arrays, fn in cases:
        t_cr = [cr.tensor(a, requires_grad=True) for a in arrays]
        t_pt = [torch.tensor(a, requires_grad=True) for a in arrays]
        if fn is None:
            f_cr = lambda: cr.log_softmax(t_cr[0], axis=-1)
            f_pt = lambda: torch.log_softmax(t_pt[0], dim=-1)
            f_np = lambda: _log_softmax_numpy(z)
        else:
            f_cr = lambda fn=fn, t=t_cr: fn(*t)
            f_pt = lambda fn=fn, t=t_pt: fn(*t)
            f_np = lambda fn=fn, a=arrays: fn(*a)
        a, e = f_cr().data, f_pt().detach().numpy()
        assert a.dtype == np.float32 and np.allclose(a, e, rtol=1e-5, atol=1e-5), name
        assert np.allclose(f_np(), e, rtol=1e-5, atol=1e-5), name
        s = compare({"cr": f_cr, "pt": f_pt, "np": f_np}, budget)
        rows.append(Row(f"as written: {name}, grad on", "µs/op", 1e6, s["cr"], s["pt"],
                        s["np"], target=1.5))
    return rows


def _natural_loss_cr(ps, x, onehot):
    h = x
    for i in range(0, len(ps), 2):
        h = h @ ps[i].T + ps[i + 1]
        if i + 2 < len(ps):
            h = cr.relu(h)
    return -cr.sum(cr.log_softmax(h, axis=-1) * onehot) * (1.0 / len(onehot))


def _natural_loss_pt(ps, x, onehot):
    h = x
    for i in range(0, len(ps), 2):
        h = h @ ps[i].T + ps[i + 1]
        if i + 2 < len(ps):
            h = torch.relu(h)
    return -torch.sum(torch.log_softmax(h, dim=-1) * onehot) * (1.0 / len(onehot))


def _steps(sizes, batch, natural: bool):
    """(chainrule step, PyTorch step, NumPy step) from the same weights and batch."""
    p0, x, y = mlp.init(sizes, batch)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y]
    ps = [cr.tensor(p, requires_grad=True) for p in p0]
    opt = cr.optim.SGD(ps, lr=LR)
    pt = [torch.tensor(p, requires_grad=True) for p in p0]
    opt_pt = torch.optim.SGD(pt, lr=LR)
    x_cr, x_pt, y_pt, oh_pt = cr.tensor(x), torch.from_numpy(x), torch.from_numpy(y), \
        torch.from_numpy(onehot)

    def step_cr(x, target):
        loss = (_natural_loss_cr(ps, x, target) if natural
                else mlp.loss_chainrule(ps, x, target, None))
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    def step_pt():
        loss = (_natural_loss_pt(pt, x_pt, oh_pt) if natural else mlp.loss_torch(pt, x_pt, y_pt))
        loss.backward()
        opt_pt.step()
        opt_pt.zero_grad(set_to_none=True)
        return loss

    target = onehot if natural else y
    p_np, rows = [p.copy() for p in p0], np.arange(batch)
    return (lambda f=step_cr: f(x_cr, target)), step_cr, step_pt, \
        (lambda: jax_steps.numpy_step(p_np, x, y, rows)), (x_cr, target)


def _check_bitwise(sizes, batch, compiled_step, steps=3):
    """The compiled step and eager chainrule, from the same weights: bitwise equal."""
    eager, _, _, _, args = _steps(sizes, batch, natural=False)
    for _ in range(steps):
        a, b = eager().data, compiled_step(*args).data
        assert np.array_equal(a, b), f"cr.compile differs from eager on {sizes}: {a} vs {b}"


def _jax(budget):
    try:
        r = subprocess.run([sys.executable, str(HERE / "jax_steps.py"), "--budget", str(budget)],
                           capture_output=True, text=True, timeout=600)
        return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-300:]}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
        return {"error": str(err)}


def run(budget=None) -> list[Row]:
    budget = 1.0 if budget is None else budget
    rows = _ops(budget)
    jax = _jax(budget)
    for key, (sizes, batch) in jax_steps.SHAPES.items():
        arch = "-".join(map(str, sizes))
        nat, _, nat_pt, _, _ = _steps(sizes, batch, natural=True)
        s = compare({"cr": nat, "pt": nat_pt}, budget)
        rows.append(Row(f"as written: mlp {arch} step (x @ w.T + b, log_softmax·onehot)",
                        "µs/step", 1e6, s["cr"], s["pt"],
                        target=0.6 if key == "small" else 1.05))
        _, step_cr, step_pt, step_np, args = _steps(sizes, batch, natural=False)
        compiled = cr.compile(step_cr)
        _check_bitwise(sizes, batch, cr.compile(_steps(sizes, batch, False)[1]))
        s = compare({"cr": lambda c=compiled, a=args: c(*a), "pt": step_pt, "np": step_np},
                    budget)
        note = ""
        if "steps" in jax:
            j = jax["steps"][key]
            t_jax = j["jax"] / j["numpy"] * s["np"].median  # chained through NumPy
            note = (f"jax.jit ≈ {t_jax * 1e6:.3g} µs ({t_jax / s['pt'].median:.2f}× PyTorch; "
                    f"cr.compile/jax.jit = {s['cr'].median / t_jax:.2f}×; jit "
                    f"{j['compile_s'] * 1e3:.0f} ms)")
            rows.append(Row(f"jax.jit: mlp {arch} step (own process, via NumPy)", "µs/step",
                            1e6, Stats(t_jax, t_jax, t_jax, 1), s["pt"], s["np"],
                            note="chained: (jax/NumPy there)·(NumPy/PyTorch here)"))
        elif "error" in jax:
            note = f"jax.jit not run: {jax['error'].strip().splitlines()[-1][:80]}"
        rows.append(Row(f"cr.compile: mlp {arch} step (F.linear, cross_entropy)", "µs/step",
                        1e6, s["cr"], s["pt"], s["np"],
                        target=0.2 if key == "small" else 0.95))
        if note:
            rows.append(Row("  └ cr.compile vs jax.jit", "µs/step", 1e6, s["cr"], None, None,
                            note=note))
    x, y = lenet.batch()
    m_cr, m_pt = _nn_step.pair(lenet.build_chainrule, lenet.build_torch)
    opt_cr = cr.optim.SGD(m_cr.parameters(), lr=LR)
    opt_pt = torch.optim.SGD(m_pt.parameters(), lr=LR)
    x_cr, x_pt, y_pt = cr.tensor(x), torch.from_numpy(x), torch.from_numpy(y)
    compiled = cr.compile(lambda a, b: _nn_step.step_chainrule(m_cr, opt_cr, a, b))
    s = compare({"cr": lambda: compiled(x_cr, y),
                 "pt": lambda: _nn_step.step_torch(m_pt, opt_pt, x_pt, y_pt)}, budget)
    rows.append(Row(f"cr.compile: lenet step (batch {lenet.BATCH})", "ms/step", 1e3,
                    s["cr"], s["pt"], target=1.3))
    _ = F  # (torch.nn.functional is what mlp.loss_torch runs)
    return rows
