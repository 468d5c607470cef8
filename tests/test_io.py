"""chainrule.io: safetensors checkpoints that round-trip exactly, atomic writes, and bad files
that are refused without executing anything."""
from __future__ import annotations

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
