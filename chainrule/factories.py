"""The creation functions with PyTorch's ``device=`` keyword (``cr.zeros(3, device="cpu")``).

chainrule computes on the CPU, so ``device`` may be None, ``"cpu"`` or ``cr.device("cpu")``;
any other device raises ``DeviceError`` saying so. Everything else is the function of
``chainrule.tensor`` (or ``cr.tensor``) of the same name.

>>> import chainrule as cr
>>> cr.ones(2, 3, device=cr.device("cpu")).shape
(2, 3)
"""
from __future__ import annotations

import functools

from .device import check_device
from .ops import tensor as _tensor
from .ops.structure import linspace as _linspace
from .tensor import arange as _arange
from .tensor import eye as _eye
from .tensor import full as _full
from .tensor import ones as _ones
from .tensor import ones_like as _ones_like
from .tensor import zeros as _zeros
from .tensor import zeros_like as _zeros_like


def _with_device(fn):
    """``fn`` with a ``device=`` keyword that must name the CPU."""
    @functools.wraps(fn)
    def factory(*args, device=None, **kwargs):
        if device is not None:
            check_device(device, fn.__name__)
        return fn(*args, **kwargs)
    factory.__doc__ = ((fn.__doc__ or f"``{fn.__name__}``, as the NumPy/PyTorch function.")
                       + "\n\n``device``: None, ``'cpu'`` or ``cr.device('cpu')`` (chainrule "
                       "runs on the CPU).")
    return factory


tensor = _with_device(_tensor)
zeros = _with_device(_zeros)
ones = _with_device(_ones)
full = _with_device(_full)
zeros_like = _with_device(_zeros_like)
ones_like = _with_device(_ones_like)
arange = _with_device(_arange)
linspace = _with_device(_linspace)
eye = _with_device(_eye)


def empty(*shape, dtype=None, requires_grad=False, device=None):
    """A new tensor of ``shape`` (as ``torch.empty``; chainrule fills it with zeros, so
    reading it before writing is harmless).

    >>> import chainrule as cr
    >>> cr.empty(2, 2).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    if device is not None:
        check_device(device, "empty")
    return _zeros(*shape, dtype=dtype, requires_grad=requires_grad)
