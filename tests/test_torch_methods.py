"""PyTorch-shaped Tensor methods against torch.Tensor's, on the same inputs: values, dtypes,
shapes, indices, and the error messages that replaced the unclear ones of issue 12.
(Values and gradients of the differentiable methods, at both orders, are the ``method_*``
specs of ``tests/op_specs.py``.)"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

A = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 2.0, 7.0, 0.0], [3.0, 3.0, -1.0, 4.0]])


def pair(a=A):
    return cr.tensor(a), torch.tensor(a)


def same(ours, theirs):
    """Equal values, shapes and dtypes (bool/int/float kinds), recursively for tuples."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t)
        return
    if isinstance(theirs, torch.Tensor):
        t = theirs.detach().numpy()
        assert isinstance(ours, cr.Tensor), type(ours)
        assert ours.shape == t.shape
        assert ours.dtype == t.dtype, (ours.dtype, t.dtype)
        np.testing.assert_allclose(ours.data, t, rtol=1e-12, atol=0)
        return
    assert ours == theirs


CALLS = [
    "x.size()", "x.size(1)", "x.size(-1)", "x.numel()", "x.nelement()", "x.dim()",
    "x.argmax()", "x.argmax(1)", "x.argmax(dim=0, keepdim=True)", "x.argmin(1)",
    "x.argmin(dim=1, keepdim=True)", "x.max(1)", "x.max(dim=0, keepdim=True)", "x.min(0)",
    "x.min(1, True)", "x.max()", "x.min()", "x.max(1)[1]", "x.max(0).indices",
    "x.float()", "x.double()", "x.long()", "x.int()", "x.bool()", "x.half()",
    "x.eq(5.0)", "x.ne(5.0)", "x.lt(3.0)", "x.le(3.0)", "x.gt(3.0)", "x.ge(3.0)",
    "x.gt(0).all()", "x.gt(0).all(1)", "x.gt(0).any(0)", "x.gt(0).all(dim=1, keepdim=True)",
    "x.chunk(2)", "x.chunk(3, 1)", "x.chunk(4, dim=1)", "x.split(2)", "x.split([1, 3], 1)",
    "x.split(3, dim=1)", "x.unsqueeze(0).squeeze(1)", "x.unsqueeze(1).squeeze()",
    "x.unsqueeze(-1).squeeze(-1)", "x.flatten()", "x.flatten(0, 1)", "x.reshape(2, 6)",
    "x.reshape((6, 2))", "x.view(-1)", "x.transpose(0, 1)", "x.transpose(1, 0)",
    "x.transpose(-1, -2)", "x.permute(1, 0)", "x.permute((1, 0))", "x.expand(2, 3, 4)",
    "x.repeat(2, 1)", "x.repeat(1, 2, 3)", "x.clamp(min=0.0)", "x.clamp(max=2.0)",
    "x.clamp(0.0, 3.0)", "x.sum(dim=1)", "x.sum(1, keepdim=True)", "x.mean(dim=(0, 1))",
    "x.std()", "x.var()", "x.std(1)", "x.var(dim=0, keepdim=True)", "x.var(1, unbiased=False)",
    "x.var(0, correction=0)", "x.pow(2)", "x.to(x.dtype)", "x.cpu()", "x.clone()",
    "x.contiguous()", "x.long().to(x.dtype)", "x.int().float()",
    "x.index_select(1, idx1)", "x.gather(1, idx2)", "x.masked_fill(x > 2, -1.0)",
    "x.max(x.flip(0))", "x.min(x.flip(0))",
]


@pytest.mark.parametrize("call", CALLS)
def test_method_matches_torch(call):
    (x, tx) = pair()
    names = {"idx1": cr.tensor([3, 0, 3]), "idx2": cr.tensor([[0, 3], [1, 1], [2, 0]])}
    tnames = {k: torch.tensor(v.data) for k, v in names.items()}
    if "flip" in call:
        call_t = call.replace("x.flip(0)", "x.flip((0,))")
        call = call.replace("x.flip(0)", "cr.flip(x, 0)")
    else:
        call_t = call
    ours = eval(call, {"x": x, "cr": cr, **names})
    theirs = eval(call_t, {"x": tx, **tnames})
    if isinstance(theirs, torch.Size):
        theirs = tuple(theirs)
    same(ours, theirs)


def test_max_dim_is_a_named_tuple_like_torch_return_types():
    x = cr.tensor(A)
    out = x.max(1)
    values, indices = out
    assert out.values is values and out.indices is indices
    assert type(out).__name__ == "max" and x.min(1)._fields == ("values", "indices")


def test_max_dim_sends_the_gradient_to_the_index_picked_as_torch():
    (x, tx) = pair(np.array([[2.0, 2.0, 1.0], [0.0, 3.0, 3.0]]))
    x.requires_grad_()
    tx.requires_grad_()
    x.max(1).values.sum().backward()
    tx.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    # the whole-tensor max shares it between ties, as torch.max() without dim
    y, ty = cr.tensor([1.0, 4.0, 4.0], requires_grad=True), torch.tensor(
        [1.0, 4.0, 4.0], requires_grad=True)
    y.max().backward()
    ty.max().backward()
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())


def test_numpy_keywords_keep_numpys_meaning():
    x = cr.tensor(A)
    np.testing.assert_array_equal(x.max(axis=1).data, A.max(axis=1))  # values only
    np.testing.assert_array_equal(x.min(axis=0, keepdims=True).data, A.min(0, keepdims=True))
    np.testing.assert_allclose(x.var(axis=0).data, A.var(axis=0))  # ddof=0
    np.testing.assert_allclose(x.std(ddof=1).data, A.std(ddof=1))
    np.testing.assert_array_equal(x.transpose().data, A.T)
    b = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(cr.tensor(b).transpose((2, 0, 1)).data, b.transpose(2, 0, 1))
    np.testing.assert_array_equal(cr.tensor(b).transpose(1, 2, 0).data, b.transpose(1, 2, 0))
    assert cr.tensor(b).size == b.size == 24  # NumPy's attribute: an int


def test_dim_and_keepdim_on_the_functions():
    (x, tx) = pair()
    for name in ("sum", "mean", "prod", "logsumexp"):
        same(getattr(cr, name)(x, dim=1, keepdim=True), getattr(torch, name)(tx, dim=1,
                                                                               keepdim=True))
    same(cr.max(x, dim=0), torch.amax(tx, dim=0))
    same(cr.min(x, dim=1, keepdim=True), torch.amin(tx, dim=1, keepdim=True))
    same(cr.var(x, dim=0, ddof=1), torch.var(tx, dim=0))
    same(cr.std(x, dim=1, keepdim=True), torch.std(tx, dim=1, keepdim=True, correction=0))
    same(cr.norm(x, dim=1), torch.linalg.vector_norm(tx, dim=1))
    same(cr.softmax(x, dim=0), torch.softmax(tx, dim=0))
    same(cr.nn.functional.log_softmax(x, dim=1), torch.log_softmax(tx, dim=1))
    with pytest.raises(TypeError, match="axis= .* or dim="):
        cr.sum(x, axis=0, dim=1)
    with pytest.raises(TypeError, match="keepdims= .* or keepdim="):
        cr.mean(x, keepdims=True, keepdim=True)


def test_squeeze_of_a_non_unit_dim_is_a_no_op_as_torch():
    x = cr.zeros((2, 1, 3))
    assert x.squeeze(0).shape == (2, 1, 3) == tuple(torch.zeros(2, 1, 3).squeeze(0).shape)
    assert x.squeeze((0, 1)).shape == (2, 3)


def test_conversions_and_devices():
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    assert x.to("cpu") is x and x.to(cr.device("cpu")) is x and x.cpu() is x
    assert x.to("cpu", cr.float64).dtype == np.float64
    assert x.to(dtype=cr.double, device="cpu").dtype == np.float64
    assert x.to(cr.float32, copy=True) is not x
    assert x.device == cr.device("cpu") and not x.is_cuda and str(x.device) == "cpu"
    y = x.double()
    y.sum().backward()  # float casts stay differentiable, the gradient cast back
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]
    assert x.long().grad_fn is None and x.long().tolist() == [1, -2]


def test_clone_copies_memory():
    x = cr.tensor([1.0, 2.0])
    y = x.clone()
    y += 1
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [2.0, 3.0]


def test_bool_operators():
    x = cr.tensor([0.5, 2.0, -1.0])
    same((x > 0) & (x < 1), torch.tensor([True, False, False]))
    same((x > 1) | (x < 0), torch.tensor([False, True, True]))
    same(~(x > 0), torch.tensor([False, False, True]))


# -- the unclear errors of issue 12, each now working, and bad input named clearly ------------
class Net(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = cr.nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


def test_issue_12_calls_now_work():
    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    net = Net().to(device)  # was: "data type 'cpu' not understood"
    assert isinstance(net, Net) and net.fc.weight.dtype == np.float32
    x = cr.zeros((2, 3, 4))
    assert x.flatten(1).shape == (2, 12)  # was: "<lambda>() takes 1 positional argument"
    assert x.size() == (2, 3, 4) and x.size(1) == 3  # was: "'int' object is not callable"
    assert x.transpose(0, 1).shape == (3, 2, 4)  # was: "transpose() takes from 1 to 2 ..."


@pytest.mark.parametrize("call,match", [
    (lambda: Net().to("cuda"), "runs on the CPU only.*device='cpu'"),
    (lambda: Net().to(cr.device("cpu"), "cuda:0"), "runs on the CPU only"),
    (lambda: Net().cuda(), "drop .cuda()"),
    (lambda: Net().to("notatype"), "expected a dtype"),
    (lambda: Net().to(cr.long), "parameters must stay floating"),
    (lambda: cr.device("cuda:0"), "runs on the CPU only"),
    (lambda: cr.device("cpu", 1), "one CPU device"),
    (lambda: cr.zeros(3, device="cuda"), "zeros: device 'cuda': chainrule runs on the CPU"),
    (lambda: cr.tensor([1.0], device="mps"), "runs on the CPU only"),
    (lambda: cr.ones(2).to("cuda"), "Tensor.to: device 'cuda'"),
    (lambda: cr.ones(2).cuda(), "CPU only"),
    (lambda: cr.zeros((2, 3)).flatten(3), r"dim 3 is out of range.*\[-2, 1\]"),
    (lambda: cr.zeros((2, 3, 4)).flatten(2, 1), "start_dim .* after end_dim"),
    (lambda: cr.zeros((2, 3)).size(2), "dim 2 is out of range"),
    (lambda: cr.zeros((2, 3)).transpose(0, 2), "dim 2 is out of range"),
    (lambda: cr.zeros((2, 3)).permute(0), "got 1 dims"),
    (lambda: cr.zeros(3).view(cr.float64), "to change the dtype use .to"),
    (lambda: cr.zeros((2, 3)).repeat(2), "give one per dimension"),
    (lambda: cr.zeros((2, 3)).expand(3), "at least one size per dimension"),
    (lambda: cr.zeros((2, 3)).gather(1, cr.tensor([0, 1])), "same number"),
    (lambda: cr.zeros((2, 3)).gather(1, cr.tensor([[3]])), r"must be in \[0, 2\]"),
    (lambda: cr.zeros((2, 3)).gather(1, cr.tensor([[0.0]])), "must hold integers"),
    (lambda: cr.zeros(3).masked_fill(cr.tensor([1, 0, 1]), 0.0), "must be a bool tensor"),
    (lambda: cr.zeros(5).split([2, 2]), "do not add up to 5"),
    (lambda: cr.zeros(5).chunk(0), "chunks must be positive"),
    (lambda: cr.zeros(3).clamp(), "give min, max or both"),
])
def test_bad_calls_say_what_to_do(call, match):
    with pytest.raises((TypeError, ValueError, IndexError, RuntimeError), match=match):
        call()


def test_a_refused_module_move_changes_nothing():
    net = Net()
    before = net.fc.weight.data.copy()
    with pytest.raises(cr.DeviceError):
        net.to("cuda", cr.float64)
    assert net.fc.weight.dtype == np.float32
    np.testing.assert_array_equal(net.fc.weight.data, before)


def test_clone_takes_part_in_explanations():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    ex = cr.explain((x.clone() * x).sum())
    assert "clone" in ex.to_text()
    scope = {}
    exec(ex.to_python(), scope)
    np.testing.assert_allclose(scope["grads"]["x"], [2.0, 4.0])  # d Σ x² / dx = 2x
