"""dtype names, devices, generators and the random factories, PyTorch-shaped."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def test_dtype_aliases_are_torchs():
    for name in ("float", "double", "long", "int", "int32", "float16", "half", "bool"):
        ours, theirs = getattr(cr, name), getattr(torch, name)
        assert ours == torch.empty(0, dtype=theirs).numpy().dtype, name
    assert cr.tensor([1, 2], dtype=cr.long).dtype == np.int64


FACTORIES = [
    ("zeros", (2, 3)), ("ones", (2,)), ("full", ((2, 2), 1.5)), ("arange", (0, 5)),
    ("linspace", (0.0, 1.0, 5)), ("eye", (3,)), ("empty", (2, 2)), ("tensor", ([1.0, 2.0],)),
    ("rand", (2,)), ("randn", (2, 2)), ("randint", (0, 4, (3,))), ("randperm", (4,)),
    ("normal", (0.0, 1.0, (3,))),
]


@pytest.mark.parametrize("name,args", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_every_factory_takes_device(name, args):
    fn = getattr(cr, name)
    for dev in ("cpu", cr.device("cpu"), "cpu:0", None):
        out = fn(*args, device=dev)
        assert out.shape == tuple(getattr(torch, name)(*args, device="cpu").shape)
    with pytest.raises(cr.DeviceError, match=f"{name}: device 'cuda'.*CPU only"):
        fn(*args, device="cuda")


def test_like_factories_take_device_and_dtype():
    x = cr.zeros((2, 3), dtype=cr.float64)
    for fn in (cr.zeros_like, cr.ones_like, cr.rand_like, cr.randn_like):
        out = fn(x, device="cpu")
        assert out.shape == (2, 3) and out.dtype == np.float64
        assert fn(x, dtype=cr.float32).dtype == np.float32
    with pytest.raises(TypeError, match="floating dtype"):
        cr.randn_like(cr.zeros(2, dtype=cr.long))


def test_generator_gives_reproducible_streams():
    g = cr.Generator().manual_seed(7)
    first = [cr.rand(3, generator=g), cr.randn(2, generator=g), cr.randint(10, (4,), generator=g),
             cr.normal(1.0, 2.0, (3,), generator=g), cr.randperm(5, generator=g),
             cr.multinomial(cr.tensor([0.2, 0.3, 0.5]), 2, generator=g)]
    g.manual_seed(7)
    again = [cr.rand(3, generator=g), cr.randn(2, generator=g), cr.randint(10, (4,), generator=g),
             cr.normal(1.0, 2.0, (3,), generator=g), cr.randperm(5, generator=g),
             cr.multinomial(cr.tensor([0.2, 0.3, 0.5]), 2, generator=g)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.data, b.data)
    other = cr.rand(3, generator=cr.Generator().manual_seed(8))
    assert not np.array_equal(first[0].data, other.data)
    state = g.get_state()
    a = cr.randn(4, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(a.data, cr.randn(4, generator=g).data)
    assert g.initial_seed() == 7


def test_manual_seed_drives_the_default_generator():
    cr.manual_seed(3)
    a = cr.randn(3), cr.randint(0, 9, (3,)), cr.multinomial(cr.ones(4), 2)
    cr.manual_seed(3)
    b = cr.randn(3), cr.randint(0, 9, (3,)), cr.multinomial(cr.ones(4), 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)


def test_randint_forms_match_torch():
    g = cr.Generator().manual_seed(0)
    for args, kw in [((5, (3, 2)), {}), ((2, 5, (100,)), {}), ((5,), {"size": (4,)}),
                     ((1, 3), {"size": (4,)})]:
        ours = cr.randint(*args, generator=g, **kw)
        theirs = torch.randint(*args, **kw)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
        lo, hi = (0, args[0]) if len(args) == 1 or (len(args) == 2 and "size" not in kw) \
            else args[:2]
        assert lo <= ours.data.min() and ours.data.max() < hi
    with pytest.raises(ValueError, match="greater than low"):
        cr.randint(3, 3, (2,))
    with pytest.raises(TypeError, match=r"randint\(low, high, size\)"):
        cr.randint(3)


def test_multinomial_frequencies_and_rules():
    g = cr.Generator().manual_seed(0)
    w = cr.tensor([[1.0, 0.0, 3.0], [0.0, 5.0, 5.0]])
    s = cr.multinomial(w, 20000, replacement=True, generator=g)
    assert s.shape == (2, 20000) and s.dtype == np.int64
    freq = [np.bincount(row, minlength=3) / 20000 for row in s.data]
    np.testing.assert_allclose(freq[0], [0.25, 0, 0.75], atol=0.02)
    np.testing.assert_allclose(freq[1], [0, 0.5, 0.5], atol=0.02)
    no_rep = cr.multinomial(cr.tensor([1.0, 1.0, 1.0, 0.0]), 3, generator=g)
    assert sorted(no_rep.tolist()) == [0, 1, 2]  # each once, never the zero weight
    assert tuple(torch.multinomial(torch.tensor([[1.0, 2.0]]), 2).shape) == \
        cr.multinomial(cr.tensor([[1.0, 2.0]]), 2).shape
    with pytest.raises(ValueError, match="fewer non-zero weights; pass replacement=True"):
        cr.multinomial(cr.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        cr.multinomial(cr.tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="positive sum"):
        cr.multinomial(cr.zeros(3), 1)


def test_normal_shapes_and_moments():
    g = cr.Generator().manual_seed(1)
    x = cr.normal(cr.tensor([0.0, 10.0]), cr.tensor([1.0, 0.1]), generator=g)
    assert x.shape == (2,) and x.dtype == np.float32
    big = cr.normal(3.0, 2.0, (20000,), generator=g)
    assert abs(big.data.mean() - 3.0) < 0.05 and abs(big.data.std() - 2.0) < 0.05
    with pytest.raises(ValueError, match="std must be non-negative"):
        cr.normal(0.0, -1.0, (2,))


def test_generator_arguments_are_checked():
    with pytest.raises(TypeError, match="must be a cr.Generator"):
        cr.randn(2, generator=5)
    with pytest.raises(TypeError, match="generator= or rng=, not both"):
        cr.randn(2, generator=cr.Generator(), rng=np.random.default_rng())
    with pytest.raises(cr.DeviceError):
        cr.Generator(device="cuda")
    assert cr.randn(2, generator=np.random.default_rng(0)).shape == (2,)


def test_one_hot_matches_torch():
    F = cr.nn.functional
    for idx, n in [([0, 2, 1], 3), ([[1], [0]], -1), ([3, 0], 5)]:
        ours = F.one_hot(cr.tensor(idx), n)
        theirs = torch.nn.functional.one_hot(torch.tensor(idx), n)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    with pytest.raises(TypeError, match="integer class indices"):
        F.one_hot(cr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="out of range for num_classes=2"):
        F.one_hot(cr.tensor([2]), 2)
