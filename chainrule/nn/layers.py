"""Layers, activations and loss modules; default initialisation matches PyTorch's."""
from __future__ import annotations

import numpy as np

from ..tensor import default_rng, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


def _empty(*shape, dtype=None):
    return Parameter(np.zeros(shape, dtype or get_default_dtype()))


class Linear(Module):
    """y = x·Wᵀ + b, ``weight`` (out, in)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None,
                 rng=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        self.bias = _empty(out_features, dtype=dtype) if bias else None
        init.default_linear_init_(self.weight, self.bias, rng)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _ConvNd(Module):
    def __init__(self, nd, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 bias, dtype, rng):
        super().__init__()
        ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, ks
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = _empty(out_channels, in_channels, *ks, dtype=dtype)
        self.bias = _empty(out_channels, dtype=dtype) if bias else None
        init.default_linear_init_(self.weight, self.bias, rng)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, dtype=None, rng=None):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         bias, dtype, rng)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, dtype=None, rng=None):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         bias, dtype, rng)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class MaxPool1d(Module):
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class MaxPool2d(MaxPool1d):
    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride)


class AvgPool2d(MaxPool1d):
    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride)


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)


class Dropout(Module):
    """Zero elements with probability p in training; ``rng`` makes the masks reproducible."""

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng or default_rng())

    def extra_repr(self):
        return f"p={self.p}"


class _BatchNorm(Module):
    _ndims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            from ..errors import ShapeError, describe
            raise ShapeError(f"{type(self).__name__}({self.num_features}): expected "
                             f"{' or '.join(f'{n}-D' for n in self._ndims)} input with "
                             f"{self.num_features} channels, got {describe(x)}")
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None,
                            self.weight, self.bias, use_batch, self.momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L)."""
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W)."""
    _ndims = (4,)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) \
            else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(np.ones(shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype)) if elementwise_affine else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors, initialised N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None, rng=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
        init.normal_(self.weight, rng=rng)

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


def _settings(defaults, args, kwargs, name):
    if len(args) > len(defaults) or set(kwargs) - set(defaults):
        raise TypeError(f"{name} takes {list(defaults)}, got {args} {kwargs}")
    return {**defaults, **dict(zip(defaults, args)), **kwargs}


def _activation(name, fn, doc, **defaults):
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        for k, v in _settings(defaults, args, kwargs, name).items():
            setattr(self, k, v)

    def forward(self, x):
        return fn(x, **{k: getattr(self, k) for k in defaults})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in defaults)

    return type(name, (Module,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                  "extra_repr": extra_repr})


ReLU = _activation("ReLU", F.relu, "max(x, 0)")
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, "x if x > 0 else slope·x",
                        negative_slope=0.01)
Sigmoid = _activation("Sigmoid", F.sigmoid, "1/(1 + e⁻ˣ)")
Tanh = _activation("Tanh", F.tanh, "tanh x")
GELU = _activation("GELU", F.gelu, "x·Φ(x)", approximate="none")
Softmax = _activation("Softmax", lambda x, dim: F.softmax(x, dim), "softmax along dim",
                      dim=-1)


def _loss(name, fn, **defaults):
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        for k, v in _settings({"reduction": "mean", **defaults}, args, kwargs, name).items():
            setattr(self, k, v)

    def forward(self, input, target):  # noqa: A002
        keys = ["reduction", *defaults]
        return fn(input, target, **{k: getattr(self, k) for k in keys})

    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "__doc__": f"Module form of ``{fn.__name__}``."})


MSELoss = _loss("MSELoss", F.mse_loss)
L1Loss = _loss("L1Loss", F.l1_loss)
CrossEntropyLoss = _loss("CrossEntropyLoss", F.cross_entropy)
NLLLoss = _loss("NLLLoss", F.nll_loss)
BCEWithLogitsLoss = _loss("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
                          pos_weight=None)
