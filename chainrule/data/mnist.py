"""MNIST from its four standard IDX files, read with nothing but gzip and NumPy.

The IDX format (LeCun et al.): two zero bytes, a type byte (0x08 = unsigned byte), a byte
giving the number of dimensions, one big-endian uint32 per dimension, then the data in C
order. MNIST's images are ``0x00000803`` (uint8, 3 dimensions: n × 28 × 28) and its labels
``0x00000801`` (uint8, 1 dimension: n).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import urllib.error
import urllib.request
import zlib

import numpy as np

from ..io import atomic_open
from .dataset import DatasetError

__all__ = ["DEFAULT_MNIST_MIRROR", "MNIST_FILES", "MNIST_SHA256", "load_mnist", "read_idx",
           "write_idx"]

# split -> (images file, labels file), without the .gz that the archives add
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# SHA-256 of the original gzipped archives (9,912,422 / 28,881 / 1,648,877 / 4,542 bytes),
# as published with torchvision's, TensorFlow's and other loaders.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# The mirror torchvision tries first (yann.lecun.com no longer serves the files reliably).
DEFAULT_MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MIRROR_ENV = "CHAINRULE_MNIST_MIRROR"

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801


def read_idx(path: str | os.PathLike, *, expected_magic: int | None = None) -> np.ndarray:
    """The array in an IDX file (gzipped or not), in native byte order.

    Raises :class:`DatasetError` naming the file if the magic number is wrong (or differs
    from ``expected_magic``), the header is cut short, or the data is not exactly as long as
    the dimensions say.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from chainrule.data.mnist import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(path).tolist()
    [7, 2, 1]
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic: decompress whatever the name says
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetError(f"{path}: corrupted or truncated gzip data ({e})") from None
    if len(raw) < 4:
        raise DatasetError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if expected_magic is not None and magic != expected_magic:
        raise DatasetError(f"{path}: bad magic number 0x{magic:08x}, expected "
                           f"0x{expected_magic:08x} ({_describe_magic(expected_magic)}); "
                           "is this the right file, and not corrupted?")
    if raw[:2] != b"\x00\x00" or type_code not in _IDX_TYPES or ndim == 0:
        raise DatasetError(f"{path}: bad magic number 0x{magic:08x}; not an IDX file")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated header: {ndim} dimensions need {header} "
                           f"bytes, the file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "too long"
        raise DatasetError(f"{path}: {what}: the header says shape {shape} "
                           f"({expected} bytes of data) but the file has {got} bytes of data")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _describe_magic(magic: int) -> str:
    dtype = _IDX_TYPES.get((magic >> 8) & 0xFF)
    return f"an IDX file of {dtype} with {magic & 0xFF} dimensions"


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``), atomically.

    >>> import os, tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_idx(os.path.join(d, "a.gz"), np.arange(6, dtype=np.uint8).reshape(2, 3))
    ...     read_idx(os.path.join(d, "a.gz"))
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}
    if arr.dtype.newbyteorder("=") not in codes or arr.ndim == 0:
        raise TypeError(f"write_idx: cannot store a {arr.ndim}-d array of {arr.dtype} as IDX")
    code = codes[arr.dtype.newbyteorder("=")]
    data = (bytes([0, 0, code, arr.ndim])
            + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
            + arr.astype(_IDX_TYPES[code], copy=False).tobytes())
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_open(path) as f:
        f.write(data)


def load_mnist(root: str | os.PathLike, download: bool = False, mirror: str | None = None,
               *, checksums: dict[str, str] | None = None):
    """MNIST's 60,000 training and 10,000 test images from the IDX files in ``root``.

    Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, each as is or with ``.gz``. Returns ``x`` of shape
    ``(n, 28, 28)``, float32 in [0, 1] (bytes / 255), and ``y`` int64.

    With ``download=True`` a missing file is fetched as ``<mirror>/<name>.gz`` (``mirror``:
    the argument, else ``$CHAINRULE_MNIST_MIRROR``, else :data:`DEFAULT_MNIST_MIRROR`; any URL
    ``urllib`` opens, ``file://`` included), checked against ``checksums`` (default
    :data:`MNIST_SHA256`; a file with no known digest is refused) and written atomically into
    ``root``. A mismatch raises :class:`DatasetError` and saves nothing.

    >>> import os, tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for split, n in (("train", 3), ("t10k", 2)):
    ...         write_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"),
    ...                   np.full((n, 28, 28), 255, np.uint8))
    ...         write_idx(os.path.join(d, f"{split}-labels-idx1-ubyte"),
    ...                   np.arange(n, dtype=np.uint8))
    ...     x_train, y_train, x_test, y_test = load_mnist(d)
    >>> x_train.shape, x_train.dtype, float(x_train.max()), y_train, y_test.dtype
    ((3, 28, 28), dtype('float32'), 1.0, array([0, 1, 2]), dtype('int64'))
    """
    root = os.fspath(root)
    names = [name for pair in MNIST_FILES.values() for name in pair]
    paths = {name: _find(root, name) for name in names}
    missing = [name for name, p in paths.items() if p is None]
    if missing and not download:
        raise FileNotFoundError(f"load_mnist: {', '.join(missing)} (or .gz) not found in "
                                f"{root!r}; pass download=True to fetch them")
    if missing:
        mirror = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MNIST_MIRROR
        table = MNIST_SHA256 if checksums is None else checksums
        os.makedirs(root, exist_ok=True)
        for name in missing:
            paths[name] = _download(mirror.rstrip("/") + "/" + name + ".gz",
                                    os.path.join(root, name + ".gz"), table)
    out = []
    for images_name, labels_name in MNIST_FILES.values():
        images = read_idx(paths[images_name], expected_magic=_IMAGES_MAGIC)
        labels = read_idx(paths[labels_name], expected_magic=_LABELS_MAGIC)
        if len(images) != len(labels):
            raise DatasetError(f"{paths[images_name]} has {len(images)} images but "
                               f"{paths[labels_name]} has {len(labels)} labels")
        x = images.astype(np.float32)
        x /= np.float32(255.0)
        out += [x, labels.astype(np.int64)]
    return tuple(out)


def _find(root: str, name: str) -> str | None:
    for candidate in (name, name + ".gz"):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    return None


def _download(url: str, dest: str, checksums: dict[str, str]) -> str:
    filename = os.path.basename(dest)
    expected = checksums.get(filename)
    if expected is None:
        raise DatasetError(f"no known SHA-256 for {filename}; pass checksums={{...}} to "
                           "download it")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_open(dest) as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
            if digest.hexdigest() != expected.lower():
                # raised inside atomic_open: the partial file is removed, nothing is saved
                raise DatasetError(f"{url}: SHA-256 mismatch: expected {expected.lower()}, got "
                                   f"{digest.hexdigest()}; {dest} was not written")
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
            ConnectionError) as e:
        raise DatasetError(f"could not download {url}: {e}") from e
    return dest
