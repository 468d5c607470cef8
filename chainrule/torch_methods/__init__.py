"""Tensor methods shaped like PyTorch's (``x.view(2, -1)``, ``x.max(1)``, ``x.float()``),
bound to the class by ``chainrule/methods.py``. Each is built from chainrule's ops, so it is
differentiable in both modes and at any order wherever PyTorch's is; ``clone`` is the one
primitive of its own.

Where NumPy and PyTorch give one method name two meanings, the method follows PyTorch and
NumPy's keywords select NumPy's meaning; the ``cr.`` function of the same name follows NumPy:

    ==================  =========================================  ===========================
    method              PyTorch's meaning (positional or dim=)     NumPy's (axis= keywords)
    ==================  =========================================  ===========================
    x.max(1)            (values, indices), a named tuple           x.max(axis=1): values
    x.transpose(0, 1)   swap two axes                              x.transpose((1, 0, 2)) or
                                                                   three or more axes: permute
    x.var(), x.std()    unbiased (correction=1)                    x.var(axis=0): ddof=0
    x.repeat(2, 3)      tile (as numpy.tile)                       (cr.repeat: numpy.repeat)
    x.flatten(1)        merge axes start_dim .. end_dim            x.flatten(): all axes
    x.split(2)          pieces of size 2                           (cr.split: 2 equal pieces)
    x.squeeze(0)        no-op where the axis is not of size 1      (cr.squeeze raises)
    x.size              (the number of elements, an int that is also callable:)
    x.size(), size(d)   the shape, or one dimension
    ==================  =========================================  ===========================

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
>>> values, indices = x.max(1)
>>> values.tolist(), indices.tolist()
([5.0, 7.0], [1, 0])
>>> x.size(), x.size(0), x.size, x.numel()
((2, 2), 2, 4, 4)
"""
from __future__ import annotations

from .. import ops
from .convert import (
    BITWISE,
    CASTS,
    COMPARISONS,
    _bitwise,
    _caster,
    _device,
    _invert,
    _is_cuda,
    clone,
    contiguous,
    cpu,
    cuda,
    pow_,
    to,
)
from .index import clamp, gather, index_select, masked_fill, scatter_add
from .reduce import all_, any_, argmax, argmin, max_, min_, std, var
from .shape import (
    Size,
    _size,
    chunk,
    dim,
    expand,
    expand_as,
    flatten,
    numel,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    transpose,
    unsqueeze,
    view,
    view_as,
)


# -- PyTorch's function forms of names NumPy does not use (cr.flatten(x, 1), cr.cat) ----------
def _function(method, doc):
    def fn(input, *args, **kwargs):  # noqa: A002  (PyTorch's argument name)
        return method(ops.as_tensor(input), *args, **kwargs)
    fn.__name__ = method.__name__
    fn.__doc__ = doc
    return fn


flatten_fn = _function(flatten, """``torch.flatten``: merge the axes ``start_dim`` ..
    ``end_dim`` of ``input`` (default: all) into one.

    >>> import chainrule as cr
    >>> cr.flatten(cr.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """)
unsqueeze_fn = _function(unsqueeze, """``torch.unsqueeze``: a new axis of size 1 at ``dim``.

    >>> import chainrule as cr
    >>> cr.unsqueeze(cr.zeros(3), 0).shape
    (1, 3)
    """)
clamp_fn = _function(clamp, """``torch.clamp``: limit ``input`` to [min, max].

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-2.0, 3.0]), min=0.0).tolist()
    [0.0, 3.0]
    """)


def cat(tensors, dim: int = 0):
    """``torch.cat``: join tensors along the existing axis ``dim`` (``cr.concatenate``).

    >>> import chainrule as cr
    >>> cr.cat([cr.zeros((2, 3)), cr.ones((1, 3))], dim=0).shape
    (3, 3)
    """
    return ops.concatenate(tensors, axis=dim)


# Method name -> function (self first); the rest are bound by install below.
_METHODS = {f.__name__: f for f in (
    view, view_as, reshape, unsqueeze, squeeze, flatten, transpose, permute, expand, expand_as,
    repeat, chunk, split, numel, dim, argmax, argmin, var, std, gather, scatter_add,
    index_select, masked_fill, clamp, to, cpu, cuda, contiguous, clone)}


def install(cls) -> None:
    """Bind the methods to ``cls`` (called by ``chainrule.methods.install``)."""
    for name, fn in _METHODS.items():
        setattr(cls, name, fn)
    cls.max, cls.min, cls.all, cls.any, cls.pow = max_, min_, all_, any_, pow_
    cls.nelement = numel
    cls.size = property(_size, doc=Size.__doc__)
    cls.device = property(_device, doc="Always ``cr.device('cpu')``.")
    cls.is_cuda = property(_is_cuda, doc="Whether the tensor is on a GPU: always False.")
    for name, dtype in CASTS.items():
        setattr(cls, name, _caster(dtype, name))
    for name, fn in COMPARISONS.items():
        setattr(cls, name, fn)
    for name, fn in BITWISE.items():  # (x > 0) & (x < 1), as PyTorch and NumPy
        setattr(cls, name, _bitwise(fn, name))
        setattr(cls, name.replace("__", "__r", 1), _bitwise(fn, name))
    cls.__invert__ = _invert
