"""chainrule.data: datasets, the DataLoader, and the built-in loaders (all offline)."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import random
import struct
import sys
import threading
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    MNIST_SHA256,
    DataLoader,
    Dataset,
    DatasetError,
    RandomSampler,
    Sampler,
    TensorDataset,
    load_digits,
    load_mnist,
    load_mnist1d,
    read_idx,
    write_idx,
)
from chainrule.data import datasets as datasets_mod
from chainrule.tensor import Tensor

# -- TensorDataset ------------------------------------------------------------------------------


def test_tensor_dataset_indexes_every_array():
    x = np.arange(12.0).reshape(4, 3)
    y = cr.tensor([0, 1, 2, 3])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor)
    np.testing.assert_array_equal(xi.data, x[2])
    assert yi.item() == 2
    assert ds.arrays[0] is x  # no copy
    assert all(isinstance(t, Tensor) for t in ds.tensors)


def test_tensor_dataset_unequal_first_dimensions_is_a_clear_error():
    with pytest.raises(ValueError, match=r"same first dimension.*\(4, 3\).*\(5,\)"):
        TensorDataset(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.zeros(3), np.float32(1.0))


# -- DataLoader ---------------------------------------------------------------------------------


def _xy(n=10):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n, dtype=np.int64)


def test_sequential_batches_cover_the_dataset_in_order():
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    for bx, by in batches:
        assert isinstance(bx, Tensor) and isinstance(by, Tensor)
        assert not bx.requires_grad and bx.grad_fn is None
        assert bx.dtype == np.float32 and by.dtype == np.int64
        np.testing.assert_array_equal(bx.data, x[by.data])


def test_drop_last_and_len():
    ds = TensorDataset(*_xy(10))
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(DataLoader(ds, batch_size=5)) == 2
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=11)) == 1
    assert list(DataLoader(ds, batch_size=11, drop_last=True)) == []
    assert list(DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=3)) == []


def test_bad_arguments():
    ds = TensorDataset(*_xy(4))
    for bs in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(ds, batch_size=bs)
    with pytest.raises(ValueError, match="shuffle=True or a sampler"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(TypeError, match="Generator"):
        DataLoader(ds, shuffle=True, rng=np.random.RandomState(0))


def test_shuffle_is_a_new_permutation_each_epoch_and_seeded():
    ds = TensorDataset(*_xy(50))
    loader = DataLoader(ds, batch_size=8, shuffle=True, rng=np.random.default_rng(1))
    epochs = [np.concatenate([b[1].data for b in loader]) for _ in range(3)]
    for e in epochs:
        assert sorted(e.tolist()) == list(range(50))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    again = DataLoader(ds, batch_size=8, shuffle=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in again]), epochs[0])


def test_default_shuffle_rng_follows_manual_seed_and_leaves_the_default_stream_alone():
    ds = TensorDataset(*_xy(30))

    def first_epoch():
        cr.manual_seed(123)
        loader = DataLoader(ds, batch_size=30, shuffle=True)
        after = cr.randn(3).data  # what model init would draw next
        return next(iter(loader))[1].data, after

    (order1, after1), (order2, after2) = first_epoch(), first_epoch()
    np.testing.assert_array_equal(order1, order2)
    assert not np.array_equal(order1, np.arange(30))
    cr.manual_seed(123)
    np.testing.assert_array_equal(after1, cr.randn(3).data)  # loader drew nothing from it
    np.testing.assert_array_equal(after1, after2)


def test_tensor_dataset_batches_without_a_per_sample_loop(monkeypatch):
    ds = TensorDataset(*_xy(10))

    def refuse(self, i):
        raise AssertionError("per-sample __getitem__ used for a TensorDataset")

    monkeypatch.setattr(TensorDataset, "__getitem__", refuse)
    batches = list(DataLoader(ds, batch_size=5, shuffle=True, rng=np.random.default_rng(0)))
    assert len(batches) == 2


class Pairs(Dataset):
    """A generic dataset: (Python float, Python int, ndarray, Tensor) per sample."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return float(i), i, np.full(3, i, np.float64), cr.tensor([i, -i], dtype=np.int32)


def test_generic_dataset_is_collated_with_stack():
    batches = list(DataLoader(Pairs(5), batch_size=2))
    assert len(batches) == 3
    f, i, a, t = batches[0]
    assert f.dtype == cr.get_default_dtype() and f.tolist() == [0.0, 1.0]
    assert i.dtype == np.int64 and i.tolist() == [0, 1]
    assert a.dtype == np.float64 and a.shape == (2, 3)
    assert t.dtype == np.int32 and t.tolist() == [[0, 0], [1, -1]]
    assert batches[2][1].tolist() == [4]


def test_single_value_samples_give_one_tuples_and_numpy_floats_keep_their_dtype():
    class Single(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.float64(i)

    (batch,) = list(DataLoader(Single(), batch_size=3))
    assert isinstance(batch, tuple) and len(batch) == 1
    assert batch[0].dtype == np.float64


def test_unstackable_samples_are_a_clear_error():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros(i + 1), 0

    with pytest.raises(ValueError, match="cannot stack field 0"):
        list(DataLoader(Ragged(), batch_size=2))


def test_custom_sampler_any_iterable_with_len():
    class EveryOther:
        def __init__(self):
            self.epochs = []

        def __iter__(self):
            return iter([4, 2, 0])

        def __len__(self):
            return 3

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    sampler = EveryOther()
    loader = DataLoader(TensorDataset(*_xy(6)), batch_size=2, sampler=sampler)
    assert len(loader) == 2
    assert [b[1].tolist() for b in loader] == [[4, 2], [0]]
    loader.set_epoch(7)
    assert sampler.epochs == [7]


def test_sampler_base_set_epoch_and_subclass():
    class Reversed(Sampler):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def indices(self):
            return np.arange(self.n)[::-1] + self.epoch

    s = Reversed(3)
    assert list(s) == [2, 1, 0]
    loader = DataLoader(TensorDataset(*_xy(10)), batch_size=3, sampler=s)
    loader.set_epoch(2)
    assert [b[1].tolist() for b in loader] == [[4, 3, 2]]
    rs = RandomSampler(4, rng=np.random.default_rng(0))
    assert len(rs) == 4 and sorted(rs) == [0, 1, 2, 3]
    assert DataLoader(TensorDataset(*_xy(4)), shuffle=True, rng=rs.rng).rng is rs.rng


# -- load_digits ----------------------------------------------------------------------------------


def test_load_digits_fixed_stratified_split():
    x_train, y_train, x_test, y_test = load_digits()
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10),
                                  np.round(0.2 * counts).astype(int))
    # the same split every call, and the classes are mixed (not sorted) within each part
    again = load_digits()
    for a, b in zip((x_train, y_train, x_test, y_test), again):
        np.testing.assert_array_equal(a, b)
    assert len(set(y_train[:20].tolist())) > 3
    # the split partitions sklearn's samples: every original row appears exactly once
    from sklearn.datasets import load_digits as sk_load
    x_all = (sk_load().data / 16.0).astype(np.float32)
    both = np.concatenate([x_train, x_test])
    assert sorted(map(bytes, both)) == sorted(map(bytes, x_all))


# -- load_mnist1d ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist1d_cache(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnist1d")
    start = time.perf_counter()
    data = load_mnist1d(cache_dir=d)
    return d, data, time.perf_counter() - start


def test_load_mnist1d_standard_split(mnist1d_cache):
    _, (x_train, y_train, x_test, y_test), _ = mnist1d_cache
    assert x_train.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert set(y_train.tolist()) == set(range(10))
    # the generator standardises the whole set
    both = np.concatenate([x_train, x_test])
    assert abs(both.mean()) < 1e-3 and abs(both.std() - 1) < 1e-3


def test_load_mnist1d_second_call_reads_the_cache(mnist1d_cache, monkeypatch):
    d, data, _ = mnist1d_cache
    files = os.listdir(d)
    assert len(files) == 1 and files[0].startswith("mnist1d-") and files[0].endswith(".npz")

    def refuse(args):
        raise AssertionError("regenerated despite the cache")

    monkeypatch.setattr(datasets_mod, "_generate_mnist1d", refuse)
    cached = load_mnist1d(cache_dir=d)  # `refuse` proves it came from the cache
    for a, b in zip(data, cached):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert files == [os.path.basename(datasets_mod.mnist1d_cache_path(d))]


@pytest.mark.parametrize("module,load", [
    ("sklearn", lambda tmp: datasets_mod.load_digits()),
    ("mnist1d", lambda tmp: load_mnist1d(cache_dir=tmp, regenerate=True)),
])
def test_a_missing_dataset_package_says_how_to_install_it(module, load, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, f"{module}.data", None)
    monkeypatch.setitem(sys.modules, f"{module}.datasets", None)
    with pytest.raises(ImportError) as err:
        load(tmp_path)
    message = str(err.value)
    assert "not installed" in message and "pip install 'chainrule[datasets]'" in message
    assert "pip install -e '.[datasets]'" in message


def test_load_mnist1d_restores_the_global_random_states(tmp_path):
    np.random.seed(7)
    random.seed(7)
    np_expected, py_expected = np.random.get_state(), random.getstate()
    load_mnist1d(cache_dir=tmp_path, num_samples=100)
    np_after = np.random.get_state()
    assert np_after[0] == np_expected[0] and np.array_equal(np_after[1], np_expected[1])
    assert np_after[2:] == np_expected[2:]
    assert random.getstate() == py_expected


def test_load_mnist1d_overrides_env_cache_and_corrupt_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path))
    x, y, x_test, y_test = load_mnist1d(num_samples=200)
    assert x.shape == (160, 40) and x_test.shape == (40, 40)
    (path,) = [tmp_path / f for f in os.listdir(tmp_path)]  # no temporary files left over
    path.write_bytes(b"not an npz file")
    again = load_mnist1d(num_samples=200)  # a corrupt cache is rebuilt, not trusted
    np.testing.assert_array_equal(again[0], x)
    assert np.load(path)["x"].shape == (160, 40)
    with pytest.raises(TypeError, match="unknown MNIST-1D argument"):
        load_mnist1d(cache_dir=tmp_path / "other", num_sample=10)


# -- IDX files and load_mnist -------------------------------------------------------------------

NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """IDX bytes written by hand with struct (independent of chainrule's write_idx)."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.tobytes()


def fake_mnist(rng, n_train=5, n_test=3):
    return {"train": (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                      rng.integers(0, 10, n_train, dtype=np.uint8)),
            "test": (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                     rng.integers(0, 10, n_test, dtype=np.uint8))}


def write_mnist(root, data, gz=(), overrides=None):
    """The four files into root; names in gz are gzipped; overrides: name -> raw bytes."""
    overrides = overrides or {}
    for split, (images, labels) in data.items():
        for name, arr in zip(NAMES[split], (images, labels)):
            raw = overrides.get(name, idx_bytes(arr))
            if name in gz:
                (root / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (root / name).write_bytes(raw)


def check_loaded(loaded, data):
    x_train, y_train, x_test, y_test = loaded
    for x, y, (images, labels) in ((x_train, y_train, data["train"]),
                                   (x_test, y_test, data["test"])):
        assert x.dtype == np.float32 and x.shape == images.shape
        assert y.dtype == np.int64
        np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(y, labels)
        assert 0.0 <= x.min() and x.max() <= 1.0


@pytest.mark.parametrize("gz", [(), tuple(n for pair in NAMES.values() for n in pair),
                                ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte")])
def test_load_mnist_plain_gzipped_and_mixed(tmp_path, gz):
    data = fake_mnist(np.random.default_rng(0))
    write_mnist(tmp_path, data, gz=gz)
    check_loaded(load_mnist(tmp_path), data)


def test_write_idx_matches_the_format_and_round_trips(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "a", arr)
    assert (tmp_path / "a").read_bytes() == idx_bytes(arr)
    write_idx(tmp_path / "b.gz", arr)
    assert gzip.decompress((tmp_path / "b.gz").read_bytes()) == idx_bytes(arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.gz"), arr)
    floats = np.linspace(0, 1, 6).reshape(2, 3)
    write_idx(tmp_path / "f", floats)
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), floats)


def test_load_mnist_bad_magic_names_the_file(tmp_path):
    data = fake_mnist(np.random.default_rng(0))
    bad = {"train-labels-idx1-ubyte": idx_bytes(data["train"][1], magic=0x0803)}
    write_mnist(tmp_path, data, overrides=bad)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte: bad magic number "
                                           r"0x00000803, expected 0x00000801"):
        load_mnist(tmp_path)
    garbage = {"t10k-images-idx3-ubyte": b"GIF89a" + bytes(100)}
    write_mnist(tmp_path, data, overrides=garbage)
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte: bad magic"):
        load_mnist(tmp_path)
    assert issubclass(DatasetError, cr.ChainruleError) and issubclass(DatasetError, ValueError)


def test_load_mnist_truncated_and_overlong_data(tmp_path):
    data = fake_mnist(np.random.default_rng(0))
    full = idx_bytes(data["train"][0])
    write_mnist(tmp_path, data, overrides={"train-images-idx3-ubyte": full[:-10]})
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: truncated: the header "
                                           r"says shape \(5, 28, 28\) \(3920 bytes"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, data, overrides={"train-images-idx3-ubyte": full + b"\0"})
    with pytest.raises(DatasetError, match="too long"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, data, overrides={"train-images-idx3-ubyte": full[:9]})
    with pytest.raises(DatasetError, match="truncated header"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, data, overrides={"train-images-idx3-ubyte": full[:2]})
    with pytest.raises(DatasetError, match="truncated"):
        load_mnist(tmp_path)


def test_load_mnist_truncated_gzip(tmp_path):
    data = fake_mnist(np.random.default_rng(0))
    write_mnist(tmp_path, data, gz=("t10k-labels-idx1-ubyte",))
    gz_path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    gz_path.write_bytes(gz_path.read_bytes()[:-12])
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: corrupted or truncated"):
        load_mnist(tmp_path)


def test_load_mnist_count_mismatch_and_missing_files(tmp_path):
    data = fake_mnist(np.random.default_rng(0))
    data["test"] = (data["test"][0], data["test"][1][:2])
    write_mnist(tmp_path, data)
    with pytest.raises(DatasetError, match="has 3 images but .*t10k-labels.* has 2 labels"):
        load_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte .*download=True"):
        load_mnist(tmp_path)


def make_mirror(tmp_path, data):
    """A directory of the four .gz archives, and their real SHA-256 digests."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_mnist(mirror, data, gz=[n for pair in NAMES.values() for n in pair])
    digests = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in mirror.iterdir()}
    return mirror, digests


def test_download_from_a_file_mirror(tmp_path):
    data = fake_mnist(np.random.default_rng(2))
    mirror, digests = make_mirror(tmp_path, data)
    root = tmp_path / "root" / "mnist"
    loaded = load_mnist(root, download=True, mirror=mirror.as_uri(), checksums=digests)
    check_loaded(loaded, data)
    assert sorted(os.listdir(root)) == sorted(digests)  # no temporary files left behind
    # now present: no download needed (the mirror may vanish)
    for f in mirror.iterdir():
        f.unlink()
    check_loaded(load_mnist(root, download=True, mirror=mirror.as_uri()), data)


def test_download_sha_mismatch_saves_nothing(tmp_path, monkeypatch):
    data = fake_mnist(np.random.default_rng(3))
    mirror, _ = make_mirror(tmp_path, data)
    root = tmp_path / "root"
    monkeypatch.setenv("CHAINRULE_MNIST_MIRROR", mirror.as_uri())  # the env var is the mirror
    expected = MNIST_SHA256["train-images-idx3-ubyte.gz"]
    with pytest.raises(DatasetError, match=f"train-images-idx3-ubyte.gz: SHA-256 mismatch: "
                                           f"expected {expected}, got"):
        load_mnist(root, download=True)  # the real MNIST digests do not match fake files
    assert os.listdir(root) == []
    with pytest.raises(DatasetError, match="no known SHA-256"):
        load_mnist(root, download=True, checksums={})


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_over_http_from_a_local_server(tmp_path):
    data = fake_mnist(np.random.default_rng(4))
    mirror, digests = make_mirror(tmp_path, data)
    handler = functools.partial(QuietHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        root = tmp_path / "root"
        # one file already there: only the other three are fetched
        root.mkdir()
        (root / "train-labels-idx1-ubyte").write_bytes(idx_bytes(data["train"][1]))
        check_loaded(load_mnist(root, download=True, mirror=url, checksums=digests), data)
        assert sorted(os.listdir(root)) == sorted(
            ["train-labels-idx1-ubyte", "train-images-idx3-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
        with pytest.raises(DatasetError, match="could not download .*404"):
            load_mnist(tmp_path / "elsewhere", download=True, mirror=url + "missing/",
                       checksums=digests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
