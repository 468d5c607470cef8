"""The recorded program: named arrays, lines of Python, the namespace they run in.

A trace writes one line per NumPy-level step (a primitive's forward, a backward rule, a
cotangent sum, an optimizer update) and names every array by the object it was at trace time:
an array produced by a recorded line gets a variable name (``v3``, ``g7``); an input gets
``x0``...; any other array met as an operand is a constant of the program (``k2``), held by
reference (a parameter's ``.data`` is updated in place, so the program reads its current
values). ``build`` turns the lines into one Python function with ``exec``: the replay is that
function, and ``source`` is its text.
"""
from __future__ import annotations

import builtins
import math
import re

import numpy as np

from .memory import plan

_LITERALS = (bool, int, str, type(None))
_IDENT = re.compile(r"[A-Za-z_]\w*")
_NP_CALL = re.compile(r"(?<![\w.])np\.(\w+)(?=\(|\.reduce\()")  # np.dot(, np.add.reduce(
_NP_FUNCTIONS = (np.dot, np.copyto, np.asarray)  # (and every ufunc)


class Program:
    """Lines of Python being recorded, and the names of the arrays they compute."""

    def __init__(self):
        self.lines: list[list] = []  # [text, tag]; a tag marks lines a later pass may drop
        self.names: dict[int, str] = {}  # id(array) -> its variable name
        self.keep: list = []  # the arrays named, kept alive so that ids are never reused
        self.values: dict[str, object] = {}  # a local's name -> its traced array (verification)
        self.buffers: dict[str, np.ndarray] = {}  # a lowered value's name -> its buffer
        self.views: dict[str, tuple] = {}  # name -> (buffer name, function making the view)
        self.folded: set[str] = set()  # constants whose values never change (seeds, zeros)
        self.memo: dict = {}  # what one lowering leaves for another (lower.py)
        self.packs: dict[str, list] = {}  # name -> buffers laid side by side in one array
        self.namespace: dict = {"np": np}
        self.inputs: list = []  # the compiled function's arguments (their arrays)
        self._constants: dict[int, str] = {}
        self._counts: dict[str, int] = {}

    # -- names --------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        n = self._counts.get(prefix, 0)
        while f"{prefix}{n}" in self.namespace:  # (a parameter the user named v0)
            n += 1
        self._counts[prefix] = n + 1
        return f"{prefix}{n}"

    def bind(self, array, prefix: str = "v") -> str:
        """Name ``array`` as the result of the line about to be emitted."""
        name = self.fresh(prefix)
        self.names[id(array)] = name
        self.keep.append(array)
        self.values[name] = array
        return name

    def bind_input(self, array) -> str:
        """Name an argument of the compiled function (``x0``, ``x1``...)."""
        self.inputs.append(array)
        return self.bind(array, "x")

    def buffer(self, array, prefix: str = "v") -> str:
        """Name ``array`` as a value that a lowered step writes into a buffer of its shape."""
        name = self.fresh(prefix)
        self.names[id(array)] = name
        self.keep.append(array)
        self.buffers[name] = self.namespace[name] = np.empty(array.shape, array.dtype)
        return name

    def temp(self, shape, dtype, prefix: str = "t") -> str:
        """A buffer no traced array stands for (scratch within a step, or an intermediate
        a later step reads)."""
        name = self.fresh(prefix)
        self.buffers[name] = self.namespace[name] = np.empty(shape, dtype)
        return name

    def view(self, name: str, suffix: str, make) -> str:
        """A view of a buffer (``g1_T``, made once; remade on the array ``build`` gives it)."""
        vname = f"{name}_{suffix}"
        if vname in self.namespace and vname not in self.views:  # (a user's name)
            vname = self.fresh(f"{vname}_")
        if vname not in self.namespace:
            self.views[vname] = (name, make)
            self.namespace[vname] = make(self.namespace[name])
        return vname

    def pack(self, names: list[str]) -> str:
        """One array holding the buffers ``names`` side by side (each a view of it, for
        the program's whole run): one NumPy call can then read them all."""
        name = self.fresh("grads")
        self.packs[name] = list(names)
        size = sum(self.buffers[n].size for n in names)
        self.namespace[name] = np.empty(size, self.buffers[names[0]].dtype)
        return name

    def fold(self, value, prefix: str = "c") -> str:
        """A constant the program never writes (a seed of ones, zeros for ``maximum``); equal
        arrays are folded once."""
        key = ("fold", prefix, type(value), getattr(value, "shape", None),
               getattr(value, "strides", None), getattr(value, "dtype", None),
               np.asarray(value).tobytes())
        name = self.memo.get(key)
        if name is None:
            name = self.memo[key] = self.fresh(prefix)
            self.namespace[name] = value
            self.folded.add(name)
        return name

    def constant(self, value, prefix: str = "k") -> str:
        """A namespace entry for ``value`` (one per object)."""
        name = self._constants.get(id(value))
        if name is None:
            name = self._constants[id(value)] = self.fresh(prefix)
            self.namespace[name] = value
            self.keep.append(value)
        return name

    def name_constant(self, value, name: str) -> None:
        """Give ``value`` (a parameter's array) a readable name, if it has none yet."""
        if id(value) in self._constants or id(value) in self.names:
            return
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
        if not name.isidentifier() or name in self.namespace:
            return
        self._constants[id(value)] = name
        self.namespace[name] = value
        self.keep.append(value)

    def global_(self, name: str, value) -> str:
        """A named helper (a primitive's forward, a rule) in the namespace."""
        old = self.namespace.get(name, value)
        if old is not value:
            return self.global_(f"{name}_", value)
        self.namespace[name] = value
        return name

    def expr(self, value) -> str:
        """Python text that evaluates to ``value`` when the program runs."""
        if isinstance(value, (np.ndarray, np.generic)):  # (rules may return NumPy scalars)
            name = self.names.get(id(value))
            if name is not None:
                return name
            if isinstance(value, np.ndarray) and any(
                    np.may_share_memory(value, a) for a in self.inputs):
                # made from an argument by NumPy code outside the ops (a view, a buffer):
                # as a constant it would keep the first call's values in every replay
                from .tracer import CompileError
                raise CompileError(
                    "cr.compile: an array made from an argument outside chainrule's ops "
                    f"(shape {value.shape}, {value.dtype}) would be frozen at its traced "
                    "values; pass it as a tensor to chainrule's functions, or run eagerly")
            return self.constant(value)
        if isinstance(value, _LITERALS):
            return repr(value)
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else self.constant(value)
        if isinstance(value, tuple):
            inner = ", ".join(self.expr(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, list):
            return "[" + ", ".join(self.expr(v) for v in value) + "]"
        if isinstance(value, dict) and all(type(k) is str for k in value):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in value.items()) + "}"
        return self.constant(value)

    def kwargs(self, params) -> str:
        if not params:
            return ""
        return ", " + ", ".join(f"{k}={self.expr(v)}" for k, v in params.items())

    # -- lines --------------------------------------------------------------------------------
    def emit(self, text: str, tag=None) -> list:
        line = [text, tag]
        self.lines.append(line)
        return line

    def comment(self, text: str) -> None:
        self.emit(f"# {text}")

    def used_names(self, text: str) -> set[str]:
        """The identifiers of ``text``, a view's counting as its buffer's."""
        names = set(_IDENT.findall(text))
        names |= {self.views[n][0] for n in names if n in self.views}
        return names.union(*(self.packs[n] for n in names if n in self.packs))

    def live_lines(self, outputs: str) -> list[list]:
        """The lines, without those that only compute a value nothing reads (a forward whose
        output went unused, as ``w.T`` once ``x @ w.T`` ran as ``linear``): pure lines are
        tagged ``("pure", name)``, lowered steps ``("lowered", Step)``."""
        used = self.used_names(outputs)
        kept = []
        for text, tag in reversed(self.lines):
            if text is None or (tag is not None and tag[0] == "pure" and tag[1] not in used):
                continue
            if tag is not None and tag[0] == "lowered" and tag[1].pure and not (
                    used & set(tag[1].outs + tag[1].locals)):
                continue
            used |= self.used_names(text)
            kept.append([text, tag])
        return kept[::-1]

    def build(self, inputs: list[str], outputs: str, grad_none: frozenset = frozenset()):
        """The replay function ``run(inputs) -> outputs`` and its source text (``grad_none``:
        the parameters whose ``.grad`` the guards require to be None on entry)."""
        lines, outputs, arrays = plan(self, self.live_lines(outputs), outputs, grad_none)
        body = [f"    {t}" for text, _ in lines for t in text.split("\n")]
        body = self._bare_numpy_names(body)
        head = f"    {', '.join(inputs)}, = INPUTS" if inputs else "    pass"
        source = "\n".join(["def replay(INPUTS):", head] + body
                           + [f"    return {outputs}"]) + "\n"
        namespace = {k: v for k, v in self.namespace.items()
                     if k not in self.buffers or k in arrays}  # (buffers of dropped lines)
        namespace.update(arrays)
        self.arrays = arrays
        exec(compile(source, "<chainrule.compile replay>", "exec"), namespace)  # noqa: S102
        return namespace["replay"], source

    def _bare_numpy_names(self, body: list[str]) -> list[str]:
        """``np.dot(`` as ``dot(`` (the function bound once as a global of the replay): the
        replay makes ~40 NumPy calls on small arrays, and the ``np.`` attribute lookups
        cost ~2.4 µs of a ~45 µs step. A name the program already uses (a parameter, a
        helper, a Python builtin such as ``any``) keeps its ``np.``."""
        taken = set(self.namespace) | set(self.names.values()) | set(dir(builtins))
        bound = []

        def bare(m):
            name = m.group(1)
            fn = getattr(np, name, None)
            if not (isinstance(fn, np.ufunc) or any(fn is f for f in _NP_FUNCTIONS)) or (
                    name in taken and self.namespace.get(name) is not fn):
                return m.group(0)
            if name not in self.namespace:
                self.namespace[name] = fn
                bound.append(name)
            return name

        body = [_NP_CALL.sub(bare, line) for line in body]
        if bound:
            body.insert(0, f"    # {bound[0]}(...) is np.{bound[0]}(...), and so on: NumPy's "
                           "functions bound once as globals")
        return body
