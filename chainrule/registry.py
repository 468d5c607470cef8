"""Primitives and the helpers that declare them, by kind, so that one rule gives both modes.

Every rule has one signature::

    rule(ops, g, out, *xs, **params)

    ops      the vocabulary the rule computes with (``chainrule.ops.vocab``): NumPy on arrays
             for a plain ``backward()``, chainrule functions on Tensors when the derivative
             must itself be differentiable. Rules are written once, against ``ops``.
    g        what flows in: a cotangent (reverse mode) or a tangent (forward mode)
    out      the op's output (``None`` unless the op is declared ``uses_out``)
    xs       the op's inputs;  params: its keyword parameters (axis, shape, ...)

What a rule returns depends on the kind, and the kind turns it into both modes:

    elementwise  rules[i] = g·∂out/∂xᵢ.  The Jacobian is diagonal, so the same rule is the
                 vjp (g a cotangent) and the jvp term (g a tangent).
    reduction    rule = g·∂out/∂x with g and out broadcast back over the reduced axes.
                 vjp: the rule; jvp: the rule on the tangent, summed over the reduced axes.
    linear       rules[i] = the transpose applied to g: the cotangent of xᵢ.
                 jvp: the op itself applied to the tangents.
    multilinear  linear in each input separately (matmul, einsum, convolution): rules[i] is
                 the transpose in xᵢ.  jvp: Σᵢ op(x₀, …, dxᵢ, …, xₙ).
    general      explicit rules for ops that fit none of these: ``vjp[i]`` gives x̄ᵢ, and
                 ``jvp`` gets the tuple of input tangents as g (``None`` for a zero tangent).

A rule that takes a variable number of inputs (concatenate, einsum) is given as
``rule_for(i) -> rule`` instead of a tuple. Tangents may carry extra *leading* dimensions (a
batch of directions): rules use negative axes and trailing shapes, so they work unchanged.

From the rules the kinds build the two functions the engine calls:

    prim.vjp(ops, g, out, xs, params, needs) -> list of x̄ᵢ (None where not needed)
    prim.jvp(ops, dxs, out, xs, params)      -> ẏ, or None for a zero tangent
"""
from __future__ import annotations

PRIMITIVES: dict[str, Primitive] = {}

# A derivative that is the constant one: the rule passes ``g`` through without multiplying.
ONE = "one"
_NO_PARAMS: dict = {}


class Primitive:
    __slots__ = ("name", "kind", "forward", "vjp", "jvp", "formula", "uses_out", "sympy",
                 "nondiff", "saves", "views", "batch", "param", "__weakref__")

    def __init__(self, name, kind, forward, vjp, jvp, formula="", uses_out=False, sympy=None,
                 nondiff=(), saves=True, param=None):
        self.name = name
        self.kind = kind
        self.forward = forward
        self.vjp = vjp
        self.jvp = jvp
        self.formula = formula
        self.uses_out = uses_out
        self.sympy = sympy
        self.nondiff = nondiff  # indices of inputs that are never differentiated (masks, ints)
        # Whether the rules read the inputs' values: then an in-place change of an input
        # between recording and the backward pass is an error (see engine's version check).
        self.saves = saves
        # Whether the output may be a view of the input (linear ops: reshape, transpose,
        # getitem, ...): then it shares the input's version counter (apply.py).
        self.views = kind == "linear"
        # How ``vmap`` batches the op (``chainrule/batching.py``), set by its kind:
        # "broadcast" (inputs' batch dims broadcast, as elementwise ops and matmul), "lead"
        # (every input gets the same leading batch dims: linear ops, reductions), "self" (the
        # forward takes batches itself), a function ``batch(values, params, levels, sizes)``
        # for one op, or None (vmap refuses the op, naming it).
        self.batch = None
        # The name of the one parameter of an op of one input, passed to the forward and the
        # rules positionally: a ``**params`` call costs ~0.5 µs, and these are the commonest
        # ops of all (``x * 2``, ``y + 1``: their number ``c``; log_softmax's ``axis``).
        self.param = param

    def __repr__(self):
        return f"<primitive {self.name} ({self.kind})>"


# The library's own primitives (set once chainrule has imported): never replaced by name.
BUILTIN: frozenset = frozenset()


def register(prim: Primitive, *, replace: bool = False) -> Primitive:
    """Add ``prim`` to the registry by name; ``replace`` lets a user's op be declared again
    (a notebook cell run twice), never over one of chainrule's own."""
    if prim.name in PRIMITIVES and (not replace or prim.name in BUILTIN):
        raise ValueError(f"a primitive named {prim.name!r} is already registered"
                         + (" (one of chainrule's own: choose another name)"
                            if prim.name in BUILTIN else ""))
    PRIMITIVES[prim.name] = prim
    return prim


def one_element(sp, a, **params):
    """SymPy counterpart of a shape op (reshape, sum, ...) on the one-element values
    ``cr.symbolic`` works with: the element itself."""
    return a


def fit(ops, gx, shape):
    """Sum a cotangent back to an input's shape where the op broadcast it internally."""
    return gx if gx.shape == shape else ops.sum_to(gx, shape)


def broadcast_shape(*shapes: tuple) -> tuple | None:
    """The broadcast of ``shapes``, or None when they do not broadcast. (As
    ``np.broadcast_shapes``, at a third of its cost on the short tuples ops meet.)"""
    ndim = max(map(len, shapes))
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            m = out[i]
            if m == 1:
                out[i] = n
            elif n != 1 and n != m:
                return None
    return tuple(out)


def pad_core(d, core, target):
    """A batched tangent (leading batch dims + ``core`` dims) with size-1 dims inserted so
    that it has ``target`` core dims: its batch dims then never meet another operand's."""
    lead = d.shape[:d.ndim - core]
    if not lead or core >= target:
        return d
    return d.reshape(lead + (1,) * (target - core) + d.shape[d.ndim - core:])


def _rule_of(rules, rule_for):
    """Input position -> its rule, from a tuple of rules or a ``rule_for`` function."""
    if rule_for is not None:
        return rule_for
    return rules.__getitem__


def _call(rule, ops, g, out, xs, params):
    return rule(ops, g, out, *xs, **params) if params else rule(ops, g, out, *xs)


# ---------------------------------------------------------------------------------------------
# The kinds.

def elementwise(name, forward, *rules, formula="", uses_out=False, sympy=None, saves=True,
                replace=False, param=None):
    """An elementwise op of n inputs that broadcast (NumPy's rules); ``rules[i] = g·∂out/∂xᵢ``
    (``ONE`` for ∂out/∂xᵢ = 1, ``None`` for an input that is not differentiable), computed
    at the output's shape and summed back to the input's by the kind. ``param``: the name of
    the one parameter of a one-input op, passed positionally (``Primitive.param``)."""
    nondiff = tuple(i for i, r in enumerate(rules) if r is None)
    if len(rules) == 1:  # the common unary case, without loops (hot path)
        r = rules[0]
        if r is not ONE and param is not None:
            def vjp(ops, g, out, xs, p, needs):
                return [r(ops, g, out, xs[0], p[param])]

            def jvp(ops, dxs, out, xs, p):
                dx = dxs[0]
                return None if dx is None else r(ops, dx, out, xs[0], p[param])
        elif r is ONE:
            def vjp(ops, g, out, xs, p, needs):
                return [g]

            def jvp(ops, dxs, out, xs, p):
                return dxs[0]
        else:
            def vjp(ops, g, out, xs, p, needs):
                return [r(ops, g, out, xs[0], **p) if p else r(ops, g, out, xs[0])]

            def jvp(ops, dxs, out, xs, p):
                dx = dxs[0]
                if dx is None:
                    return None
                return r(ops, dx, out, xs[0], **p) if p else r(ops, dx, out, xs[0])
    else:
        # The inputs may differ in shape (NumPy broadcasting, ``h + b``): a term then has the
        # output's shape and ``fit`` sums it back to its input's here, the one place where
        # broadcasting is undone, so the forward records no broadcast_to node.
        def vjp(ops, g, out, xs, p, needs):
            return [None if not need or r is None else
                    fit(ops, g if r is ONE else _call(r, ops, g, out, xs, p), x.shape)
                    for r, need, x in zip(rules, needs, xs)]

        def jvp(ops, dxs, out, xs, p):
            shape = xs[0].shape
            same = all(x.shape == shape for x in xs)
            if not same:
                ndim = max(x.ndim for x in xs)
                shape = broadcast_shape(*[x.shape for x in xs])
            total = None
            for r, dx, x in zip(rules, dxs, xs):
                if dx is None or r is None:
                    continue
                if not same:  # batched tangents: core dims aligned before broadcasting
                    dx = pad_core(dx, x.ndim, ndim)
                term = dx if r is ONE else _call(r, ops, dx, out, xs, p)
                total = term if total is None else total + term
            if not same and total is not None and total.shape[total.ndim - ndim:] != shape:
                total = ops.broadcast_to(total, total.shape[:total.ndim - ndim] + shape)
            return total

    return _batched(register(Primitive(name, "elementwise", forward, vjp, jvp, formula,
                                       uses_out, sympy, nondiff, saves, param),
                             replace=replace), "broadcast")


def _kept_dims(shape_in, axis):
    n = len(shape_in)
    return tuple(1 if i - n in axis else s for i, s in enumerate(shape_in))


def reduction(name, forward, rule, *, formula="", uses_out=False, sympy=None, saves=True):
    """A reduction ``forward(x, axis, keepdims, shape_in)`` over ``axis`` (negative ints);
    ``rule = g·∂out/∂x`` where ``g`` (and ``out``) come broadcast back over the reduced axes."""

    def kept(ops, v, p):  # a reduced value with the reduced axes kept, as size 1
        return v if p["keepdims"] else ops.reshape(v, _kept_dims(p["shape_in"], p["axis"]))

    def vjp(ops, g, out, xs, p, needs):  # (a 0-d g, a total's, broadcasts as it is)
        g = ops.broadcast_to(kept(ops, g, p) if g.ndim else g, p["shape_in"])
        return [rule(ops, g, out if out is None else kept(ops, out, p), xs[0], **p)]

    def jvp(ops, dxs, out, xs, p):
        w = rule(ops, dxs[0], out if out is None else kept(ops, out, p), xs[0], **p)
        return ops.sum(w, axis=p["axis"], keepdims=p["keepdims"])

    return _batched(register(Primitive(name, "reduction", forward, vjp, jvp, formula,
                                       uses_out, sympy, (), saves)), "lead")


def linear(name, forward, *rules, rule_for=None, formula="", nondiff=(), sympy=None,
           replace=False):
    """An op linear in its inputs; ``rules[i]`` is its transpose for input i. The forward
    must accept inputs with extra leading dimensions: it is then its own jvp."""
    rule_of = _rule_of(rules, rule_for)

    def vjp(ops, g, out, xs, p, needs):
        if len(xs) == 1:  # most linear ops: reshape, transpose, broadcast, getitem, ...
            r = rule_of(0)
            return [r(ops, g, out, xs[0], **p) if p else r(ops, g, out, xs[0])]
        return [_call(rule_of(i), ops, g, out, xs, p) if need else None
                for i, need in enumerate(needs)]

    def jvp(ops, dxs, out, xs, p):  # the op itself, on the tangents
        if len(dxs) == 1:
            return None if dxs[0] is None else ops.apply(prim, dxs, p)
        if all(dx is None for dx in dxs):
            return None
        return ops.apply(prim, _zero_filled(ops, xs, dxs), p)

    prim = Primitive(name, "linear", forward, vjp, jvp, formula, False, sympy, nondiff,
                     saves=False)
    return _batched(register(prim, replace=replace), "lead")


def _zero_filled(ops, xs, dxs):
    """The tangents with absent (zero) ones made explicit, carrying the others' batch dims."""
    if all(dx is not None for dx in dxs):
        return tuple(dxs)
    lead = next(dx.shape[:dx.ndim - x.ndim] for x, dx in zip(xs, dxs) if dx is not None)
    return tuple(ops.zeros(lead + x.shape, x.dtype) if dx is None else dx
                 for x, dx in zip(xs, dxs))


def multilinear(name, forward, *rules, rule_for=None, batch=None, formula="", sympy=None):
    """An op linear in each input separately; ``rules[i]`` is its transpose in input i.

    The jvp applies the op with one input replaced by its tangent, for each input.
    ``batch(ops, prim, xs, i, dx, params)``, optional, applies the op where the tangent ``dx``
    at input i carries leading batch dimensions the op cannot broadcast (convolution folds
    them into an axis); by default they are broadcast against the other inputs.
    """
    rule_of = _rule_of(rules, rule_for)

    def vjp(ops, g, out, xs, p, needs):
        return [fit(ops, _call(rule_of(i), ops, g, out, xs, p), xs[i].shape) if need else None
                for i, need in enumerate(needs)]

    def jvp(ops, dxs, out, xs, p):
        total = None
        target = max(x.ndim for x in xs)
        for i, dx in enumerate(dxs):
            if dx is None:
                continue
            if batch is not None and dx.ndim > xs[i].ndim:
                term = batch(ops, prim, xs, i, dx, p)
            else:
                args = list(xs)
                args[i] = pad_core(dx, xs[i].ndim, target)
                term = ops.apply(prim, tuple(args), p)
            total = term if total is None else total + term
        return total

    # vmap: batch dims broadcast as matmul's do; an op with its own ``batch`` (convolution,
    # einsum) batches one input that way.
    prim = Primitive(name, "multilinear", forward, vjp, jvp, formula, False, sympy)
    return _batched(register(prim), "broadcast" if batch is None else batch)


def general(name, forward, *, vjp, jvp, formula="", uses_out=False, sympy=None, nondiff=(),
            replace=False, batch=None, param=None):
    """Any other op: ``vjp[i]`` gives x̄ᵢ, ``jvp`` gets the tuple of tangents as ``g``.
    Declare by kind where one fits; use this only with a comment saying why none does.
    ``param``: as for ``elementwise``."""
    vjp_rules = tuple(vjp)
    if param is not None:  # one input, one parameter (log_softmax's axis)
        rule0 = vjp_rules[0]

        def vjp_(ops, g, out, xs, p, needs):
            return [rule0(ops, g, out, xs[0], p[param])]
    else:
        def vjp_(ops, g, out, xs, p, needs):
            if p:
                return [r(ops, g, out, *xs, **p) if need and r is not None else None
                        for r, need in zip(vjp_rules, needs)]
            return [r(ops, g, out, *xs) if need and r is not None else None
                    for r, need in zip(vjp_rules, needs)]

    def jvp_(ops, dxs, out, xs, p):
        return _call(jvp, ops, tuple(dxs), out, xs, p)

    return _batched(register(Primitive(name, "general", forward, vjp_, jvp_, formula, uses_out,
                                       sympy, nondiff, param=param), replace=replace), batch)


def _batched(prim, batch):
    prim.batch = batch
    return prim
