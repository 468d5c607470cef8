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
    """Fully connected layer: y = x Wᵀ + b, as ``torch.nn.Linear``.

    Args:
        in_features: size of each input's last axis.
        out_features: size of each output's last axis.
        bias: learn an additive bias ``b`` (default True).
        dtype: parameter dtype (default: ``cr.get_default_dtype()``).
        rng: ``numpy.random.Generator`` for the initialisation (default: the library's).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features,), both initialised
    U(−1/√in, 1/√in) as PyTorch. Input (..., in_features) -> output (..., out_features).

    >>> import chainrule as cr
    >>> lin = cr.nn.Linear(3, 2)
    >>> lin.weight.shape, lin(cr.ones((4, 3))).shape
    ((2, 3), (4, 2))
    """

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
    """1-D convolution (cross-correlation, as PyTorch) over inputs shaped (N, C_in, L).

    Args:
        in_channels, out_channels: channel counts; ``weight`` is (out, in, kernel_size).
        kernel_size: the kernel's length.
        stride, padding, dilation: as ``torch.nn.Conv1d`` (integers).
        bias: learn one bias per output channel (default True).
        dtype, rng: parameter dtype and the generator for the initialisation.

    Returns (N, C_out, L_out) with L_out = (L + 2·padding − dilation·(k − 1) − 1) // stride + 1.

    >>> import chainrule as cr
    >>> cr.nn.Conv1d(2, 4, kernel_size=3, padding=1)(cr.ones((5, 2, 10))).shape
    (5, 4, 10)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, dtype=None, rng=None):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         bias, dtype, rng)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation, as PyTorch) over images shaped (N, C_in, H, W).

    Args:
        in_channels, out_channels: channel counts; ``weight`` is (out, in, kH, kW).
        kernel_size: an int or a pair (kH, kW).
        stride, padding, dilation: as ``torch.nn.Conv2d``.
        bias: learn one bias per output channel (default True).
        dtype, rng: parameter dtype and the generator for the initialisation.

    >>> import chainrule as cr
    >>> conv = cr.nn.Conv2d(1, 8, kernel_size=3)
    >>> conv(cr.ones((2, 1, 28, 28))).shape
    (2, 8, 26, 26)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, dtype=None, rng=None):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         bias, dtype, rng)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class MaxPool1d(Module):
    """Maximum over sliding windows of the last axis of (N, C, L) inputs.

    Args:
        kernel_size: the window length.
        stride: the step between windows (default: ``kernel_size``, windows do not overlap).

    The gradient flows only to each window's maximum.

    >>> import chainrule as cr
    >>> cr.nn.MaxPool1d(2)(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[3.0, 2.0]]]
    """
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class MaxPool2d(MaxPool1d):
    """Maximum over sliding windows of the last two axes of (N, C, H, W) images.

    Args:
        kernel_size: the window size (an int: square windows).
        stride: the step between windows (default: ``kernel_size``).

    >>> import chainrule as cr
    >>> cr.nn.MaxPool2d(2)(cr.ones((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    """
    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride)


class AvgPool2d(MaxPool1d):
    """Mean over sliding windows of the last two axes of (N, C, H, W) images.

    Args:
        kernel_size: the window size (an int: square windows).
        stride: the step between windows (default: ``kernel_size``).

    >>> import chainrule as cr
    >>> cr.nn.AvgPool2d(2)(cr.tensor([[[[1.0, 3.0], [5.0, 7.0]]]])).tolist()
    [[[[4.0]]]]
    """
    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride)


class Flatten(Module):
    """Merge the axes ``start_dim`` .. ``end_dim`` (default: all but the batch axis) into one.

    >>> import chainrule as cr
    >>> cr.nn.Flatten()(cr.ones((2, 3, 4, 4))).shape
    (2, 48)
    """
    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode and scale the survivors by
    1/(1 − p), so the expected value is unchanged; in evaluation mode it passes ``x`` through.

    Args:
        p: drop probability in [0, 1] (default 0.5).
        rng: ``numpy.random.Generator`` for the masks (default: the library's), for
            reproducible runs.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> drop = cr.nn.Dropout(0.5, rng=np.random.default_rng(0))
    >>> sorted(set(drop(cr.ones(8)).tolist())), drop.eval()(cr.ones(3)).tolist()
    ([0.0, 2.0], [1.0, 1.0, 1.0])
    """

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
    """Batch normalization over (N, C) or (N, C, L): each channel is normalised with the
    batch's mean and variance in training (updating running estimates with ``momentum``) and
    with the running estimates in evaluation, then scaled by ``weight`` and shifted by ``bias``.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance (default 1e-5).
        momentum: weight of the new batch in the running estimates (default 0.1, as PyTorch).
        affine: learn ``weight`` and ``bias`` (default True).
        track_running_stats: keep running estimates (default True).

    >>> import chainrule as cr
    >>> y = cr.nn.BatchNorm1d(3)(cr.tensor([[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]]))
    >>> [round(v, 3) for v in y.numpy()[0].tolist()]
    [-1.0, -1.0, -1.0]
    """
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W): per channel, over the batch and both spatial axes
    (arguments as :class:`BatchNorm1d`).

    >>> import chainrule as cr
    >>> bn = cr.nn.BatchNorm2d(4)
    >>> bn(cr.randn(2, 4, 5, 5)).shape, bn.running_mean.shape
    ((2, 4, 5, 5), (4,))
    """
    _ndims = (4,)


class LayerNorm(Module):
    """Layer normalization: normalise each example over its last axes
    (``normalized_shape``) to mean 0 and variance 1, then scale and shift elementwise.

    Args:
        normalized_shape: an int or the shape of the trailing axes to normalise over.
        eps: added to the variance (default 1e-5).
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.

    >>> import chainrule as cr
    >>> y = cr.nn.LayerNorm(4)(cr.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> round(float(y.numpy().mean()), 6), round(float(y.numpy().std()), 3)
    (0.0, 1.0)
    """
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
    """A lookup table: row ``i`` of ``weight`` (num_embeddings, embedding_dim) is the vector of
    index ``i``; initialised N(0, 1) as PyTorch. Only the rows looked up receive gradient.

    >>> import chainrule as cr
    >>> emb = cr.nn.Embedding(10, 3)
    >>> emb(cr.tensor([[1, 2], [3, 1]], dtype=cr.int64)).shape
    (2, 2, 3)
    """

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

    # Written here because these functions are made per class: inspect.getdoc cannot find the
    # class from their qualified name to inherit Module's text.
    forward.__doc__ = f"Apply {name} to ``x``, elementwise (see the class)."
    extra_repr.__doc__ = f"The settings of this {name} as text, for its repr."

    return type(name, (Module,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                  "extra_repr": extra_repr})


ReLU = _activation("ReLU", F.relu, """Rectified linear unit, max(x, 0), elementwise; its
gradient is 1 where x > 0 and 0 elsewhere.

>>> import chainrule as cr
>>> cr.nn.ReLU()(cr.tensor([-1.0, 0.5])).tolist()
[0.0, 0.5]
""")
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, """x where x > 0, ``negative_slope``·x
elsewhere (default slope 0.01), so that negative inputs still pass some gradient.

>>> import chainrule as cr
>>> cr.nn.LeakyReLU(0.25)(cr.tensor([-2.0, 3.0])).tolist()
[-0.5, 3.0]
""", negative_slope=0.01)
Sigmoid = _activation("Sigmoid", F.sigmoid, """The logistic function σ(x) = 1/(1 + e⁻ˣ),
elementwise; σ'(x) = σ(x)(1 − σ(x)) ≤ 1/4.

>>> import chainrule as cr
>>> cr.nn.Sigmoid()(cr.tensor([0.0])).tolist()
[0.5]
""")
Tanh = _activation("Tanh", F.tanh, """The hyperbolic tangent, elementwise; its derivative is
1 − tanh²(x).

>>> import chainrule as cr
>>> cr.nn.Tanh()(cr.tensor([0.0])).tolist()
[0.0]
""")
GELU = _activation("GELU", F.gelu, """Gaussian error linear unit x·Φ(x), elementwise
(``approximate="tanh"`` for the tanh approximation).

>>> import chainrule as cr
>>> round(cr.nn.GELU()(cr.tensor([1.0])).item(), 4)
0.8413
""", approximate="none")
Softmax = _activation("Softmax", lambda x, dim: F.softmax(x, dim), """Softmax along ``dim``
(default the last axis): e^xᵢ / Σⱼ e^xⱼ, probabilities that sum to one.

>>> import chainrule as cr
>>> cr.nn.Softmax(dim=-1)(cr.tensor([[0.0, 0.0]])).tolist()
[[0.5, 0.5]]
""", dim=-1)

def _loss(name, fn, doc, **defaults):
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        for k, v in _settings({"reduction": "mean", **defaults}, args, kwargs, name).items():
            setattr(self, k, v)

    def forward(self, input, target):  # noqa: A002
        keys = ["reduction", *defaults]
        return fn(input, target, **{k: getattr(self, k) for k in keys})

    forward.__doc__ = f"The loss of ``input`` against ``target`` (see ``F.{fn.__name__}``)."
    return type(name, (Module,), {"__init__": __init__, "forward": forward, "__doc__": doc})


MSELoss = _loss("MSELoss", F.mse_loss, """Mean squared error between input and target (Module
form of ``F.mse_loss``; ``reduction`` "mean", "sum" or "none").

>>> import chainrule as cr
>>> cr.nn.MSELoss()(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0])).item()
2.0
""")
L1Loss = _loss("L1Loss", F.l1_loss, """Mean absolute error between input and target (Module
form of ``F.l1_loss``; ``reduction`` "mean", "sum" or "none").

>>> import chainrule as cr
>>> cr.nn.L1Loss()(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0])).item()
1.0
""")
CrossEntropyLoss = _loss("CrossEntropyLoss", F.cross_entropy, """Softmax cross-entropy of
logits (N, C) against integer class targets (N,) (Module form of ``F.cross_entropy``).

>>> import chainrule as cr
>>> loss = cr.nn.CrossEntropyLoss()(cr.zeros((2, 4)), cr.tensor([0, 3], dtype=cr.int64))
>>> round(loss.item(), 4)   # log 4: uniform scores over four classes
1.3863
""")
NLLLoss = _loss("NLLLoss", F.nll_loss, """Negative log-likelihood of log-probabilities (N, C)
at integer class targets (N,) (Module form of ``F.nll_loss``; pair with ``log_softmax``).

>>> import chainrule as cr
>>> logp = cr.log(cr.tensor([[0.5, 0.5], [0.25, 0.75]]))
>>> round(cr.nn.NLLLoss()(logp, cr.tensor([0, 1], dtype=cr.int64)).item(), 4)
0.4904
""")
BCEWithLogitsLoss = _loss("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits, """Binary
cross-entropy of logits against 0/1 targets, computed stably from the logits (Module form of
``F.binary_cross_entropy_with_logits``; ``pos_weight`` weighs the positive class).

>>> import chainrule as cr
>>> round(cr.nn.BCEWithLogitsLoss()(cr.tensor([0.0]), cr.tensor([1.0])).item(), 4)
0.6931
""", pos_weight=None)
