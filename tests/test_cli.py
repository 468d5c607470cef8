"""The ``chainrule`` command end to end: train, resume, demo, and bad arguments."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.mnist import write_idx

ROOT = Path(__file__).resolve().parents[1]


def chainrule(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_train_two_epochs_writes_checkpoint_metrics_and_plot(tmp_path):
    out = tmp_path / "run"
    r = chainrule("train", "--dataset", "digits", "--model", "mlp", "--epochs", "2",
                  "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 2 and all("test_acc=0." in ln for ln in lines)
    assert (out / "checkpoint.safetensors").exists()
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,train_loss") and len(rows) == 3
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = cr.load(out / "checkpoint.safetensors")
    assert state["epoch"] == 2 and "0.weight" in state["model"]


def test_resume_ends_with_exactly_the_uninterrupted_parameters(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["train", "--dataset", "digits", "--model", "cnn", "--batch-size", "64"]
    assert chainrule(*common, "--epochs", "3", "--out", str(straight)).returncode == 0
    assert chainrule(*common, "--epochs", "1", "--out", str(split)).returncode == 0
    r = chainrule(*common, "--epochs", "3", "--out", str(split), "--resume")
    assert r.returncode == 0 and "resuming" in r.stdout
    a = cr.load(straight / "checkpoint.safetensors")
    b = cr.load(split / "checkpoint.safetensors")
    for k, v in a["model"].items():
        np.testing.assert_array_equal(v.data, b["model"][k].data, err_msg=k)
    arr = lambda v: np.asarray(getattr(v, "data", v))  # noqa: E731
    for i, st in a["optimizer"]["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(arr(v), arr(b["optimizer"]["state"][i][name]))
    assert len((split / "metrics.csv").read_text().splitlines()) == 4


@pytest.mark.parametrize("args,message", [
    (["--dataset", "cifar"], "invalid choice"),
    (["--lr", "-0.1"], "--lr must be positive"),
    (["--epochs", "0"], "at least 1"),
    (["--resume", "--out", "/nonexistent/run"], "no checkpoint"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, message):
    r = chainrule("train", *args)
    assert r.returncode == 2 and message in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("chainrule")


def test_corrupted_checkpoint_is_a_clean_error(tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"not a checkpoint at all")
    r = chainrule("train", "--out", str(tmp_path), "--resume")
    assert r.returncode == 2
    assert r.stderr.startswith("chainrule: error:") and len(r.stderr.splitlines()) == 1


def test_demo_reaches_97_percent_and_runs_the_examples(tmp_path):
    r = chainrule("demo", "--out", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("final test accuracy: ")[1].split()[0])
    assert acc >= 0.97
    assert "d/dx sin(x²) at x=3" in r.stdout and "Rosenbrock" in r.stdout
    assert (tmp_path / "demo" / "curves.png").exists()


def test_mnist1d_cnn_and_mnist_lenet_smoke(tmp_path):
    r = chainrule("train", "--dataset", "mnist1d", "--model", "cnn", "--epochs", "1",
                  "--out", str(tmp_path / "m1d"), env={"CHAINRULE_CACHE": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    root = tmp_path / "mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 16)):
        write_idx(root / f"{split}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(root / f"{split}-labels-idx1-ubyte",
                  rng.integers(0, 10, n, dtype=np.uint8))
    r = chainrule("train", "--dataset", "mnist", "--model", "cnn", "--epochs", "1",
                  "--mnist-root", str(root), "--out", str(tmp_path / "lenet"))
    assert r.returncode == 0, r.stderr
    assert "test_acc=" in r.stdout


def test_explain_expression_and_neuron_write_trace_and_picture(tmp_path):
    r = chainrule("explain", "--expr", "exp(sin(x**2))", "--at", "x=0.7", "--out",
                  str(tmp_path))
    assert r.returncode == 0, r.stderr
    x = 0.7
    want = np.exp(np.sin(x * x)) * np.cos(x * x) * 2 * x
    assert "x̄ = " in r.stdout and f"{want:.4g}" in r.stdout
    assert (tmp_path / "explain-expr.svg").read_text().count("<svg") == 1
    r = chainrule("explain", "neuron", "--out", str(tmp_path))
    assert r.returncode == 0 and "w̄ = " in r.stdout
    assert (tmp_path / "explain-neuron.txt").exists()
    assert "<script" in (tmp_path / "explain-neuron.html").read_text()


@pytest.mark.parametrize("args,message", [
    (["--expr", "__import__('os').system('true')", "--at", "x=1"], "is not allowed"),
    (["--expr", "x*2", "--at", "x"], "expected NAME=NUMBER"),
    (["neuron", "--expr", "x"], "not both"),
])
def test_explain_refuses_bad_input(args, message):
    r = chainrule("explain", *args)
    assert r.returncode == 2 and message in r.stderr
