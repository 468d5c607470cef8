"""Checkpoints: ``save(state, path)`` / ``load(path)`` in the safetensors format, never pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are Tensors, NumPy arrays,
NumPy scalars, Python numbers, strings, bools and None, e.g. a model's ``state_dict()`` next
to an optimizer's. ``save`` splits it in two:

- every array (and Tensor, and NumPy scalar) becomes one safetensors tensor entry, named by
  its path in the structure (``"model.fc1.weight"``, ``"optimizer.state.0.exp_avg"``), so the
  file also opens with any safetensors reader;
- everything else -- the shape of the nesting, dict key types (the ``0`` above stays an
  ``int``), tuples vs lists, the numbers and strings, and for each array whether it was a
  Tensor (and its ``requires_grad``) or an ndarray -- is a JSON document stored in the
  safetensors header's ``__metadata__`` under ``"chainrule.structure"``.

``load`` rebuilds exactly that structure. Loading never executes anything from the file:
safetensors is a length-prefixed JSON header followed by raw little-endian bytes, and the
header is checked before any data is read. A file that is not one (a pickle, a zip written
by ``torch.save``, random or truncated bytes) raises :class:`CheckpointError`.

Writes are atomic (:func:`atomic_open`): an interrupted ``save`` leaves any previous
checkpoint at ``path`` intact, and the temporary file of a writer that was killed outright
(SIGKILL, power loss) is removed by the next write to the same path (:func:`remove_leftovers`).

Every tensor's bytes, and the structure, carry a SHA-256 in the header's metadata
(``"chainrule.sha256"``), checked on load: a flipped bit is a :class:`CheckpointError` naming
the tensor, never silently different weights.

The ``safetensors`` package is an optional extra: ``pip install 'chainrule[safetensors]'``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import socket
import struct
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from ._extras import install_hint
from .errors import ChainruleError
from .tensor import Tensor

__all__ = ["CheckpointError", "atomic_open", "load", "remove_leftovers", "save"]

# The key of the header's __metadata__ map that holds the structure, and its format version.
STRUCTURE_KEY = "chainrule.structure"
FORMAT_KEY = "chainrule.format"
FORMAT_VERSION = "1"
# SHA-256 of each tensor's bytes and of the structure string: {"tensors": {...}, "structure": h}
HASH_KEY = "chainrule.sha256"

# safetensors dtype names; bool and (u)int8..64 and float16/32/64 round-trip exactly.
_DTYPES = {
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
    "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
    "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_,
}
_SUPPORTED = frozenset(np.dtype(t) for t in _DTYPES.values())
# Tags of the JSON encoding: a JSON object with one of these keys is not a user dict.
_TAGS = frozenset({"__array__", "__tuple__", "__dict__", "__float__"})
_MAX_HEADER = 100 * 1024 * 1024  # the limit the safetensors reference reader enforces
_MAX_DIMS = 64  # NumPy's limit on an array's number of dimensions
_CHUNK = 1 << 24
# atomic_open's temporary file for "<dir>/<name>" is "<dir>/.<name>.<host>.<pid>.<token>" plus
# this suffix: the host and process id say whether its writer still runs.
_TMP_SUFFIX = ".chainrule-tmp"
_TMP_TAIL = re.compile(r"(?P<host>[A-Za-z0-9-]+)\.(?P<pid>[0-9]+)\.[0-9a-f]{12}"
                       + re.escape(_TMP_SUFFIX))


class CheckpointError(ChainruleError, ValueError):
    """A file is not a readable chainrule/safetensors checkpoint; the message says why."""


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:
        raise ImportError("chainrule.save/load need the safetensors package, which is not "
                          "installed: " + install_hint("safetensors")) from e
    return safetensors


# -- atomic writes ----------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for binary writing; on success, move it onto
    ``path`` atomically. On any error the temporary file is removed and ``path`` is untouched.

    The data is flushed and fsync'ed before ``os.replace``, and the directory is fsync'ed
    after, so a crash leaves either the old file or the complete new one. A writer killed
    outright cannot remove its temporary file: the next ``atomic_open`` of the same path does
    (:func:`remove_leftovers`).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_open(os.path.join(d, "notes.txt")) as f:
    ...         _ = f.write(b"all or nothing")
    ...     print(os.listdir(d))
    ['notes.txt']
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    remove_leftovers(path)
    tmp = os.path.join(directory, f".{name}.{_host()}.{os.getpid()}.{secrets.token_hex(6)}"
                                  f"{_TMP_SUFFIX}")
    # os.open with 0o666 lets the umask decide the mode, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _host() -> str:
    # Letters, digits and '-' only: the name must parse back, and a dot would be ambiguous.
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: another thread may be writing the same path
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # exists, under another user (or a number no process can have: keep)
    return True


def remove_leftovers(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files that writes to ``path`` left behind when their process was
    killed before it could clean up; return the paths removed.

    Only files that :func:`atomic_open` names for this very ``path`` are candidates, and of
    those only the ones written on this host by a process that no longer runs: a write in
    progress (in this or another process) and every other program's files are left alone.
    On systems without POSIX process signals (Windows) nothing is removed.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     dead = os.path.join(d, f".ckpt.{_host()}.999999999.0123456789ab{_TMP_SUFFIX}")
    ...     for p in (dead, os.path.join(d, ".ckpt.unrelated")):
    ...         open(p, "wb").close()
    ...     removed = remove_leftovers(os.path.join(d, "ckpt"))
    ...     print(len(removed), os.listdir(d))
    1 ['.ckpt.unrelated']
    """
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would terminate on Windows
        return []
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    prefix, host, removed = f".{name}.", _host(), []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        if not entry.startswith(prefix):
            continue
        m = _TMP_TAIL.fullmatch(entry, len(prefix))
        if m is None or m["host"] != host or _running(int(m["pid"])):
            continue
        with contextlib.suppress(FileNotFoundError):  # another process removed it first
            os.unlink(os.path.join(directory, entry))
            removed.append(os.path.join(directory, entry))
    return removed


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; POSIX only (Windows cannot open a directory).
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover
        return
    # Best effort: the new file is already in place, and some file systems refuse to fsync a
    # directory (EINVAL); that must not turn a successful save into an error.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(f: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        f.write(view[start:start + _CHUNK])


# -- encoding ---------------------------------------------------------------------------------

class _Encoder:
    """Walks the state once: arrays go to ``self.arrays`` by name, the rest to JSON."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, tuple[str, Any]] = {}  # id(array or Tensor) -> (name, object)

    def name_for(self, path: list[str]) -> str:
        base = ".".join(path) or "root"
        name, n = base, 0
        while name in self.arrays or name == "__metadata__":  # __metadata__ is reserved
            n += 1
            name = f"{base}#{n}"
        return name

    def array(self, obj, arr: np.ndarray, kind: str, path: list[str]) -> dict:
        if id(obj) in self.seen and self.seen[id(obj)][1] is obj:
            name = self.seen[id(obj)][0]  # the same object twice (tied weights): stored once
        else:
            if arr.dtype.newbyteorder("=") not in _SUPPORTED:
                raise TypeError(f"save: {_where(path)} has dtype {arr.dtype}, which a checkpoint "
                                f"cannot hold; supported: bool, (u)int8..64, float16/32/64")
            name = self.name_for(path)
            # little-endian and C-contiguous (np.ascontiguousarray would make 0-d arrays 1-d)
            self.arrays[name] = np.require(arr.astype(arr.dtype.newbyteorder("<"), copy=False),
                                           requirements="C")
            self.seen[id(obj)] = (name, obj)
        out = {"__array__": name, "kind": kind}
        if kind == "tensor":
            if obj.requires_grad:
                out["requires_grad"] = True
            if obj.name:
                out["name"] = str(obj.name)
        return out

    def encode(self, obj, path: list[str]):
        if isinstance(obj, np.generic):  # first: np.float64 is also a Python float
            return self.array(obj, np.asarray(obj), "scalar", path)
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
        if isinstance(obj, Tensor):
            return self.array(obj, obj.data, "tensor", path)
        if isinstance(obj, np.ndarray):
            return self.array(obj, obj, "ndarray", path)
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            for k in obj:
                _check_key(k, path)
            items = [(k, self.encode(v, path + [str(k)])) for k, v in obj.items()]
            # A dict is a plain JSON object unless its keys are not all str or one of them
            # is a tag (then it would read back as something else).
            plain = all(type(k) is str and k not in _TAGS for k in obj)
            if plain:
                return dict(items)
            return {"__dict__": [[self.encode(k, path), v] for k, v in items]}
        raise TypeError(f"save: {_where(path)} is a {type(obj).__name__}; a checkpoint holds "
                        "dicts, lists, tuples, Tensors, ndarrays, numbers, strings, bools and "
                        "None")


def _check_key(k, path):
    ok = k is None or isinstance(k, (str, int, float)) or (
        isinstance(k, tuple) and all(e is None or isinstance(e, (str, int, float)) for e in k))
    if not ok or isinstance(k, np.generic):
        raise TypeError(f"save: dict key {k!r} ({type(k).__name__}) at {_where(path)} is not a "
                        "str, int, float, bool, None or a tuple of those")


def _where(path: list[str]) -> str:
    return "state[" + "][".join(repr(p) for p in path) + "]" if path else "the state"


def _decode(obj, tensors: dict[str, np.ndarray], made: dict[str, Any]):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, tensors, made) for v in obj]
    if not isinstance(obj, dict):
        raise CheckpointError(f"unexpected JSON value {obj!r}")
    if "__array__" in obj:
        name = obj["__array__"]
        if name in made:
            return made[name]
        if name not in tensors:
            raise CheckpointError(f"the structure refers to a tensor {name!r} that the file "
                                  "does not contain")
        arr, kind = tensors[name], obj.get("kind")
        if kind == "tensor":
            value = Tensor._wrap(arr, obj.get("name"))
            if obj.get("requires_grad"):
                value.requires_grad_(True)
        elif kind == "ndarray":
            value = arr
        elif kind == "scalar":
            value = arr[()]
        else:
            raise CheckpointError(f"tensor {name!r} has unknown kind {kind!r}")
        made[name] = value
        return value
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors, made) for v in obj["__tuple__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__dict__" in obj:
        return {_hashable(_decode(k, tensors, made)): _decode(v, tensors, made)
                for k, v in obj["__dict__"]}
    return {k: _decode(v, tensors, made) for k, v in obj.items()}


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


# -- save / load ------------------------------------------------------------------------------

def save(state: Any, path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` as a safetensors file, atomically.

    >>> import os, tempfile, numpy as np, chainrule as cr
    >>> state = {"w": cr.tensor([[1.0, 2.0]]), "opt": {"state": {0: {"step": 3}}},
    ...          "mean": np.zeros(2), "shape": (1, 2)}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save(state, os.path.join(d, "ckpt.safetensors"))
    ...     back = load(os.path.join(d, "ckpt.safetensors"))
    >>> back["w"], back["opt"], back["mean"], back["shape"]
    (tensor([[1., 2.]]), {'state': {0: {'step': 3}}}, array([0., 0.]), (1, 2))
    """
    st = _safetensors()
    enc = _Encoder()
    structure = json.dumps(enc.encode(state, []), allow_nan=False, separators=(",", ":"))
    hashes = {"structure": _sha256(structure.encode()),
              "tensors": {name: _sha256(arr) for name, arr in enc.arrays.items()}}
    metadata = {FORMAT_KEY: FORMAT_VERSION, STRUCTURE_KEY: structure,
                HASH_KEY: json.dumps(hashes, separators=(",", ":"))}
    data = st.numpy.save(enc.arrays, metadata=metadata)
    with atomic_open(path) as f:
        _write_all(f, data)


def _sha256(data) -> str:
    """The SHA-256 of bytes, or of an array's little-endian bytes in C order (no copy for
    the arrays ``save`` writes; hashlib releases the GIL on large buffers)."""
    if isinstance(data, np.ndarray):
        data = np.require(data.astype(data.dtype.newbyteorder("<"), copy=False),
                          requirements="C").reshape(-1).view(np.uint8)
    return hashlib.sha256(data).hexdigest()


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by :func:`save`: the same structure, Tensors where Tensors
    were saved and ndarrays where ndarrays were.

    A safetensors file from elsewhere (no chainrule structure) loads as ``{name: ndarray}``.
    Raises :class:`CheckpointError` naming the path if the file is not a valid safetensors
    file; nothing in the file is ever executed.

    >>> import os, tempfile, chainrule as cr
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "w.safetensors")
    ...     cr.save({"w": cr.tensor([1.0, 2.0])}, path)
    ...     cr.load(path)["w"].tolist()
    [1.0, 2.0]
    """
    st = _safetensors()
    path = os.fspath(path)
    header = _read_header(path)
    meta = header.get("__metadata__") or {}
    hashes = _stored_hashes(path, meta)
    if hashes is not None and STRUCTURE_KEY in meta \
            and _sha256(meta[STRUCTURE_KEY].encode()) != hashes["structure"]:
        raise CheckpointError(f"{path}: corrupted: the structure (the non-tensor values) does "
                              "not match the SHA-256 it was saved with")
    try:
        with st.safe_open(path, framework="numpy") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except st.SafetensorError as e:
        raise CheckpointError(f"{path}: not a valid safetensors file ({e})") from None
    if hashes is not None:
        for name, arr in tensors.items():
            if hashes["tensors"].get(name) != _sha256(arr):
                raise CheckpointError(f"{path}: tensor {name!r} is corrupted: its bytes do not "
                                      "match the SHA-256 it was saved with (a damaged disk, "
                                      "copy or download?)")
    if STRUCTURE_KEY not in meta:
        return tensors
    if meta.get(FORMAT_KEY) != FORMAT_VERSION:
        raise CheckpointError(f"{path}: chainrule checkpoint format {meta.get(FORMAT_KEY)!r} "
                              f"is not supported (this version reads {FORMAT_VERSION!r})")
    try:
        structure = json.loads(meta[STRUCTURE_KEY])
        return _decode(structure, tensors, {})
    except CheckpointError as e:
        raise CheckpointError(f"{path}: corrupted structure: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: corrupted structure: nested too deeply") from None
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: corrupted structure ({type(e).__name__}: {e})") from None


def _stored_hashes(path: str, meta: dict) -> dict | None:
    """The SHA-256 digests ``save`` stored, or None for a file written without them (older
    chainrule, other programs); a malformed entry is an error, not a reason to skip checks."""
    if HASH_KEY not in meta:
        return None
    try:
        hashes = json.loads(meta[HASH_KEY])
        ok = (isinstance(hashes, dict) and isinstance(hashes.get("structure"), str)
              and isinstance(hashes.get("tensors"), dict))
    except (ValueError, RecursionError):
        ok = False
    if not ok:
        raise CheckpointError(f"{path}: corrupted header: unreadable {HASH_KEY!r} entry")
    return hashes


def _read_header(path: str) -> dict:
    """Check the framing (8-byte length, JSON header, data offsets) before safetensors reads
    the file, so that every kind of bad file gets a message that says what it is."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        framed = 0 <= n <= min(_MAX_HEADER, size - 8)
        raw = f.read(n) if framed else b""
    header = None
    if framed:
        try:
            header = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise CheckpointError(f"{path}: corrupted header: JSON nested too deeply") from None
        except (UnicodeDecodeError, ValueError):
            pass
    if header is None:
        # Say what the file is, when it is a common impostor (checked only once the framing
        # failed: a real header's length may well start with these bytes).
        if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle PROTO op
            raise CheckpointError(f"{path}: this looks like a pickle file; chainrule never "
                                  "unpickles (that can run arbitrary code), so nothing was "
                                  "loaded. Re-save the state with chainrule.save")
        if head.startswith(b"PK\x03\x04"):
            raise CheckpointError(f"{path}: this is a zip archive (e.g. torch.save output), "
                                  "not a safetensors file; nothing was loaded from it")
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated: {size} bytes, too short to be a "
                                  "safetensors file (which starts with an 8-byte header size)")
        if not framed:
            raise CheckpointError(f"{path}: not a safetensors file, or truncated: the first 8 "
                                  f"bytes announce a {n}-byte header but the file has {size} "
                                  "bytes")
        raise CheckpointError(f"{path}: corrupted header: not valid UTF-8 JSON")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupted header: expected a JSON object")
    data_size = size - 8 - n
    for key, info in header.items():
        if key == "__metadata__":
            if info is not None and not (isinstance(info, dict) and
                                         all(isinstance(v, str) for v in info.values())):
                raise CheckpointError(f"{path}: corrupted header: __metadata__ must map "
                                      "strings to strings")
            continue
        try:
            start, end = info["data_offsets"]
            dtype, shape = info["dtype"], info["shape"]
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{path}: corrupted header: bad entry for tensor "
                                  f"{key!r}") from None
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise CheckpointError(f"{path}: tensor {key!r} has dtype {dtype!r}, which chainrule "
                                  "does not read")
        if not (_is_int(start) and _is_int(end) and 0 <= start <= end):
            raise CheckpointError(f"{path}: corrupted header: bad data offsets for {key!r}")
        if end > data_size:
            raise CheckpointError(f"{path}: truncated: tensor {key!r} needs bytes {start}..{end} "
                                  f"of the data section, which has only {data_size}")
        _check_shape(path, key, shape, np.dtype(_DTYPES[dtype]).itemsize, end - start, dtype)
    return header


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # JSON true is not a size


def _check_shape(path, key, shape, itemsize, nbytes, dtype) -> None:
    """A shape NumPy can make (at most 64 dimensions, sizes within its index range even when
    another dimension is 0) whose bytes are exactly the tensor's: checked on the numbers, so
    that a hostile header never makes anything allocate what it claims."""
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise CheckpointError(f"{path}: corrupted header: tensor {key!r} has shape {shape!r}, "
                              "not a list of sizes")
    if len(shape) > _MAX_DIMS:
        raise CheckpointError(f"{path}: corrupted header: tensor {key!r} has {len(shape)} "
                              f"dimensions; at most {_MAX_DIMS} are possible")
    if math.prod(d for d in shape if d) * itemsize > sys.maxsize:
        raise CheckpointError(f"{path}: corrupted header: tensor {key!r} of shape {shape} is "
                              "larger than any array can be")
    if math.prod(shape) * itemsize != nbytes:
        raise CheckpointError(f"{path}: corrupted header: tensor {key!r} of shape {shape} "
                              f"and dtype {dtype} does not fill its {nbytes} bytes")
