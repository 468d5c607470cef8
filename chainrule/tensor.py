"""The Tensor: an ndarray plus what autodiff needs, and the creation functions.

No calculus lives here. Operators and methods (``t + u``, ``t.sum()``, ``t.backward()``) are
the functions of ``chainrule.ops`` and ``chainrule.transforms``, bound to the class in one place
(``chainrule/methods.py``) once those layers exist.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from . import engine
from .errors import describe

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default = {"dtype": float32, "rng": np.random.default_rng()}


def set_default_dtype(dtype) -> None:
    """Set the dtype of tensors made from Python floats (``float32`` unless changed);
    ``dtype`` must be a floating dtype.

    >>> import chainrule as cr
    >>> cr.set_default_dtype('float64')
    >>> cr.tensor(1.0).dtype
    dtype('float64')
    >>> cr.set_default_dtype('float32')
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: {dtype} is not a floating dtype")
    _default["dtype"] = dtype


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (see ``set_default_dtype``).

    >>> import chainrule as cr
    >>> cr.get_default_dtype()
    dtype('float32')
    """
    return _default["dtype"]


def manual_seed(seed: int) -> None:
    """Seed the library's default random generator (used when no ``rng`` is given).

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> a = cr.randn(3).tolist()
    >>> _ = cr.manual_seed(0)
    >>> cr.randn(3).tolist() == a
    True
    """
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

    __slots__ = ("_data", "grad", "name", "_node", "_requires_grad", "_tangents", "_version",
                 "__weakref__")
    # NumPy must hand mixed expressions (ndarray @ Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, *, dtype=None, requires_grad=False, name=None):
        self._data = _to_array(data, dtype)
        self.grad = self._node = self._tangents = self._version = None
        self.name = name
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr, name=None):
        """A constant Tensor around an existing ndarray (no copy, no checks)."""
        t = new_tensor(arr)
        t.name = name
        return t

    def _set_data(self, value) -> None:
        self._data = value if type(value) is np.ndarray else np.asarray(value)
        engine.bump_version(self)

    # The getter is C (attrgetter): ``p.data`` is read on every optimizer step.
    data = property(operator.attrgetter("_data"), _set_data, doc="""The values, a
        ``numpy.ndarray`` (shared, not copied). Assigning to it, or updating it in place with
        ``t.data += ...``, counts as an in-place write: a backward pass through an op that
        saved the old values then raises instead of using the new ones. (Element writes into
        the array, ``t.data[0] = 1``, are not seen: use ``t[0] = 1``.)""")

    # -- autodiff attributes ---------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded so that gradients reach it; setting
        it calls ``requires_grad_``."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether this leaf tensor records gradients (in place) and return it; only
        floating tensors can, and a non-leaf cannot be switched off (use ``detach``).

        >>> import chainrule as cr
        >>> cr.tensor([1.0]).requires_grad_().requires_grad
        True
        """
        if requires_grad:
            _check_differentiable(self.data.dtype, self.name)
        elif self._node is not None and self._node.prim is not None:
            raise RuntimeError(f"requires_grad_(False): {describe(self)} is not a leaf; "
                               "use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """True for a tensor that no recorded operation made (whose ``grad`` is kept), False
        for the result of an operation on tensors that require gradients."""
        return self._node is None or self._node.prim is None

    @property
    def grad_fn(self):
        """The name of the operation that made this tensor (such as ``'mul'``), or None for
        a leaf or a constant."""
        node = self._node
        return node.prim.name if node is not None and node.prim is not None else None

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter, like
        PyTorch: an in-place change through either is seen by a backward pass through the
        other).

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> d = w.detach()
        >>> d.requires_grad, d.data is w.data
        (False, True)
        """
        if self._version is None:
            self._version = engine.new_version()
        out = Tensor._wrap(self._data, self.name)
        out._version = self._version
        return out

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is complete; it may return a new
        gradient to use instead.

        >>> import chainrule as cr
        >>> x = cr.tensor(1.0, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * 3).backward()
        >>> x.grad.item()
        30.0
        """
        if not self._requires_grad:
            raise RuntimeError(f"register_hook: {describe(self)} does not require grad")

        def on_array_or_tensor(g, ops):
            new = hook(g if ops.is_tensor else Tensor._wrap(g))
            if new is None:
                return None
            return new if ops.is_tensor else np.asarray(getattr(new, "_data", new))
        return engine.add_hook(self._node or engine.leaf_node(self), on_array_or_tensor)

    # -- array attributes -------------------------------------------------------------------
    shape = property(lambda self: self._data.shape,
                     doc="The size of each dimension, as a tuple of ints.")
    ndim = property(lambda self: self._data.ndim,
                    doc="The number of dimensions (0 for a scalar tensor).")
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype,
                     doc="The NumPy dtype of the values (``float32`` by default).")

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (the tensor's own array, not a copy).

        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0]).numpy()
        array([1., 2.], dtype=float32)
        """
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number.

        >>> import chainrule as cr
        >>> cr.tensor([[2.5]]).item()
        2.5
        """
        if self.data.size != 1:
            raise ValueError(f"item(): {describe(self)} has {self.data.size} elements, not 1")
        return self.data.item()

    def tolist(self):
        """The values as (nested) Python lists of Python numbers.

        >>> import chainrule as cr
        >>> cr.tensor([[1.0, 2.0]]).tolist()
        [[1.0, 2.0]]
        """
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

    # By identity, as PyTorch's (``==`` is elementwise, so equality cannot define it); the
    # C slot itself, not a Python method: optimizers key their state by parameter.
    __hash__ = object.__hash__

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

    def __pos__(self):
        return self

    def __lt__(self, o): return _compare(np.less, self, o)
    def __le__(self, o): return _compare(np.less_equal, self, o)
    def __gt__(self, o): return _compare(np.greater, self, o)
    def __ge__(self, o): return _compare(np.greater_equal, self, o)
    def __eq__(self, o): return _compare(np.equal, self, o)
    def __ne__(self, o): return _compare(np.not_equal, self, o)

    # -- in-place updates: only on tensors without gradient history; each bumps the version
    def _check_inplace(self, what):
        if self._requires_grad and engine.STATE.mode.grad_enabled:
            raise RuntimeError(f"{what} of {describe(self)}, which requires grad and would "
                               "corrupt its graph; wrap it in cr.no_grad()")

    def _inplace(self, fn, o):
        self._check_inplace("in-place update")
        if self._data.flags.writeable and self._data.ndim:  # in place: views see it
            fn(self._data, _data(o), out=self._data, casting="same_kind")
        else:
            self._data = np.asarray(fn(self._data, _data(o)), dtype=self._data.dtype)
        engine.bump_version(self)
        return self

    def __setitem__(self, index, value):
        """``t[index] = value`` on a tensor without gradient history (a version bump)."""
        self._check_inplace("item assignment")
        if not self._data.flags.writeable:
            self._data = self._data.copy()
        self._data[_index_data(index)] = _data(value)
        engine.bump_version(self)

    def __iadd__(self, o): return self._inplace(np.add, o)
    def __isub__(self, o): return self._inplace(np.subtract, o)
    def __imul__(self, o): return self._inplace(np.multiply, o)
    def __itruediv__(self, o): return self._inplace(np.true_divide, o)


def new_tensor(data) -> Tensor:
    """A constant Tensor around ``data`` (no copy, no checks): the engine's fast path."""
    if type(data) is not np.ndarray and not hasattr(data, "batch_levels"):
        data = np.asarray(data)  # NumPy returns scalars for 0-d results; vmap's batches stay
    t = Tensor.__new__(Tensor)
    t._data = data
    t.grad = t.name = t._tangents = t._node = t._version = None
    t._requires_grad = False
    return t


def _data(v):
    return v._data if isinstance(v, Tensor) else v


def _index_data(index):
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


def _compare(fn, a, b):
    return Tensor._wrap(np.asanyarray(fn(_data(a), _data(b))))  # any: vmap's batches stay


def holds_tensor(data) -> bool:
    """Whether a (nested) list or tuple has a Tensor in it."""
    if isinstance(data, (list, tuple)):
        return any(isinstance(d, Tensor) or holds_tensor(d) for d in data)
    return False


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    elif holds_tensor(data):
        # Only untracked tensors may become plain values here; cr.tensor / cr.stack keep
        # tracked ones differentiable (ops layer), never silently constant.
        if _any_tracked(data):
            raise TypeError("a list or tuple holding tensors with gradient history cannot "
                            "become a constant here; use cr.stack(...) (or cr.tensor(...)), "
                            "which stays differentiable")
        data = _values(data)
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


def _any_tracked(data) -> bool:
    if isinstance(data, Tensor):
        return data._requires_grad or bool(data._tangents)
    return isinstance(data, (list, tuple)) and any(_any_tracked(d) for d in data)


def _values(data):
    if isinstance(data, Tensor):
        return data._data
    return [_values(d) for d in data] if isinstance(data, (list, tuple)) else data


def as_tensor(x) -> Tensor:
    """``x`` itself if a Tensor, else a constant wrapping it (Python floats: default dtype).
    (``cr.as_tensor`` also stacks sequences of tracked tensors differentiably.)"""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise TypeError(f"complex array ({x.dtype}): chainrule tensors are real (complex "
                            "data is not supported yet)")
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
    """A new tensor of zeros of the given shape (ints or one tuple), in the default float
    dtype unless ``dtype`` is given.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape
    (2, 3)
    """
    return _new(np.zeros(_shape(shape), _float(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor of ones of the given shape (ints or one tuple), in the default float
    dtype unless ``dtype`` is given.

    >>> import chainrule as cr
    >>> cr.ones((2,)).tolist()
    [1.0, 1.0]
    """
    return _new(np.ones(_shape(shape), _float(dtype)), requires_grad)


def full(shape, fill_value, *, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor of ``shape`` filled with ``fill_value`` (a Python float gives the default
    float dtype, other values their NumPy dtype).

    >>> import chainrule as cr
    >>> cr.full((2, 2), 7.0).tolist()
    [[7.0, 7.0], [7.0, 7.0]]
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None and not isinstance(fill_value, float):
        dtype = np.asarray(fill_value).dtype
    return _new(np.full(shape, fill_value, _float(dtype)), requires_grad)


def zeros_like(t, *, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor of zeros with the shape and dtype of ``t`` (a tensor or an array).

    >>> import chainrule as cr
    >>> cr.zeros_like(cr.tensor([1.0, 2.0])).tolist()
    [0.0, 0.0]
    """
    return _new(np.zeros_like(_data(t), dtype=dtype), requires_grad)


def ones_like(t, *, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor of ones with the shape and dtype of ``t`` (a tensor or an array).

    >>> import chainrule as cr
    >>> cr.ones_like(cr.tensor([[1.0, 2.0]])).tolist()
    [[1.0, 1.0]]
    """
    return _new(np.ones_like(_data(t), dtype=dtype), requires_grad)


def arange(start, stop=None, step=1, *, dtype=None, requires_grad=False) -> Tensor:
    """Evenly spaced values in [start, stop) by ``step``, as ``numpy.arange``; float
    arguments give the default float dtype.

    >>> import chainrule as cr
    >>> cr.arange(4).tolist()
    [0, 1, 2, 3]
    >>> cr.arange(0.0, 1.0, 0.25).tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    if stop is None:
        start, stop = 0, start
    floats = any(isinstance(v, float) for v in (start, stop, step))
    if dtype is None:
        dtype = _default["dtype"] if floats else int64
    return _new(np.arange(start, stop, step, dtype=dtype), requires_grad)


def linspace(start, stop, num=50, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.linspace(start, stop, num, dtype=_float(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, requires_grad=False) -> Tensor:
    """The identity matrix with ``n`` rows (and ``m`` columns, ``n`` if None).

    >>> import chainrule as cr
    >>> cr.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return _new(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Uniform samples on [0, 1) from ``rng`` (default: the library generator)."""
    rng = rng or _default["rng"]
    return _new(rng.random(_shape(shape)).astype(_float(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Standard normal samples from ``rng`` (default: the library generator)."""
    rng = rng or _default["rng"]
    return _new(rng.standard_normal(_shape(shape)).astype(_float(dtype)), requires_grad)
