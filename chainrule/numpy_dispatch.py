"""NumPy's own functions on Tensors (NEP 13 ``__array_ufunc__``, NEP 18 ``__array_function__``).

``np.sin(t)``, ``np.sum(t, axis=0)``, ``np.linalg.norm(t)``, ``np.concatenate([t, u])`` call
chainrule's differentiable functions and return Tensors, so code written for NumPy can be
differentiated as it is. Three rules keep it honest:

- a NumPy function chainrule has no rule for raises a TypeError naming it: a tracked tensor
  never silently becomes a constant;
- functions whose results carry no derivative (``np.shape``, ``np.argmax``, ``np.isclose``)
  run on the values;
- an ``out=`` that is a NumPy array (``ndarray -= t``, which NumPy runs as
  ``np.subtract(a, t, out=a)``) receives the values: the user asked for an array.

>>> import numpy as np
>>> import chainrule as cr
>>> def rosenbrock(p):                      # plain NumPy, written without chainrule in mind
...     return np.sum(100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2)
>>> p = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
>>> rosenbrock(p).backward()
>>> p.grad.tolist()
[-400.0, 200.0]
"""
from __future__ import annotations

import inspect

import numpy as np

from . import engine, functional, ops
from .ops import (
    extra_linalg,
    matrix,
    more_elementwise,
    ordering,
    products,
    special_fns,
    structure,
)
from .ops.shape import as_tensor
from .tensor import Tensor

# Where a NumPy name is looked up: chainrule's functions, latest first.
_SOURCES = (extra_linalg, special_fns, ordering, structure, products, more_elementwise,
            functional, ops)


def _find(name):
    for module in _SOURCES:
        fn = getattr(module, name, None)
        if callable(fn):
            return fn
    return None


# -- ufuncs ------------------------------------------------------------------------------------
# NumPy ufunc name -> chainrule function name, where the two names differ.
_UFUNC_ALIASES = {
    "negative": "neg", "positive": "positive", "true_divide": "divide", "absolute": "abs",
    "fabs": "abs", "conjugate": "positive", "conj": "positive",
}
# Ufuncs whose results carry no derivative (booleans, integers): run on the values.
_UFUNC_VALUES = frozenset(
    "less less_equal greater greater_equal equal not_equal logical_and logical_or logical_xor "
    "logical_not isfinite isinf isnan isnat signbit bitwise_and bitwise_or bitwise_xor invert "
    "left_shift right_shift gcd lcm".split())
# ufunc.reduce / ufunc.accumulate -> chainrule function (NumPy's default axis is 0).
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "fmax": "nanmax", "fmin": "nanmin", "logaddexp": "logsumexp",
           "logical_and": None, "logical_or": None}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _values(v):
    """Tensors (also inside lists and tuples) replaced by their arrays."""
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, (list, tuple)):
        return type(v)(_values(x) for x in v)
    return v


def _wrap(v):
    if isinstance(v, np.ndarray):
        return Tensor._wrap(v)
    if isinstance(v, tuple):
        return tuple(_wrap(x) for x in v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


def _not_supported(what: str) -> TypeError:
    return TypeError(f"{what} has no differentiable chainrule version, so it cannot take "
                     "Tensors (its result would silently be a constant). Use a chainrule "
                     "function (cr.NAME), or pass t.data to compute on the values")


def _into(out: tuple, result):
    """Write ``result``'s values into the ``out=`` arrays and return them, as NumPy does."""
    results = result if isinstance(result, tuple) else (result,)
    for dst, res in zip(out, results):
        arr = dst
        if isinstance(dst, Tensor):
            dst._check_inplace("out= argument")
            arr = dst._data
        np.copyto(arr, _values(res), casting="same_kind")
        if isinstance(dst, Tensor):
            engine.bump_version(dst)
    return out[0] if len(out) == 1 else out


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``Tensor.__array_ufunc__``: NumPy's ufuncs on Tensors call chainrule's functions."""
    out = kwargs.pop("out", None)
    name = ufunc.__name__
    if out is not None or name in _UFUNC_VALUES:
        # The values: NumPy writes into the arrays the caller gave, or the result has no
        # derivative. A Tensor among ``out`` is written in place (no gradient history).
        if out is not None:
            for o in out:
                if isinstance(o, Tensor):
                    o._check_inplace(f"numpy.{name}(..., out=tensor)")
            vals = tuple(o._data if isinstance(o, Tensor) else o for o in out)
            getattr(ufunc, method)(*_values(inputs), out=vals, **kwargs)
            for o in out:
                if isinstance(o, Tensor):
                    engine.bump_version(o)
            return out[0] if len(out) == 1 else out
        return _wrap(getattr(ufunc, method)(*_values(inputs), **_values(kwargs)))
    dtype = kwargs.pop("dtype", None)
    if method == "__call__":
        fn = _find(_UFUNC_ALIASES.get(name, name))
        if fn is None:
            raise _not_supported(f"numpy.{name}")
        _no_extra_kwargs(f"numpy.{name}", kwargs)
        result = fn(*inputs)
    elif method in ("reduce", "accumulate"):
        target = (_REDUCE if method == "reduce" else _ACCUMULATE).get(name)
        fn = _find(target) if target else None
        if fn is None:
            raise _not_supported(f"numpy.{name}.{method}")
        axis = kwargs.pop("axis", 0)
        keep = {"keepdims": kwargs.pop("keepdims")} if "keepdims" in kwargs else {}
        _no_extra_kwargs(f"numpy.{name}.{method}", kwargs)
        result = fn(inputs[0], axis=axis, **keep)
    elif method == "outer":
        fn = _find(_UFUNC_ALIASES.get(name, name))
        if fn is None:
            raise _not_supported(f"numpy.{name}.outer")
        a, b = as_tensor(inputs[0]), as_tensor(inputs[1])
        result = fn(ops.reshape(a, a.shape + (1,) * b.ndim), b)
    else:
        raise _not_supported(f"numpy.{name}.{method}")
    return result if dtype is None else ops.astype(result, dtype)


def _no_extra_kwargs(what, kwargs):
    if kwargs:
        raise TypeError(f"{what}: chainrule does not differentiate through the argument(s) "
                        f"{', '.join(sorted(kwargs))}")


# -- functions ---------------------------------------------------------------------------------
# NumPy functions whose results carry no derivative (shapes, indices, booleans): they run on
# the values (array results come back as Tensors).
_VALUE_FUNCTIONS = frozenset(
    "shape ndim size result_type can_cast min_scalar_type iscomplexobj isrealobj iscomplex "
    "isreal isneginf isposinf allclose array_equal array_equiv isclose count_nonzero nonzero "
    "flatnonzero argwhere argmax argmin argsort argpartition searchsorted unique unique_values "
    "unique_counts unique_inverse unique_all any all array_repr array_str array2string "
    "shares_memory may_share_memory ravel_multi_index unravel_index digitize bincount "
    "tril_indices_from triu_indices_from diag_indices_from lexsort sign copyto save savez "
    "savetxt isin in1d setdiff1d intersect1d union1d setxor1d".split())

# NumPy functions with a chainrule version of another name.
_FUNCTION_ALIASES = {"amax": "max", "amin": "min", "around": "round", "round_": "round",
                     "absolute": "abs", "concat": "concatenate", "permute_dims": "transpose",
                     "negative": "neg", "true_divide": "divide", "row_stack": "vstack",
                     "cumulative_sum": "cumsum", "cumulative_prod": "cumprod",
                     "fabs": "abs"}
# Arguments that change nothing when given with these values (NumPy passes only those the
# caller wrote, but callers write defaults too).
_HARMLESS = {"order": ("C", "K", "A", None), "casting": ("same_kind",), "copy": (None, True),
             "kind": (None,), "stable": (None,), "mode": ("raise",), "optimize": (False, True),
             "subok": (True,), "where": (True,), "like": (None,)}


def _adapters():
    """NumPy functions whose arguments do not line up with the chainrule function's."""
    def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
        return ops.reshape(a, shape if shape is not None else newshape)

    def where(condition, x=None, y=None):
        if x is None and y is None:
            return _wrap(np.nonzero(_values(condition)))
        return ops.where(condition, x, y)

    def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
        lo = a_min if a_min is not None else min
        hi = a_max if a_max is not None else max
        return ops.clip(a, lo, hi)

    def einsum(*operands, optimize=False):
        return ops.einsum(*operands)

    return {np.reshape: reshape, np.where: where, np.clip: clip, np.einsum: einsum}


_ADAPTERS = _adapters()


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _rebind(func, fn, args, kwargs):
    """NumPy's arguments, named as NumPy names them, as a call of chainrule's ``fn``: same
    names pass through; a first parameter named differently (``a`` vs ``x``) goes by
    position. Returns (args, kwargs, out, dtype)."""
    np_sig = _signature(func)
    if np_sig is None:
        return args, kwargs, None, None
    try:
        given = dict(np_sig.bind(*args, **kwargs).arguments)
    except TypeError as err:
        raise TypeError(f"numpy.{func.__name__}: {err}") from None
    np_params = list(np_sig.parameters)
    out, dtype = given.pop("out", None), given.pop("dtype", None)
    for name, ok in _HARMLESS.items():
        if name in given and any(given[name] is v or given[name] == v for v in ok
                                 if not isinstance(given[name], np.ndarray)):
            given.pop(name)
    cr_params = list(_signature(fn).parameters.values())
    cr_names = {p.name for p in cr_params}
    pos, kw = [], {}
    for name, value in given.items():
        kind = np_sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            pos.extend(value)
            continue
        if kind is inspect.Parameter.VAR_KEYWORD:
            if value:
                raise TypeError(f"numpy.{func.__name__}: chainrule does not support the "
                                f"argument(s) {', '.join(sorted(value))}")
            continue
        if name in cr_names:
            kw[name] = value
            continue
        i = np_params.index(name)
        if i < len(cr_params) and cr_params[i].name not in np_params:
            kw[cr_params[i].name] = value
            continue
        raise TypeError(f"numpy.{func.__name__}: chainrule's {fn.__name__} does not support "
                        f"the argument {name}={value!r}")
    return pos, kw, out, dtype


def array_function(self, func, types, args, kwargs):
    """``Tensor.__array_function__``: NumPy's functions on Tensors call chainrule's."""
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    name = func.__name__
    if name in _VALUE_FUNCTIONS and func.__module__.startswith("numpy"):
        return _wrap(func(*_values(args), **_values(kwargs)))
    fn = _ADAPTERS.get(func)
    if fn is not None:
        return fn(*args, **kwargs)
    module = func.__module__ or "numpy"
    fn = None
    if module == "numpy.linalg":
        fn = getattr(extra_linalg, name, None) or getattr(matrix, name, None)
    elif module in ("numpy", "numpy.lib", "numpy.matlib") or module.startswith("numpy._core") \
            or module.startswith("numpy.lib"):
        fn = _find(_FUNCTION_ALIASES.get(name, name))
    if fn is None:
        raise _not_supported(f"{module}.{name}")
    pos, kw, out, dtype = _rebind(func, fn, args, kwargs)
    if dtype is not None and pos:
        pos[0] = ops.astype(as_tensor(pos[0]), dtype)
    result = fn(*pos, **kw)
    if dtype is not None and not pos and isinstance(result, Tensor):
        result = ops.astype(result, dtype)
    if out is not None:
        return _into(out if isinstance(out, tuple) else (out,), result)
    return result


# ndarray methods that Tensors gain with the NumPy functions (``t.cumsum(axis=0)``). Left
# out: NumPy's in-place ``sort``/``partition`` (a Tensor method would return a new tensor,
# silently unlike NumPy's) and ``repeat`` (PyTorch's ``Tensor.repeat`` is NumPy's ``tile``).
_NDARRAY_METHODS = ("round cumsum cumprod argsort argmax argmin diagonal trace ravel clip dot "
                    "ptp nonzero").split()


def _nonzero(self):
    """Indices of the nonzero elements, one integer tensor per axis (not differentiable)."""
    return _wrap(np.nonzero(self._data))


def _reflected_mod(self, other):
    """``other % self`` (the tensor on the right)."""
    return more_elementwise.remainder(other, self)


def _format(self, spec):
    """``f"{t:.3f}"``: a one-element tensor formats as its number (as PyTorch's), so code
    that formatted ``np.max(...)`` of arrays still runs when NumPy returns a Tensor."""
    if spec and self._data.size == 1:
        return format(self._data.item(), spec)
    return format(str(self), spec) if spec else str(self)


def install(cls) -> None:
    """Give ``cls`` (Tensor) NumPy's protocols, the ndarray methods above, ``%`` and
    ``format``."""
    cls.__array_ufunc__, cls.__array_function__ = array_ufunc, array_function
    cls.__format__ = _format
    for name in _NDARRAY_METHODS:
        setattr(cls, name, _nonzero if name == "nonzero" else _find(name))
    cls.__mod__, cls.__rmod__ = more_elementwise.remainder, _reflected_mod
