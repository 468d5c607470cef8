"""Optional extras: which are installed, and the exact command that installs the missing ones.

Every message that asks for an optional package goes through :func:`install_hint`, so that each
gives both commands a user may need (an installed package, or a clone of the repository) with
the brackets quoted (an unquoted ``chainrule[plot]`` is a glob pattern in zsh).

>>> install_hint("plot")
"pip install 'chainrule[plot]' (in a clone of the repository: pip install -e '.[plot]')"
>>> missing({"numpy": "core", "no_such_module_xyz": "plot"})
{'no_such_module_xyz': 'plot'}
"""
from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "install_hint", "missing", "requirement"]

# module imported -> (extra that installs it, what it is for, its name on the package index)
EXTRAS = {
    "safetensors": ("safetensors", "checkpoints", "safetensors"),
    "matplotlib": ("plot", "plots", "matplotlib"),
    "tqdm": ("progress", "progress bars", "tqdm"),
    "sklearn": ("datasets", "the digits dataset", "scikit-learn"),
    "mnist1d": ("datasets", "the MNIST-1D dataset", "mnist1d"),
    "mpi4py": ("mpi", "--distributed", "mpi4py"),
    "sympy": ("sympy", "symbolic derivatives", "sympy"),
}


def install_hint(*extras: str) -> str:
    """The commands that install ``extras``: for an installed package and for a clone."""
    names = ",".join(dict.fromkeys(extras))  # unique, in order
    return (f"pip install 'chainrule[{names}]' (in a clone of the repository: "
            f"pip install -e '.[{names}]')")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or sys.modules[name] None
        return False


def missing(modules: dict[str, str]) -> dict[str, str]:
    """The entries of ``{module: extra}`` whose module cannot be imported, in order. Looks the
    modules up without importing them (fast, and nothing runs)."""
    return {m: extra for m, extra in modules.items() if not _importable(m)}


def requirement(modules: dict[str, str], needed_by: str) -> str | None:
    """One line saying which of ``modules`` are missing for ``needed_by`` and how to install
    them, or None when all are there.

    >>> print(requirement({"no_such_module_xyz": "plot"}, "chainrule train"))
    chainrule train needs no_such_module_xyz, which is not installed: pip install \
'chainrule[plot]' (in a clone of the repository: pip install -e '.[plot]')
    """
    gone = missing(modules)
    if not gone:
        return None
    names = [f"{EXTRAS[m][2]} (for {EXTRAS[m][1]})" if m in EXTRAS else m for m in gone]
    which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "is" if len(names) == 1 else "are"
    return (f"{needed_by} needs {which}, which {verb} not installed: "
            + install_hint(*gone.values()))
