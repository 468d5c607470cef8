"""Small built-in datasets that need no network: sklearn's 8×8 digits and MNIST-1D.

Each loader returns ``(x_train, y_train, x_test, y_test)``: float32 features, int64 labels.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import zipfile

import numpy as np

from .._extras import install_hint
from ..io import atomic_open

__all__ = ["default_cache_dir", "load_digits", "load_mnist1d", "mnist1d_cache_path"]

DIGITS_SEED = 0
DIGITS_TEST_FRACTION = 0.2
_EXTRA_HINT = install_hint("datasets")


def default_cache_dir() -> str:
    """Where generated datasets are cached: ``$CHAINRULE_CACHE`` if set, else
    ``$XDG_CACHE_HOME/chainrule``, else ``~/.cache/chainrule``.

    >>> import os
    >>> from chainrule.data import default_cache_dir
    >>> os.environ["CHAINRULE_CACHE"] = "/tmp/my-cache"
    >>> default_cache_dir()
    '/tmp/my-cache'
    >>> del os.environ["CHAINRULE_CACHE"]
    """
    if os.environ.get("CHAINRULE_CACHE"):
        return os.environ["CHAINRULE_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chainrule")


def load_digits():
    """The 1,797 8×8 handwritten digits that ship inside scikit-learn (no download).

    ``x`` is ``(n, 64)`` float32 in [0, 1] (pixel counts 0..16 divided by 16), ``y`` int64.
    The split is fixed: stratified by class, 20% of each class to the test set (rounded),
    chosen with ``numpy.random.default_rng(0)``; each part is then shuffled with the same
    generator. That gives 1,438 training and 359 test samples, the same on every machine.

    >>> x_train, y_train, x_test, y_test = load_digits()
    >>> x_train.shape, x_test.shape, x_train.dtype, y_train.dtype
    ((1438, 64), (359, 64), dtype('float32'), dtype('int64'))
    >>> float(x_train.max()), sorted(set(y_test.tolist())) == list(range(10))
    (1.0, True)
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as e:
        raise ImportError(f"load_digits needs scikit-learn, which is not installed: "
                          f"{_EXTRA_HINT}") from e
    x, y = sk_load_digits(return_X_y=True)
    x = (np.asarray(x, dtype=np.float32) / np.float32(16.0))
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(DIGITS_SEED)
    train, test = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(DIGITS_TEST_FRACTION * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return x[train], y[train], x[test], y[test]


def load_mnist1d(*, cache_dir: str | os.PathLike | None = None, regenerate: bool = False,
                 **args):
    """MNIST-1D (Greydanus 2020): 1-D signals of length 40 in 10 classes, generated offline
    by the ``mnist1d`` package with its default arguments (seed 42, 5,000 samples) and its
    own split: 4,000 training and 1,000 test samples.

    ``x`` is ``(n, 40)`` float32 (the generator standardises it), ``y`` int64. Keyword
    arguments override ``mnist1d.data.get_dataset_args()`` (e.g. ``num_samples=...``).
    The arrays are cached as a NumPy ``.npz`` (no pickle) in ``cache_dir`` (default
    :func:`chainrule.data.default_cache_dir`), keyed by the arguments; ``regenerate=True`` rebuilds.
    The generator reseeds NumPy's and Python's global random state; this function restores
    both, so the caller's random streams are unaffected.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     x_train, y_train, x_test, y_test = load_mnist1d(cache_dir=d)
    >>> x_train.shape, y_train.shape, x_test.shape, x_train.dtype, y_test.dtype
    ((4000, 40), (4000,), (1000, 40), dtype('float32'), dtype('int64'))
    """
    path = mnist1d_cache_path(cache_dir, **args)
    directory = os.path.dirname(path)
    if not regenerate:
        cached = _read_cache(path)
        if cached is not None:
            return cached
    x, y, x_test, y_test = _generate_mnist1d(args)
    os.makedirs(directory, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y, x_test=x_test, y_test=y_test)
    with atomic_open(path) as f:
        f.write(buf.getbuffer())
    return x, y, x_test, y_test


def mnist1d_cache_path(cache_dir: str | os.PathLike | None = None, **args) -> str:
    """Where :func:`load_mnist1d` caches the data set generated with ``args`` (it may not
    exist yet): with it, loading needs neither the generator package nor the time to run it.

    >>> os.path.basename(mnist1d_cache_path("/tmp"))
    'mnist1d-44136fa355b3678a.npz'
    """
    args.pop("url", None)  # the pickle download URL is not part of the data
    key = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()
    directory = os.fspath(cache_dir) if cache_dir is not None else default_cache_dir()
    return os.path.join(directory, f"mnist1d-{key[:16]}.npz")


def _read_cache(path: str):
    """The cached arrays, or None if missing or unreadable (then it is regenerated)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            out = tuple(z[k] for k in ("x", "y", "x_test", "y_test"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    x, y, x_test, y_test = out
    ok = (x.dtype == np.float32 and x_test.dtype == np.float32 and y.dtype == np.int64
          and y_test.dtype == np.int64 and x.ndim == 2 and x_test.ndim == 2
          and len(x) == len(y) and len(x_test) == len(y_test))
    return out if ok else None


def _generate_mnist1d(overrides: dict):
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:
        raise ImportError(f"load_mnist1d needs the mnist1d package, which is not installed: "
                          f"{_EXTRA_HINT}") from e
    dataset_args = get_dataset_args(as_dict=False)
    unknown = sorted(set(overrides) - set(vars(dataset_args)))
    if unknown:
        raise TypeError(f"load_mnist1d: unknown MNIST-1D argument(s) {unknown}; known: "
                        f"{sorted(k for k in vars(dataset_args) if k != 'url')}")
    for k, v in overrides.items():
        setattr(dataset_args, k, v)
    # make_dataset calls np.random.seed and random.seed: put the caller's state back.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(dataset_args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return (np.asarray(d["x"], dtype=np.float32), np.asarray(d["y"], dtype=np.int64),
            np.asarray(d["x_test"], dtype=np.float32), np.asarray(d["y_test"], dtype=np.int64))
