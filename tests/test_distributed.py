"""``cr.distributed`` and ``chainrule train --distributed``: the sampler's shares, the lazy
mpi4py import, and, under a real ``mpirun -n 2``, equivalence with one process, training from
the command line, and a rank killed mid-run.

The multi-rank tests need Open MPI's ``mpirun`` and mpi4py; without them (or with another MPI's
``mpirun`` first on PATH) they skip loudly, and fail under CHAINRULE_REQUIRE_ALL=1 (as in CI,
whose .ci/run installs both).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli, train
from chainrule.data import DataLoader, TensorDataset
from chainrule.distributed import DistributedSampler

ROOT = Path(__file__).resolve().parents[1]
MPI_SCRIPTS = ROOT / "tests" / "mpi"
KILLED_JOB_STOPS_WITHIN_S = 30


@functools.cache
def _launcher() -> tuple[str | None, str]:
    """Open MPI's ``mpirun`` and, where the multi-rank tests cannot run, why not."""
    path = shutil.which("mpirun")
    if path is None:
        return None, ("Open MPI's mpirun is missing; apt-get install openmpi-bin && pip "
                      "install mpi4py to run them")
    if importlib.util.find_spec("mpi4py") is None:
        return None, "the mpi4py package is missing; pip install mpi4py to run them"
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        says = (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        says = f"failed: {e}"
    if "Open MPI" not in says:
        first = says.splitlines()[0] if says else "nothing"
        return None, (f"{path} is not Open MPI's mpirun ('mpirun --version': {first!r}), and "
                      "these tests pass Open MPI's flags and find ranks by its "
                      "OMPI_COMM_WORLD_RANK; put Open MPI's mpirun first on PATH to run them")
    return path, ""


def mpirun(ranks: int) -> list[str]:
    """Open MPI's command line for ``ranks`` processes on this machine; skips the test loudly
    (fails under CHAINRULE_REQUIRE_ALL=1) without Open MPI's mpirun and mpi4py."""
    path, problem = _launcher()
    if path is None:
        if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
            pytest.fail(f"the multi-rank tests are required (CHAINRULE_REQUIRE_ALL=1) but "
                        f"cannot run: {problem}")
        pytest.skip(f"LOUD SKIP: the multi-rank tests cannot run: {problem}")
    # --oversubscribe: more ranks than free cores is fine for tests; root needs its own flag.
    command = [path, "-n", str(ranks), "--oversubscribe"]
    return command + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def chainrule_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "chainrule", *args]


def run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


# -- without MPI --------------------------------------------------------------------------------

@pytest.mark.parametrize("n,world,batch", [(51, 2, 10), (40, 2, 8), (23, 3, 6), (7, 4, 4)])
def test_rank_shares_are_disjoint_and_make_up_the_single_process_batches(n, world, batch):
    x, y = np.arange(n, dtype=np.float64)[:, None], np.arange(n)
    ds = TensorDataset(x, y)
    for epoch in range(2):
        samplers = [DistributedSampler(n, seed=5, rank=r, world_size=world)
                    for r in range(world)]
        for s in samplers:
            s.set_epoch(epoch)
        order = samplers[0].order()
        shares = [list(s) for s in samplers]
        assert sorted(sum(shares, [])) == list(range(n))  # disjoint, and every sample once
        per_rank = [[b[1].tolist() for b in DataLoader(ds, batch // world, sampler=s)]
                    for s in samplers]
        for step, start in enumerate(range(0, n, batch)):
            union = sum((batches[step] for batches in per_rank if step < len(batches)), [])
            assert sorted(union) == sorted(order[start:start + batch].tolist())
    first = DistributedSampler(n, seed=5, rank=0, world_size=world)
    again = DistributedSampler(n, seed=5, rank=0, world_size=world)
    again.set_epoch(1)
    assert list(first) != list(again)  # reshuffled per epoch


def test_a_shared_generator_gives_the_plain_loaders_order():
    plain = DataLoader(TensorDataset(np.arange(9)), 9, shuffle=True,
                       rng=np.random.default_rng(4))
    sampler = DistributedSampler(9, rng=np.random.default_rng(4), rank=0, world_size=1)
    for _ in range(3):  # each epoch draws the next permutation from the generator
        assert next(iter(plain))[0].tolist() == list(sampler)


def test_sampler_rejects_a_rank_outside_the_world():
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\), got 2"):
        DistributedSampler(4, rank=2, world_size=2)


def test_import_chainrule_does_not_import_mpi4py():
    r = run([sys.executable, "-c", "import sys, chainrule; chainrule.distributed.init; "
             "print('mpi4py' in sys.modules)"])
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_distributed_without_mpi4py_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--distributed", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("chainrule: error: --distributed: ") and "mpi4py" in err, err
    assert "pip install 'chainrule[mpi]'" in err


# -- under mpirun -----------------------------------------------------------------------------

def test_two_ranks_equal_one_process_with_twice_the_batch():
    r = run(mpirun(2) + [sys.executable, str(MPI_SCRIPTS / "equivalence.py")])
    assert r.returncode == 0, r.stdout + r.stderr
    assert [ln.split(":")[0] for ln in r.stdout.splitlines()] == ["OK sgd-momentum", "OK adam"]


def test_cli_on_two_ranks_then_resumed_on_one_matches_a_single_process_run(tmp_path):
    common = ["train", "--dataset", "digits", "--optimizer", "sgd", "--batch-size", "16"]
    single, split = tmp_path / "single", tmp_path / "split"
    r = run(chainrule_cmd(*common, "--epochs", "2", "--out", str(single)))
    assert r.returncode == 0, r.stderr
    r = run(mpirun(2) + chainrule_cmd(*common, "--epochs", "1", "--out", str(split),
                                      "--distributed", "--monitor-grads"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.startswith("epoch ")]) == 1  # rank 0
    assert (split / "gradients.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(split.glob(".*.tmp"))  # rank 0 alone wrote, atomically
    r = run(chainrule_cmd("train", "--epochs", "2", "--out", str(split), "--resume"))
    assert r.returncode == 0 and "resuming" in r.stdout, r.stderr
    a, b = cr.load(single / train.CHECKPOINT), cr.load(split / train.CHECKPOINT)
    assert (a["epoch"], a["step"], a["rng"]) == (b["epoch"], b["step"], b["rng"])
    for k, v in a["model"].items():  # float32: only the summation order differs
        np.testing.assert_allclose(b["model"][k].data, v.data, rtol=1e-4, atol=1e-5, err_msg=k)
    metrics = [ln.split(",")[:6] for ln in (single / "metrics.csv").read_text().split()[1:]]
    again = [ln.split(",")[:6] for ln in (split / "metrics.csv").read_text().split()[1:]]
    for row, other in zip(metrics, again, strict=True):  # loss and accuracy over all ranks
        np.testing.assert_allclose(np.float64(other), np.float64(row), rtol=1e-3)


def _rank_pid(launcher_pid: int, rank: int) -> int | None:
    """The pid of the launcher's descendant that runs MPI rank ``rank`` (from its
    environment, where Open MPI puts OMPI_COMM_WORLD_RANK)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    wanted = f"OMPI_COMM_WORLD_RANK={rank}".encode()
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, launcher_pid):
            ancestor = parents.get(ancestor)
        if ancestor != launcher_pid:
            continue
        try:
            if wanted in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0"):
                return pid
        except OSError:
            continue
    return None


def _session_pids(sid: int) -> list[int]:
    """The live processes in session ``sid`` (from /proc; zombies left out)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, _, session = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            if int(session) == sid and state != "Z":
                pids.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _start_job(command: list[str]) -> subprocess.Popen:
    """``command`` (an mpirun line) in a session of its own, for :func:`_end_job`."""
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _end_job(job: subprocess.Popen) -> None:
    """Stop ``job`` and every rank it started, even if the test failed half-way: SIGTERM to
    mpirun's process group (it passes it on to the ranks), then after a short wait SIGKILL to
    whatever is left in its session (Open MPI puts each rank in a process group of its own, so
    killing mpirun's group alone could orphan them)."""
    if job.poll() is None:
        try:
            os.killpg(job.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            job.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for pid in _session_pids(job.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if job.poll() is None:
        job.communicate()


def test_ending_a_job_leaves_no_rank_behind():
    job = _start_job(mpirun(2) + ["sleep", "600"])
    try:
        deadline = time.monotonic() + 30
        while len(_session_pids(job.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_session_pids(job.pid)) >= 3, "mpirun and its 2 ranks did not start"
    finally:
        _end_job(job)
    deadline = time.monotonic() + 5
    while _session_pids(job.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_pids(job.pid) == []


def test_a_killed_rank_stops_the_job_and_the_checkpoint_resumes_on_one_rank(tmp_path):
    out = tmp_path / "run"
    checkpoint = out / train.CHECKPOINT
    job = _start_job(
        mpirun(2) + chainrule_cmd("train", "--dataset", "digits", "--epochs", "500",
                                  "--batch-size", "8", "--out", str(out), "--distributed"))
    try:
        deadline = time.monotonic() + 60
        while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpoint.exists(), "no checkpoint after 60 s"
        victim = _rank_pid(job.pid, rank=1)
        assert victim is not None, "rank 1's process not found"
        os.kill(victim, signal.SIGKILL)  # mid-epoch: an epoch is ~200 steps
        killed = time.monotonic()
        stdout, stderr = job.communicate(timeout=KILLED_JOB_STOPS_WITHIN_S)
    finally:
        _end_job(job)
    assert time.monotonic() - killed < KILLED_JOB_STOPS_WITHIN_S
    assert job.returncode != 0
    assert "rank 1" in stderr and "signal 9" in stderr, stderr  # the launcher says who died
    state = train.load_checkpoint(str(checkpoint))  # intact: the writes are atomic
    epoch = state["epoch"]
    assert 1 <= epoch < 500 and state["step"] == epoch * 180  # 1,438 samples, batches of 8
    r = run(chainrule_cmd("train", "--out", str(out), "--resume", "--epochs", str(epoch + 1)))
    assert r.returncode == 0, r.stderr
    assert f"after epoch {epoch}" in r.stdout
    assert train.load_checkpoint(str(checkpoint))["epoch"] == epoch + 1
