"""Shared pytest hooks for the suite (tests/ and the doctests in chainrule/).

The examples in ``cr.distributed``'s docstrings start a one-rank MPI job, which needs mpi4py
and an MPI library. Where those are missing they skip loudly, and under
CHAINRULE_REQUIRE_ALL=1 (as in CI, whose .ci/run installs Open MPI) they fail instead.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

MPI_DOCTEST_FILES = ("comm.py", "ddp.py")


@functools.cache
def _mpi_problem() -> str:
    """Why ``from mpi4py import MPI`` fails here, or "" when it works; probed in a child
    process, so that this process starts MPI only if a doctest really runs."""
    try:
        r = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"probing mpi4py failed: {e}"
    if r.returncode == 0:
        return ""
    lines = (r.stderr or r.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {r.returncode}"


def pytest_runtest_setup(item):
    path = getattr(item, "path", None)
    if (type(item).__name__ != "DoctestItem" or path is None
            or path.parent.name != "distributed" or path.name not in MPI_DOCTEST_FILES):
        return
    problem = _mpi_problem()
    if not problem:
        return
    why = (f"cr.distributed's examples need mpi4py with an MPI library (pip install "
           f"'chainrule[mpi]'; apt-get install openmpi-bin): {problem}")
    if os.environ.get("CHAINRULE_REQUIRE_ALL") == "1":
        pytest.fail(f"required (CHAINRULE_REQUIRE_ALL=1) but cannot run: {why}")
    pytest.skip(f"LOUD SKIP: {why}")
