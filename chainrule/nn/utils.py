"""Utilities on parameters' gradients: ``clip_grad_norm_`` and ``GradientMonitor``.

Imports only ``chainrule.tensor`` (absolute imports), so that ``chainrule.nn`` can import
this module without a cycle.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.nn.monitor import GradientMonitor  # noqa: F401  (public here, as API.md says)
from chainrule.tensor import Tensor, get_default_dtype


def _vector_norm(x: np.ndarray, ord: float) -> np.ndarray:
    """``torch.linalg.vector_norm(x, ord)`` of the flattened array, as a 0-d array."""
    x = x.ravel()
    if ord == 2:
        return np.sqrt(np.dot(x, x))
    return np.asarray(np.linalg.norm(x, ord))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    Like ``torch.nn.utils.clip_grad_norm_``: total = ‖(‖g₁‖, ‖g₂‖, ...)‖ (all of order
    ``norm_type``, which may be ``float("inf")``), then every gradient is multiplied by
    min(1, max_norm / (total + 1e-6)). Parameters without a gradient are skipped. Returns
    the total norm (before clipping) as a 0-d Tensor.

    >>> import chainrule as cr
    >>> w = cr.tensor([0.0, 0.0], dtype=cr.float64, requires_grad=True)
    >>> w.grad = cr.tensor([3.0, 4.0], dtype=cr.float64)
    >>> clip_grad_norm_([w], max_norm=1.0).item()
    5.0
    >>> [round(v, 6) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = [p for p in parameters if p.grad is not None]
    grads = [p.grad for p in params]
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(np.zeros((), get_default_dtype()))
    norms = [_vector_norm(g.data, norm_type) for g in grads]
    dtype = np.result_type(*norms)
    total = _vector_norm(np.stack(norms).astype(dtype, copy=False), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    coef = max_norm / (total + dtype.type(1e-6))
    if coef >= 1.0:  # torch multiplies by min(coef, 1): a factor 1 changes nothing
        return Tensor._wrap(np.asarray(total, dtype))
    for p, g in zip(params, grads):  # NaN coef (NaN norm) scales by NaN, as torch does
        data = g.data
        if data.flags.writeable and g.grad_fn is None:
            data *= coef.astype(data.dtype)
        else:  # read-only memory or a gradient with a graph: replace, never write through
            p.grad = Tensor._wrap(data * coef.astype(data.dtype))
    return Tensor._wrap(np.asarray(total, dtype))
