"""Run as the ``chainrule`` command (the script, or ``python -m chainrule``), a Ctrl-C while
the package is still importing says one line and exits 130, as one later does (``cli.main``
then installs its own handler). Imported as a library, this changes nothing."""
from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    os.write(2, b"chainrule: interrupted while starting; nothing was written\n")
    os._exit(130)


def _is_the_command() -> bool:
    argv = getattr(sys, "orig_argv", sys.argv)
    return os.path.basename(sys.argv[0] if sys.argv else "") == "chainrule" or any(
        a == "-m" and b == "chainrule" for a, b in zip(argv, argv[1:]))


if _is_the_command():
    signal.signal(signal.SIGINT, _interrupted_while_starting)
