"""``Module``, ``Parameter`` and the containers, shaped like ``torch.nn``."""
from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor, as_tensor

# Which module computed which part of a graph, for cr.explain's clusters: a weak reference to
# the output node of every call that recorded a graph -> (module, the nodes of its inputs, the
# record of an earlier call with the same output: a Sequential returns its last layer's node).
# One entry per call, not per op; the weak key's callback drops the record when its graph
# goes. A plain dict with weak keys: a WeakKeyDictionary costs 0.35 µs more per call.
_CALLS: dict = {}


def _forget(key, pop=_CALLS.pop) -> None:
    pop(key, None)


def module_calls(node) -> list[tuple]:
    """``(module, input nodes)`` of each call that returned ``node``, innermost first."""
    calls, record = [], _CALLS.get(weakref.ref(node))
    while record is not None:
        calls.append(record[:2])
        record = record[2]
    return calls[::-1]


def _input_nodes(args, nodes: list) -> list:
    """The graph nodes of the tensors in ``args``, looking inside lists, tuples and dicts
    (at any depth): a ``forward(self, xs)`` taking a list of tensors has them as inputs too."""
    for a in args:
        node = getattr(a, "_node", None)
        if node is not None:
            nodes.append(node)
        elif isinstance(a, (list, tuple)):
            _input_nodes(a, nodes)
        elif isinstance(a, dict):
            _input_nodes(a.values(), nodes)
    return nodes


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (requires grad).

    >>> import chainrule as cr
    >>> p = cr.nn.Parameter([1.0, 2.0])
    >>> p.requires_grad, p.dtype
    (True, dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: parameters, buffers and submodules assigned as
    attributes register themselves; ``__call__`` runs ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning attributes")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """State that is saved with the module but not learned (BatchNorm's running stats)."""
        self._buffers[name] = None if value is None else as_tensor(value)

    def register_parameter(self, name: str, value) -> None:
        self._parameters.pop(name, None)
        if value is None:
            object.__setattr__(self, name, None)
        else:
            self.__setattr__(name, value if isinstance(value, Parameter) else Parameter(value))

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop(0)
            yield name, m
            stack[:0] = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                         if c is not None]

    def modules(self):
        return (m for _, m in self.named_modules())

    def children(self):
        return (m for m in self._modules.values() if m is not None)

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self):
        for mname, m in self.named_modules():
            for k, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{k}" if mname else k), b

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name (Tensors sharing the module's arrays)."""
        out = OrderedDict()
        for mname, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for k, v in table.items():
                    if v is not None:
                        out[f"{mname}.{k}" if mname else k] = v.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values into this module's parameters and buffers, cast to their dtypes as
        PyTorch's ``load_state_dict`` casts (float64 into float32 rounds, a float counter into
        an integer buffer truncates). Returns ``(missing, unexpected)`` key lists.

        Everything is checked before anything changes: names (missing or unexpected keys,
        unless ``strict=False``), shapes, and that each value converts to its tensor's dtype
        (a number array; no NaN, infinity or out-of-range value headed for an integer or bool
        tensor). One error lists every problem, and then no tensor has changed.

        >>> import numpy as np, chainrule as cr
        >>> bn = cr.nn.BatchNorm1d(2)
        >>> state = {k: np.asarray(v.data, np.float64) + 1 for k, v in bn.state_dict().items()}
        >>> bn.load_state_dict(state)
        ([], [])
        >>> bn.weight.data, bn.num_batches_tracked.data
        (array([2., 2.], dtype=float32), array(1))
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        shapes, dtypes, values = [], [], {}
        for k, v in state_dict.items():
            if k not in own:
                continue
            try:
                arr = np.asarray(getattr(v, "data", v))
            except (TypeError, ValueError):  # e.g. a ragged list
                dtypes.append(f"{k}: a {type(v).__name__} is not an array")
                continue
            if arr.shape != own[k].shape:
                shapes.append(f"{k}: checkpoint {arr.shape} vs model {own[k].shape}")
                continue
            why = _cast_problem(arr, own[k].dtype)
            if why:
                dtypes.append(f"{k}: {why}")
                continue
            values[k] = arr
        problems = shapes + dtypes + ([f"missing keys: {missing}"] if strict and missing else []) \
            + ([f"unexpected keys: {unexpected}"] if strict and unexpected else [])
        if problems:
            error = TypeError if dtypes and not shapes and len(problems) == len(dtypes) \
                else ShapeError
            raise error(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems)
                        + " (nothing was changed)")
        with np.errstate(invalid="ignore", over="ignore"):  # checked above: casts are exact
            for k, arr in values.items():
                np.copyto(own[k].data, arr, casting="unsafe")
        return missing, unexpected

    # -- modes and helpers ----------------------------------------------------------------------
    def train(self, mode: bool = True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, dtype):
        """Cast every parameter and floating buffer to ``dtype`` (in place)."""
        dtype = np.dtype(dtype)
        for _, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is not None and t.dtype.kind == "f":
                        t.data = t.data.astype(dtype)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        node = getattr(out, "_node", None)
        # Only an op's output: a leaf (a returned parameter) may live forever, and its
        # record with it. An output tuple is not grouped.
        if node is not None and node.prim is not None:
            if kwargs:
                args += tuple(kwargs.values())
            key = weakref.ref(node, _forget)
            _CALLS[key] = (self, _input_nodes(args, []), _CALLS.get(key))
        return out

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n  " + "\n  ".join(lines) + "\n)"


def _cast_problem(arr: np.ndarray, dtype: np.dtype) -> str | None:
    """Why ``arr`` cannot be cast to ``dtype`` as PyTorch's ``copy_`` would, or None."""
    dtype = np.dtype(dtype)
    if arr.dtype.kind not in "biufc" or (arr.dtype.kind == "c" and dtype.kind != "c"):
        return f"dtype {arr.dtype} cannot be cast to the model's {dtype}"
    if dtype.kind in "iub" and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        return f"holds NaN or infinity, which the model's {dtype} tensor cannot hold"
    if dtype.kind in "iu" and arr.dtype.kind in "iuf" and arr.size:
        info = np.iinfo(dtype)
        if arr.min() < info.min or arr.max() > info.max:
            return f"holds values outside the range of the model's {dtype}"
    return None


class Sequential(Module):
    """Modules applied in order."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for k, m in modules[0].items():
                setattr(self, k, m)
        else:
            for i, m in enumerate(modules):
                setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered so their parameters are found."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
