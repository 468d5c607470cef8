"""The optimizer base class: parameter groups, per-parameter state, ``state_dict``.

Subclasses implement ``_update(p, grad, state, group)`` with NumPy, in place on ``p.data``.
Invariant: every value in ``state`` is an ndarray or a plain Python scalar (number, str, bool,
None), so a state dict can be written as safetensors arrays plus JSON metadata.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import tree
from ..engine import bump_versions, enable_grad
from ..tensor import Tensor


class _Required:
    """Marks a default that every parameter group must supply (SGD's ``lr``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of the optimizers: holds ``param_groups`` and per-parameter ``state``.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each with a
    ``"params"`` entry and optional per-group hyperparameters that override ``defaults``.
    ``state`` maps a parameter (by identity) to a dict of NumPy arrays and Python numbers.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1)   # a group's own lr wins
    >>> cr.sum(w * w).backward()
    >>> opt.step()
    >>> w.tolist(), opt.param_groups[0]["lr"]
    ([0.0, 0.0], 0.5)
    """

    # State entries that are scalars (saved as Python numbers); every other array in a
    # parameter's state has the parameter's shape.
    _scalar_state: tuple[str, ...] = ("step",)

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got a Tensor of shape {params.shape}")
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        # Scratch space for the update rules, shared by all parameters of one dtype, so a
        # step allocates nothing (not part of the state: it holds no information).
        self._flat: dict[np.dtype, np.ndarray] = {}
        self._views: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        if isinstance(params, dict) and "params" not in params:
            params = [{"params": params}]  # a pytree of parameters (JAX style): one group
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- parameter groups -------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones: defaults).

        >>> import chainrule as cr
        >>> opt = cr.optim.SGD([cr.tensor(1.0, requires_grad=True)], lr=0.1)
        >>> opt.add_param_group({"params": [cr.tensor(2.0, requires_grad=True)], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; "
                            "use a list instead")
        # Any pytree of Tensors (list, dict, namedtuple, ...) gives its leaves, in order.
        params = tree.leaves(params, is_leaf=lambda v: isinstance(v, Tensor))
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter more than once")
        group = {k: v for k, v in param_group.items() if k != "params"}
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid hyperparameter (subclasses; torch's messages)."""

    # -- the update -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: ``p.grad = None``, or (``set_to_none=False``) fill existing
        gradients with zeros in place (parameters without a gradient keep ``None``, as in
        PyTorch).

        >>> import chainrule as cr
        >>> w = cr.tensor(3.0, requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * w).backward()
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.data.flags.writeable and g.grad_fn is None:
                    g.data.fill(0)
                else:  # a read-only array, or a gradient with a graph (create_graph=True)
                    p.grad = Tensor._wrap(np.zeros_like(g.data))

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (it runs with grad enabled).

        >>> import chainrule as cr
        >>> w = cr.tensor(3.0, requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * w).backward()      # dw = 2w = 6
        >>> opt.step()
        >>> round(w.item(), 6)
        2.4
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        todo = []
        for group in self.param_groups:  # every shape checked before anything is written
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                g = grad._data
                if g.shape != p._data.shape:
                    raise ValueError(f"{type(self).__name__}.step: the gradient has shape "
                                     f"{g.shape}, but its parameter has shape {p._data.shape}")
                todo.append((p, g, group))
        # In-place writes: the versions are bumped first, in one call, so that a step
        # interrupted halfway leaves no graph that could read the new values unrefused.
        bump_versions([p for p, _, _ in todo])
        for p, g, group in todo:
            self._step_param(p, g, group)
        return loss

    def _step_param(self, p: Tensor, g: np.ndarray, group: dict) -> None:
        """Update one parameter in place (its version already bumped; ``cr.compile``'s
        replay calls this too)."""
        data = p._data
        if not data.flags.writeable:  # updates are in place: own the memory
            data = data.copy()
        self._update(data, g, self.state[p], group)
        p._data = data

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _scratch(self, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two scratch arrays shaped like ``like``: views into one buffer per dtype."""
        key = (like.shape, like.dtype)
        views = self._views.get(key)
        if views is None:
            n = like.size
            flat = self._flat.get(like.dtype)
            if flat is None or flat.shape[1] < n:
                flat = self._flat[like.dtype] = np.empty((2, n), like.dtype)
                self._views = {k: v for k, v in self._views.items() if k[1] != like.dtype}
            views = self._views[key] = (flat[0, :n].reshape(like.shape),
                                        flat[1, :n].reshape(like.shape))
        return views

    # -- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot, shaped like PyTorch's: ``{"state": {index: {name: value}},
        "param_groups": [{hyperparameters..., "params": [index, ...]}]}``.

        Parameters are numbered in order across groups; arrays are copies, so the snapshot
        does not change as training goes on.

        >>> import chainrule as cr
        >>> w = cr.tensor(1.0, requires_grad=True)
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> (w * w).backward(); opt.step()
        >>> sorted(opt.state_dict()["state"][0])
        ['exp_avg', 'exp_avg_sq', 'step']
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                s = self.state.get(p)
                if s:
                    state[index[id(p)]] = {k: v.copy() if isinstance(v, np.ndarray) else v
                                           for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot made by ``state_dict`` (possibly through JSON: string indices
        and lists are accepted). Validates everything first and raises ValueError naming
        the mismatch, leaving the optimizer unchanged; arrays are copied (cast to the
        parameter's dtype when floating).

        >>> import chainrule as cr
        >>> w = cr.tensor(1.0, requires_grad=True)
        >>> a = cr.optim.Adam([w], lr=0.1)
        >>> (w * w).backward(); a.step()
        >>> b = cr.optim.Adam([w], lr=0.1)
        >>> b.load_state_dict(a.state_dict())
        >>> b.state_dict()["state"][0]["step"]
        1
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), but the optimizer has "
                             f"{len(self.param_groups)}")
        id_map: dict[int, tuple[Tensor, int, int]] = {}
        new_groups = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = list(saved.get("params", ()))
            if len(ids) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {gi} has "
                                 f"{len(ids)} parameter(s) in the state dict, but "
                                 f"{len(group['params'])} in the optimizer")
            for pos, (i, p) in enumerate(zip(ids, group["params"])):
                id_map[int(i)] = (p, gi, pos)
            new = dict(group)
            for k, v in saved.items():
                if k != "params":
                    new[k] = tuple(v) if isinstance(v, list) else v
            new["params"] = group["params"]
            try:
                self._check_group(new)
            except ValueError as e:
                raise ValueError(f"{name}.load_state_dict: parameter group {gi}: {e}") from None
            new_groups.append(new)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}.load_state_dict: state key {key!r} is not a "
                                 "parameter index") from None
            if i not in id_map:
                raise ValueError(f"{name}.load_state_dict: the state has an entry for "
                                 f"parameter {i}, which no parameter group lists")
            p, gi, pos = id_map[i]
            where = f"parameter {i} (group {gi}, position {pos})"
            new_state[p] = {k: self._load_value(k, v, p, where) for k, v in entry.items()}
        self.param_groups[:] = new_groups
        self.state = new_state

    def _load_value(self, key: str, v, p: Tensor, where: str):
        name = type(self).__name__
        if isinstance(v, Tensor):
            v = v.data
        if isinstance(v, np.generic):
            v = v.item()
        if key in self._scalar_state:
            if isinstance(v, np.ndarray):
                if v.size != 1:
                    raise ValueError(f"{name}.load_state_dict: {where}: {key!r} should be a "
                                     f"scalar, but has shape {v.shape}")
                v = v.item()
            if not isinstance(v, (int, float)):
                raise ValueError(f"{name}.load_state_dict: {where}: {key!r} should be a "
                                 f"number, got {type(v).__name__}")
            return v
        if isinstance(v, np.ndarray):
            if v.shape != p.shape:
                raise ValueError(f"{name}.load_state_dict: {where}: {key!r} has shape "
                                 f"{v.shape}, but the parameter has shape {p.shape}")
            dtype = p.dtype if v.dtype.kind == "f" else v.dtype
            return np.array(v, dtype=dtype, copy=True)
        if v is None or isinstance(v, (int, float, str, bool)):
            return v
        raise ValueError(f"{name}.load_state_dict: {where}: {key!r} is a "
                         f"{type(v).__name__}; state values must be NumPy arrays or Python "
                         "numbers, strings, bools or None")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _check_nonneg(group: dict, key: str, label: str) -> None:
    v = group[key]
    if not 0.0 <= v:
        raise ValueError(f"Invalid {label}: {v}")
