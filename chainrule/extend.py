"""Declaring new differentiable primitives from outside the package, the way chainrule
declares its own: one rule signature, ``rule(ops, g, out, *xs, **params)`` (see
``chainrule.registry`` for what each kind's rule returns).

>>> import chainrule as cr, numpy as np
>>> @cr.extend.elementwise(lambda ops, g, out, x: g * 3 * x * x, formula="d/dx x³ = 3x²")
... def cube(x):
...     return x ** 3
>>> cr.grad(cr.grad(cube))(2.0).item()
12.0
"""
from __future__ import annotations

import numpy as np

from . import registry
from .apply import apply
from .engine import no_grad
from .ops.elementwise import nary
from .ops.shape import as_tensor
from .tensor import Tensor, new_tensor
from .transforms import jvp as _jvp
from .transforms import vjp as _vjp


def _front(prim, doc):
    def fn(*xs, **params):
        return nary(prim, *xs, params=params or None)
    fn.primitive = prim
    fn.__name__ = prim.name
    fn.__doc__ = doc
    return fn


def elementwise(*rules, name=None, formula="", uses_out=False, sympy=None):
    """Decorate a NumPy forward ``f(*arrays, **params)``; ``rules[i](ops, g, out, *xs,
    **params)`` is g·∂out/∂xᵢ, written with ``ops`` functions and operators. ``sympy(sp, *xs,
    **params)``, optional, is the op on SymPy expressions, for ``cr.symbolic``."""
    def deco(forward):
        prim = registry.elementwise(name or forward.__name__, forward, *rules,
                                    formula=formula, uses_out=uses_out, sympy=sympy,
                                    replace=True)
        return _front(prim, forward.__doc__)
    return deco


def linear(*rules, name=None, formula="", sympy=None):
    """Decorate the NumPy forward of a linear op; ``rules[i](ops, g, out, *xs, **params)``
    is its transpose for input i. The forward must accept extra leading dimensions."""
    def deco(forward):
        prim = registry.linear(name or forward.__name__, forward, *rules, formula=formula,
                               sympy=sympy, replace=True)
        return _front(prim, forward.__doc__)
    return deco


def primitive(*, vjp, jvp, name=None, formula="", uses_out=False, sympy=None):
    """Decorate the NumPy forward of any op: ``vjp[i](ops, g, out, *xs, **params)`` gives x̄ᵢ
    and ``jvp(ops, g, out, *xs, **params)`` the output tangent, ``g`` being the tuple of the
    inputs' tangents (``None`` for zero)."""
    def deco(forward):
        prim = registry.general(name or forward.__name__, forward, vjp=vjp, jvp=jvp,
                                formula=formula, uses_out=uses_out, sympy=sympy, replace=True)
        return _front(prim, forward.__doc__)
    return deco


def _on_arrays(fun, nondiff=(), fixed=()):
    """A primitive's NumPy forward from a composite function of Tensors (without a graph).

    The custom rules below hand ``apply`` the value they computed already (``data=``), so
    this runs only where something calls ``prim.forward`` itself. Its batch style is "self":
    on vmap's batches it runs ``fun`` on them as they are."""
    def forward(*xs, **params):
        with no_grad():
            args = _merge(nondiff, params.get("res", (fixed,))[0] if params else fixed,
                          [new_tensor(x) for x in xs])
            return as_tensor(fun(*args))._data
    return forward


class custom_vjp:  # noqa: N801  (named like jax.custom_vjp)
    """Give a composite function a hand-written reverse rule, as ``jax.custom_vjp``::

        @cr.custom_vjp
        def f(x): ...
        def f_fwd(x): return f(x), residuals
        def f_bwd(residuals, g): return (x̄,)
        f.defvjp(f_fwd, f_bwd)

    ``f_bwd`` runs on Tensors (so its own ops are differentiable for higher orders);
    forward mode differentiates ``f`` itself. ``f_fwd`` may call ``f`` (it then runs ``f``
    itself). With ``nondiff_argnums``, those arguments are passed as they are (not made
    Tensors, never differentiated) and come first in ``f_bwd``: ``f_bwd(*nondiff, res, g)``.

    >>> import chainrule as cr
    >>> @cr.custom_vjp
    ... def f(x):
    ...     return cr.sin(x)
    >>> f.defvjp(lambda x: (f(x), cr.cos(x)), lambda cos_x, g: (g * cos_x,))  # doctest: +ELLIPSIS
    <...custom_vjp object at ...>
    >>> round(cr.grad(f)(0.5).item(), 6)   # cos(0.5)
    0.877583
    """

    def __init__(self, fun=None, nondiff_argnums=()):
        if fun is None:  # used as @custom_vjp(nondiff_argnums=(...))
            raise TypeError("custom_vjp: pass the function: custom_vjp(f, nondiff_argnums=...)"
                            " or functools.partial(custom_vjp, nondiff_argnums=...)")
        self.fun = fun
        self.nondiff = tuple(sorted(nondiff_argnums))
        self._in_fwd = 0  # while fwd runs, a call of f is f itself (fwd may call f)
        self.fwd = self.bwd = None
        self.__name__ = getattr(fun, "__name__", "custom_vjp")
        self.__doc__ = fun.__doc__
        self.prim = registry.general(  # named apart from chainrule's own primitives
            f"custom_vjp({self.__name__})", _on_arrays(fun, self.nondiff), vjp=(), jvp=self._jvp,
            formula="custom vjp", replace=True, batch="self")
        self.prim.vjp = self._vjp  # bwd gives every input's cotangent at once

    def defvjp(self, fwd, bwd):
        """Set ``fwd(*args) -> (f(*args), residuals)`` and ``bwd(residuals, g) -> the
        cotangents of the arguments`` (a tuple); returns this function.

        >>> import chainrule as cr
        >>> square = cr.custom_vjp(lambda x: x * x)
        >>> _ = square.defvjp(lambda x: (x * x, x), lambda x, g: (2 * g * x,))
        >>> cr.grad(square)(3.0).item()
        6.0
        """
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp {self.__name__}: call defvjp(fwd, bwd) first")
        if self._in_fwd:
            return self.fun(*args)
        fixed, xs = _split(self.nondiff, args)
        self._in_fwd += 1
        try:  # residuals keep their graph: bwd's result is differentiable (higher orders)
            out, res = self.fwd(*self._merge(fixed, xs))
        finally:
            self._in_fwd -= 1
        out = as_tensor(out)
        # The value goes in as ``data``, not a param: params live as long as the graph.
        return apply(self.prim, xs, {"res": (fixed, res)}, data=out._data)

    def _merge(self, fixed, xs):
        return _merge(self.nondiff, fixed, xs)

    def _vjp(self, ops, g, out, xs, params, needs):
        """The user's bwd gives every input's cotangent at once: one rule for all inputs."""
        fixed, res = params["res"]
        gs = self.bwd(*fixed, res, g if isinstance(g, Tensor) else new_tensor(g))
        gs = tuple(gs) if isinstance(gs, (tuple, list)) else (gs,)
        if len(gs) != len(xs):
            raise ValueError(f"custom_vjp {self.__name__}: bwd returned {len(gs)} cotangents "
                             f"for {len(xs)} inputs")
        res = []
        for gi, x, need in zip(gs, xs, needs):
            if not need or gi is None:
                res.append(None)
                continue
            gi = as_tensor(gi)
            if gi.shape != x.shape:
                raise ValueError(f"custom_vjp {self.__name__}: bwd returned shape {gi.shape} "
                                 f"for an input of shape {x.shape}")
            res.append(gi if ops.is_tensor else gi._data)
        return res

    def _jvp(self, ops, g, out, *xs, res):
        batched, tans = _tangents(xs, g)
        fixed = res[0]
        return _jvp(lambda *d: self.fun(*self._merge(fixed, d)), xs, tans, batched=batched)[1]


def _tangents(xs, dxs):
    """The tangents with zeros for absent ones, and whether they carry a batch of
    directions (extra leading dims, as ``jvp(..., batched=True)`` and ``jacfwd`` send)."""
    batched = any(d is not None and d.ndim > x.ndim for x, d in zip(xs, dxs))
    lead = next((d.shape[:d.ndim - x.ndim] for x, d in zip(xs, dxs) if d is not None), ())
    return batched, [d if d is not None else new_tensor(np.zeros(lead + x.shape, x.dtype))
                     for x, d in zip(xs, dxs)]


def _split(nondiff, args):
    """(the non-differentiable arguments, the others as Tensors)."""
    fixed = tuple(args[i] for i in nondiff)
    return fixed, tuple(as_tensor(a) for i, a in enumerate(args) if i not in nondiff)


def _merge(nondiff, fixed, xs):
    """The full argument list from the non-differentiable and the other arguments."""
    it_f, it_x = iter(fixed), iter(xs)
    return [next(it_f) if i in nondiff else next(it_x) for i in range(len(fixed) + len(xs))]


class custom_jvp:  # noqa: N801  (named like jax.custom_jvp)
    """Give a function a hand-written forward-mode rule, as ``jax.custom_jvp``::

        @cr.custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (dx,) = primals, tangents
            return f(x), <the tangent, linear in dx>

    Reverse mode uses the same rule, transposed: the tangent it returns is linear in the
    tangents, so reverse mode through that linear map gives the cotangents (JAX's
    linearize-and-transpose). With ``nondiff_argnums``, the rule gets those arguments
    first: ``rule(*nondiff, primals, tangents)``.

    >>> import chainrule as cr
    >>> @cr.custom_jvp
    ... def log1pexp(x):
    ...     return cr.log(1 + cr.exp(x))
    >>> @log1pexp.defjvp
    ... def _(primals, tangents):
    ...     (x,), (dx,) = primals, tangents
    ...     return log1pexp(x), dx * cr.sigmoid(x)   # stable where exp(x) overflows
    >>> cr.grad(log1pexp)(100.0).item()
    1.0
    """

    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun
        self.nondiff = tuple(sorted(nondiff_argnums))
        self.rule = None
        self._in_rule = 0  # while the rule runs, a call of f is f itself
        self.__name__ = getattr(fun, "__name__", "custom_jvp")
        self.__doc__ = fun.__doc__
        self.prim = registry.general(  # named apart from chainrule's own primitives
            f"custom_jvp({self.__name__})", self._forward, vjp=(), jvp=self._jvp,
            formula="custom jvp", replace=True, batch="self")
        self.prim.vjp = self._vjp

    def defjvp(self, rule):
        """Set ``rule(primals, tangents) -> (primal_out, tangent_out)``; returns it, so
        that it may decorate the rule.

        >>> import chainrule as cr
        >>> cube = cr.custom_jvp(lambda x: x ** 3)
        >>> _ = cube.defjvp(lambda p, t: (cube(*p), 3 * p[0] ** 2 * t[0]))
        >>> cr.grad(cube)(2.0).item(), cr.jvp(cube, (2.0,), (1.0,))[1].item()
        (12.0, 12.0)
        """
        self.rule = rule
        return rule

    def __call__(self, *args):
        if self.rule is None:
            raise TypeError(f"custom_jvp {self.__name__}: call defjvp(rule) first")
        if self._in_rule:
            return self.fun(*args)
        fixed, xs = _split(self.nondiff, args)
        with no_grad():  # only the value: the rule gives the derivatives
            out = as_tensor(self.fun(*_merge(self.nondiff, fixed, [x.detach() for x in xs])))
        return apply(self.prim, xs, {"fixed": fixed}, data=out._data)

    def _forward(self, *xs, fixed):
        with no_grad():
            return as_tensor(self.fun(*_merge(self.nondiff, fixed,
                                              [new_tensor(x) for x in xs])))._data

    def _tangent(self, fixed, xs, dxs):
        self._in_rule += 1
        try:
            res = self.rule(*fixed, tuple(xs), tuple(dxs))
        finally:
            self._in_rule -= 1
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError(f"custom_jvp {self.__name__}: the rule must return "
                            "(primal_out, tangent_out)")
        return as_tensor(res[1])

    def _jvp(self, ops, g, out, *xs, fixed):
        _, tans = _tangents(xs, g)
        return self._tangent(fixed, xs, tans)

    def _vjp(self, ops, g, out, xs, params, needs):
        """x̄ = the transpose of dx ↦ rule(x, dx)'s tangent, applied to g (the map is
        linear, so its reverse-mode derivative at zero is exactly that transpose)."""
        xs = [x if isinstance(x, Tensor) else new_tensor(x) for x in xs]
        g = g if isinstance(g, Tensor) else new_tensor(g)
        zeros = [new_tensor(np.zeros(x.shape, x.dtype)) for x in xs]
        _, pull = _vjp(lambda *dxs: self._tangent(params["fixed"], xs, dxs), *zeros)
        gs = pull(g)
        return [gi if need and ops.is_tensor else gi._data if need else None
                for gi, need in zip(gs, needs)]


class checkpoint:  # noqa: N801  (named like jax.checkpoint / torch.utils.checkpoint)
    """``f`` rematerialised: the forward pass keeps only ``f``'s inputs (no intermediate
    values); the backward pass runs ``f`` again to get them. Memory for compute, layer by
    layer (``bench/checkpoint_memory.py`` measures it on a deep MLP).

    >>> import chainrule as cr
    >>> block = cr.checkpoint(lambda x, w: cr.tanh(x @ w))
    >>> w = cr.tensor([[0.5]], requires_grad=True)
    >>> block(cr.tensor([[2.0]]), w).sum().backward()
    >>> round(w.grad.item(), 6)   # 2 (1 - tanh(1)²)
    0.839949
    """

    def __init__(self, fun):
        self.fun = fun
        self.__name__ = f"checkpoint({getattr(fun, '__name__', 'f')})"
        # The rules close over ``fun``, not over this object: no reference cycle, so a
        # checkpoint made inside a loop is freed at once.
        self.prim = registry.general(
            self.__name__, _on_arrays(fun), vjp=(), jvp=_remat_jvp(fun),
            formula="checkpoint: recomputed in the backward pass", replace=True,
            batch="self")
        self.prim.vjp = _remat_vjp(fun)

    def __call__(self, *args):
        xs = tuple(as_tensor(a) for a in args)
        with no_grad():  # no graph: the intermediates are freed as soon as they are used
            out = as_tensor(self.fun(*[x.detach() for x in xs]))
        # Only the inputs stay with the node (the value goes in as ``data``, not a param:
        # params live as long as the graph).
        return apply(self.prim, xs, {}, data=out._data)


def _remat_vjp(fun):
    def vjp(ops, g, out, xs, params, needs):
        xs = [x if isinstance(x, Tensor) else new_tensor(x) for x in xs]
        g = g if isinstance(g, Tensor) else new_tensor(g)
        _, pull = _vjp(fun, *xs)  # the forward again, this time recorded
        gs = pull(g)
        return [gi if need and ops.is_tensor else gi._data if need else None
                for gi, need in zip(gs, needs)]
    return vjp


def _remat_jvp(fun):
    def jvp(ops, g, out, *xs):
        batched, tans = _tangents(xs, g)
        return _jvp(fun, xs, tans, batched=batched)[1]
    return jvp
