"""Function transforms (JAX-shaped) and ``gradient``/``backward`` (PyTorch-shaped).

All reverse-mode entry points go through one function, ``engine.sweep``.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import engine, forward, registry, tree
from .apply import apply
from .engine import STATE, leaf_node, sweep, tensor_mode_needed, toposort
from .errors import ShapeError, describe
from .ops import astype, reshape, stack, transpose
from .ops import sum as reduce_sum
from .ops.shape import as_tensor
from .registry import linear
from .tensor import Tensor, new_tensor, tensor

# The leaf nodes of the variables transforms make (``_variable``): a graph that reaches one
# of them depends on a transform's own input, never on a user's tensor (not a closure).
_VARIABLES: weakref.WeakSet = weakref.WeakSet()


def _as_list(v):
    return (list(v), True) if isinstance(v, (tuple, list)) else ([v], False)


def _seed(o, g, where):
    """The cotangent that starts the sweep at output ``o``."""
    if g is None:
        d = o._data  # not o.size: the PyTorch-style callable int costs a microsecond
        if d.size != 1:
            raise ShapeError(f"{where}: {describe(o)} has {d.size} elements; pass a gradient "
                             "of the same shape (grad may be omitted only for one element)")
        one = np.empty(d.shape, d.dtype)  # np.ones is Python-level: 4x the cost
        one.fill(1)
        return new_tensor(one)
    g = as_tensor(g)
    if g.shape != o.shape:
        raise ShapeError(f"{where}: gradient of shape {g.shape} for {describe(o)}")
    return g if g.dtype == o.dtype else astype(g, o.dtype)


def _roots(outputs, grad_outputs, where, tensor_mode):
    nodes, gs = [], []
    for o, g in zip(outputs, grad_outputs):
        if not o._requires_grad:
            raise RuntimeError(f"{where}: {describe(o)} does not require grad and has no graph; "
                               "did you forget requires_grad=True, or run it under no_grad?")
        nodes.append(o._node or leaf_node(o))
        g = _seed(o, g, where)
        gs.append(g if tensor_mode else g._data)
    return nodes, gs


def backward(t, grad=None, *, retain_graph=False, create_graph=False):
    """Accumulate ∂t/∂leaf into every leaf's ``.grad`` (PyTorch semantics): the sweep's
    cotangents for the leaves, added to what ``.grad`` holds.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (x * x).backward()
    >>> x.grad.item()
    6.0
    """
    order = None if create_graph else _vmap_order([t])
    forced = order is not None
    if forced:
        create_graph = True  # through a vmap: batched values need Tensor-mode rules
    else:
        retain_graph = retain_graph or create_graph
    tensor_mode = tensor_mode_needed(create_graph)
    nodes, gs = _roots([t], [grad], "backward", tensor_mode)
    found = sweep(nodes, gs, retain_graph=retain_graph, create_graph=create_graph,
                  order=order)
    given: set = set()
    batched = tensor_mode and engine.BATCHING.used  # values of a finished vmap may reach here
    for node, g in found.items():
        leaf = node.tensor_ref()
        if leaf is not None:
            if batched:
                g = _closed_levels_summed(g, leaf)
                if forced:
                    g = _plain(g)
            _accumulate(leaf, g, tensor_mode, given)


def _accumulate(t, g, tensor_mode, given):
    """Add ``g`` into ``t.grad``. A raw ``.grad`` is an array of its own (writable, aliasing
    no other leaf's: ``given`` holds those handed out), so optimizers may update it in place."""
    if tensor_mode:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is not None:
        g = t.grad._data + g
    elif g.base is not None or not g.flags.writeable or id(g) in given:
        g = g.copy()
    given.add(id(g))
    t.grad = new_tensor(g)


def gradient(outputs, inputs, grad_outputs=None, *, create_graph=False, retain_graph=None):
    """d outputs / d inputs, like ``torch.autograd.grad``; returns a tuple of Tensors.

    Inputs the outputs do not depend on get zeros (as JAX), not an error.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> cr.gradient(x ** 3, x)[0].item()
    12.0
    """
    outs, _ = _as_list(outputs)
    ins, _ = _as_list(inputs)
    gos = _as_list(grad_outputs)[0] if grad_outputs is not None else [None] * len(outs)
    if len(gos) != len(outs):
        raise ValueError(f"gradient: {len(outs)} outputs but {len(gos)} grad_outputs")
    for x in ins:
        if not isinstance(x, Tensor) or not x._requires_grad:
            raise RuntimeError(f"gradient: input {describe(as_tensor(x))} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    return _gradient(outs, ins, gos, create_graph, retain_graph)


def _gradient(outs, ins, gos, create_graph, retain_graph, order=None):
    """``gradient`` on checked lists; ``order`` is the outputs' graph, when already sorted."""
    if not create_graph and order is None:
        order = _vmap_order(outs)
        if order is not None:
            # Batched values need Tensor-mode rules; the caller asked for plain results.
            gs = _gradient(outs, ins, gos, True, retain_graph, order)
            return tuple(_plain(g) for g in gs)
    tensor_mode = tensor_mode_needed(create_graph)
    nodes, gs = _roots(outs, gos, "gradient", tensor_mode)
    targets = [x._node or leaf_node(x) for x in ins]
    found = sweep(nodes, gs, targets, retain_graph=retain_graph, create_graph=create_graph,
                  order=order)
    result = []
    for x, node in zip(ins, targets):
        g = found.get(node)
        if g is None:
            g = np.zeros(x.shape, x.dtype)
        result.append(_closed_levels_summed(g if isinstance(g, Tensor) else new_tensor(g), x))
    return tuple(result)


def _closed_levels_summed(g, x):
    """A gradient for ``x`` that still carries the batch of a finished ``vmap`` (``x`` was
    shared by all its examples: grad of a vmap) is that batch's sum."""
    levels = getattr(g._data, "batch_levels", ())
    if not levels:
        return g
    mine = getattr(x._data, "batch_levels", ())
    unbatch = registry.PRIMITIVES["vmap_out"]
    for level in levels:
        if level in mine or level in engine.BATCHING.open:
            continue
        g = reduce_sum(apply(unbatch, (g,), {"level": level, "axis": 0, "size": 1,
                                             "ndim": g.ndim}), axis=0)
    return g


# -- grad and friends -------------------------------------------------------------------------
IDENTITY = linear("identity", lambda x: x, lambda ops, g, out, x: g, formula="∂x/∂x = 1",
                  sympy=lambda sp, a: a)


def _run(f, args, kwargs=None):
    """Call ``f`` as a reverse transform does: with grad recording on and the thread's
    transform depth raised (restored in ``finally``, with no call in between: interrupt-safe)."""
    prev_mode, prev_depth = STATE.mode, STATE.depth
    mode = prev_mode.replace(grad_enabled=True)
    STATE.mode, STATE.depth = mode, prev_depth + 1
    try:
        return f(*args, **(kwargs or {}))
    finally:
        STATE.mode, STATE.depth = prev_mode, prev_depth


def differentiable(inputs, outputs=(), variables=()) -> bool:
    """The one rule, for every transform, for when its results must stay differentiable in
    reverse mode (keep a graph): inside a reverse transform (grad, vjp), when an input
    (argument or cotangent) requires grad, or when ``outputs`` depend on a tensor that requires
    grad besides the transform's own ``variables`` (a closure). Otherwise results are plain
    values and no graph is kept. Forward-mode tangents need no graph: they always flow."""
    if STATE.depth > 0:
        return True
    if any(isinstance(a, Tensor) and a._requires_grad for a in inputs):
        return True
    own = {v._node for v in variables}
    roots = [o._node for o in outputs if isinstance(o, Tensor) and o._node is not None]
    return any(n.prim is None and n not in own and n not in _VARIABLES
               for n in toposort(roots)) if roots else False


def _vmap_order(outputs):
    """The graph of ``outputs``, sorted for the sweep, if it passes through a ``vmap`` (else
    None): it holds batched values, which only Tensor-mode rules handle, so a sweep through it
    runs as with create_graph. Costs nothing until a vmap has run."""
    if not engine.BATCHING.used:
        return None
    roots = [o._node for o in outputs if isinstance(o, Tensor) and o._node is not None]
    order = toposort(roots)
    through = any(n.prim is not None and n.prim.name in ("vmap_in", "vmap_out") for n in order)
    return order if through else None


def _variable(a):
    """A fresh differentiable variable standing for argument ``a``.

    A tensor that requires grad gets an identity node: it stays connected to outer graphs
    yet is a distinct variable, so nested grads never confuse their perturbations.
    """
    if isinstance(a, Tensor) and a._requires_grad:
        prev = STATE.mode
        STATE.mode = prev.replace(grad_enabled=True)
        try:
            return apply(IDENTITY, (a,))
        finally:
            STATE.mode = prev
    if isinstance(a, Tensor) and a._tangents:  # keep its forward-mode tangents
        return forward.view(a, a._tangents).requires_grad_(True)
    t = a.detach() if isinstance(a, Tensor) else tensor(a)
    t.requires_grad_(True)
    _VARIABLES.add(leaf_node(t))
    return t


def _argnums(argnums, nargs):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"argnums {argnums} out of range for {nargs} arguments")
    return nums


def _plain(t):
    """``t`` cut from its graph, keeping forward-mode tangents (jvp of a grad)."""
    return forward.view(t.detach(), t._tangents)


def value_and_grad(f, argnums=0, *, has_aux=False):
    """``f`` -> a function returning ``(f(*args), ∂f/∂args[argnums])`` (JAX semantics).

    >>> import chainrule as cr
    >>> vg = cr.value_and_grad(lambda x: (x ** 2).sum())
    >>> v, g = vg(cr.tensor([1.0, 2.0]))
    >>> v.item(), g.tolist()
    (5.0, [2.0, 4.0])
    """
    def wrapped(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        args = list(args)
        original = tree.leaves([args[i] for i in nums])
        specs, variables = [], []
        for i in nums:  # each differentiated argument may be a pytree of tensors
            leaves, spec = tree.flatten(args[i])
            vs = [_variable(a) for a in leaves]
            args[i] = tree.unflatten(spec, vs)
            specs.append((spec, len(vs)))
            variables += vs
        out = _run(f, args, kwargs)
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("grad(has_aux=True): f must return a pair (value, aux)")
            out, aux = out
        value = as_tensor(out)
        if value.size != 1:
            raise ShapeError(f"grad: f must return a single-element tensor, got {describe(value)}"
                             "; use jacobian or vjp for non-scalar outputs")
        create = False
        if value._requires_grad:
            create = differentiable(original, [value], variables)
            grads = _gradient([value], variables, [None], create, create)
        else:  # f does not depend on its arguments
            grads = tuple(new_tensor(np.zeros(v.shape, v.dtype)) for v in variables)
        trees, k = [], 0
        for spec, n in specs:
            trees.append(tree.unflatten(spec, grads[k:k + n]))
            k += n
        grads = trees[0] if isinstance(argnums, int) else tuple(trees)
        if not create:
            value = _plain(value)
        return ((value, aux), grads) if has_aux else (value, grads)

    return wrapped


def grad(f, argnums=0, *, has_aux=False):
    """``f`` -> a function returning ∂f/∂args[argnums]; composes: ``grad(grad(f))`` works.

    >>> import chainrule as cr
    >>> d2 = cr.grad(cr.grad(lambda x: x ** 3))
    >>> d2(2.0).item()
    12.0
    """
    vg = value_and_grad(f, argnums, has_aux=has_aux)

    def wrapped(*args, **kwargs):
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    return wrapped


def vjp(f, *primals):
    """See ``_vjp``; primals, results and cotangents may be pytrees: ``vjp_fn`` then takes a
    cotangent of the results' structure and returns one pytree per primal.

    >>> import chainrule as cr
    >>> out, pullback = cr.vjp(lambda p: {"y": p["a"] * 3}, {"a": cr.tensor(2.0)})
    >>> pullback({"y": cr.tensor(1.0)})[0]["a"].item()
    3.0
    """
    if all(tree.structure(p).kind is None for p in primals):
        return _vjp(f, *primals)
    flat_p, spec = tree.flatten(list(primals))
    out_spec = []

    def flat_f(*leaves):
        lv, s = tree.flatten(f(*tree.unflatten(spec, leaves)))
        out_spec.append(s)
        return tuple(lv)

    out, pull = _vjp(flat_f, *flat_p)

    def vjp_fn(cotangent):
        cts, s = tree.flatten(cotangent)
        if s != out_spec[0]:
            raise ValueError("vjp: the cotangent's structure differs from the result's")
        return tuple(tree.unflatten(spec, pull(tuple(cts))))

    return tree.unflatten(out_spec[0], out), vjp_fn


def _vjp(f, *primals):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(cotangent)`` returns a tuple of Jᵀ·cotangent,
    one per primal. ``vjp_fn`` may be called many times, and is itself differentiable (in
    the cotangent too) whenever its result can be differentiated further.

    >>> import chainrule as cr
    >>> out, pullback = cr.vjp(lambda x: x * 3, cr.tensor(2.0))
    >>> pullback(cr.tensor(1.0))[0].item()
    3.0
    """
    xs = [_variable(p) for p in primals]
    out = _run(f, xs)
    outs, is_seq = _as_list(out)
    outs = [as_tensor(o) for o in outs]
    stays = differentiable(primals, outs, xs)

    def vjp_fn(cotangent):
        cts, _ = _as_list(cotangent) if is_seq else ([cotangent], False)
        live = [(o, c) for o, c in zip(outs, cts) if o._requires_grad]
        if not live:
            return tuple(new_tensor(np.zeros(x.shape, x.dtype)) for x in xs)
        create = stays or differentiable([c for _, c in live])
        return _gradient([o for o, _ in live], xs, [c for _, c in live], create, True)

    values = outs if stays else [_plain(o) for o in outs]
    return (tuple(values) if is_seq else values[0]), vjp_fn


def jvp(f, primals, tangents, *, batched=False):
    """See ``_jvp``; ``primals`` and ``tangents`` may hold pytrees (of equal structure).

    >>> import chainrule as cr
    >>> out, t = cr.jvp(lambda p: p["a"] * p["b"], ({"a": 2.0, "b": 3.0},),
    ...                 ({"a": 1.0, "b": 0.0},))
    >>> t.item()
    3.0
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    flat_p, spec = tree.flatten(list(primals))
    flat_t, spec_t = tree.flatten(list(tangents))
    if spec != spec_t:
        raise ValueError("jvp: primals and tangents have different structures")
    if all(tree.structure(p).kind is None for p in primals):
        return _jvp(f, primals, tangents, batched=batched)
    out_spec = []

    def flat_f(*leaves):
        out = f(*tree.unflatten(spec, leaves))
        lv, s = tree.flatten(out)
        out_spec.append(s)
        return tuple(lv)

    out, t = _jvp(flat_f, flat_p, flat_t, batched=batched)
    return tree.unflatten(out_spec[0], out), tree.unflatten(out_spec[0], t)


def _jvp(f, primals, tangents, *, batched=False):
    """``(f(*primals), J·tangents)`` by true forward mode (no reverse pass).

    With ``batched=True`` every tangent has one extra leading dimension of the same size B,
    and the output tangent has it too: B directions in one vectorized pass.

    >>> import chainrule as cr
    >>> out, t = cr.jvp(cr.sin, (0.0,), (2.0,))
    >>> t.item()
    2.0
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    ps = [as_tensor(p) for p in primals]
    ts = [as_tensor(t) for t in tangents]
    lead = None
    for p, t in zip(ps, ts):
        core = t.shape[1:] if batched else t.shape
        if core != p.shape or (batched and lead is not None and t.shape[0] != lead):
            raise ShapeError(f"jvp: tangent of shape {t.shape} for primal {describe(p)}"
                             + (" (batched: expected (B,) + primal shape)" if batched else ""))
        lead = t.shape[0] if batched else None
    batch = (lead,) if batched else ()
    level = forward.new_level()
    xs = [forward.attach(p, level, t if t.dtype == p.dtype else astype(t, p.dtype))
          for p, t in zip(ps, ts)]
    prev = STATE.mode
    mode = prev.replace(fw_levels=prev.fw_levels + (level,))
    STATE.mode = mode
    try:
        outs, is_seq = _as_list(f(*xs))
    finally:
        STATE.mode = prev
    outs = [as_tensor(o) for o in outs]
    prim_out = [forward.strip(o, level) for o in outs]
    tan_out = [forward.tangent_of(o, level) for o in outs]
    tan_out = [t if t is not None else new_tensor(np.zeros(batch + o.shape, o.dtype))
               for o, t in zip(prim_out, tan_out)]
    if not differentiable(list(primals) + list(tangents)):
        # Nothing outside asked for a graph (grads taken inside f build one): hand back values
        # without it (keeping outer jvps' tangents), so no dead graph is kept alive.
        prim_out = [_plain(o) for o in prim_out]
        tan_out = [_plain(t) for t in tan_out]
    if is_seq:
        return tuple(prim_out), tuple(tan_out)
    return prim_out[0], tan_out[0]


def _jacobian_forward(f, args, nums):
    """Columns by forward mode: one batched jvp per argument, identity as the tangents."""
    cols = []
    for i in nums:
        x = as_tensor(args[i])
        n = x.size
        basis = new_tensor(np.eye(n, dtype=x.dtype if x.dtype.kind == "f" else None)
                           .reshape((n,) + x.shape))

        def f_i(xi, i=i):
            return f(*[xi if j == i else a for j, a in enumerate(args)])

        out, t = jvp(f_i, (x,), (basis,), batched=True)
        outs, is_seq = _as_list(out)
        ts, _ = _as_list(t)
        blocks = [reshape(transpose(tk, tuple(range(1, tk.ndim)) + (0,)), o.shape + x.shape)
                  for o, tk in zip(outs, ts)]
        cols.append((blocks, is_seq))
    return cols


def _jacobian_reverse(f, args, nums):
    """Rows by reverse mode: one vjp per output element."""
    xs = [args[i] for i in nums]

    def f_sel(*sel):
        full = list(args)
        for i, v in zip(nums, sel):
            full[i] = v
        return f(*full)

    out, pullback = vjp(f_sel, *xs)
    outs, is_seq = _as_list(out)
    per_out = []
    for k, o in enumerate(outs):
        rows = [[] for _ in xs]
        for e in range(o.size):
            ct = [np.zeros(q.shape, q.dtype) for q in outs]
            ct[k].reshape(-1)[e] = 1
            gs = pullback(tuple(map(new_tensor, ct)) if is_seq else new_tensor(ct[0]))
            for r, g in zip(rows, gs):
                r.append(g)
        per_out.append([reshape(stack(r), o.shape + as_tensor(x).shape) if r else
                        new_tensor(np.zeros(o.shape + as_tensor(x).shape))
                        for r, x in zip(rows, xs)])
    return per_out, is_seq


def jacobian(f, argnums=0, *, mode="reverse"):
    """``f`` -> a function returning ∂f/∂args[argnums], shaped ``out.shape + arg.shape``.

    ``mode="forward"`` pushes all columns through one batched jvp; ``"reverse"`` pulls one
    row per output element. Tuple ``argnums`` or tuple outputs give (nested) tuples.

    >>> import chainrule as cr
    >>> cr.jacobian(lambda x: x * x)(cr.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if mode not in ("forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'forward' or 'reverse', got {mode!r}")

    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        specs, flat = [], []
        for i in nums:  # differentiated arguments may be pytrees: one column block per leaf
            leaves, spec = tree.flatten(args[i])
            specs.append((spec, len(leaves)))
            flat += [as_tensor(v) for v in leaves]
        out_spec = []

        def flat_f(*leaves):
            full, k = list(args), 0
            for i, (spec, n) in zip(nums, specs):
                full[i] = tree.unflatten(spec, leaves[k:k + n])
                k += n
            out_leaves, s = tree.flatten(f(*full))
            out_spec[:] = [s]
            return tuple(out_leaves)

        every = tuple(range(len(flat)))
        if mode == "forward":
            cols = _jacobian_forward(flat_f, flat, every)
            table = [[cols[j][0][k] for j in every] for k in range(len(cols[0][0]))]
        else:
            table, _ = _jacobian_reverse(flat_f, flat, every)
        per_out = []
        for row in table:  # one output leaf: its blocks arranged as the arguments
            trees, k = [], 0
            for spec, n in specs:
                trees.append(tree.unflatten(spec, row[k:k + n]))
                k += n
            per_out.append(trees[0] if isinstance(argnums, int) else tuple(trees))
        return tree.unflatten(out_spec[0], per_out)

    return wrapped


def hessian(f, argnums=0):
    """``f`` -> a function returning ∂²f/∂x², forward-over-reverse (``jacobian`` in forward
    mode of ``grad``): one batched forward pass through the backward pass.

    >>> import chainrule as cr
    >>> h = cr.hessian(lambda x: (x ** 3).sum())
    >>> h(cr.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    return jacobian(grad(f, argnums), argnums, mode="forward")


def hvp(f, primals, tangents):
    """Hessian-vector product H·v of scalar ``f`` at ``primals`` (forward-over-reverse).

    Returns one Tensor per primal (a single Tensor when there is one primal).

    >>> import chainrule as cr
    >>> cr.hvp(lambda x: (x ** 3).sum(), (cr.tensor([1.0, 2.0]),),
    ...        (cr.tensor([1.0, 0.0]),)).tolist()
    [6.0, 0.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)  # each may be a pytree
    nums = tuple(range(len(primals)))
    g = grad(f, argnums=nums)
    _, out = jvp(lambda *xs: g(*xs), primals, tangents)
    return out[0] if len(primals) == 1 else out


def jacfwd(f, argnums=0):
    """``jacobian(f, argnums, mode="forward")`` (as ``jax.jacfwd``): one batched forward
    pass per argument; best when outputs outnumber inputs.

    >>> import chainrule as cr
    >>> cr.jacfwd(lambda x: x * x)(cr.tensor([1.0, 3.0])).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """
    return jacobian(f, argnums, mode="forward")


def jacrev(f, argnums=0):
    """``jacobian(f, argnums, mode="reverse")`` (as ``jax.jacrev``): one pullback per output
    element; best when inputs outnumber outputs.

    >>> import chainrule as cr
    >>> cr.jacrev(lambda x: x.sum() * x)(cr.tensor([1.0, 2.0])).tolist()
    [[4.0, 1.0], [2.0, 5.0]]
    """
    return jacobian(f, argnums, mode="reverse")


def stop_gradient(x):
    """``x`` as a constant: no gradient (either mode) flows through it; pytrees leaf by leaf.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * cr.stop_gradient(x))(3.0).item()
    3.0
    """
    return tree.map(lambda t: t.detach() if isinstance(t, Tensor) else t, x)
