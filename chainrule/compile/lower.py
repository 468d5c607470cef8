"""Lowered steps: the NumPy calls of the ops that dominate training, into preallocated buffers.

A generic replayed line calls the primitive's own forward (``linear(x0, w, b)``) or rule, which
allocates its result. For the common primitives this module writes the same NumPy calls with
``out=`` into buffers the program allocates once (``np.dot(x0, ps_0_T, out=v0)``), reads
transposes as views made once (``ps_0_T``), and folds what depends only on shapes (a seed of
ones, the zeros of ``maximum``, the class indices of a one-hot) into constants.

Every lowering is *verified* while tracing: its calls run on the traced arrays and must give
the bytes the eager call gave, or the generic line is written instead, so a rule that changes
can never make the replay differ from eager execution. The calls are the eager calls with
``out=`` (``np.add.reduce`` for ``.sum``, ``np.dot`` with folded ones for a
bias gradient and the cross-entropy's sums, ``np.maximum.reduce`` for ``.max``, and ``np.dot``
for a 2-D ``np.matmul``: the same BLAS call, with ~1 µs less overhead), with three
rewrites that give the same bytes, verified the same way: ``np.maximum(x, 0)`` and ``x > 0``
read a zeros array (NumPy's vector loop; its scalar loop is ~3x slower), a boolean mask is
written as 0/1 in the value's dtype (what ``g * mask`` converts it to), and the softmax
cross-entropy's backward reuses the exponentials and sums its forward computed from the same
logits (the eager rule computes them again with the same calls). One call is left out because
its result is its input: the cross-entropy's ``picked * onehot`` when the one-hot is the
lowered ``onehot`` (exactly 0.0 and 1.0; ``picked`` is +0.0 wherever the one-hot is 0.0).
The lowered one-hot is computed as a boolean mask first (a comparison straight into a float
array runs a slower casting loop), and the cross-entropy reads that mask, not ``onehot != 0``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..nn.functional import _check_range
from ..ops.parallel import SPLIT_SIZE, threads


class Like:
    """Stands for a tensor whose shape and dtype (not values) a helper reads (``onehot``)."""
    __slots__ = ("shape", "ndim", "dtype")

    def __init__(self, t):
        self.shape, self.ndim, self.dtype = t.shape, t.ndim, t.dtype

    def __repr__(self):
        return f"<like {self.shape} {self.dtype}>"


@dataclass
class Step:
    """A lowered line's buffers: what it defines, the scratch it uses, which dying values a
    new buffer may take the array of (the value is read by the call that first writes the
    new one, elementwise, and not after), and whether it has effects beyond its buffers."""
    outs: tuple
    temps: tuple = ()
    takeover: dict = field(default_factory=dict)
    pure: bool = True
    locals: tuple = ()  # values it assigns as plain locals (fresh arrays, not buffers)


class _Ctx:
    """Names for one lowering: inputs by their program names (locals remembered for the
    verification), transposed views made once."""

    def __init__(self, prog):
        self.prog = prog
        self.scope: dict = {}  # a local's name -> its traced array

    def x(self, array) -> str:
        name = self.prog.expr(array)
        if name in self.prog.values and name not in self.prog.namespace:
            self.scope[name] = self.prog.values[name]
        return name

    def T(self, array) -> str:
        """``array.T``: a view made once when ``array`` is a buffer or a constant array."""
        name, prog = self.x(array), self.prog
        if name in prog.buffers:
            return prog.view(name, "T", lambda a: a.T)
        value = prog.namespace.get(name)
        if isinstance(value, np.ndarray):  # a parameter: its array is guarded by identity
            tname = f"{name}_T"
            if tname not in prog.namespace:
                prog.namespace[tname] = value.T
            if prog.namespace[tname].base is value:
                return tname
        return f"{name}.T"

    def zeros(self, like) -> str:
        return self.prog.fold(np.zeros(like.shape, like.dtype), "zeros")

    def ones(self, shape, dtype) -> str:
        """Ones of ``shape``: a sum is a BLAS product with them (``blas_sum``)."""
        return self.prog.fold(np.ones(shape, dtype), "ones")

    def folded(self, array) -> bool:
        return self.prog.names.get(id(array)) in self.prog.folded


# -- forwards -----------------------------------------------------------------------------
def _linear(prog, c, arrays, params, outs):
    (out,) = outs
    if params or len(arrays) not in (2, 3) or out.ndim != 2 or arrays[0].ndim != 2 \
            or arrays[1].ndim != 2:
        return None
    o = prog.buffer(out)
    stmts = [f"np.dot({c.x(arrays[0])}, {c.T(arrays[1])}, out={o})"]
    if len(arrays) == 3:
        stmts.append(f"np.add({o}, {c.x(arrays[2])}, out={o})")
    return stmts, [o], [], {}


def _splits(x) -> bool:
    """Whether eager relu splits ``x``'s rows over threads (``parallel.threads()``): then the
    replay keeps the generic line, which splits too."""
    return x.size >= SPLIT_SIZE and threads() > 1


def _relu(prog, c, arrays, params, outs):
    (x,), (out,) = arrays, outs
    if params or x.shape != out.shape or x.dtype != out.dtype or _splits(x):
        return None
    o = prog.buffer(out)
    return [f"np.maximum({c.x(x)}, {c.zeros(x)}, out={o})"], [o], [], {}


def _sce(prog, c, arrays, params, outs):
    (x,), (out,) = arrays, outs
    onehot, scale = params.get("onehot"), params.get("scale")
    if x.ndim != 2 or not isinstance(onehot, np.ndarray) or onehot.shape != x.shape \
            or onehot.dtype != x.dtype or type(scale) is not float or set(params) != {
                "onehot", "scale"}:
        return None
    n, dt = x.shape[0], x.dtype
    o = prog.bind(out)  # a fresh 0-d array each call, as eager's (a local: nothing to copy)
    ex, s = prog.temp(x.shape, dt, "exps"), prog.temp((n, 1), dt, "sums")  # (backward's too)
    m, sh = prog.temp((n, 1), dt, "rowmax"), prog.temp(x.shape, dt, "shifted")
    lse = prog.temp((n, 1), dt, "logsums")
    pick = prog.temp(x.shape, dt, "picked")
    flat = lambda a: a.reshape(-1)  # noqa: E731  ((n, 1) as (n,): the same reduction)
    lse1, m1 = (prog.view(b, "flat", flat) for b in (lse, m))
    xn, oh = c.x(x), c.x(onehot)
    known = prog.memo.get("bool_of", {}).get(oh)  # the lowered one-hot's own mask
    stmts = [f"np.maximum.reduce({xn}, axis=-1, out={m1})",
             f"np.subtract({xn}, {m}, out={sh})",
             f"np.exp({sh}, out={ex})",
             f"np.dot({ex}, {c.ones((x.shape[-1], 1), dt)}, out={s})",
             f"np.log({s}, out={lse})"]
    keep = known or prog.temp(x.shape, bool, "is_target")
    if known is None:  # picked: where(onehot != 0, shifted, 0)
        stmts.append(f"np.not_equal({oh}, 0, out={keep})")
    stmts += [f"{pick}.fill(0)",
              f"np.copyto({pick}, {sh}, where={keep})"]
    if oh not in prog.memo.get("zero_one", ()):  # ... * onehot (times 1.0 or 0.0 · (+0.0)
        stmts.append(f"np.multiply({pick}, {oh}, out={pick})")  # is the same bytes: left out)
    pick1 = prog.view(pick, "flat", flat)
    stmts.append(f"{o} = np.asarray({scale!r} * (np.dot({c.ones((n,), dt)}, {lse1}) - np.dot("
                 f"{c.ones((x.size,), dt)}, {pick1})), {_dtype(prog, dt)})")
    prog.memo["sce"] = (x, onehot, ex, s)
    return stmts, [o, ex, s], [m, sh, lse, pick] + ([keep] if known is None else []), {}


def _dtype(prog, dt) -> str:
    prog.name_constant(dt, str(dt))  # (float32, not k3)
    return prog.expr(dt)


def _onehot(prog, c, arrays, params, outs):
    like, target, name = arrays
    (out,) = outs
    if len(like.shape) != 2 or not isinstance(target, np.ndarray) or target.ndim != 1:
        return None
    # each call's targets are checked, as eager checks them: out of range, a row of the
    # mask would be all False, and the loss silently wrong
    check = f"{prog.global_('check_range', _check_range)}({c.x(target)}, {like.shape[1]}, " \
        f"{name!r})"
    # the mask first (bool: no casting loop), written through its transpose: target (n,)
    # against a column of class numbers needs no target[:, None] view each call
    classes = prog.fold(np.arange(like.shape[1]).reshape(-1, 1), "classes")
    mask = prog.temp(like.shape, bool, "is_target")
    o = prog.buffer(out)
    prog.memo["zero_one"] = prog.memo.get("zero_one", frozenset()) | {o}  # (only 0.0, 1.0)
    prog.memo["bool_of"] = {**prog.memo.get("bool_of", {}), o: mask}  # (o != 0: the mask)
    return [check, f"np.equal({c.x(target)}, {classes}, out={prog.view(mask, 'T', _T)})",
            f"np.copyto({o}, {mask})"], [o, mask], [], {}


def _T(a):
    return a.T


def _ufunc(fn):
    """A primitive whose forward is a NumPy ufunc (``add``, ``exp``, ``matmul``...): the
    same call with ``out=``; an elementwise result may take the array of a dying input."""
    def lowering(prog, c, arrays, params, outs):
        (out,) = outs
        if params or fn.nout != 1 or getattr(np, fn.__name__, None) is not fn \
                or len(arrays) != fn.nin:
            return None
        names = [c.x(a) for a in arrays]
        o = prog.buffer(out)
        takeover = {} if fn.signature else {o: tuple(names)}
        return [f"np.{fn.__name__}({', '.join(names)}, out={o})"], [o], [], takeover
    return lowering


FORWARDS = {"linear": _linear, "relu": _relu, "softmax_cross_entropy": _sce,
            "onehot": _onehot}


# -- backward rules -----------------------------------------------------------------------
def _linear_vjp(prog, c, g, out, xs, params, gis):
    if params or g.ndim != 2 or xs[0].ndim != 2:
        return None
    stmts, outs = [], []
    texts = [lambda: f"np.dot({c.x(g)}, {c.x(xs[1])}, out={{}})",
             lambda: f"np.dot({c.T(g)}, {c.x(xs[0])}, out={{}})",
             lambda: f"np.dot({c.ones((g.shape[0],), g.dtype)}, {c.x(g)}, out={{}})"]
    for gi, text in zip(gis, texts):
        if gi is not None:
            o = prog.buffer(gi, "g")
            stmts.append(text().format(o))
            outs.append(o)
    return stmts, outs, [], {}


def _relu_vjp(prog, c, g, out, xs, params, gis):
    (x,), (gi,) = xs, gis
    if params or g.shape != x.shape or g.dtype != x.dtype or _splits(x):
        return None
    xn = c.x(x)
    o = prog.buffer(gi, "g")  # the mask as 0/1 in o, then g times it (o may take x's array)
    return [f"np.greater({xn}, {c.zeros(x)}, out={o})",
            f"np.multiply({c.x(g)}, {o}, out={o})"], [o], [], {o: (xn,)}


def _sce_vjp(prog, c, g, out, xs, params, gis):
    (x,), (gi,) = xs, gis
    memo = prog.memo.get("sce")
    if memo is None or memo[0] is not x or memo[1] is not params.get("onehot") \
            or gi.shape != x.shape:
        return None
    _, onehot, ex, s = memo
    o = prog.buffer(gi, "g")
    scale = params["scale"]
    gs = prog.fold(g * scale, "c") if c.folded(g) else f"{c.x(g)} * {scale!r}"
    return [f"np.divide({ex}, {s}, out={o})",  # softmax, from the forward's exponentials
            f"np.subtract({o}, {c.x(onehot)}, out={o})",
            f"np.multiply({o}, {gs}, out={o})"], [o], [], {o: (ex,)}


VJPS = {"linear": _linear_vjp, "relu": _relu_vjp, "softmax_cross_entropy": _sce_vjp}


# -- entry points -------------------------------------------------------------------------
def lower_forward(prog, name, arrays, params, out, forward=None) -> bool:
    """Write a forward (a primitive's, or a helper's such as ``onehot``) as lowered calls,
    if it has a lowering that verifies."""
    fn = FORWARDS.get(name)
    if fn is None and isinstance(forward, np.ufunc):
        fn = _ufunc(forward)
    if fn is None or type(out) is not np.ndarray or not all(
            isinstance(a, np.ndarray) for a in arrays if not isinstance(a, (Like, str))):
        return False
    same = isinstance(forward, np.ufunc) and forward.__name__ == name  # (np.add: "add")
    return _lowered(prog, lambda c: fn(prog, c, arrays, params or {}, [out]), [out],
                    "" if same else name)


def lower_vjp(prog, prim, g, out, xs, params, gis) -> bool:
    """Write a backward rule as lowered calls (only the cotangents a parent receives)."""
    fn = VJPS.get(prim.name)
    if fn is None or type(g) is not np.ndarray or any(
            gi is not None and type(gi) is not np.ndarray for gi in gis) or any(
            gi is g or gi is x for gi in gis for x in xs):
        return False
    wants = [gi for gi in gis if gi is not None]
    return _lowered(prog, lambda c: fn(prog, c, g, out, xs, params or {}, gis), wants,
                    f"{prim.name}, backward")


def _lowered(prog, make, wants, comment) -> bool:
    before, names, memo = set(prog.buffers), dict(prog.names), dict(prog.memo)
    c = _Ctx(prog)
    got = make(c)
    if got is not None:
        stmts, outs, temps, takeover = got
        if _verify(prog, c, stmts, outs, wants):
            if comment:
                stmts = [f"{stmts[0]}  # {comment}"] + stmts[1:]
            local = tuple(o for o in outs if o not in prog.buffers)
            prog.emit("\n".join(stmts), ("lowered", Step(
                tuple(o for o in outs if o in prog.buffers), tuple(temps), takeover,
                locals=local)))
            return True
    for n in set(prog.buffers) - before:  # not kept: forget its names and buffers
        del prog.buffers[n]
        prog.namespace.pop(n, None)
    prog.names.clear()
    prog.names.update(names)
    prog.memo.clear()
    prog.memo.update(memo)
    return False


def _verify(prog, c, stmts, outs, wants) -> bool:
    """Run the calls on the traced arrays: each output the eager call returned must come out
    byte for byte (the first ``len(wants)`` outputs; the rest are intermediates)."""
    scope = {**prog.namespace, **c.scope}
    try:
        exec("\n".join(stmts), scope)  # noqa: S102  (our own text)
    except Exception:  # noqa: BLE001  (any failure: the generic line is written instead)
        return False
    for name, want in zip(outs, wants):
        got, want = scope[name], np.asarray(want)
        if got.shape != want.shape or got.dtype != want.dtype or \
                got.tobytes() != np.ascontiguousarray(want).tobytes():
            return False
    return True
