"""Tracing one call: every primitive's forward, the backward sweep, the optimizer's updates.

While a trace runs, chainrule's doors are wrapped (and restored in a ``finally``):

- each primitive's ``forward`` writes ``v = forward(inputs, **params)``;
- ``Tensor.backward`` runs the engine's own sweep with an observer that writes each rule's
  call ``gs = prim.vjp(RAW, g, out, xs, params, needs)`` and each cotangent sum as the sweep
  makes it, then the leaves' ``.grad`` exactly as ``transforms.backward`` accumulates them;
- ``Optimizer.step``/``zero_grad`` write the per-parameter update (plain SGD inline, other
  optimizers through their own ``_update``, which reads and updates their state live);
- the few places where chainrule computes an array in NumPy outside a primitive from data
  (one-hot targets, dropout masks, comparisons) write that
  computation as a line too.

Everything runs for real while it is written down, so the traced call *is* an eager call.
What cannot be written down (a Python number read from a tensor, an in-place write to
``.data`` by hand, ``grad()`` inside the function, hooks, batch-norm statistics) raises
``CompileError`` during the trace, naming it, instead of replaying a frozen value.
"""
from __future__ import annotations

import ast
import os
import re
import sys
import threading

import numpy as np

from .. import engine, transforms
from ..engine import HOOKED, HOOKS, leaf_node, toposort
from ..errors import ChainruleError
from ..nn import functional as nn_functional
from ..nn import utils as nn_utils
from ..ops.vocab import RAW
from ..optim.optimizer import Optimizer
from ..optim.sgd import SGD
from ..registry import PRIMITIVES
from ..tensor import Tensor, new_tensor
from .inline import HELPERS, inline_vjp
from .lower import Like as _Like
from .lower import Step, lower_forward, lower_vjp
from .program import Program

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK = threading.RLock()  # one trace at a time: the wrapping is process-wide
ACTIVE: list = []  # the running Tracer, if any


class CompileError(ChainruleError, RuntimeError):
    """A function cannot be compiled as written (the message says what and what to do)."""


def _from_user() -> bool:
    """Whether the caller's caller is user code (not chainrule itself)."""
    return not sys._getframe(2).f_code.co_filename.startswith(_PACKAGE)




def _step_param(opt, p, g, group):
    """One parameter of ``Optimizer.step``, for the replay: its version bump and update."""
    engine.bump_version(p)
    opt._step_param(p, g, group)


def _constant_text(prog, text: str) -> bool:
    """Whether ``text`` reads only folded constants (its value is the traced one, always)."""
    names = {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
    return names <= prog.folded | {"np"} | set(HELPERS)


def _dropout_mask(rng, shape, dtype, p):
    """``F.dropout``'s scaled keep-mask, computed as it computes it."""
    keep = rng.random(shape) >= p
    return keep.astype(dtype) * (1.0 / (1.0 - p))


def _plain_sgd(opt, group) -> bool:
    return (type(opt) is SGD and group["momentum"] == 0 and group["weight_decay"] == 0
            and not group["maximize"])


class Tracer:
    """Records one call of a function into a ``Program`` while running it."""

    def __init__(self):
        self.prog = Program()
        self.recording = True
        self.in_step = False
        self.params: dict[int, tuple] = {}  # id(tensor) -> (tensor, its data when first seen)
        self.touched: set[int] = set()  # parameters whose .grad this trace has assigned
        self.optimizers: dict[int, object] = {}
        self.rngs: dict[int, object] = {}
        self.guards: list[str] = []  # conditions (Python text) the replay checks first
        self.error: str | None = None
        prog = self.prog
        prog.global_("RAW", RAW)
        prog.global_("new_tensor", new_tensor)
        prog.global_("bump", engine.bump_version)
        prog.global_("bump_all", engine.bump_versions)
        prog.global_("step_param", _step_param)

    def fail(self, what: str):
        self.error = self.error or what
        raise CompileError(f"cr.compile: {what}")

    # -- what the trace meets -----------------------------------------------------------------
    def note_param(self, p) -> str:
        """A leaf tensor whose ``.data`` the program reads by reference: guard its identity."""
        name = self.prog.constant(p, "P")
        if id(p) not in self.params:
            self.params[id(p)] = (p, p._data)
            self.guards.append(f"{name}._data is {self.prog.expr(p._data)}")
        return name

    def note_grad_state(self, p) -> None:
        """The first time a parameter's ``.grad`` matters, its state then is the caller's."""
        if id(p) not in self.touched:
            self.touched.add(id(p))
            name = self.note_param(p)
            self.guards.append(f"{name}.grad is {'' if p.grad is None else 'not '}None")

    def note_optimizer(self, opt) -> str:
        name = self.prog.constant(opt, "opt")
        if id(opt) not in self.optimizers:
            self.optimizers[id(opt)] = opt
            sizes = tuple(len(s) for s in opt.state.values() if s)
            if sizes:
                self.guards.append(f"{name}_sig() == {sizes!r}")
                self.prog.namespace[f"{name}_sig"] = lambda o=opt: tuple(
                    len(s) for s in o.state.values() if s)
            else:  # (plain SGD: no state; the cheap test)
                self.guards.append(f"not any({name}.state.values())")
            groups = self.prog.constant(opt.param_groups, "groups")
            self.guards.append(f"len({groups}) == {len(opt.param_groups)}")
            for i, g in enumerate(opt.param_groups):  # the same parameters, in order
                plist = self.prog.fresh("params")
                same = "".join(f" and {plist}[{k}] is {self.prog.constant(p, 'P')}"
                               for k, p in enumerate(g["params"]))
                self.guards.append(f"len({plist} := {groups}[{i}]['params']) == "
                                   f"{len(g['params'])}{same}")
        return name

    # -- forward ----------------------------------------------------------------------------
    def forward(self, prim, fn, arrays, params, out, scalar=False) -> None:
        prog = self.prog
        for value in _param_arrays(params):
            if value.dtype.kind in "biu" and id(value) not in prog.names:
                # indices or a mask that no op of the program makes (argsort, argmax,
                # np.nonzero of a mask, in a front end): a constant would keep the traced
                # values in every replay
                self.fail(f"{prim.name} takes an index array or mask computed outside "
                          "chainrule's ops (a sort, argmax or boolean mask, say); its traced "
                          "values would be frozen. This is not supported yet: run the "
                          "function eagerly")
        if not scalar and lower_forward(prog, prim.name, arrays, params, out, fn):
            return
        fname = prog.global_(f"{prim.name}", fn)
        call = f"{fname}({', '.join(prog.expr(a) for a in arrays)}{prog.kwargs(params)})"
        name = prog.bind(out)
        prog.emit(f"{name} = {f'np.asarray({call})' if scalar else call}", ("pure", name))

    def live(self, label: str, fn, args: tuple, out, kwargs=None) -> None:
        """A NumPy computation outside the primitives, written as a call of ``fn``."""
        if not self.recording:
            return
        prog = self.prog
        if lower_forward(prog, label, args, kwargs, out):
            return
        fname = prog.global_(label, fn)
        name = prog.bind(out)
        prog.emit(f"{name} = {fname}({', '.join(prog.expr(a) for a in args)}"
                  f"{prog.kwargs(kwargs)})")

    # -- backward ---------------------------------------------------------------------------
    def backward(self, t, grad=None, *, retain_graph=False, create_graph=False):
        """``Tensor.backward`` while tracing: the engine's own sweep runs, and an observer
        writes each step down as it runs (the rule's call, and the sums of the cotangents
        that reach a node, in the sweep's order); then the leaves' ``.grad`` as
        ``transforms.backward`` accumulates them."""
        if create_graph or engine.tensor_mode_needed(False):
            self.fail("backward(create_graph=True) or backward inside a jvp is not supported")
        if grad is None and (not t._requires_grad or t.size != 1):
            return transforms.backward(t)  # raises the eager error
        nodes, gs = transforms._roots([t], [grad], "backward", False)
        prog, root, seed = self.prog, nodes[0], gs[0]
        if grad is None:  # the seed of ones: a constant of the program
            prog.names[id(seed)] = prog.fold(np.ones(seed.shape, seed.dtype), "ones")
            prog.keep.append(seed)
        prog.comment(f"backward of {prog.expr(t._data)}")
        order = toposort([root])
        if HOOKED[0] and len(HOOKS) and any(n in HOOKS for n in order):
            self.fail("tensor hooks (register_hook) are not supported")
        terms: dict = {}  # node -> the cotangents that reached it, in the sweep's order

        def write_step(node, g, gis):
            self._write_sum(terms.pop(node, ()), g)
            xs = [x._data for x in node.inputs]
            self._write_vjp(node, g, node.out_data, (xs[0],) if len(xs) == 1 else xs, gis)
            for p, gi in zip(node.parents, gis):
                if gi is not None and p is not None:
                    terms.setdefault(p, []).append(gi)

        self.recording = False  # the rules' own primitive calls are inside the written lines
        try:
            results = engine.sweep(nodes, gs, retain_graph=retain_graph, observer=write_step,
                                   order=order)
        finally:
            self.recording = True
        for node, g in results.items():
            self._write_sum(terms.pop(node, ()), g)
        self._accumulate(results)

    def _write_sum(self, parts, total) -> None:
        """The sweep added the cotangents ``parts`` reaching one node left to right (v̄ is
        their sum); write the same additions, in the same order, naming the result ``total``."""
        if len(parts) < 2:
            return
        prog = self.prog
        acc = prog.expr(parts[0])
        for k, part in enumerate(parts[1:], 2):
            name = prog.bind(total, "g") if k == len(parts) else prog.fresh("g")
            prog.emit(f"{name} = {acc} + {prog.expr(part)}")
            acc = name

    def _write_vjp(self, node, g, out, xs, gis) -> None:
        prog, prim = self.prog, node.prim
        live = [gi if p is not None else None for p, gi in zip(node.parents, gis)]
        if lower_vjp(prog, prim, g, out, xs, node.params, live):
            return
        exprs = inline_vjp(prim, g, out, xs, node.params, node.needs, gis)
        if exprs is not None:
            subst = {"g": prog.expr(g), "out": "None" if out is None else prog.expr(out),
                     **{f"x{i}": prog.expr(x) for i, x in enumerate(xs)},
                     **{k: prog.expr(v) for k, v in (node.params or {}).items()}}
            for name in HELPERS:
                prog.global_(name, HELPERS[name])
            # names, not attributes (g.sum) nor keywords (axis=axis)
            pattern = re.compile(r"(?<![.\w])(" + "|".join(map(re.escape, subst))
                                 + r")\b(?!\s*=[^=])")
            texts = [None if e is None else pattern.sub(lambda m: subst[m.group(1)], e)
                     for e in exprs]
            for p, gi, text in zip(node.parents, gis, texts):
                if gi is not None and p is not None and text is not None:
                    if _constant_text(prog, text):  # (the seed's first rules: shapes only)
                        prog.names[id(gi)] = prog.fold(gi, "c")
                        prog.keep.append(gi)
                    else:
                        prog.emit(f"{prog.bind(gi, 'g')} = {text}")
            return
        vjp = prog.global_(f"{prim.name}_vjp", prim.vjp)
        xs_text = ", ".join(prog.expr(x) for x in xs) + ("," if len(xs) == 1 else "")
        out_text = "None" if out is None else prog.expr(out)
        call = (f"{vjp}(RAW, {prog.expr(g)}, {out_text}, ({xs_text}), "
                f"{prog.expr(node.params)}, {node.needs!r})")
        lhs = [prog.bind(gi, "g") if gi is not None and p is not None else "_"
               for p, gi in zip(node.parents, gis)]  # named after the call's text: a rule
        prog.emit(f"{', '.join(lhs)}{',' if len(lhs) == 1 else ''} = {call}")  # may return g

    def _accumulate(self, results) -> None:
        """``transforms.backward``'s accumulation into ``.grad``, written as it runs."""
        prog, given = self.prog, set()
        for node, g in results.items():
            leaf = node.tensor_ref()
            if leaf is None:
                continue
            self.note_grad_state(leaf)
            p = self.note_param(leaf)
            if leaf.grad is not None:
                old = leaf.grad._data
                total = old + g
                old_text = prog.names.get(id(old)) or f"{p}.grad._data"
                prog.emit(f"{prog.bind(total, 'grad')} = {old_text} + {prog.expr(g)}")
                g = total
            elif g.base is not None or not g.flags.writeable or id(g) in given:
                copy = g.copy()
                prog.emit(f"{prog.bind(copy, 'grad')} = {prog.expr(g)}.copy()")
                g = copy
            given.add(id(g))
            leaf.grad = new_tensor(g)
            prog.emit(f"{p}.grad = new_tensor({prog.expr(g)})")

    # -- optimizers -------------------------------------------------------------------------
    def step(self, opt, orig, closure=None):
        if closure is not None:
            self.fail("optimizer.step(closure) is not supported; call the closure's body "
                      "in the compiled function and step() without it")
        prog = self.prog
        oname = self.note_optimizer(opt)
        prog.comment(f"{type(opt).__name__}.step()")
        for gi, group in enumerate(opt.param_groups):
            gname = f"{prog.constant(opt.param_groups, 'groups')}[{gi}]"
            plain = _plain_sgd(opt, group)
            if type(opt) is SGD:
                self.guards.append(f"{gname}['momentum'] == {group['momentum']!r} and "
                                   f"{gname}['weight_decay'] == {group['weight_decay']!r} and "
                                   f"{gname}['maximize'] is {group['maximize']!r}")
            rows = []  # plain SGD: (gradient's name, parameter's array, tensor's name)
            for p in group["params"]:
                self.note_grad_state(p)
                if p.grad is None:
                    continue
                pname = self.note_param(p)
                g = p.grad._data
                g_text = prog.names.get(id(g)) or f"{pname}.grad._data"
                data = p._data
                if plain and g.shape == data.shape and data.flags.writeable:
                    rows.append((g_text, data, pname))
                else:
                    prog.emit(f"step_param({oname}, {pname}, {g_text}, {gname})")
            if rows:
                self._sgd(rows, f"{gname}['lr']")
        self.in_step = True
        try:
            return orig(opt)
        finally:
            self.in_step = False

    def _sgd(self, rows, lr) -> None:
        """Plain SGD as eager runs it, ``p += np.multiply(g, -lr, out=scratch)`` (lr read
        live). When every gradient is a buffer, the buffers are laid side by side in one
        array (``Program.pack``) and the products are one call: elementwise, so the same
        bytes as one call per parameter."""
        prog = self.prog
        names = [g for g, _, _ in rows]
        dtypes = {prog.buffers[g].dtype if g in prog.buffers else None for g in names}
        if len(rows) > 1 and len(set(names)) == len(names) and None not in dtypes \
                and len(dtypes) == 1 and all(d.dtype in dtypes for _, d, _ in rows):
            packed = prog.pack(names)
            steps = prog.temp(prog.namespace[packed].shape, dtypes.pop(), "steps")
            lines = [f"np.multiply({packed}, -{lr}, out={steps})  # {packed}: "
                     + ", ".join(names) + " side by side"]
            offset = 0
            for _, data, _ in rows:
                size = data.size
                view = prog.view(steps, str(len(lines) - 1), lambda a, o=offset, n=size,
                                 s=data.shape: a[o:o + n].reshape(s))
                offset += size
                d = prog.expr(data)
                lines.append(f"np.add({d}, {view}, out={d})")
            lines.append(f"bump_all(({', '.join(p for _, _, p in rows)},))  # (in-place writes: "
                         "version counters)")
            # (the products may overwrite the gradients: they are dead once multiplied)
            prog.emit("\n".join(lines), ("lowered", Step((), (steps,), {steps: (packed,)},
                                                          pure=False)))
            return
        for g, data, pname in rows:
            buf = prog.temp(data.shape, data.dtype, "step")
            d = prog.expr(data)
            prog.emit(f"np.multiply({g}, -{lr}, out={buf})\n"
                      f"np.add({d}, {buf}, out={d}); bump({pname})",
                      ("lowered", Step((), (buf,), {buf: (g,)}, pure=False)))

    def zero_grad(self, opt, orig, set_to_none=True):
        prog = self.prog
        oname = self.note_optimizer(opt)
        params = [p for g in opt.param_groups for p in g["params"]]
        for p in params:
            self.note_grad_state(p)
        if set_to_none:
            names = [self.note_param(p) for p in params]
            prog.emit(" = ".join(f"{n}.grad" for n in names) + " = None")
        else:
            prog.emit(f"{oname}.zero_grad(False)")
        orig(opt, set_to_none)


# ---------------------------------------------------------------------------------------------
# Wrapping chainrule's doors while a trace runs.

def _param_arrays(params):
    """The ndarrays among a primitive's parameters (inside tuples and lists too)."""
    stack = list(params.values())
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            yield v
        elif isinstance(v, (tuple, list)):
            stack.extend(v)


def _forward_wrapper(tracer, prim, fn):
    def forward(*arrays, **params):
        out = fn(*arrays, **params)
        if tracer.recording:
            scalar = type(out) is not np.ndarray  # a NumPy scalar: apply would wrap it
            if scalar:
                out = np.asarray(out)
            tracer.forward(prim, fn, arrays, params, out, scalar)
        return out
    return forward


def _refuse(tracer, what, fn=None, user_only=False):
    def refused(*args, **kwargs):
        if (user_only and not _from_user()) or tracer.in_step:
            return fn(*args, **kwargs)
        tracer.fail(what)
    return refused


def _patches(tracer) -> list[tuple[object, str, object]]:
    """(owner, attribute, replacement) for every door the trace watches."""
    t = tracer
    opt_step, opt_zero = Optimizer.step, Optimizer.zero_grad
    data_prop = Tensor.data
    onehot, dropout = nn_functional._onehot, nn_functional.dropout
    embedding, one_hot_array = nn_functional.embedding, nn_functional._one_hot_array
    batch_norm = nn_functional.batch_norm

    def data_setter(self, value):
        if not t.in_step:
            t.fail("assigning to a tensor's .data inside a compiled function (a NumPy update "
                   "the trace cannot see); use an optimizer (cr.optim) or chainrule ops")
        data_prop.fset(self, value)

    grad_slot = Tensor.__dict__["grad"]

    def grad_setter(self, value):
        """``p.grad = ...`` in the user's function: written down (chainrule's own
        assignments are written by the backward and optimizer wrappers)."""
        if _from_user():
            if value is not None and not isinstance(value, Tensor):
                t.fail("assigning a non-tensor to .grad inside a compiled function")
            t.note_grad_state(self)
            name = t.note_param(self)
            text = "None" if value is None else f"new_tensor({t.prog.expr(value._data)})"
            t.prog.emit(f"{name}.grad = {text}")
        grad_slot.__set__(self, value)

    def traced_onehot(x, target, name="cross_entropy"):
        out = onehot(x, target, name)
        t.live("onehot", onehot, (_Like(x), target, name), out)  # replayed: checks the targets
        return out

    def traced_embedding(indices, weight):
        """The replay checks each call's indices first, as eager does (NumPy's indexing
        would take a negative one from the end)."""
        if t.recording:
            idx = nn_functional._index_array(indices)
            if idx.dtype.kind in "iu":
                check = t.prog.global_("check_range", nn_functional._check_range)
                t.prog.emit(f"{check}({t.prog.expr(idx)}, {weight.shape[0]}, 'embedding', "
                            "'index')")
        return embedding(indices, weight)

    def traced_one_hot(indices, num_classes):
        """One-hot rows made from values outside the ops: replayed as a call on each new
        batch, never frozen; an inferred width (-1) would depend on the values."""
        if num_classes == -1 and t.recording:
            t.fail("one_hot(num_classes=-1) takes its width from the values, which a replay "
                   "cannot follow: pass num_classes")
        out = one_hot_array(indices, num_classes)
        t.live("one_hot", one_hot_array, (indices, num_classes), out)
        return out

    def traced_dropout(x, p=0.5, training=True, rng=None):
        if not training or p in (0, 1) or not 0 <= p <= 1:
            return dropout(x, p, training, rng)
        x = nn_functional.as_tensor(x)
        gen = rng or nn_functional.default_rng()
        t.rngs[id(gen)] = gen
        mask = _dropout_mask(gen, x.shape, x.dtype, p)
        t.live("dropout_mask", _dropout_mask, (gen, x.shape, x.dtype, p), mask)
        return x * mask

    def traced_batch_norm(x, running_mean, running_var, weight=None, bias=None,
                          training=False, *args, **kwargs):
        if training and running_mean is not None:
            t.fail("batch_norm in training mode updates its running statistics outside the "
                   "recorded ops; compile the step in eval mode or run it eagerly")
        return batch_norm(x, running_mean, running_var, weight, bias, training, *args,
                          **kwargs)

    def compare(fn):
        def traced(a, b):
            out = fn(a, b)
            if t.recording:
                pa = a._data if isinstance(a, Tensor) else a
                pb = b._data if isinstance(b, Tensor) else b
                t.live(fn.__name__, _compare_arrays(fn), (pa, pb), out._data)
            return out
        return traced

    patches = [(p, "forward", _forward_wrapper(t, p, p.forward)) for p in PRIMITIVES.values()]
    patches += [
        (Tensor, "backward", lambda self, grad=None, **kw: t.backward(self, grad, **kw)),
        (Optimizer, "step", lambda opt, closure=None: t.step(opt, opt_step, closure)),
        (Optimizer, "zero_grad", lambda opt, set_to_none=True: t.zero_grad(opt, opt_zero,
                                                                         set_to_none)),
        (transforms, "sweep", _refuse(t, "gradient()/grad()/vjp inside a compiled function "
                                         "is not supported yet; use loss.backward()")),
        (Tensor, "data", property(data_prop.fget, data_setter, doc=data_prop.__doc__)),
        (Tensor, "grad", property(grad_slot.__get__, grad_setter)),
        (nn_functional, "_onehot", traced_onehot),
        (nn_functional, "embedding", traced_embedding),
        (nn_functional, "_one_hot_array", traced_one_hot),
        (nn_functional, "dropout", traced_dropout),
        (nn_functional, "batch_norm", traced_batch_norm),
        (nn_utils, "clip_grad_norm_", _refuse(t, "clip_grad_norm_ inside a compiled function "
                                                 "is not supported yet")),
    ]
    for name in ("_inplace", "__setitem__", "__iadd__", "__isub__", "__imul__",
                 "__itruediv__"):
        patches.append((Tensor, name, _refuse(t, f"in-place tensor writes ({name.strip('_')}) "
                                                 "are not supported yet in compiled functions",
                                              getattr(Tensor, name))))
    for name in ("item", "__float__", "__int__", "tolist"):
        patches.append((Tensor, name, _refuse(
            t, f"{name.strip('_')}() reads a Python value from a tensor while tracing: it "
               "would be frozen in the replay; return the tensor and read it outside",
            getattr(Tensor, name), user_only=True)))
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        patches.append((Tensor, name, compare(getattr(Tensor, name))))
    return patches


_UFUNC_OF = {"__lt__": np.less, "__le__": np.less_equal, "__gt__": np.greater,
             "__ge__": np.greater_equal, "__eq__": np.equal, "__ne__": np.not_equal}


def _compare_arrays(method):
    ufunc = _UFUNC_OF[method.__name__]

    def compare(a, b):
        return np.asarray(ufunc(a, b))
    compare.__name__ = ufunc.__name__
    return compare


class patched:  # noqa: N801  (a context manager)
    """Install the tracer's wrappers; restore everything on exit."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __enter__(self):
        LOCK.acquire()
        self.saved = []
        try:
            for owner, name, new in _patches(self.tracer):
                self.saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type)
                                   else getattr(owner, name)))
                setattr(owner, name, new)
            ACTIVE.append(self.tracer)
        except BaseException:
            self.__exit__()
            raise
        return self.tracer

    def __exit__(self, *exc):
        try:
            if ACTIVE and ACTIVE[-1] is self.tracer:
                ACTIVE.pop()
            for owner, name, old in reversed(self.saved):
                setattr(owner, name, old)
        finally:
            LOCK.release()


def leaf(t):
    """(Re-exported for the front end: a tensor's node, made on first use.)"""
    return t._node or leaf_node(t)
