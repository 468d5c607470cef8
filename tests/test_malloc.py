"""The malloc thresholds chainrule sets at import: applied on glibc, off by request."""
import os
import platform
import subprocess
import sys

import pytest

from chainrule import _malloc


def test_off_when_asked(monkeypatch):
    monkeypatch.setenv("CHAINRULE_MALLOC_TUNING", "0")
    assert _malloc.tune() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_on_glibc_a_step_stops_page_faulting_its_temporaries_back_in():
    assert _malloc.tune() is True
    # A "step": 24 MiB of 4 MiB temporaries alive at once, then freed. Untuned, glibc hands
    # the freed heap top back to the OS and every round faults its pages in again (~3,000 of
    # 4 KiB each per round, measured); tuned, the pages stay mapped and are reused.
    code = """
import resource, numpy as np, chainrule
def step():
    temporaries = [np.ones(1 << 20, np.float32) for _ in range(6)]
for _ in range(3): step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20): step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

    def faults(setting):
        env = {**os.environ, "CHAINRULE_MALLOC_TUNING": setting}
        return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env=env).stdout)
    tuned, untuned = faults("1"), faults("0")
    # (here: ~60,000 untuned, 0 tuned; where glibc keeps the pages anyway, both are small)
    assert tuned < max(untuned / 20, 100), (tuned, untuned)
