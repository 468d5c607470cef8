"""The ``chainrule`` command end to end: train, resume, demo, explain, and bad arguments."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli, train
from chainrule.cli import DEMO
from chainrule.data.mnist import write_idx

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chainrule(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def summary_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith("epoch ")]


def assert_one_line_error(r, message: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("chainrule: error: ") and message in r.stderr, r.stderr


def assert_same_state(a: dict, b: dict) -> None:
    """Model parameters and optimizer state bitwise equal, same step and generators."""
    assert a["model"].keys() == b["model"].keys()
    for k, v in a["model"].items():
        assert v.dtype == b["model"][k].dtype
        np.testing.assert_array_equal(v.data, b["model"][k].data, err_msg=k, strict=True)
    arr = lambda v: np.asarray(getattr(v, "data", v))  # noqa: E731
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for i, st in a["optimizer"]["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(arr(v), arr(b["optimizer"]["state"][i][name]),
                                          err_msg=f"{i}.{name}", strict=True)
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert (a["epoch"], a["step"], a["rng"]) == (b["epoch"], b["step"], b["rng"])


def test_train_two_epochs_writes_checkpoint_metrics_and_plot(tmp_path):
    out = tmp_path / "run"
    r = chainrule("train", "--dataset", "digits", "--model", "mlp", "--epochs", "2",
                  "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = summary_lines(r.stdout)
    assert [ln.split()[1] for ln in lines] == ["1/2", "2/2"]
    for ln in lines:
        acc = float(ln.split("test_acc=")[1].split()[0])
        assert 0.5 < acc <= 1 and "train_loss=" in ln and ln.endswith("s")
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0] == ",".join(train.FIELDS) and [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    png = (out / "curves.png").read_bytes()
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100
    state = cr.load(out / "checkpoint.safetensors")
    assert state["epoch"] == 2 and state["step"] == 2 * 45  # 1,438 samples in batches of 32
    assert state["config"]["dataset"] == "digits" and state["config"]["epochs"] == 2
    assert set(state["rng"]) == {"init", "shuffle", "dropout", "default"}
    assert json.loads(json.dumps(state["rng"])) == state["rng"]  # plain JSON data
    assert state["model"]["0.weight"].shape == (128, 64)


@pytest.mark.parametrize("settings", [
    ["--model", "cnn", "--batch-size", "64"],
    ["--model", "mlp", "--optimizer", "sgd", "--momentum", "0.8", "--dropout", "0.3"],
], ids=["cnn-adam", "mlp-sgd-dropout"])
def test_resume_ends_with_exactly_the_uninterrupted_parameters(tmp_path, settings):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["train", "--dataset", "digits", *settings]
    r = chainrule(*common, "--epochs", "3", "--out", str(straight))
    assert r.returncode == 0, r.stderr
    assert chainrule(*common, "--epochs", "1", "--out", str(split)).returncode == 0
    r = chainrule("train", "--epochs", "3", "--out", str(split), "--resume")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and len(summary_lines(r.stdout)) == 2
    assert_same_state(cr.load(straight / "checkpoint.safetensors"),
                      cr.load(split / "checkpoint.safetensors"))
    cut = lambda p: [ln.rsplit(",", 1)[0] for ln in (p / "metrics.csv").read_text().split()]  # noqa: E731
    assert cut(split) == cut(straight) and len(cut(split)) == 4  # all but the timings


def test_resume_under_a_cosine_schedule_in_process(tmp_path):
    cfg = dict(dataset="digits", model="mlp", epochs=3, schedule="cosine", dropout=0.2)
    straight = train.Config(**cfg, out=str(tmp_path / "a"))
    split = train.Config(**cfg, out=str(tmp_path / "b"))
    quiet = lambda line: None  # noqa: E731
    train.fit(train.prepare(straight), quiet)
    train.fit(train.prepare(split), quiet, stop_after=1)  # as if interrupted after epoch 1
    checkpoint = train.load_checkpoint(str(tmp_path / "b" / train.CHECKPOINT))
    assert checkpoint["epoch"] == 1
    train.fit(train.prepare(split, checkpoint), quiet)
    assert_same_state(cr.load(tmp_path / "a" / train.CHECKPOINT),
                      cr.load(tmp_path / "b" / train.CHECKPOINT))
    with pytest.raises(train.TrainError, match="cosine schedule"):
        train.saved_config(checkpoint, epochs=5)


@pytest.mark.parametrize("args,message", [
    (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["--lr", "-0.1"], "--lr must be positive, got -0.1"),
    (["--lr", "nan"], "--lr must be positive"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "-3"], "--batch-size must be at least 1"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--epochs", "three"], "invalid int value"),
    (["--resume", "--out", "/nonexistent/run"], "no checkpoint at /nonexistent/run"),
    (["--dataset", "mnist", "--mnist-root", "/nonexistent/mnist"], "not found"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, message, tmp_path):
    # in an empty folder, with the default --out: a run that fails leaves nothing behind
    assert_one_line_error(chainrule("train", *args, cwd=tmp_path), message)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_checkpoints_are_one_line_errors(tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"not a checkpoint at all")
    assert_one_line_error(chainrule("train", "--out", str(tmp_path), "--resume"),
                          "checkpoint.safetensors")
    cr.save({"weights": np.zeros(3)}, tmp_path / "checkpoint.safetensors")
    assert_one_line_error(chainrule("train", "--out", str(tmp_path), "--resume"),
                          "not a checkpoint written by chainrule train")


def test_resume_refuses_settings_that_would_change_the_run(tmp_path):
    assert chainrule("train", "--epochs", "1", "--out", str(tmp_path)).returncode == 0
    r = chainrule("train", "--epochs", "2", "--out", str(tmp_path), "--resume", "--lr", "0.5")
    assert_one_line_error(r, "the checkpoint's run has --lr 0.01, not 0.5")
    r = chainrule("train", "--epochs", "1", "--out", str(tmp_path), "--resume")
    assert r.returncode == 0 and "nothing to do" in r.stdout


def test_monitor_grads_records_every_step_and_plots_them(tmp_path, capsys):
    assert cli.main(["train", "--epochs", "1", "--out", str(tmp_path), "--monitor-grads"]) == 0
    png = (tmp_path / train.GRADIENTS).read_bytes()
    assert png[:8] == PNG_SIGNATURE and struct.unpack(">II", png[16:24])[0] > 100
    # a diagnostic, not part of the run: it may be switched off (or on) when resuming
    assert cli.main(["train", "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 0
    assert "resuming" in capsys.readouterr().out
    job = train.prepare(train.Config(epochs=1, out=str(tmp_path / "again"), monitor_grads=True))
    train.fit(job, log=lambda line: None)
    steps = 45  # 1,438 digits in batches of 32
    assert {n: len(v) for n, v in job.monitor.grad_norms.items()} == {"0.weight": steps,
                                                                      "2.weight": steps}
    ratios = np.concatenate(list(job.monitor.update_ratios.values()))
    assert ratios.size == 2 * steps and np.all((ratios > 0) & (ratios < 1))
    assert all(g > 0 for v in job.monitor.grad_norms.values() for g in v)


def test_help_on_each_command():
    for args in ([], ["train"], ["explain"], ["demo"]):
        r = chainrule(*args, "--help")
        assert r.returncode == 0 and r.stdout.startswith("usage: chainrule")
    assert "--mnist-root" in chainrule("train", "--help").stdout


def test_demo_reaches_97_percent_and_runs_the_examples(tmp_path):
    r = chainrule("demo", "--out", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("final test accuracy: ")[1].split()[0])
    assert acc >= 0.97
    assert len(summary_lines(r.stdout)) == DEMO["epochs"]
    assert "d/dx sin(x²)" in r.stdout and "Rosenbrock" in r.stdout
    for name in ("checkpoint.safetensors", "metrics.csv", "curves.png", "explain-neuron.svg"):
        assert (tmp_path / "demo" / name).exists(), name


def test_mnist1d_cnn_and_mnist_lenet_smoke(tmp_path):
    r = chainrule("train", "--dataset", "mnist1d", "--model", "cnn", "--epochs", "1",
                  "--out", str(tmp_path / "m1d"), env={"CHAINRULE_CACHE": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    state = cr.load(tmp_path / "m1d" / "checkpoint.safetensors")
    assert state["model"]["1.weight"].shape == (25, 1, 5)  # the paper's first conv layer
    assert state["step"] == 40  # 4,000 samples in batches of 100
    root = tmp_path / "mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 16)):
        write_idx(root / f"{split}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(root / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    r = chainrule("train", "--dataset", "mnist", "--model", "cnn", "--epochs", "1",
                  "--mnist-root", str(root), "--out", str(tmp_path / "lenet"))
    assert r.returncode == 0, r.stderr
    assert len(summary_lines(r.stdout)) == 1 and "test_acc=" in r.stdout
    state = cr.load(tmp_path / "lenet" / "checkpoint.safetensors")
    assert state["model"]["8.weight"].shape == (10, 256)  # LeNet's linear layer


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
