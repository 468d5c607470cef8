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
from .ops.elementwise import nary
from .ops.shape import as_tensor
from .tensor import Tensor, new_tensor
from .transforms import jvp as _jvp


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


def _given_output(xs, params, levels, sizes):
    """vmap: the forward ran on the batch already (fwd saw batched values)."""
    return params["fwd_out"]


class custom_vjp:  # noqa: N801  (named like jax.custom_vjp)
    """Give a composite function a hand-written reverse rule, as ``jax.custom_vjp``::

        @cr.custom_vjp
        def f(x): ...
        def f_fwd(x): return f(x), residuals
        def f_bwd(residuals, g): return (x̄,)
        f.defvjp(f_fwd, f_bwd)

    ``f_bwd`` runs on Tensors (so its own ops are differentiable for higher orders);
    forward mode differentiates ``f`` itself.
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
        self.prim = registry.general(
            self.__name__, lambda *xs, fwd_out, res, args: fwd_out, vjp=(), jvp=self._jvp,
            formula="custom vjp", replace=True, batch=_given_output)
        self.prim.vjp = self._vjp  # bwd gives every input's cotangent at once

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp {self.__name__}: call defvjp(fwd, bwd) first")
        if self._in_fwd:
            return self.fun(*args)
        fixed = tuple(args[i] for i in self.nondiff)
        xs = tuple(as_tensor(a) for i, a in enumerate(args) if i not in self.nondiff)
        self._in_fwd += 1
        try:  # residuals keep their graph: bwd's result is differentiable (higher orders)
            out, res = self.fwd(*self._merge(fixed, xs))
        finally:
            self._in_fwd -= 1
        out = as_tensor(out)
        return apply(self.prim, xs, {"fwd_out": out._data, "res": (fixed, res),
                                     "args": args})

    def _merge(self, fixed, xs):
        """The full argument list from the non-differentiable and the other arguments."""
        it_f, it_x = iter(fixed), iter(xs)
        n = len(fixed) + len(xs)
        return [next(it_f) if i in self.nondiff else next(it_x) for i in range(n)]

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

    def _jvp(self, ops, g, out, *xs, fwd_out, res, args):
        batched = any(d is not None and d.ndim > x.ndim for x, d in zip(xs, g))
        lead = next((d.shape[:d.ndim - x.ndim] for x, d in zip(xs, g) if d is not None), ())
        tans = [d if d is not None else new_tensor(np.zeros(lead + x.shape, x.dtype))
                for x, d in zip(xs, g)]
        fixed = res[0]
        return _jvp(lambda *d: self.fun(*self._merge(fixed, d)), xs, tans, batched=batched)[1]
