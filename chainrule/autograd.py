"""``cr.autograd``: PyTorch's ``torch.autograd`` names: ``Function`` (a hand-written backward,
built on ``cr.custom_vjp``) and ``grad`` (``cr.gradient``).

>>> import chainrule as cr
>>> class Cube(cr.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, grad_output):
...         x, = ctx.saved_tensors
...         return grad_output * 3 * x ** 2
>>> x = cr.tensor(2.0, requires_grad=True)
>>> Cube.apply(x).backward()
>>> x.grad.item()
12.0
"""
from __future__ import annotations

from .engine import no_grad
from .extend import custom_vjp
from .tensor import Tensor
from .transforms import gradient as grad

__all__ = ["Function", "FunctionCtx", "grad"]


class FunctionCtx:
    """The ``ctx`` given to ``Function.forward`` and ``backward``: ``save_for_backward`` keeps
    tensors for the backward pass (``saved_tensors``); other attributes may be set freely
    (``ctx.scale = 2``). ``needs_input_grad[i]`` says whether input i needs a gradient."""

    def __init__(self, needs_input_grad: tuple = ()) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (or None) for ``backward``, as ``ctx.saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: expected Tensors (or None), got "
                                f"{type(t).__name__}; store other values as ctx attributes")
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Accepted for compatibility; chainrule does not need it."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for compatibility: the incoming gradient is always a Tensor."""


class Function:
    """A differentiable function with a hand-written backward, as ``torch.autograd.Function``:
    subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``, and
    call ``MyFunction.apply(*args)``.

    ``forward`` returns one Tensor and runs without recording (as PyTorch); ``backward``
    returns one gradient per argument of ``forward`` (None for arguments that are not
    tensors or need none). It runs on Tensors, so a backward written with chainrule ops is
    itself differentiable (``create_graph=True``, ``cr.grad(cr.grad(...))``). Forward mode
    (``cr.jvp``) differentiates ``forward`` itself. Built on ``cr.custom_vjp``.

    >>> import chainrule as cr
    >>> class Scale(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x, k):
    ...         ctx.k = k
    ...         return x * k
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         return g * ctx.k, None
    >>> cr.grad(lambda x: Scale.apply(x, 3.0).sum())(cr.ones(2)).tolist()
    [3.0, 3.0]
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """Compute the output from the inputs (override it)."""
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """Return the gradient of each input of ``forward`` (override it)."""
        raise NotImplementedError("a Function subclass must define a static "
                                  "backward(ctx, grad_output)")

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError(f"{type(self).__name__}: call {type(self).__name__}.apply(...), not "
                        f"{type(self).__name__}(...): forward and backward are static methods")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` and record ``backward`` as the rule of the result."""
        where = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not where:
            with no_grad():
                return cls.forward(FunctionCtx(), *args)
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)

        def merged(tensors):
            full = list(args)
            for i, t in zip(where, tensors):
                full[i] = t
            return full

        def fun(*tensors):  # forward mode differentiates forward itself
            return cls.forward(FunctionCtx(needs), *merged(tensors))

        def fwd(*tensors):
            with no_grad():
                out = cls.forward(ctx, *merged(tensors))
            if not isinstance(out, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return one Tensor, got "
                                f"{type(out).__name__} (several outputs are not supported)")
            return out, ctx

        def bwd(ctx_, g):
            grads = cls.backward(ctx_, g)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            if len(grads) != len(args):
                raise ValueError(f"{cls.__name__}.backward returned {len(grads)} gradient(s) "
                                 f"for the {len(args)} argument(s) of forward; return one per "
                                 "argument (None where there is none)")
            return tuple(grads[i] for i in where)

        fun.__name__ = f"{cls.__name__}.apply"  # never the name of a built-in primitive
        rule = custom_vjp(fun)
        rule.defvjp(fwd, bwd)
        return rule(*(args[i] for i in where))
