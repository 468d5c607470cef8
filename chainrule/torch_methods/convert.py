"""PyTorch-shaped conversions: float()/long()/..., to(dtype|device|tensor), cpu, clone (a
primitive of its own), contiguous; pow, comparisons and the bool operators."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..apply import apply
from ..device import (
    DeviceError,
    bool_,
    device,
    float16,
    float32,
    float64,
    int32,
    int64,
    to_args,
)
from ..registry import linear, one_element
from ..tensor import Tensor


# -- dtypes and devices -------------------------------------------------------------------------
def _cast(self, dtype):
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if dtype.kind == "f" and self.dtype.kind == "f":
        return ops.astype(self, dtype)  # differentiable: the gradient is cast back
    return Tensor._wrap(self._data.astype(dtype))  # to (or from) integers: no gradient


def _caster(dtype, name):
    def method(self):
        return _cast(self, dtype)
    method.__name__ = name
    method.__doc__ = (f"``self`` as {dtype} (``self`` itself if it already is).\n\n"
                      f"    >>> import chainrule as cr\n"
                      f"    >>> cr.tensor([1, 2]).{name}().dtype\n    dtype('{dtype}')\n")
    return method


CASTS = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
         "bool": bool_}


def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False):
    """``self`` converted to a dtype and/or device, as ``torch.Tensor.to``: ``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, or keywords. The device must
    be the CPU; the result is ``self`` when nothing changes (unless ``copy=True``).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0])
    >>> x.to("cpu") is x, x.to(cr.float64).dtype, x.to(cr.zeros(1, dtype=cr.long)).dtype
    (True, dtype('float64'), dtype('int64'))
    """
    dtype = to_args(args, dtype, device, "Tensor.to")
    out = self if dtype is None else _cast(self, dtype)
    return clone(out) if copy and out is self else out


def cpu(self):
    """``self``: chainrule's tensors are always on the CPU.

    >>> import chainrule as cr
    >>> x = cr.ones(2)
    >>> x.cpu() is x
    True
    """
    return self


def cuda(self, *args, **kwargs):
    """Refused: chainrule runs on the CPU only."""
    raise DeviceError("Tensor.cuda(): chainrule runs on the CPU only (it computes with "
                      "NumPy); drop .cuda(), or use .to(device) with device='cpu'")


def _device(self) -> device:
    return device("cpu")


def _is_cuda(self) -> bool:
    return False


def contiguous(self):
    """``self`` if its memory is C-contiguous, else a contiguous copy (the same values).

    >>> import chainrule as cr
    >>> x = cr.zeros((2, 3))
    >>> x.contiguous() is x
    True
    """
    return self if self._data.flags.c_contiguous else clone(self)


CLONE = linear("clone", lambda x: x.copy(), lambda ops, g, out, x: g,
               formula="∂clone(x)/∂x = 1: the gradient passes through", sympy=one_element)


def clone(self):
    """A copy with its own memory that stays in the graph (the gradient passes through).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = x.clone()
    >>> (y * y).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0]
    """
    return apply(CLONE, (ops.as_tensor(self),))


# -- small ones ---------------------------------------------------------------------------------
def pow_(self, exponent):
    """``self ** exponent``.

    >>> import chainrule as cr
    >>> cr.tensor([2.0, 3.0]).pow(2).tolist()
    [4.0, 9.0]
    """
    return ops.power(self, exponent)


def _compare(op, name):
    def method(self, other):
        return op(self, other)
    method.__name__ = name
    method.__doc__ = f"``self {name} other``, elementwise: a bool tensor (no gradient)."
    return method


COMPARISONS = {
    "eq": _compare(lambda a, b: a == b, "eq"), "ne": _compare(lambda a, b: a != b, "ne"),
    "lt": _compare(lambda a, b: a < b, "lt"), "le": _compare(lambda a, b: a <= b, "le"),
    "gt": _compare(lambda a, b: a > b, "gt"), "ge": _compare(lambda a, b: a >= b, "ge"),
}


def _bitwise(fn, name):
    def method(self, other):
        return Tensor._wrap(np.asarray(fn(self._data, getattr(other, "_data", other))))
    method.__name__ = name
    method.__doc__ = f"``{fn.__name__}`` of bool or integer tensors (no gradient)."
    return method


def _invert(self):
    """``~x``: logical not of a bool tensor, bitwise not of an integer one (no gradient)."""
    return Tensor._wrap(np.asarray(np.invert(self._data)))


BITWISE = {"__and__": np.bitwise_and, "__or__": np.bitwise_or, "__xor__": np.bitwise_xor}
