"""Random tensors, PyTorch-shaped: ``cr.Generator`` and ``generator=`` on every random factory.

A ``cr.Generator`` wraps a ``numpy.random.Generator``: the same seed gives the same numbers
every run (not the numbers PyTorch draws: the bit generators differ). Without a generator the
library's default one is used (seeded by ``cr.manual_seed``). The older ``rng=`` keyword (a
``numpy.random.Generator``) is accepted too.

>>> import chainrule as cr
>>> g = cr.Generator().manual_seed(0)
>>> a = cr.randn(3, generator=g)
>>> b = cr.randn(3, generator=cr.Generator().manual_seed(0))
>>> bool((a == b).all())
True
"""
from __future__ import annotations

import numpy as np

from .device import check_device
from .errors import ChainruleError
from .tensor import Tensor, _float, _new, _shape, default_rng, int64

__all__ = ["Generator", "rand", "randn", "randint", "normal", "multinomial", "rand_like",
           "randn_like", "randperm"]


class Generator:
    """A seedable source of random numbers, as ``torch.Generator`` (``manual_seed`` returns
    the generator, so ``cr.Generator().manual_seed(42)`` is one expression).

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(42)
    >>> g.initial_seed()
    42
    >>> cr.randint(0, 10, (4,), generator=g).tolist() == cr.randint(
    ...     0, 10, (4,), generator=cr.Generator().manual_seed(42)).tolist()
    True
    """

    def __init__(self, device="cpu") -> None:
        check_device(device, "Generator")
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.numpy = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed``; returns the generator."""
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        self.numpy = np.random.default_rng(seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def get_state(self) -> dict:
        """The bit generator's state (a dict), for ``set_state``."""
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        """Continue from a state returned by ``get_state``."""
        self.numpy.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"<chainrule.Generator seed={self._seed}>"


def _source(generator, rng, where: str) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator`` (a ``cr.Generator`` or NumPy's), else
    ``rng``, else the library default."""
    if generator is not None and rng is not None:
        raise TypeError(f"{where}: give generator= or rng=, not both")
    g = generator if generator is not None else rng
    if g is None:
        return default_rng()
    if isinstance(g, Generator):
        return g.numpy
    if isinstance(g, np.random.Generator):
        return g
    raise TypeError(f"{where}: generator must be a cr.Generator (or a numpy.random.Generator), "
                    f"got {type(g).__name__}")


def _make(arr, dtype, requires_grad, device, where):
    check_device(device, where)
    return _new(arr.astype(_float(dtype), copy=False), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, generator=None, device=None, rng=None):
    """Uniform samples on [0, 1).

    >>> import chainrule as cr
    >>> x = cr.rand(2, 3, generator=cr.Generator().manual_seed(1))
    >>> x.shape, bool(((x >= 0) & (x < 1)).all())
    ((2, 3), True)
    """
    src = _source(generator, rng, "rand")
    return _make(src.random(_shape(shape)), dtype, requires_grad, device, "rand")


def randn(*shape, dtype=None, requires_grad=False, generator=None, device=None, rng=None):
    """Standard normal samples.

    >>> import chainrule as cr
    >>> cr.randn((), generator=cr.Generator().manual_seed(1)).shape
    ()
    """
    src = _source(generator, rng, "randn")
    return _make(src.standard_normal(_shape(shape)), dtype, requires_grad, device, "randn")


def rand_like(input, *, dtype=None, requires_grad=False, generator=None,  # noqa: A002
              device=None):
    """Uniform samples on [0, 1) with ``input``'s shape (and dtype, unless given).

    >>> import chainrule as cr
    >>> cr.rand_like(cr.zeros(2, dtype=cr.float64)).dtype
    dtype('float64')
    """
    return rand(*np.shape(input), dtype=dtype or _like_dtype(input), generator=generator,
                requires_grad=requires_grad, device=device)


def randn_like(input, *, dtype=None, requires_grad=False, generator=None,  # noqa: A002
               device=None):
    """Standard normal samples with ``input``'s shape (and dtype, unless given).

    >>> import chainrule as cr
    >>> cr.randn_like(cr.zeros((2, 5))).shape
    (2, 5)
    """
    return randn(*np.shape(input), dtype=dtype or _like_dtype(input), generator=generator,
                 requires_grad=requires_grad, device=device)


def _like_dtype(x):
    dt = np.asarray(x).dtype
    if dt.kind != "f":
        raise TypeError(f"random samples need a floating dtype; the input has {dt}: pass "
                        "dtype=cr.float32 (or another floating dtype)")
    return dt


def randint(*args, size=None, generator=None, dtype=int64, requires_grad=False, device=None,
            rng=None):
    """Integers drawn uniformly from [low, high), as ``torch.randint``: ``randint(high,
    size)`` or ``randint(low, high, size)``.

    >>> import chainrule as cr
    >>> x = cr.randint(3, 7, (1000,), generator=cr.Generator().manual_seed(0))
    >>> sorted(set(x.tolist())), x.dtype
    ([3, 4, 5, 6], dtype('int64'))
    """
    if size is None:
        if len(args) not in (2, 3):
            raise TypeError("randint: call randint(high, size) or randint(low, high, size), "
                            "size a tuple such as (3,)")
        *bounds, size = args
    else:
        bounds = list(args)
    if len(bounds) == 1:
        bounds = [0] + bounds
    if len(bounds) != 2:
        raise TypeError("randint: call randint(high, size) or randint(low, high, size)")
    low, high = (int(b) for b in bounds)
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = (size,) if isinstance(size, int) else tuple(size)
    check_device(device, "randint")
    arr = _source(generator, rng, "randint").integers(low, high, shape)
    return _new(arr.astype(np.dtype(dtype)), requires_grad)


def randperm(n: int, *, generator=None, dtype=int64, device=None, rng=None):
    """A random permutation of 0 .. n − 1.

    >>> import chainrule as cr
    >>> sorted(cr.randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    check_device(device, "randperm")
    return Tensor._wrap(_source(generator, rng, "randperm").permutation(int(n)).astype(dtype))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None, rng=None):
    """Normal samples with ``mean`` and ``std`` (numbers or tensors, broadcast together), of
    shape ``size`` if given, as ``torch.normal``. The samples are constants: no gradient flows
    to ``mean`` or ``std`` (write ``mean + std * cr.randn_like(mean)`` for that).

    >>> import chainrule as cr
    >>> x = cr.normal(2.0, 0.5, (10000,), generator=cr.Generator().manual_seed(0))
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (2.0, 0.5)
    """
    m, s = np.asarray(getattr(mean, "data", mean)), np.asarray(getattr(std, "data", std))
    if (s < 0).any():
        raise ValueError("normal: std must be non-negative")
    if size is None:
        shape = np.broadcast_shapes(m.shape, s.shape)
    else:
        shape = (size,) if isinstance(size, int) else tuple(size)
    if dtype is None:
        floats = [a.dtype for a in (m, s) if a.dtype.kind == "f" and a.ndim]
        dtype = floats[0] if floats else None
    src = _source(generator, rng, "normal")
    return _make(m + s * src.standard_normal(shape), dtype, requires_grad, device, "normal")


class SamplingError(ChainruleError, ValueError):
    """Weights that cannot be sampled from (negative, not finite, all zero, too few)."""


def multinomial(input, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator=None, rng=None):
    """Indices drawn with probability proportional to the weights of each row of ``input``
    (1-D, or 2-D: one row per draw), as ``torch.multinomial``. Without ``replacement`` an
    index is drawn at most once per row. Returns int64 indices, shape ``(num_samples,)`` or
    ``(rows, num_samples)``.

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(0)
    >>> cr.multinomial(cr.tensor([0.0, 1.0, 0.0]), 3, replacement=True, generator=g).tolist()
    [1, 1, 1]
    >>> sorted(cr.multinomial(cr.tensor([1.0, 2.0, 3.0]), 3, generator=g).tolist())
    [0, 1, 2]
    """
    w = np.asarray(getattr(input, "data", input), dtype=np.float64)
    if w.ndim not in (1, 2) or w.shape[-1] == 0:
        raise SamplingError(f"multinomial: weights must be 1-D or 2-D and non-empty, got "
                            f"shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise SamplingError("multinomial: weights must be finite and non-negative")
    n = int(num_samples)
    if n <= 0:
        raise SamplingError(f"multinomial: num_samples must be positive, got {n}")
    rows = w.reshape(-1, w.shape[-1])
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise SamplingError("multinomial: every row of weights needs a positive sum")
    if not replacement and ((rows > 0).sum(axis=1) < n).any():
        raise SamplingError(f"multinomial: cannot draw {n} samples without replacement from "
                            f"a row with fewer non-zero weights; pass replacement=True")
    src = _source(generator, rng, "multinomial")
    out = np.stack([src.choice(len(r), n, replace=replacement, p=r / t)
                    for r, t in zip(rows, totals)]).astype(np.int64)
    return Tensor._wrap(out.reshape(w.shape[:-1] + (n,)))
