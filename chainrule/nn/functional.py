"""``cr.nn.functional`` (import as F): layers and losses as functions, PyTorch-shaped."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import ops
from ..errors import ShapeError, describe
from ..functional import log_softmax, mean, softmax
from ..ops import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
from ..ops.conv import avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d
from ..ops.linalg import linear
from ..tensor import as_tensor, default_rng

__all__ = ["linear", "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool2d", "flatten",
           "dropout", "batch_norm", "layer_norm", "embedding", "relu", "leaky_relu", "elu",
           "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "mse_loss",
           "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits",
           "one_hot"]


def flatten(x, start_dim: int = 1, end_dim: int = -1):
    """Merge the axes ``start_dim`` .. ``end_dim`` (inclusive; negative counts from the end)
    into one, as ``torch.flatten``; the default keeps the batch axis and flattens the rest.

    >>> import chainrule as cr
    >>> cr.nn.functional.flatten(cr.ones((2, 3, 4))).shape
    (2, 12)
    """
    x = as_tensor(x)
    nd = x.ndim
    s, e = start_dim % nd, end_dim % nd
    return ops.reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def dropout(x, p: float = 0.5, training: bool = True, rng=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p), so the
    expected value is unchanged; with ``training=False`` (or p = 0) ``x`` is returned as is.

    Args:
        x: input Tensor or array.
        p: drop probability in [0, 1].
        training: apply dropout (True) or pass through (False).
        rng: ``numpy.random.Generator`` for the mask (default: the library generator, seeded by
            ``cr.manual_seed``).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> y = cr.nn.functional.dropout(cr.ones(6), 0.5, rng=np.random.default_rng(1))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = (rng or default_rng()).random(x.shape) >= p
    return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))


def _stat_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalize over every axis but the channel axis 1, as ``torch.nn.functional.batch_norm``.

    In training, batch statistics normalize (biased variance) and the running statistics are
    updated in place with the unbiased variance; in eval the running statistics are used.

    Args:
        x: (N, C, ...) input.
        running_mean, running_var: (C,) Tensors updated in training, used in eval (or None).
        weight, bias: optional (C,) scale and shift.
        training: use (and update with) the batch's statistics.
        momentum: weight of the new batch in the running statistics.
        eps: added to the variance.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0], [3.0]])
    >>> y = cr.nn.functional.batch_norm(x, None, None, training=True)
    >>> [round(v, 4) for v in y.numpy().ravel().tolist()]
    [-1.0, 1.0]
    """
    x = as_tensor(x)
    axes = _stat_axes(x)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mu = mean(x, axes, keepdims=True)
        centred = x - mu
        var = mean(centred * centred, axes, keepdims=True)
        if running_mean is not None:
            n = x.size // x.shape[1]
            if n < 2:
                raise ValueError(f"batch_norm: need more than 1 value per channel in training, "
                                 f"got {describe(x)}")
            rm, rv = running_mean.data, running_var.data
            rm *= 1 - momentum
            rm += momentum * mu.data.reshape(-1)
            rv *= 1 - momentum
            rv += momentum * var.data.reshape(-1) * (n / (n - 1))
        out = centred / ops.sqrt(var + eps)
    else:
        rm = ops.reshape(running_mean.detach(), shape)
        rv = ops.reshape(running_var.detach(), shape)
        out = (x - rm) / ops.sqrt(rv + eps)
    if weight is not None:
        out = out * ops.reshape(weight, shape)
    if bias is not None:
        out = out + ops.reshape(bias, shape)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each example over its trailing ``normalized_shape`` axes to mean 0 and variance
    1 (biased), then multiply by ``weight`` and add ``bias`` if given.

    >>> import chainrule as cr
    >>> y = cr.nn.functional.layer_norm(cr.tensor([[0.0, 2.0]]), (2,))
    >>> [round(v, 4) for v in y.tolist()[0]]
    [-1.0, 1.0]
    """
    x = as_tensor(x)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ShapeError(f"layer_norm: trailing shape {normalized_shape} does not match "
                         f"{describe(x)}")
    axes = tuple(range(-k, 0))
    centred = x - mean(x, axes, keepdims=True)
    out = centred / ops.sqrt(mean(centred * centred, axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _index_array(v) -> np.ndarray:
    """Integer indices (class targets, embedding rows) as an array: a Tensor's own array, an
    ndarray itself. Not ``getattr(v, "data", v)``: an ndarray's ``.data`` is its buffer, and
    an array made from that is not the argument ``cr.compile`` binds (it would be frozen)."""
    return np.asarray(v._data if hasattr(v, "_data") else v)


def embedding(indices, weight):
    """The rows of ``weight`` (num_embeddings, dim) at integer ``indices`` of any shape; the
    result has shape ``indices.shape + (dim,)`` and only the rows used receive gradient.

    >>> import chainrule as cr
    >>> table = cr.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> cr.nn.functional.embedding(cr.tensor([2, 1], dtype=cr.int64), table).tolist()
    [[3.0, 4.0], [1.0, 2.0]]
    """
    idx = _index_array(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    _check_range(idx, weight.shape[0], "embedding", "index")
    return ops.getitem(weight, idx)


# -- losses ----------------------------------------------------------------------------------
def _reduce(loss, reduction, name):
    if reduction == "mean":
        return mean(loss) if loss.size else _empty_mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _empty_mean(loss):
    """The mean loss of an empty batch: NaN with NumPy's warning, pointing at the caller of
    the loss function."""
    warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=4)
    return ops.sum(loss) * math.nan  # 0/0, as PyTorch's mean of nothing


def _same_shape(name, x, t):
    if x.shape != t.shape:
        raise ShapeError(f"{name}: input {describe(x)} and target {describe(t)} differ in shape")


def mse_loss(input, target, reduction: str = "mean"):  # noqa: A002
    """Mean squared error, mean((input − target)²).

    Args:
        input, target: Tensors or arrays of the same shape.
        reduction: "mean" (default), "sum" or "none" (elementwise).

    >>> import chainrule as cr
    >>> cr.nn.functional.mse_loss(cr.tensor([1.0, 3.0]), cr.tensor([0.0, 0.0])).item()
    5.0
    """
    x, t = as_tensor(input), as_tensor(target)
    _same_shape("mse_loss", x, t)
    d = x - t
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction: str = "mean"):  # noqa: A002
    """Mean absolute error, mean(|input − target|).

    Args:
        input, target: Tensors or arrays of the same shape.
        reduction: "mean" (default), "sum" or "none" (elementwise).

    >>> import chainrule as cr
    >>> cr.nn.functional.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0])).item()
    2.0
    """
    x, t = as_tensor(input), as_tensor(target)
    _same_shape("l1_loss", x, t)
    return _reduce(ops.abs(x - t), reduction, "l1_loss")


def _class_targets(name, x, target):
    t = _index_array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class indices, got {t.dtype}")
    if x.ndim < 2 or t.shape != (x.shape[0],) + x.shape[2:]:
        raise ShapeError(f"{name}: input {describe(x)} needs (N, C, ...) with targets "
                         f"(N, ...), got targets of shape {t.shape}")
    return t


def _check_range(t, n: int, name: str, what: str = "target") -> None:
    """Raise IndexError unless every integer index in ``t`` lies in [0, n). One reduction
    checks both ends: seen as unsigned, a negative index is a huge one. (``cr.compile``'s
    replay calls it too, for each new batch of targets or embedding indices.)"""
    u = t.view(f"u{t.itemsize}") if t.dtype.kind == "i" else t
    if t.size and np.maximum.reduce(u, axis=None) >= n:
        raise IndexError(f"{name}: {what} out of range [0, {n}) (min {t.min()}, max {t.max()})")


_EYES: dict = {}  # (classes, dtype) -> a read-only identity, for ``_onehot``
EYE_MAX = 256  # more classes: the comparison below (an identity would take C² numbers)


def _onehot(x, t, name="cross_entropy"):
    """The targets ``t`` as one-hot rows of ``x``'s dtype along axis 1, after checking them.
    Targets (N,) take rows of a kept identity: one ``take``, 4k instructions against 21k
    for comparing with every class number and casting."""
    c = x.shape[1]
    _check_range(t, c, name)
    if x.ndim == 2 and c <= EYE_MAX:
        eye = _EYES.get((c, x.dtype))
        if eye is None:
            if len(_EYES) > 16:
                _EYES.clear()
            eye = _EYES[c, x.dtype] = np.eye(c, dtype=x.dtype)
            eye.flags.writeable = False
        return eye.take(t, 0)  # a new array: the caller may write to it
    return (np.arange(c).reshape((1, -1) + (1,) * (x.ndim - 2)) == t[:, None]).astype(x.dtype)


def nll_loss(input, target, reduction: str = "mean"):  # noqa: A002
    """Negative log-likelihood of integer ``target`` under log-probabilities ``input``
    (N, C, ...). The pick is a ``where`` on a one-hot mask (no scatter in the backward, and a
    -inf log-probability of another class stays out of the sum instead of making 0·(-inf) =
    NaN). An empty batch's mean is NaN, as PyTorch's.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.nll_loss(cr.tensor([[-0.5, -np.inf, -1.0]]), np.array([0]))
    tensor(0.5)
    """
    x = as_tensor(input)
    t = _class_targets("nll_loss", x, target)
    mask = _onehot(x, t, "nll_loss") != 0
    return _reduce(-ops.sum(ops.where(mask, x, 0.0), 1), reduction, "nll_loss")


def cross_entropy(input, target, reduction: str = "mean"):  # noqa: A002
    """Softmax cross-entropy of logits (N, C, ...) and integer targets; stable for any
    logits, and finite wherever PyTorch's is: a -inf logit (a masked class) other than the
    target counts as probability 0. For non-empty (N, C) logits with a mean or sum it is one
    fused primitive; an empty batch's mean is NaN (with NumPy's warning), as PyTorch's.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> x = cr.tensor([[0.0, -np.inf, 1.0]], requires_grad=True)
    >>> loss = F.cross_entropy(x, np.array([0]))
    >>> loss.backward()
    >>> round(loss.item(), 4), x.grad
    (1.3133, tensor([[-0.7310586,  0.       ,  0.7310586]]))
    """
    x = as_tensor(input)
    if x.ndim == 2 and reduction in ("mean", "sum") and x.size:
        t = _class_targets("cross_entropy", x, target)
        scale = 1.0 / x.shape[0] if reduction == "mean" else 1.0
        return ops.softmax_cross_entropy(x, _onehot(x, t), scale)
    return nll_loss(log_softmax(x, 1), target, reduction)


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean",  # noqa: A002
                                     pos_weight=None):
    """−[t·log σ(x) + (1 − t)·log(1 − σ(x))] = softplus(x) − t·x, finite for any logits.

    ``pos_weight`` weighs the positive term: (1 + (w − 1)t)·softplus(−x) + (1 − t)·x.

    Args:
        input: logits x, any shape.
        target: t in [0, 1], the shape of ``input``.
        reduction: "mean" (default), "sum" or "none".
        pos_weight: optional weight of the positive class (broadcast against ``input``).

    >>> import chainrule as cr
    >>> F = cr.nn.functional
    >>> x, t = cr.tensor([0.0, 100.0]), cr.tensor([1.0, 1.0])
    >>> round(F.binary_cross_entropy_with_logits(x, t).item(), 4)
    0.3466
    """
    x, t = as_tensor(input), as_tensor(target)
    _same_shape("binary_cross_entropy_with_logits", x, t)
    if pos_weight is None:
        loss = softplus(x, 1.0, np.inf) - t * x
    else:
        weight = 1 + (as_tensor(pos_weight) - 1) * t
        loss = weight * softplus(-x, 1.0, np.inf) + (1 - t) * x
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def one_hot(tensor, num_classes: int = -1):
    """Integer class indices (any shape) as one-hot vectors along a new last axis, int64, as
    ``torch.nn.functional.one_hot``; ``num_classes=-1`` takes the largest index + 1.

    >>> import chainrule as cr
    >>> cr.nn.functional.one_hot(cr.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    return as_tensor(_one_hot_array(_index_array(tensor), num_classes))


def _one_hot_array(t, num_classes: int):
    """``one_hot`` on an index array (``cr.compile`` replays this call on each new batch)."""
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices (dtype cr.long), got "
                        f"{t.dtype}; convert with .long()")
    if t.size and t.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {t.min()}")
    if num_classes == -1:
        if not t.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(t.max()) + 1
    elif t.size and t.max() >= num_classes:
        raise ValueError(f"one_hot: class index {t.max()} is out of range for num_classes="
                         f"{num_classes}")
    return (t[..., None] == np.arange(num_classes)).astype(np.int64)
