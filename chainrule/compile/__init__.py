"""``cr.compile``: trace a function once, then replay it as a flat list of NumPy calls.

The first call runs the function eagerly while recording every NumPy-level step chainrule
takes: each primitive's forward, each backward rule and cotangent sum of ``loss.backward()``,
the optimizer's ``step()`` and ``zero_grad()`` (see ``tracer.py``). The record becomes one
Python function (``compiled.source`` shows it), which later calls run on their own arguments:
no Tensors, no graph, no dispatch. It computes with the same NumPy calls in the same order as
eager execution, so its results are bitwise equal to eager's.

The ops that dominate training (``linear``, ``relu``, the fused cross-entropy, their rules,
plain SGD) are *lowered* (``lower.py``): the same calls with ``out=`` into arrays allocated
once at trace time and shared by values whose lifetimes do not overlap (``memory.py``),
transposes as views made once, shape-only values folded. Each lowering is checked byte for
byte against the eager call while tracing, or the generic line is kept. Three rewrites give
the same bytes by construction and are named in ``lower.py``: ``np.dot`` for a 2-D
``np.matmul`` (one BLAS call), SGD's products over the gradients laid side by side (one
elementwise call), and the cross-entropy's backward reading the exponentials its forward
computed from the same logits. So ``check=True`` compares bytes, with no tolerance. What a
call hands out is the caller's: a returned array that lives in a buffer is copied, and so is
a ``.grad`` left set; a ``.grad`` that ``zero_grad()`` clears before anything reads it is
never written. The buffers belong to the compiled function: do not call one compiled
function from two threads at once.

Guards. A replay first checks what its program assumed: the arguments' structure, shapes,
dtypes and memory layouts (strides: BLAS may round differently on a transposed batch), the
values of Python numbers and identity of other objects passed, grad mode,
every parameter's array and whether its ``.grad`` was set, the optimizers' parameter lists,
state sizes and (plain SGD) hyperparameters. A change traces again (a new batch size makes a
second program; both are kept). The learning rate is read live, so schedulers work.

As with ``jax.jit``, Python code in the function that is not a chainrule op runs only while
tracing: prints, counters, NumPy computations on ``.data`` or on arguments are frozen at their
traced values (what the trace can see of this it refuses, with ``CompileError``: a Python
number read from a tensor, an in-place write to ``.data``, ``grad()`` inside the function, an
array that shares memory with an argument but was made outside chainrule's ops, such as a
NumPy view of it; an index array or mask that an op's front end computes from values, as
``sort``, ``argmax`` and boolean-mask indexing do: such functions run eagerly for now). Class
targets and embedding indices passed as arguments are read anew, and checked, at every call.
Results are constants (no graph); call ``.item()`` on them outside. ``check=True`` runs every
call both eagerly and replayed (restoring the state in between) and raises
``CompileMismatch`` at the first difference.

A trace wraps chainrule's doors for the whole process while it runs (one trace at a time):
do not run chainrule in other threads while a function is being traced.
"""
from __future__ import annotations

import functools
import gc

import numpy as np

from ..engine import STATE
from ..tensor import Tensor
from .tracer import ACTIVE, CompileError, Tracer, patched

__all__ = ["compile", "Compiled", "CompileError", "CompileMismatch"]

_SCALARS = (int, float, bool, str, complex, type(None))
MAX_PROGRAMS = 16


class CompileMismatch(CompileError):
    """``check=True``: the replay differed from eager execution (the message says where)."""


class _Retrace(Exception):
    """A guard of the program failed: trace again."""


def _flatten(obj, leaves: list, key: list) -> None:
    """The arrays of ``obj`` (tensors, arrays, nested in lists/tuples/dicts) and a key that
    says everything else a program assumes about it."""
    if isinstance(obj, Tensor):
        if obj._requires_grad:
            raise CompileError("cr.compile: an argument requires grad; pass parameters "
                               "through a Module or closure, and data as plain tensors")
        leaves.append(obj._data)
        key.append(("T", obj._data.shape, obj._data.dtype.str, obj._data.strides))
    elif isinstance(obj, np.ndarray):
        leaves.append(obj)
        key.append(("A", obj.shape, obj.dtype.str, obj.strides))
    elif isinstance(obj, (tuple, list)):
        key.append((type(obj), len(obj)))
        for v in obj:
            _flatten(v, leaves, key)
    elif isinstance(obj, dict):
        key.append((dict, tuple(obj)))
        for v in obj.values():
            _flatten(v, leaves, key)
    elif type(obj) in _SCALARS:
        key.append((type(obj), obj))
    else:
        key.append(("id", id(obj)))


def _array_key(args, grad_enabled, leaves):
    """The key of positional arguments that are all arrays or tensors that do not require
    grad (what a training step gets), their arrays appended to ``leaves``; or None. (The
    hot path of every call: one flat tuple of types, shapes, dtypes and strides, nothing
    walked. Strides: BLAS may round differently on another memory layout, so a strided or
    transposed batch gets its own verified program.)"""
    key = [grad_enabled]
    for a in args:
        t = type(a)
        if t is Tensor and not a._requires_grad:
            a = a._data
        elif t is not np.ndarray:
            return None
        leaves.append(a)
        key += (t, a.shape, a.dtype, a.strides)
    return tuple(key)


class _Program:
    """One traced program: the replay function, its source and what it touches."""

    def __init__(self, tracer: Tracer, n_inputs: int, out_text: str):
        prog = tracer.prog
        prog.namespace["RETRACE"] = _Retrace
        inputs = [f"x{i}" for i in range(n_inputs)]
        guards = tracer.guards or ["True"]
        self.guard_source = ("def guard():\n    return (" + "\n            and ".join(
            f"({g})" for g in guards) + ")\n")
        # inline (no call): parameters, their .grad and the optimizers' state as traced
        prog.lines.insert(0, ["if not (" + "\n        and ".join(f"({g})" for g in guards)
                              + "):  # the guards: else trace again\n    raise RETRACE", None])
        grad_none = frozenset(g[:-len(".grad is None")] for g in guards
                              if g.endswith(".grad is None"))
        self.replay, self.source = prog.build(inputs, out_text, grad_none)
        self.params = [p for p, _ in tracer.params.values()]
        # each lowered value's array (values whose lifetimes do not overlap share one)
        self.buffers = {n: a for n, a in prog.arrays.items() if n in prog.buffers}
        self.optimizers = list(tracer.optimizers.values())
        self.rngs = list(tracer.rngs.values())
        prog.keep = []  # the trace's intermediate arrays: free them


def _output_text(prog, value) -> str:
    if isinstance(value, Tensor):
        name = prog.names.get(id(value._data))
        return f"new_tensor({name})" if name else prog.constant(value)
    if isinstance(value, np.ndarray):
        return prog.expr(value)
    if isinstance(value, tuple):
        inner = ", ".join(_output_text(prog, v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_output_text(prog, v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{prog.expr(k)}: {_output_text(prog, v)}"
                               for k, v in value.items()) + "}"
    return prog.expr(value)


class Compiled:
    """A function compiled by ``cr.compile`` (call it as the function itself)."""

    def __init__(self, fn, check: bool = False):
        functools.update_wrapper(self, fn)
        self.fn, self.check = fn, check
        self._programs: dict[tuple, _Program] = {}
        self._last: _Program | None = None
        self.traces = 0  # how many times a call was traced (first call, then each retrace)

    @property
    def guards(self) -> str:
        """What the latest program checks before it runs, as Python text."""
        if self._last is None:
            raise RuntimeError("cr.compile: nothing traced yet; call the function first")
        return self._last.guard_source

    @property
    def source(self) -> str:
        """The replayed program of the latest call, as Python text."""
        if self._last is None:
            raise RuntimeError("cr.compile: nothing traced yet; call the function first")
        return self._last.source

    def __call__(self, *args, **kwargs):
        mode = STATE.mode
        if ACTIVE or mode.anomaly or mode.fw_levels:  # inside a trace, or a mode it can't
            return self.fn(*args, **kwargs)              # replay: eager (recorded outside)
        leaves: list = []
        key = None if kwargs else _array_key(args, mode.grad_enabled, leaves)
        if key is None:  # (else the hot case: arrays and constant tensors only)
            leaves = []
            key = [mode.grad_enabled]
            _flatten((args, kwargs), leaves, key)
            key = tuple(key)
        program = self._programs.get(key)
        if program is not None:
            if self.check:
                return self._checked(program, key, leaves, args, kwargs)
            try:
                out = program.replay(leaves)
                self._last = program
                return out
            except _Retrace:
                pass
        return self._trace(key, leaves, args, kwargs)

    def _trace(self, key, leaves, args, kwargs):
        tracer = Tracer()
        for arr in leaves:
            tracer.prog.bind_input(arr)
        found = _reached(self.fn, args, kwargs)
        _name_parameters(tracer.prog, found)
        _guard_modes(tracer, found)
        # A trace makes many small objects (lines, names); the cyclic collector would run a
        # full pass over the whole heap (PyTorch's, the user's) in the middle: 20-40 ms.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with patched(tracer):
                result = self.fn(*args, **kwargs)
            out_text = _output_text(tracer.prog, result)
            program = _Program(tracer, len(leaves), out_text)
        finally:
            if collecting:
                gc.enable()
        if len(self._programs) >= MAX_PROGRAMS and key not in self._programs:
            self._programs.pop(next(iter(self._programs)))
        self._programs[key] = self._last = program
        self.traces += 1
        return result

    def _checked(self, program, key, leaves, args, kwargs):
        """Eager, then (from the same state) the replay: raise at any difference."""
        before = _State(program)
        eager = self.fn(*args, **kwargs)
        after_eager = _State(program)
        before.restore()
        try:
            replayed = program.replay(leaves)
        except _Retrace:
            return self._trace(key, leaves, args, kwargs)
        self._last = program
        _compare("the result", _arrays(eager), _arrays(replayed))
        after_eager.compare(_State(program))
        return replayed


def _reached(fn, args, kwargs) -> list:
    """(label, object) for what ``fn`` reaches: its closure, the globals it names, and its
    arguments."""
    code = getattr(fn, "__code__", None)
    found = []
    if code is not None:
        found = list(zip(code.co_freevars, [c.cell_contents for c in fn.__closure__ or ()
                                            if _filled(c)]))
        found += [(n, fn.__globals__[n]) for n in code.co_names if n in fn.__globals__]
    found += [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    return found


def _guard_modes(tracer, found) -> None:
    """Modules behave differently in training and evaluation (dropout): the program holds
    for the modes it was traced in."""
    from ..nn import Module

    modules = [m for _, obj in found if isinstance(obj, Module) for m in obj.modules()]
    if modules:
        modes = tuple(m.training for m in modules)
        tracer.prog.namespace["modes"] = lambda ms=tuple(modules): tuple(
            m.training for m in ms)
        tracer.guards.append(f"modes() == {modes!r}")


def _name_parameters(prog, found) -> None:
    """Readable names in ``source`` for the parameters the function reaches: a module's
    ``named_parameters`` (``model_0_weight``), a list of tensors (``ps_2``), a tensor."""
    from ..nn import Module  # (the rest layer: no import cycle at module load)

    for label, obj in found:
        if isinstance(obj, Module):
            named = [(f"{label}_{name}", p) for name, p in obj.named_parameters()]
        elif isinstance(obj, Tensor) and obj._requires_grad:
            named = [(label, obj)]
        elif isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj):
            named = [(f"{label}_{i}", t) for i, t in enumerate(obj)]
        else:
            continue
        for name, p in named:  # the array the code reads, the tensor whose .grad it sets
            prog.name_constant(p._data, name)
            prog.name_constant(p, f"{name}_param")


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _arrays(value) -> list:
    if isinstance(value, Tensor):
        return [value._data]
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    return [np.asarray(value)] if isinstance(value, _SCALARS[:4]) else []


def _same_bits(a, b) -> bool:
    """Equal byte for byte (the sign of a zero and a NaN's payload count): the replay makes
    the eager calls, so no tolerance is needed, and none is given."""
    if a.dtype.kind == "O":
        return np.array_equal(a, b)
    return a.tobytes() == b.tobytes()


def _compare(what, eager: list, replayed: list) -> None:
    if len(eager) != len(replayed):
        raise CompileMismatch(f"cr.compile(check=True): {what}: eager gave {len(eager)} "
                              f"arrays, the replay {len(replayed)}")
    for i, (a, b) in enumerate(zip(eager, replayed)):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype or not _same_bits(a, b):
            diff = (f"max |Δ| {np.max(np.abs(a.astype(float) - b.astype(float))):.3g}"
                    if a.shape == b.shape and a.size else f"{a.shape} vs {b.shape}")
            raise CompileMismatch(f"cr.compile(check=True): {what} (array {i}) differs "
                                  f"between eager and replay: {diff} ({a.dtype} vs {b.dtype})")


class _State:
    """Copies of everything a program reads and writes besides its arguments."""

    def __init__(self, program: _Program):
        self.program = program
        self.params = [(p, p._data, p._data.copy(), p.grad,
                        None if p.grad is None else p.grad._data.copy())
                       for p in program.params]
        self.opts = [(o, {p: {k: v.copy() if isinstance(v, np.ndarray) else v
                              for k, v in s.items()} for p, s in o.state.items()})
                     for o in program.optimizers]
        self.rngs = [(r, r.bit_generator.state) for r in program.rngs]

    def restore(self) -> None:
        for p, data, copy, grad, gcopy in self.params:
            data[...] = copy
            p._data, p.grad = data, grad
            if grad is not None:
                grad._data[...] = gcopy
        for o, state in self.opts:
            o.state.clear()
            for p, s in state.items():
                o.state[p] = {k: v.copy() if isinstance(v, np.ndarray) else v
                              for k, v in s.items()}
        for r, s in self.rngs:
            r.bit_generator.state = s

    def compare(self, other: _State) -> None:
        for (p, _, a, _, ga), (_, _, b, _, gb) in zip(self.params, other.params):
            label = p.name or f"a parameter of shape {p.shape}"
            _compare(f"{label}'s data", [a], [b])
            if (ga is None) != (gb is None):
                raise CompileMismatch(f"cr.compile(check=True): {label}'s .grad is "
                                      f"{'None' if ga is None else 'set'} after eager, "
                                      f"{'None' if gb is None else 'set'} after the replay")
            if ga is not None:
                _compare(f"{label}'s .grad", [ga], [gb])
        for (o, sa), (_, sb) in zip(self.opts, other.opts):
            for p in sa.keys() | sb.keys():
                a, b = sa.get(p, {}), sb.get(p, {})
                if a.keys() != b.keys():
                    raise CompileMismatch(f"cr.compile(check=True): {type(o).__name__} state "
                                          f"keys differ: {sorted(a)} vs {sorted(b)}")
                for k in a:
                    _compare(f"{type(o).__name__} state {k!r}", [a[k]], [b[k]])


def compile(fn=None, *, check: bool = False):  # noqa: A001  (cr.compile, as torch.compile)
    """Trace ``fn`` on its first call, then replay the recorded NumPy program.

    Works on any function of chainrule ops, including ``loss.backward()`` and an optimizer's
    ``step()``/``zero_grad()``; usable as ``@cr.compile`` or ``@cr.compile(check=True)``.
    Python side effects outside chainrule run only while tracing (module docstring).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> @cr.compile
    ... def step(x):
    ...     loss = cr.sum((w * x) ** 2)
    ...     loss.backward()
    ...     opt.step()
    ...     opt.zero_grad()
    ...     return loss
    >>> [round(step(cr.tensor([1.0, 1.0])).item(), 4) for _ in range(3)]
    [5.0, 3.2, 2.048]
    >>> step.traces
    1
    >>> lines = step.source.splitlines()
    >>> print(lines[lines.index("        raise RETRACE") + 1])  # after the guards
        multiply(w, x0, out=v0)
    """
    if fn is None:
        return lambda f: Compiled(f, check)
    return Compiled(fn, check)
