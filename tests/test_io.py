"""chainrule.io: safetensors checkpoints that round-trip exactly, atomic writes, and bad files
that are refused without executing anything."""
from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import pytest
import safetensors.numpy

import chainrule as cr
import chainrule.io as cio
from chainrule.io import CheckpointError, load, save
from chainrule.tensor import Tensor


def assert_same(a, b, where="state"):
    """Structural equality that also checks types, dtypes and shapes (NaN equals NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.requires_grad == b.requires_grad and a.name == b.name, where
        np.testing.assert_array_equal(a.data, b.data)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert type(k) is type(next(kb for kb in b if kb == k)), f"{where}: key {k!r}"
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def training_state():
    w = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="fc.weight")
    return {
        "model": {"fc.weight": w, "fc.bias": cr.zeros(2), "bn.running_mean": np.ones(2)},
        "optimizer": {"state": {0: {"exp_avg": np.full((2, 3), 0.5, np.float32), "step": 3},
                                1: {"exp_avg": np.zeros(2, np.float32), "step": 3}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "weight_decay": None}]},
        "epoch": 3,
        "rng": {"bit_generator": "PCG64", "state": {"state": 2**100 + 7, "inc": 12345},
                "has_uint32": 0},
        "history": [1.5, float("nan"), float("inf"), -float("inf"), -0.0],
        "note": "unicode ✓",
        "scalars": [np.float32(2.5), np.int64(-4), np.bool_(True), np.uint8(200)],
    }


def test_round_trip_is_exact(tmp_path):
    state = training_state()
    path = tmp_path / "ckpt.safetensors"
    save(state, path)
    back = load(path)
    assert_same(state, back)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    w = back["model"]["fc.weight"]
    assert isinstance(w, Tensor) and w.requires_grad and w.is_leaf
    assert isinstance(back["model"]["bn.running_mean"], np.ndarray)
    assert back["model"]["bn.running_mean"].flags.writeable


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
def test_every_supported_dtype(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4)) * 50).astype(dtype)
    state = {"a": arr, "t": cr.tensor(arr), "zero_d": np.array(arr[0, 0]), "scalar": arr[0, 0],
             "empty": np.zeros((0, 3), dtype)}
    save(state, tmp_path / "x")
    assert_same(state, load(tmp_path / "x"))


def test_layout_byte_order_and_shared_arrays(tmp_path):
    base = np.arange(12.0).reshape(3, 4)
    shared = np.ones(3)
    tied = cr.tensor([1.0, 2.0])
    state = {"transposed": base.T, "strided": base[:, ::2], "big_endian": base.astype(">f4"),
             "a": shared, "b": shared, "t1": tied, "t2": tied}
    save(state, tmp_path / "x")
    back = load(tmp_path / "x")
    np.testing.assert_array_equal(back["transposed"], base.T)
    np.testing.assert_array_equal(back["strided"], base[:, ::2])
    assert back["big_endian"].dtype == np.float32
    np.testing.assert_array_equal(back["big_endian"], base)
    assert back["a"] is back["b"] and back["t1"] is back["t2"]  # aliasing survives
    assert len(safetensors.numpy.load_file(tmp_path / "x")) == 5  # stored once each


def test_awkward_keys_and_values(tmp_path):
    state = {
        "mixed": {1: "one", "1": "string one", None: 0, (2, "x"): [], 1.5: True, False: 2},
        "tag_like": {"__array__": "not an array", "kind": "ndarray"},
        "tuple_tag": {"__tuple__": [1, 2]},
        "a.b": np.zeros(1), "a": {"b": np.ones(1)},  # both named "a.b" in the file
        "__metadata__": np.full(1, 2.0),
        "nested": ([{"deep": (np.arange(3),)}], []),
        "empty": {}, "big": 10**30,
    }
    save(state, tmp_path / "x")
    assert_same(state, load(tmp_path / "x"))
    save(np.arange(3), tmp_path / "y")  # a bare array is a state too
    np.testing.assert_array_equal(load(tmp_path / "y"), np.arange(3))
    save(cr.tensor(1.0), tmp_path / "z")
    assert isinstance(load(tmp_path / "z"), Tensor)


def test_file_is_plain_safetensors_with_path_names(tmp_path):
    save(training_state(), tmp_path / "x")
    arrays = safetensors.numpy.load_file(tmp_path / "x")
    assert {"model.fc.weight", "model.fc.bias", "optimizer.state.0.exp_avg",
            "optimizer.state.1.exp_avg"} <= set(arrays)
    np.testing.assert_array_equal(arrays["model.fc.weight"], np.arange(6.0).reshape(2, 3))
    # and a safetensors file written elsewhere (no chainrule structure) loads as a dict
    safetensors.numpy.save_file({"w": np.eye(2, dtype=np.float32)}, tmp_path / "foreign")
    foreign = load(tmp_path / "foreign")
    assert list(foreign) == ["w"] and isinstance(foreign["w"], np.ndarray)


def test_unsupported_values_are_refused_before_touching_the_file(tmp_path):
    path = tmp_path / "ckpt"
    save({"ok": 1}, path)
    before = path.read_bytes()
    cases = [({"z": np.zeros(2, np.complex64)}, r"state\['z'\] has dtype complex64"),
             ({"o": np.array([object()])}, "dtype object"),
             ({"s": {1, 2}}, r"state\['s'\] is a set"),
             ({"k": {np.int64(0): 1}}, r"dict key np.int64\(0\) \(int64\)"),
             ({"b": b"bytes"}, "is a bytes")]
    for state, message in cases:
        with pytest.raises(TypeError, match=message):
            save(state, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt"]


# -- atomic writes ---------------------------------------------------------------------------


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"version": 1, "w": np.zeros(4)}, path)
    return path, path.read_bytes()


def assert_intact(path, before):
    assert path.read_bytes() == before
    assert load(path)["version"] == 1
    assert os.listdir(path.parent) == [path.name], "a temporary file was left behind"


def test_failure_midway_through_the_write_keeps_the_old_checkpoint(existing, monkeypatch):
    path, before = existing

    def half_then_fail(f, data):
        f.write(data[: len(data) // 2])
        f.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cio, "_write_all", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save({"version": 2, "w": np.ones(1000)}, path)
    assert_intact(path, before)


@pytest.mark.parametrize("fails", ["fsync", "replace"])
def test_failure_in_fsync_or_replace_keeps_the_old_checkpoint(existing, monkeypatch, fails):
    path, before = existing

    def boom(*args):
        raise OSError(5, f"{fails} failed")

    monkeypatch.setattr(os, fails, boom)
    with pytest.raises(OSError, match=f"{fails} failed"):
        save({"version": 2}, path)
    monkeypatch.undo()
    assert_intact(path, before)


def test_interrupt_keeps_the_old_checkpoint(existing, monkeypatch):
    path, before = existing

    def interrupted(f, data):
        f.write(data[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(cio, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"version": 2}, path)
    assert_intact(path, before)


def test_save_replaces_and_honours_the_umask(tmp_path):
    path = tmp_path / "ckpt"
    save({"version": 1}, path)
    save({"version": 2}, path)
    assert load(path) == {"version": 2}
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


# -- refusing bad files ---------------------------------------------------------------------


class CreatesMarker:
    """Unpickling this would create a file: the proof that something ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_file_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "marker"
    for protocol in (2, 4, 5):
        path = tmp_path / f"evil{protocol}.pt"
        path.write_bytes(pickle.dumps({"w": CreatesMarker(marker)}, protocol=protocol))
        with pytest.raises(CheckpointError, match=f"{path}: this looks like a pickle file"):
            load(path)
        assert not marker.exists()
    path = tmp_path / "evil0.pt"  # protocol 0 is text: refused as not safetensors
    path.write_bytes(pickle.dumps(CreatesMarker(marker), protocol=0))
    with pytest.raises(CheckpointError, match=str(path)):
        load(path)
    assert not marker.exists()


def test_zip_archive_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02.")
    with pytest.raises(CheckpointError, match="zip archive"):
        load(path)


def test_truncated_files(tmp_path):
    good = tmp_path / "good"
    save(training_state(), good)
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    cases = {"cut_data": (data[:-5], r"truncated: tensor .* needs bytes"),
             "cut_header": (data[: 8 + n // 2], r"announce a \d+-byte header"),
             "eight_bytes": (data[:8], "announce"),
             "three_bytes": (data[:3], "truncated: 3 bytes"),
             "empty": (b"", "truncated: 0 bytes")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=message) as err:
            load(path)
        assert str(path) in str(err.value)


def test_corrupted_header(tmp_path):
    save({"w": np.arange(4.0), "n": 1}, tmp_path / "good")
    data = bytearray((tmp_path / "good").read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])

    def write(name, header_obj=None, raw_header=None):
        raw = raw_header if raw_header is not None else json.dumps(header_obj).encode()
        path = tmp_path / name
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(data[8 + n:]))
        return path

    flipped = bytearray(data)
    flipped[9] ^= 0xFF
    (tmp_path / "flipped").write_bytes(flipped)
    with pytest.raises(CheckpointError, match="corrupted header"):
        load(tmp_path / "flipped")
    with pytest.raises(CheckpointError, match="corrupted header: not valid"):
        load(write("brace", raw_header=b"{" + b" " * 20))
    with pytest.raises(CheckpointError, match="expected a JSON object"):
        load(write("list", [1, 2]))
    bad_offsets = json.loads(json.dumps(header))
    bad_offsets["w"]["data_offsets"] = [0, 8]  # 4 float64 need 32 bytes
    with pytest.raises(CheckpointError, match=r"tensor 'w' .* does not fill"):
        load(write("offsets", bad_offsets))
    bad_dtype = json.loads(json.dumps(header))
    bad_dtype["w"]["dtype"] = "F8_E4M3"
    with pytest.raises(CheckpointError, match="dtype 'F8_E4M3'"):
        load(write("dtype", bad_dtype))
    bad_structure = json.loads(json.dumps(header))
    del bad_structure["__metadata__"][cio.HASH_KEY]  # as a file saved without digests
    bad_structure["__metadata__"][cio.STRUCTURE_KEY] = '{"x": {"__array__": "nope", "kind": 1}}'
    with pytest.raises(CheckpointError, match="'nope' that the file does not contain"):
        load(write("structure", bad_structure))
    bad_structure["__metadata__"][cio.STRUCTURE_KEY] = "{not json"
    with pytest.raises(CheckpointError, match="corrupted structure"):
        load(write("structure2", bad_structure))
    bad_structure["__metadata__"][cio.FORMAT_KEY] = "99"
    with pytest.raises(CheckpointError, match="format '99' is not supported"):
        load(write("version", bad_structure))


def test_random_bytes_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(20):
        path = tmp_path / f"random{i}"
        path.write_bytes(rng.bytes(int(rng.integers(1, 5000))))
        with pytest.raises(CheckpointError, match=str(path)):
            load(path)


def test_checkpoint_error_is_a_chainrule_value_error():
    assert issubclass(CheckpointError, cr.ChainruleError)
    assert issubclass(CheckpointError, ValueError)


def test_missing_safetensors_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[safetensors\]'"):
        save({"a": 1}, tmp_path / "x")
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[safetensors\]'"):
        load(tmp_path / "x")


def test_the_library_never_uses_pickle():
    import chainrule.data
    sources = [cio.__file__] + [os.path.join(os.path.dirname(chainrule.data.__file__), f)
                                for f in os.listdir(os.path.dirname(chainrule.data.__file__))
                                if f.endswith(".py")]
    for src in sources:
        with open(src, encoding="utf-8") as f:
            text = f.read()
        assert "import pickle" not in text and "allow_pickle=True" not in text, src


# -- leftovers of killed writers ----------------------------------------------------------------

KILLED_SAVER = r'''
import sys, numpy as np, chainrule as cr
state = {"w": np.ones(2 * 1024 * 1024)}  # 16 MB: a write takes a while
print("ready", flush=True)
while True:
    cr.save(state, sys.argv[1])
'''


def leftovers(directory, name):
    return [f for f in os.listdir(directory) if f != name]


def test_saves_killed_outright_leave_nothing_after_the_next_save(tmp_path):
    """SIGKILL writers mid-save (no cleanup can run) until one leaves its temporary file
    (at most 40 kills); the checkpoint stays loadable throughout, and the next save removes
    every leftover."""
    import signal
    import subprocess
    import time
    path = tmp_path / "ckpt.safetensors"
    rng = np.random.default_rng(0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    seen = 0
    for _ in range(40):
        p = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(path)],
                             stdout=subprocess.PIPE, env=env)
        p.stdout.readline()
        time.sleep(float(rng.uniform(0.0, 0.4)))
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        if path.exists():
            assert load(path)["w"].shape == (2 * 1024 * 1024,)
        seen = max(seen, len(leftovers(tmp_path, path.name)))
        if seen:
            break
    assert seen, "no kill landed inside a write: the test proved nothing"
    assert all(f.endswith(".chainrule-tmp") for f in leftovers(tmp_path, path.name))
    save({"w": np.zeros(2)}, path)
    assert leftovers(tmp_path, path.name) == []


def test_leftover_removal_spares_live_writers_other_hosts_and_other_files(tmp_path):
    import subprocess
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    host, tail = cio._host(), "0123456789ab.chainrule-tmp"
    mine = tmp_path / f".ckpt.{host}.{dead}.{tail}"
    kept = [tmp_path / f".ckpt.{host}.{os.getpid()}.{tail}",  # this process: a save under way
            tmp_path / f".ckpt.{host}.1.{tail}",  # a running process (init)
            tmp_path / f".ckpt.other-host.{dead}.{tail}",  # a dead pid, but not ours to judge
            tmp_path / f".ckpt.x.{host}.{dead}.{tail}",  # the leftover of another file
            tmp_path / f".ckpt.{host}.{dead}.0123456789ab.tmp",  # not atomic_open's name
            tmp_path / "ckpt.tmp", tmp_path / f".ckpt.{host}.{dead}.{tail}.bak"]
    for p in [mine, *kept]:
        p.write_bytes(b"x")
    assert cio.remove_leftovers(tmp_path / "ckpt") == [str(mine)]
    assert [p for p in kept if not p.exists()] == []
    (tmp_path / "ckpt.marker").write_bytes(b"")
    (tmp_path / "ckpt.marker").unlink()
    mine.write_bytes(b"x")  # a dead writer's file again: the next write removes it
    with cio.atomic_open(tmp_path / "ckpt") as f:
        f.write(b"new")
    assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in kept] + ["ckpt"])


# -- checksums ---------------------------------------------------------------------------------

def header_of(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return data, n, json.loads(data[8:8 + n])


def test_a_flipped_bit_in_any_tensor_is_an_error_naming_it(tmp_path):
    path = tmp_path / "ckpt"
    save(training_state(), path)
    data, n, header = header_of(path)
    names = [k for k in header if k != "__metadata__"]
    assert len(names) > 5
    for name in names:
        start, end = header[name]["data_offsets"]
        if start == end:
            continue
        flipped = bytearray(data)
        flipped[8 + n + (start + end) // 2] ^= 0x10
        bad = tmp_path / "flipped"
        bad.write_bytes(flipped)
        with pytest.raises(CheckpointError, match=f"{bad}: tensor '{name}' is corrupted"):
            load(bad)
    assert_same(load(path), training_state())  # the original is fine


def test_a_changed_value_in_the_structure_is_an_error(tmp_path):
    path = tmp_path / "ckpt"
    save({"epoch": 3, "w": np.zeros(2)}, path)
    data = path.read_bytes()
    assert data.count(b'epoch\\":3') == 1
    path.write_bytes(data.replace(b'epoch\\":3', b'epoch\\":7'))  # same length, valid JSON
    with pytest.raises(CheckpointError, match="structure .* does not match the SHA-256"):
        load(path)


def test_files_without_digests_load_and_bad_digest_entries_do_not(tmp_path):
    save({"w": np.arange(3.0)}, tmp_path / "good")
    data, n, header = header_of(tmp_path / "good")
    rest = data[8 + n:]
    del header["__metadata__"][cio.HASH_KEY]  # as chainrule wrote them before digests
    write_raw(tmp_path / "old", json.dumps(header).encode(), rest)
    np.testing.assert_array_equal(load(tmp_path / "old")["w"], np.arange(3.0))
    header["__metadata__"][cio.HASH_KEY] = "[1, 2]"
    write_raw(tmp_path / "bad", json.dumps(header).encode(), rest)
    with pytest.raises(CheckpointError, match="unreadable 'chainrule.sha256' entry"):
        load(tmp_path / "bad")


# -- hostile headers -----------------------------------------------------------------------------

def write_raw(path, header: bytes, data: bytes = b"") -> None:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)


def entry(dtype="F32", shape=(1,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
            "data_offsets": list(offsets) if isinstance(offsets, tuple) else offsets}


def deep_structure_header():
    structure = "[" * 100_000 + "]" * 100_000
    digests = json.dumps({"structure": hashlib.sha256(structure.encode()).hexdigest(),
                          "tensors": {}})
    return json.dumps({"__metadata__": {cio.FORMAT_KEY: cio.FORMAT_VERSION,
                                        cio.STRUCTURE_KEY: structure,
                                        cio.HASH_KEY: digests}}).encode()


HOSTILE = {
    "deep header": (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "deep structure": (deep_structure_header(), "nested too deeply"),
    "65 dimensions": ({"x": entry(shape=(1,) * 65)}, "65 dimensions"),
    "zero times 2**62": ({"x": entry(shape=(0, 2**62), offsets=(0, 0))}, "larger than any"),
    "claims a terabyte": ({"x": entry(shape=(2**38,), offsets=(0, 2**40))}, "truncated"),
    "bool sizes": ({"x": entry(shape=[True])}, "not a list of sizes"),
    "negative size": ({"x": entry(shape=[-1])}, "not a list of sizes"),
    "float size": ({"x": entry(shape=[1.0])}, "not a list of sizes"),
    "shape not a list": ({"x": entry(shape="1")}, "not a list of sizes"),
    "dtype a list": ({"x": entry(dtype=["F32"])}, "has dtype"),
    "bool offsets": ({"x": entry(offsets=[False, True])}, "bad data offsets"),
    "offsets reversed": ({"x": entry(offsets=[4, 0])}, "bad data offsets"),
    "three offsets": ({"x": entry(offsets=[0, 4, 8])}, "bad entry"),
    "entry not a dict": ({"x": 5}, "bad entry"),
    "metadata not strings": ({"__metadata__": {"a": 1}}, "must map strings to strings"),
    "huge integer": (b'{"x": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], '
                     b'"data_offsets": [0, 4]}}', "corrupted header"),
    "overlapping tensors": ({"x": entry(), "y": entry()}, "not a valid safetensors"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_headers_are_checkpoint_errors_without_big_allocations(case, tmp_path):
    import tracemalloc
    header, message = HOSTILE[case]
    if isinstance(header, dict):
        header = json.dumps(header).encode()
    path = tmp_path / "hostile.safetensors"
    write_raw(path, header, b"" if case == "deep structure" else bytes(4))  # no tensors there
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=message) as err:
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(err.value).startswith(f"{path}: ")
    assert peak < 20 * 2**20, f"{peak} bytes allocated"
