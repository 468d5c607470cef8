"""Tensor methods and operators, bound in one place: each is the function of ``chainrule.ops``,
``chainrule.functional`` or ``chainrule.transforms`` with the tensor first (``t.sum(axis=0)``
is ``cr.sum(t, axis=0)``), so the Tensor class itself holds no calculus."""
from __future__ import annotations

from . import functional, numpy_dispatch, ops, torch_methods, transforms
from .tensor import Tensor

_FROM_OPS = ("sum max min prod logsumexp norm reshape transpose swapaxes broadcast_to "
             "expand_dims squeeze flip take astype matmul dot exp log log1p expm1 sqrt square "
             "reciprocal sin cos tan tanh sigmoid relu leaky_relu elu softplus gelu sign clip "
             "erf maximum minimum sum_to").split()
_FROM_FUNCTIONAL = ("mean", "var", "std", "softmax", "log_softmax")


def _reflected(fn):
    def method(self, other):
        return fn(other, self)
    method.__name__ = f"__r{fn.__name__}__"
    method.__doc__ = f"``other {fn.__name__} self`` (the tensor on the right)."
    return method


def install() -> None:
    for name in _FROM_OPS:
        setattr(Tensor, name, getattr(ops, name))
    for name in _FROM_FUNCTIONAL:
        setattr(Tensor, name, getattr(functional, name))
    Tensor.abs = Tensor.__abs__ = ops.abs
    # Binding the functions directly saves a Python call per operator on the hot path.
    Tensor.__add__, Tensor.__sub__, Tensor.__mul__ = ops.add, ops.subtract, ops.multiply
    Tensor.__truediv__, Tensor.__pow__, Tensor.__matmul__ = ops.divide, ops.power, ops.matmul
    Tensor.__neg__, Tensor.__getitem__ = ops.neg, ops.getitem
    Tensor.__radd__, Tensor.__rsub__ = _reflected(ops.add), _reflected(ops.subtract)
    Tensor.__rmul__, Tensor.__rtruediv__ = _reflected(ops.multiply), _reflected(ops.divide)
    Tensor.__rpow__, Tensor.__rmatmul__ = _reflected(ops.power), _reflected(ops.matmul)
    Tensor.T = property(ops.transpose, doc="The tensor with its axes reversed.")
    Tensor.backward = transforms.backward
    # PyTorch's methods (view, unsqueeze, max(dim) -> (values, indices), float(), to(), ...);
    # where NumPy's meaning of a name differs, NumPy's keywords still select it.
    numpy_dispatch.install(Tensor)
    torch_methods.install(Tensor)  # last: a method named by both follows PyTorch
