"""The ``chainrule`` command end to end: train, resume, demo, explain, and bad arguments."""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
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


# -- checks before the run starts -------------------------------------------------------------

def exits(args, capsys) -> tuple[int, str, str]:
    """Run the command in this process; (exit status, stdout, stderr)."""
    try:
        status = cli.main(args)
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("module,args,extra", [
    ("safetensors", ["train"], "safetensors"),
    ("matplotlib", ["train"], "plot"),
    ("tqdm", ["train"], "progress"),
    ("sklearn", ["train", "--dataset", "digits"], "datasets"),
    ("mpi4py", ["train", "--distributed"], "mpi"),
    ("sympy", ["demo"], "sympy"),
    ("safetensors", ["train", "--resume"], "safetensors"),
])
def test_a_missing_package_is_one_line_before_anything_runs(module, args, extra, tmp_path,
                                                            monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    out = tmp_path / "run"
    status, stdout, stderr = exits([*args, "--out", str(out)], capsys)
    assert status == 2 and len(stderr.splitlines()) == 1, stderr
    assert f"pip install 'chainrule[{extra}]'" in stderr  # quoted: zsh globs brackets
    assert f"pip install -e '.[{extra}]'" in stderr  # and the command for a clone
    assert "epoch" not in stdout and not out.exists()  # found before any work


def test_mnist1d_needs_its_generator_only_until_it_is_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    cfg = train.Config(dataset="mnist1d")
    assert train.required_modules(cfg)["mnist1d"] == "datasets"
    os.makedirs(tmp_path / "cache")
    (tmp_path / "cache" / os.path.basename(cr.data.mnist1d_cache_path())).write_bytes(b"")
    assert "mnist1d" not in train.required_modules(cfg)


def test_an_existing_run_is_kept_unless_resume_or_overwrite(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert exits(["train", "--epochs", "1", "--out", out], capsys)[0] == 0
    checkpoint = (tmp_path / "run" / train.CHECKPOINT).read_bytes()
    status, _, stderr = exits(["train", "--epochs", "1", "--seed", "5", "--out", out], capsys)
    assert status == 2 and "already holds a run (checkpoint.safetensors, metrics.csv, " \
        "curves.png): continue it with --resume, or replace it with --overwrite" in stderr
    assert (tmp_path / "run" / train.CHECKPOINT).read_bytes() == checkpoint
    status, _, stderr = exits(["train", "--out", out, "--resume", "--overwrite"], capsys)
    assert status == 2 and "give one" in stderr
    # an --overwrite whose data fails to load leaves the old run as it was
    status, _, stderr = exits(["train", "--dataset", "mnist", "--mnist-root",
                               str(tmp_path / "none"), "--out", out, "--overwrite"], capsys)
    assert status == 2 and (tmp_path / "run" / train.CHECKPOINT).read_bytes() == checkpoint
    assert exits(["train", "--epochs", "2", "--seed", "5", "--out", out, "--overwrite"],
                 capsys)[0] == 0
    state = cr.load(tmp_path / "run" / train.CHECKPOINT)
    assert state["epoch"] == 2 and state["config"]["seed"] == 5
    assert len((tmp_path / "run" / train.METRICS).read_text().splitlines()) == 3


def write_header(path, header: bytes, data: bytes = b"") -> None:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)


def test_hostile_checkpoints_are_one_line_errors_on_resume(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    path = run / train.CHECKPOINT
    deep = b'{"__metadata__":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    dims = json.dumps({"x": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}})
    huge = json.dumps({"x": {"dtype": "F32", "shape": [0, 2**62], "data_offsets": [0, 0]}})
    for header, data, message in ((deep, b"", "nested too deeply"),
                                  (dims.encode(), bytes(4), "65 dimensions"),
                                  (huge.encode(), b"", "larger than any array can be")):
        write_header(path, header, data)
        status, _, stderr = exits(["train", "--out", str(run), "--resume"], capsys)
        assert status == 2 and len(stderr.splitlines()) == 1, stderr
        assert str(path) in stderr and message in stderr


def test_resume_removes_leftovers_of_killed_saves_and_nothing_else(tmp_path, capsys):
    from chainrule import io as cio
    out = tmp_path / "run"
    assert exits(["train", "--epochs", "1", "--out", str(out)], capsys)[0] == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stem = f".{train.CHECKPOINT}.{cio._host()}"
    leftover = out / f"{stem}.{dead}.0123456789ab.chainrule-tmp"
    live = out / f"{stem}.{os.getpid()}.0123456789ab.chainrule-tmp"  # a save in progress
    other_host = out / f".{train.CHECKPOINT}.elsewhere.{dead}.0123456789ab.chainrule-tmp"
    unrelated = out / f".{train.CHECKPOINT}.backup"
    for p in (leftover, live, other_host, unrelated):
        p.write_bytes(b"x" * 100)
    assert exits(["train", "--epochs", "1", "--out", str(out), "--resume"], capsys)[0] == 0
    assert not leftover.exists()
    assert live.exists() and other_host.exists() and unrelated.exists()


# -- Ctrl-C ------------------------------------------------------------------------------------

def ctrl_c() -> None:
    """Send this process what Ctrl-C sends, and give it a moment to arrive."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)  # the handler interrupts this sleep


def interrupted_line(stderr: str, status: int) -> str:
    assert status == 130 and len(stderr.splitlines()) == 1, (status, stderr)
    assert stderr.startswith("chainrule: interrupted ")
    return stderr.strip()


def test_ctrl_c_while_the_data_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_dataset", lambda cfg: ctrl_c())
    status, _, stderr = exits(["train", "--out", str(tmp_path / "run")], capsys)
    assert interrupted_line(stderr, status) == ("chainrule: interrupted before training "
                                                "started; nothing was written")
    assert not (tmp_path / "run").exists()


def test_ctrl_c_that_a_library_turned_into_another_error_is_still_an_interrupt(
        tmp_path, monkeypatch, capsys):
    def load(cfg):
        try:
            ctrl_c()
        except KeyboardInterrupt:  # as a C extension's import once did: a wrong error
            raise ImportError("load_digits needs scikit-learn") from None
    monkeypatch.setattr(train, "load_dataset", load)
    status, _, stderr = exits(["train", "--out", str(tmp_path / "run")], capsys)
    assert "nothing was written" in interrupted_line(stderr, status)


def stop_after_first(batches):
    yield next(batches)
    ctrl_c()
    yield from batches


def interrupt_epoch(monkeypatch, k: int) -> None:
    """Ctrl-C in the middle of epoch k (after its first batch)."""
    calls, original = [], train._train_batches

    def batches(job, bar):
        calls.append(1)
        if len(calls) == k:
            bar = stop_after_first(iter(bar))
        return original(job, bar)
    monkeypatch.setattr(train, "_train_batches", batches)


@pytest.mark.parametrize("k", [1, 3])
def test_ctrl_c_in_an_epoch_says_what_the_checkpoint_holds_and_resume_is_exact(
        k, tmp_path, monkeypatch, capsys):
    common = ["train", "--epochs", "4", "--dropout", "0.2", "--schedule", "cosine"]
    assert exits([*common, "--out", str(tmp_path / "straight")], capsys)[0] == 0
    out = tmp_path / "split"
    interrupt_epoch(monkeypatch, k)
    status, _, stderr = exits([*common, "--out", str(out)], capsys)
    line = interrupted_line(stderr, status)
    monkeypatch.undo()
    if k == 1:
        assert line == "chainrule: interrupted in epoch 1 of 4; no checkpoint was written yet"
        assert not (out / train.CHECKPOINT).exists()
        return
    assert line == (f"chainrule: interrupted in epoch 3 of 4; {out / train.CHECKPOINT} holds "
                    "epoch 2: continue with --resume")
    assert cr.load(out / train.CHECKPOINT)["epoch"] == 2
    assert exits(["train", "--out", str(out), "--resume"], capsys)[0] == 0
    assert_same_state(cr.load(tmp_path / "straight" / train.CHECKPOINT),
                      cr.load(out / train.CHECKPOINT))


def test_ctrl_c_while_the_epoch_is_written_waits_for_the_checkpoint(tmp_path, monkeypatch,
                                                                    capsys):
    """The window that named the wrong epoch: after the metrics, before the checkpoint."""
    calls, original = [], train.write_metrics

    def write_metrics(rows, path):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # held until the checkpoint is written
        original(rows, path)
    monkeypatch.setattr(train, "write_metrics", write_metrics)
    out = tmp_path / "run"
    status, _, stderr = exits(["train", "--epochs", "4", "--out", str(out)], capsys)
    assert interrupted_line(stderr, status).endswith(f"{out / train.CHECKPOINT} holds epoch 2: "
                                                     "continue with --resume")
    assert cr.load(out / train.CHECKPOINT)["epoch"] == 2
    assert len(train.read_metrics(str(out / train.METRICS))) == 2


def test_ctrl_c_after_the_last_epoch(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "plot_curves", lambda rows, path: ctrl_c())
    out = tmp_path / "run"
    status, _, stderr = exits(["train", "--epochs", "2", "--out", str(out)], capsys)
    assert interrupted_line(stderr, status) == (f"chainrule: interrupted after the last epoch; "
                                                f"{out / train.CHECKPOINT} holds epoch 2 "
                                                "(complete)")


def test_ctrl_c_while_the_command_starts(tmp_path):
    """SIGINT to real `chainrule` processes while Python is still importing the package (before
    cli.main runs): one line and status 130 every time, never a traceback. The child says
    when Python itself is up (its own startup is not chainrule's), then runs the command."""
    for delay in (0.03, 0.08, 0.15, 0.25):  # after the import has begun (runpy takes ~1 ms)
        out = tmp_path / f"run{delay}"
        code = ("import runpy, sys; sys.argv = ['chainrule', 'train', '--epochs', '1', "
                f"'--out', {str(out)!r}]; print('up', flush=True); "
                "runpy.run_module('chainrule', run_name='__main__')")
        p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "up\n"
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, stderr = p.communicate(timeout=120)
        if p.returncode == 0:
            continue  # a fast machine finished first: nothing to say
        assert "nothing was written" in interrupted_line(stderr, p.returncode)
        assert not out.exists()


def test_importing_chainrule_leaves_sigint_alone():
    code = ("import signal; before = signal.getsignal(signal.SIGINT); import chainrule; "
            "print(signal.getsignal(signal.SIGINT) is before)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "True", r.stderr


def test_ctrl_c_at_random_moments_of_real_runs(tmp_path):
    """SIGINT to `chainrule train` processes at random moments after their first epoch (the
    startup before chainrule's code runs is Python's own); each says one true line and exits
    130; the last one resumes to the uninterrupted run's exact parameters."""
    rng = np.random.default_rng(0)
    args = ["train", "--epochs", "10", "--dropout", "0.2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    assert chainrule(*args, "--out", str(tmp_path / "straight")).returncode == 0
    for trial in range(3):
        out = tmp_path / f"run{trial}"
        p = subprocess.Popen([sys.executable, "-m", "chainrule", *args, "--out", str(out)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
        wait_for = int(rng.integers(1, 4))
        for line in p.stdout:
            if line.startswith(f"epoch {wait_for}/"):
                break
        time.sleep(float(rng.uniform(0, 0.05)))
        p.send_signal(signal.SIGINT)
        _, stderr = p.communicate(timeout=120)
        if p.returncode == 0:
            continue  # finished first: nothing to say
        line = interrupted_line(stderr, p.returncode)
        saved = cr.load(out / train.CHECKPOINT)["epoch"]
        assert f"holds epoch {saved}:" in line or f"holds epoch {saved} (complete)" in line
    r = chainrule("train", "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr
    assert_same_state(cr.load(tmp_path / "straight" / train.CHECKPOINT),
                      cr.load(out / train.CHECKPOINT))


def test_a_checkpoint_with_unusable_settings_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert exits(["train", "--epochs", "1", "--out", str(out)], capsys)[0] == 0
    state = cr.load(out / train.CHECKPOINT)
    state["config"]["epochs"] = "many"  # valid file, digests and all: written by someone else
    cr.save(state, out / train.CHECKPOINT)
    status, _, stderr = exits(["train", "--out", str(out), "--resume"], capsys)
    assert status == 2 and len(stderr.splitlines()) == 1
    assert "the checkpoint's settings are unusable" in stderr
