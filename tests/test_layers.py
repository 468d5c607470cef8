"""The core's layers contract: imports run one way, registry → engine → tensor → ops →
transforms → the rest, with no import inside a function except of an optional dependency.

Read from the source (ast), so it checks what a reader of the files sees."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chainrule"

# Lower layers first; a module may import only from its own layer or below. Inside ``ops``
# the modules form their own order (checked for cycles below).
LAYERS = [
    {"errors", "tree"},
    {"registry"},
    {"engine"},
    {"tensor"},
    {"forward"},
    {"apply"},
    {"ops"},
    {"functional"},
    {"transforms"},
    {"extend", "check", "methods", "torch_methods", "device", "batching", "numpy_dispatch"},
]
CORE = set().union(*LAYERS)
OPTIONAL = {"scipy", "sympy"}  # optional dependencies: imported where used, never at import


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return ".".join(p for p in rel.parts if p != "__init__")


def _top(name: str) -> str:
    return name.split(".")[0] if name else "__init__"


def _imports(path: Path):
    """(target module under chainrule or None, external top name, inside a function?)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    functions = {id(n) for f in ast.walk(tree)
                 if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                 for n in ast.walk(f)}
    for node in ast.walk(tree):
        inner = id(node) in functions
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{target}.{alias.name}" if target else alias.name
                    sub = full if (PACKAGE / Path(*full.split("."))).exists() or (
                        PACKAGE / (full.replace(".", "/") + ".py")).exists() else target
                    yield sub, None, inner
            elif node.module and node.module.split(".")[0] == "chainrule":
                yield node.module.partition(".")[2], None, inner
            else:
                yield None, (node.module or "").split(".")[0], inner
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield None, alias.name.split(".")[0], inner


def _core_files():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if _top(name) in CORE:
            yield path, name


def _layer(top: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


@pytest.mark.parametrize("path,name", list(_core_files()), ids=lambda v: str(v))
def test_core_imports_run_one_way(path, name):
    for target, external, inner in _imports(path):
        if target is None:
            assert not inner or external in OPTIONAL, (
                f"{name} imports {external} inside a function (only optional dependencies "
                f"may be imported late: {sorted(OPTIONAL)})")
            continue
        assert not inner, f"{name} imports chainrule.{target} inside a function"
        top = _top(target)
        if top not in CORE:
            pytest.fail(f"core module {name} imports chainrule.{target}, above the core")
        assert _layer(top) <= _layer(_top(name)), (
            f"{name} (layer {_layer(_top(name))}) imports chainrule.{target} "
            f"(layer {_layer(top)}): an upward import")


def import_graph() -> dict[str, set[str]]:
    """module -> the chainrule modules it imports (at any depth of the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        graph[name] = {t for t, _, _ in _imports(path) if t is not None and t != name}
    return graph


def largest_cycle(graph: dict[str, set[str]], keep) -> set[str]:
    """The largest strongly connected set of modules among those ``keep`` selects."""
    nodes = [n for n in graph if keep(n)]
    reach = {n: set() for n in nodes}
    for n in nodes:  # small graphs: reachability by iterative search is plenty
        stack = [n]
        while stack:
            for m in graph.get(stack.pop(), ()):
                if keep(m) and m not in reach[n]:
                    reach[n].add(m)
                    stack.append(m)
    best: set[str] = set()
    for n in nodes:
        scc = {n} | {m for m in reach[n] if n in reach[m]}
        if len(scc) > 1 and len(scc) > len(best):
            best = scc
    return best


def test_no_import_cycle_in_the_core():
    cycle = largest_cycle(import_graph(), lambda n: _top(n) in CORE)
    assert not cycle, f"import cycle among core modules: {sorted(cycle)}"


def test_the_contract_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: an engine that imports the tensor layer is refused."""
    fake = tmp_path / "chainrule"
    fake.mkdir()
    (fake / "engine.py").write_text("from .tensor import Tensor\n", encoding="utf-8")
    (fake / "tensor.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="upward import"):
        test_core_imports_run_one_way(fake / "engine.py", "engine")
