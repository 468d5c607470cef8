"""Parameter initialisation, in place, with PyTorch's formulas (``torch.nn.init``).

Each function takes an optional ``rng`` (a ``numpy.random.Generator``); by default the
library generator that ``cr.manual_seed`` seeds.

>>> import chainrule as cr
>>> w = cr.zeros(3, 4)
>>> _ = cr.nn.init.ones_(w)
>>> w.data.sum()
np.float32(12.0)
"""
from __future__ import annotations

import math

from ..tensor import default_rng


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for an activation (as ``torch.nn.init.calculate_gain``):
    1 for linear and sigmoid, 5/3 for tanh, √2 for relu, √(2/(1 + slope²)) for leaky_relu.

    >>> from chainrule.nn import init
    >>> round(init.calculate_gain("relu"), 4), round(init.calculate_gain("tanh"), 4)
    (1.4142, 1.6667)
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(t):
    shape = t.shape
    if len(shape) < 2:
        raise ValueError(f"fan in/out need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(t, values):
    t.data[...] = values.astype(t.dtype, copy=False)
    return t


def uniform_(t, a: float = 0.0, b: float = 1.0, rng=None):
    """Fill ``t`` in place with draws from U(a, b) and return it.

    >>> import chainrule as cr
    >>> w = cr.nn.init.uniform_(cr.zeros((2, 3)), -1.0, 1.0)
    >>> bool((abs(w.numpy()) <= 1).all())
    True
    """
    return _fill(t, (rng or default_rng()).uniform(a, b, t.shape))


def normal_(t, mean: float = 0.0, std: float = 1.0, rng=None):
    """Fill ``t`` in place with draws from N(mean, std²) and return it.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> w = cr.nn.init.normal_(cr.zeros(10000), 0.0, 2.0, rng=np.random.default_rng(0))
    >>> round(float(w.numpy().std()), 1)
    2.0
    """
    return _fill(t, (rng or default_rng()).normal(mean, std, t.shape))


def zeros_(t):
    """Fill ``t`` with zeros, in place, and return it.

    >>> import chainrule as cr
    >>> cr.nn.init.zeros_(cr.ones(2)).tolist()
    [0.0, 0.0]
    """
    t.data[...] = 0
    return t


def ones_(t):
    """Fill ``t`` with ones, in place, and return it.

    >>> import chainrule as cr
    >>> cr.nn.init.ones_(cr.zeros(2)).tolist()
    [1.0, 1.0]
    """
    t.data[...] = 1
    return t


def xavier_uniform_(t, gain: float = 1.0, rng=None):
    """Glorot/Xavier uniform initialisation in place: U(−b, b) with
    b = gain·√(6 / (fan_in + fan_out)), which keeps activations' variance roughly constant
    through tanh or linear layers.

    >>> import chainrule as cr
    >>> w = cr.nn.init.xavier_uniform_(cr.zeros((30, 20)))
    >>> bool((abs(w.numpy()) <= (6 / 50) ** 0.5).all())
    True
    """
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, rng)


def xavier_normal_(t, gain: float = 1.0, rng=None):
    """Glorot/Xavier normal initialisation in place: N(0, σ²) with
    σ = gain·√(2 / (fan_in + fan_out)).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> w = cr.nn.init.xavier_normal_(cr.zeros((200, 200)), rng=np.random.default_rng(0))
    >>> round(float(w.numpy().std()), 2)   # √(2/400)
    0.07
    """
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(t, a, mode, nonlinearity):
    fan_in, fan_out = _fans(t)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng=None):
    """He/Kaiming uniform initialisation in place: U(−b, b) with b = √3·gain/√fan, fan the
    layer's ``mode`` ("fan_in" or "fan_out") and gain from ``calculate_gain(nonlinearity, a)``.

    >>> import chainrule as cr
    >>> w = cr.nn.init.kaiming_uniform_(cr.zeros((64, 32)), nonlinearity="relu")
    >>> bool((abs(w.numpy()) <= (6 / 32) ** 0.5).all())
    True
    """
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, rng)


def kaiming_normal_(t, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None):
    """He/Kaiming normal initialisation in place: N(0, σ²) with σ = gain/√fan; for ReLU
    (gain √2) this keeps the gradient's scale through deep networks.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> w = cr.nn.init.kaiming_normal_(cr.zeros((256, 128)), nonlinearity="relu",
    ...                                rng=np.random.default_rng(0))
    >>> round(float(w.numpy().std()), 3)   # √(2/128)
    0.125
    """
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity), rng)


def default_linear_init_(weight, bias, rng=None):
    """PyTorch's default for Linear and Conv: kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), and
    the bias U(±1/√fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        fan_in, _ = _fans(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, rng)


__all__ = ["calculate_gain", "uniform_", "normal_", "zeros_", "ones_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]
