"""``Module``, ``Parameter`` and the containers, shaped like ``torch.nn``."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..device import DeviceError, to_args
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor


def module_calls(node) -> list[tuple]:
    """``(module, input nodes)`` of each call that returned ``node``, innermost first.

    A Module call that records a graph notes itself on its output node (``node.calls``), so
    the note lives exactly as long as the graph: no weak references, no callbacks (work in a
    weakref callback would swallow a KeyboardInterrupt that lands in it).
    """
    calls, record = [], getattr(node, "calls", None)
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
    """Base class of layers and models, as ``torch.nn.Module``.

    Assigning a :class:`Parameter` or another ``Module`` as an attribute registers it, so that
    ``parameters()``, ``state_dict()``, ``zero_grad()`` and ``train()``/``eval()`` reach it;
    calling the module runs ``forward`` (and records the call for ``cr.explain``'s layer groups).
    Subclasses call ``super().__init__()`` first and define ``forward``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter([2.0])
    ...         self.shift = nn.Parameter([1.0])
    ...     def forward(self, x):
    ...         return self.scale * x + self.shift
    >>> m = Affine()
    >>> m(cr.tensor([3.0])).tolist(), [name for name, _ in m.named_parameters()]
    ([7.0], ['scale', 'shift'])
    """

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
        """Register ``value`` (a Parameter, a Tensor or an array; None for "no parameter") as
        parameter ``name``; ``setattr`` with a Parameter does the same.

        >>> import chainrule as cr
        >>> m = cr.nn.Module()
        >>> m.register_parameter("w", [1.0, 2.0])
        >>> [n for n, _ in m.named_parameters()]
        ['w']
        """
        self._parameters.pop(name, None)
        if value is None:
            object.__setattr__(self, name, None)
        else:
            self.__setattr__(name, value if isinstance(value, Parameter) else Parameter(value))

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        """Yield ``(dotted name, module)`` for this module (name ``prefix``) and every submodule,
        breadth first.

        >>> from chainrule import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
        >>> [name for name, _ in net.named_modules()]
        ['', '0', '1', '1.0']
        """
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop(0)
            yield name, m
            stack[:0] = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                         if c is not None]

    def modules(self):
        """Yield this module and every submodule (as ``named_modules``, without names).

        >>> from chainrule import nn
        >>> [type(m).__name__ for m in nn.Sequential(nn.Linear(2, 2), nn.ReLU()).modules()]
        ['Sequential', 'Linear', 'ReLU']
        """
        return (m for _, m in self.named_modules())

    def children(self):
        """Yield the direct submodules, in the order they were assigned.

        >>> from chainrule import nn
        >>> [type(m).__name__ for m in nn.Sequential(nn.Linear(2, 2), nn.ReLU()).children()]
        ['Linear', 'ReLU']
        """
        return (m for m in self._modules.values() if m is not None)

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, Parameter)`` pairs, each shared parameter once.

        Args:
            prefix: prepended to every name.
            recurse: include submodules' parameters (default) or only this module's own.

        >>> from chainrule import nn
        >>> [(n, p.shape) for n, p in nn.Linear(3, 2).named_parameters()]
        [('weight', (2, 3)), ('bias', (2,))]
        """
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True):
        """Yield every learnable Parameter (what an optimizer takes), each shared one once.

        >>> from chainrule import nn
        >>> sum(p.size for p in nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1)).parameters())
        21
        """
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self):
        """Yield ``(dotted name, Tensor)`` for every buffer: saved state that is not learned, such
        as BatchNorm's running mean and variance.

        >>> from chainrule import nn
        >>> [n for n, _ in nn.BatchNorm1d(3).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
        """
        for mname, m in self.named_modules():
            for k, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{k}" if mname else k), b

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name, as Tensors sharing the module's arrays; save it
        with ``cr.save`` and restore it with ``load_state_dict``.

        >>> from chainrule import nn
        >>> list(nn.Linear(3, 2).state_dict())
        ['weight', 'bias']
        """
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
        """Put this module and every submodule in training mode (``mode=False``: evaluation mode)
        and return it. Dropout and BatchNorm behave differently in the two modes.

        >>> from chainrule import nn
        >>> net = nn.Sequential(nn.Dropout(0.5)).train()
        >>> net[0].training
        True
        """
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Put the module in evaluation mode (``train(False)``) and return it: Dropout passes its
        input through and BatchNorm uses its running statistics.

        >>> from chainrule import nn
        >>> nn.Sequential(nn.Dropout(0.5)).eval()[0].training
        False
        """
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (default, as PyTorch), or to zeros
        with ``set_to_none=False``. Gradients accumulate across ``backward()`` calls otherwise.

        >>> import chainrule as cr
        >>> lin = cr.nn.Linear(2, 1)
        >>> cr.sum(lin(cr.ones((1, 2)))).backward()
        >>> lin.zero_grad()
        >>> lin.weight.grad is None
        True
        """
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False):
        """Cast every parameter and floating buffer to a dtype, in place, and return the
        module, as ``torch.nn.Module.to``: ``to(dtype)``, ``to(device)``, ``to(device,
        dtype)``, ``to(tensor)`` (its dtype) or keywords. The device must be the CPU
        (``"cpu"`` or ``cr.device("cpu")``): chainrule runs on the CPU only.

        >>> import chainrule as cr
        >>> cr.nn.Linear(2, 1).to(cr.float64).weight.dtype
        dtype('float64')
        >>> cr.nn.Linear(2, 1).to(cr.device("cpu")).weight.dtype
        dtype('float32')
        """
        dtype = to_args(args, dtype, device, "Module.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: parameters must stay floating, got dtype {dtype} "
                            "(use a floating dtype such as cr.float64)")
        for _, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is not None and t.dtype.kind == "f":
                        t.data = t.data.astype(dtype)
        return self

    def cpu(self):
        """The module itself: chainrule runs on the CPU.

        >>> import chainrule as cr
        >>> m = cr.nn.Linear(2, 1)
        >>> m.cpu() is m
        True
        """
        return self

    def cuda(self, *args, **kwargs):
        """Refused: chainrule runs on the CPU only."""
        raise DeviceError("Module.cuda(): chainrule runs on the CPU only (it computes with "
                          "NumPy); drop .cuda(), or use .to(device) with device='cpu'")

    def float(self):  # noqa: A003
        """Parameters as float32 (``to(cr.float32)``)."""
        return self.to(np.float32)

    def double(self):
        """Parameters as float64 (``to(cr.float64)``).

        >>> import chainrule as cr
        >>> cr.nn.Linear(2, 1).double().bias.dtype
        dtype('float64')
        """
        return self.to(np.float64)

    def forward(self, *args, **kwargs):
        """Compute the module's output; every subclass defines it. Call the module itself
        (``module(x)``) rather than ``forward``, so that the call is recorded for ``cr.explain``.

        >>> import chainrule as cr
        >>> cr.nn.ReLU()(cr.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        node = getattr(out, "_node", None)
        # Only an op's output: a leaf (a returned parameter) may live forever, and its
        # record with it. An output tuple is not grouped.
        if node is not None and node.prim is not None:
            if kwargs:
                args += tuple(kwargs.values())
            node.calls = (self, _input_nodes(args, []), getattr(node, "calls", None))
        return out

    def extra_repr(self) -> str:
        """The text inside the parentheses of the module's ``repr`` (its settings, such as
        ``in_features=3``); subclasses override it.

        >>> from chainrule import nn
        >>> nn.Linear(3, 2).extra_repr()
        'in_features=3, out_features=2, bias=True'
        """
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
    """Modules applied in order: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    Give the modules as arguments (named ``"0"``, ``"1"``, ...) or as one dict of name -> module.
    Indexing returns a module, slicing a new ``Sequential`` of the same modules.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> net(cr.ones((5, 4))).shape, len(net), type(net[1]).__name__
    ((5, 2), 3, 'ReLU')
    """

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
        """Add ``module`` at the end (named by its position) and return the Sequential.

        >>> from chainrule import nn
        >>> len(nn.Sequential(nn.Linear(2, 2)).append(nn.ReLU()))
        2
        """
        setattr(self, str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered so that their parameters are found; unlike
    ``Sequential`` it has no ``forward``: the owner decides how to use them.

    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end and return the list.

        >>> from chainrule import nn
        >>> len(nn.ModuleList().append(nn.ReLU()))
        1
        """
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules`` and return the list.

        >>> from chainrule import nn
        >>> len(nn.ModuleList([nn.ReLU()]).extend([nn.Tanh(), nn.Sigmoid()]))
        3
        """
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
