"""The Tensor: an ndarray plus what autodiff needs, operator overloads, creation functions.

No calculus lives here: every operator forwards to a function of ``chainrule.ops``.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import engine
from .errors import describe

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default = {"dtype": float32, "rng": np.random.default_rng()}


def set_default_dtype(dtype) -> None:
    """Dtype of tensors made from Python floats (``float32`` unless changed)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: {dtype} is not a floating dtype")
    _default["dtype"] = dtype


def get_default_dtype() -> np.dtype:
    return _default["dtype"]


def manual_seed(seed: int) -> None:
    """Seed the library's default random generator (used when no ``rng`` is given)."""
    _default["rng"] = np.random.default_rng(seed)


def default_rng() -> np.random.Generator:
    return _default["rng"]


def _check_differentiable(dtype, name):
    if dtype.kind not in "fc":
        raise TypeError(f"requires_grad: only floating tensors can require gradients, but "
                        f"{name or 'this tensor'} has dtype {dtype}")


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = cr.sin(x * x)
    >>> y.backward()
    >>> round(x.grad.item(), 6)   # 2x cos(x²) at x = 3
    -5.466782
    """

    __slots__ = ("data", "grad", "name", "_node", "_requires_grad", "_tangents",
                 "__weakref__")
    # NumPy must hand mixed expressions (ndarray @ Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, *, dtype=None, requires_grad=False, name=None):
        arr = _to_array(data, dtype)
        self.data = arr
        self.grad = None
        self.name = name
        self._node = None
        self._tangents = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr, name=None):
        """A constant Tensor around an existing ndarray (no copy, no checks)."""
        t = engine._new_tensor(arr)
        t.name = name
        return t

    # -- autodiff attributes ---------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad:
            _check_differentiable(self.data.dtype, self.name)
        elif self._node is not None and self._node.prim is not None:
            raise RuntimeError(f"requires_grad_(False): {describe(self)} is not a leaf; "
                               "use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.prim is None

    @property
    def grad_fn(self):
        node = self._node
        return node.prim.name if node is not None and node.prim is not None else None

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._wrap(self.data, self.name)

    def backward(self, grad=None, *, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate d self / d leaf into every leaf's ``.grad`` (PyTorch semantics)."""
        from .transforms import backward
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is complete; may return a new one."""
        return engine.register_hook(self, hook)

    # -- array attributes -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): {describe(self)} has {self.data.size} elements, not 1")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = []
        if self.data.dtype not in (float32, int64, bool_):
            extra.append(f"dtype={self.data.dtype}")
        if self.name:
            extra.append(f"name={self.name!r}")
        if self.grad_fn:
            extra.append(f"grad_fn={self.grad_fn}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    # -- operators (the forward ones are the ops functions themselves: install_methods) ------
    def __radd__(self, o): return _ops.add(o, self)
    def __rsub__(self, o): return _ops.subtract(o, self)
    def __rmul__(self, o): return _ops.multiply(o, self)
    def __rtruediv__(self, o): return _ops.divide(o, self)
    def __rpow__(self, o): return _ops.power(o, self)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __pos__(self): return self

    def __lt__(self, o): return _compare(np.less, self, o)
    def __le__(self, o): return _compare(np.less_equal, self, o)
    def __gt__(self, o): return _compare(np.greater, self, o)
    def __ge__(self, o): return _compare(np.greater_equal, self, o)
    def __eq__(self, o): return _compare(np.equal, self, o)
    def __ne__(self, o): return _compare(np.not_equal, self, o)

    def _inplace(self, fn, o):
        if self._requires_grad and engine.STATE.grad_enabled:
            raise RuntimeError(f"in-place update of {describe(self)}, which requires grad and "
                               "would corrupt its graph; wrap it in cr.no_grad()")
        if self.data.flags.writeable and self.data.ndim:  # in place: views see it (PyTorch)
            fn(self.data, _data(o), out=self.data, casting="same_kind")
        else:
            self.data = np.asarray(fn(self.data, _data(o)), dtype=self.data.dtype)
        return self

    def __iadd__(self, o): return self._inplace(np.add, o)
    def __isub__(self, o): return self._inplace(np.subtract, o)
    def __imul__(self, o): return self._inplace(np.multiply, o)
    def __itruediv__(self, o): return self._inplace(np.true_divide, o)


def _data(v):
    return v.data if isinstance(v, Tensor) else v


def _compare(fn, a, b):
    return Tensor._wrap(np.asarray(fn(_data(a), _data(b))))


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    arr = np.array(data, dtype=dtype)
    if (dtype is None and arr.dtype == float64
            and not isinstance(data, (np.ndarray, np.generic))):
        arr = arr.astype(_default["dtype"])  # Python floats -> the default dtype
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype} "
                        f"({type(data).__name__}); use numbers, nested lists or numeric arrays")
    return arr


def tensor(data, *, dtype=None, requires_grad=False, name=None) -> Tensor:
    """A new leaf tensor (a copy of ``data``).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name)


def as_tensor(x) -> Tensor:
    """``x`` itself if a Tensor, else a constant wrapping it (Python floats: default dtype)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    if isinstance(x, numbers.Number) or isinstance(x, (list, tuple)) or np.isscalar(x):
        return Tensor._wrap(_to_array(x))
    raise TypeError(f"expected a Tensor, array or number, got {type(x).__name__}")


# -- creation functions --------------------------------------------------------------------

def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _new(arr, requires_grad, name=None):
    return Tensor(arr, requires_grad=requires_grad, name=name) if requires_grad \
        else Tensor._wrap(arr, name)


def _float(dtype):
    return np.dtype(dtype) if dtype is not None else _default["dtype"]


def zeros(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.zeros(_shape(shape), _float(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.ones(_shape(shape), _float(dtype)), requires_grad)


def full(shape, fill_value, *, dtype=None, requires_grad=False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None and not isinstance(fill_value, float):
        dtype = np.asarray(fill_value).dtype
    return _new(np.full(shape, fill_value, _float(dtype)), requires_grad)


def zeros_like(t, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.zeros_like(_data(t), dtype=dtype), requires_grad)


def ones_like(t, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.ones_like(_data(t), dtype=dtype), requires_grad)


def arange(start, stop=None, step=1, *, dtype=None, requires_grad=False) -> Tensor:
    if stop is None:
        start, stop = 0, start
    floats = any(isinstance(v, float) for v in (start, stop, step))
    if dtype is None:
        dtype = _default["dtype"] if floats else int64
    return _new(np.arange(start, stop, step, dtype=dtype), requires_grad)


def linspace(start, stop, num=50, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.linspace(start, stop, num, dtype=_float(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Uniform samples on [0, 1) from ``rng`` (default: the library generator)."""
    rng = rng or _default["rng"]
    return _new(rng.random(_shape(shape)).astype(_float(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Standard normal samples from ``rng`` (default: the library generator)."""
    rng = rng or _default["rng"]
    return _new(rng.standard_normal(_shape(shape)).astype(_float(dtype)), requires_grad)


engine._TENSOR.append(Tensor)

from . import ops as _ops  # noqa: E402  (the ops need Tensor defined first)


def install_methods():
    """``t.sum(...)``, ``t.reshape(...)``, ...: the functions, with the tensor first."""
    from . import functional
    names = ("sum max min prod logsumexp norm reshape transpose swapaxes broadcast_to "
             "expand_dims squeeze flip take astype matmul dot exp log log1p expm1 sqrt square "
             "reciprocal sin cos tan tanh sigmoid relu leaky_relu elu softplus gelu sign clip "
             "erf maximum minimum sum_to").split()
    for name in names:
        setattr(Tensor, name, getattr(_ops, name))
    for name in ("mean", "var", "std", "softmax", "log_softmax"):
        setattr(Tensor, name, getattr(functional, name))
    Tensor.abs = Tensor.__abs__ = _ops.abs
    # Binding the functions directly saves a Python call per operator on the hot path.
    Tensor.__add__, Tensor.__sub__, Tensor.__mul__ = _ops.add, _ops.subtract, _ops.multiply
    Tensor.__truediv__, Tensor.__pow__, Tensor.__matmul__ = _ops.divide, _ops.power, _ops.matmul
    Tensor.__neg__, Tensor.__getitem__ = _ops.neg, _ops.getitem
    Tensor.flatten = lambda self: _ops.reshape(self, -1)
