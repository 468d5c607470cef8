"""The one table that drives every op test: chainrule function, PyTorch function, input
shapes (broadcasting and axis variants included) and the domain the inputs are drawn from.

A registry test asserts that the specs together exercise every registered primitive
(forward and backward graphs), so no op ships untested.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.apply import apply
from chainrule.transforms import IDENTITY


@dataclass
class Spec:
    id: str
    fn: object
    torch_fn: object
    shapes: tuple
    domain: str = "real"  # real | positive | unit (|x| < 0.9) | away (|x| > 0.2)
    order: int = 2
    rtol: float = 1e-5
    atol: float = 1e-6
    inputs: object = None  # a function rng -> list of arrays, overriding shapes/domain
    fd: bool = True  # False where finite differences are meaningless (kinks, ties, x < 0)
    extra: dict = field(default_factory=dict)

    def make_inputs(self, rng):
        if self.inputs is not None:
            return [np.asarray(a, dtype=np.float64) for a in self.inputs(rng)]
        out = []
        for shape in self.shapes:
            if self.domain == "positive":
                a = np.exp(0.5 * rng.standard_normal(shape)) + 0.1
            elif self.domain == "unit":
                a = rng.uniform(-0.9, 0.9, shape)
            elif self.domain == "away":
                a = rng.uniform(0.2, 1.5, shape) * rng.choice([-1, 1], shape)
            else:
                a = rng.standard_normal(shape)
            out.append(np.asarray(a, dtype=np.float64))
        return out


T = torch
S = Spec
SPECS: list[Spec] = []


def add(*specs):
    SPECS.extend(specs)


# -- elementwise, unary ------------------------------------------------------------------------
for name, torch_fn, domain in [
    ("neg", T.neg, "real"), ("exp", T.exp, "real"), ("log", T.log, "positive"),
    ("log1p", T.log1p, "positive"), ("expm1", T.expm1, "real"), ("sqrt", T.sqrt, "positive"),
    ("square", T.square, "real"), ("reciprocal", T.reciprocal, "away"), ("sin", T.sin, "real"),
    ("cos", T.cos, "real"), ("tan", T.tan, "unit"), ("tanh", T.tanh, "real"),
    ("sigmoid", T.sigmoid, "real"), ("relu", T.relu, "away"), ("abs", T.abs, "away"),
    ("sign", T.sign, "away"), ("erf", T.erf, "real"),
]:
    add(S(name, getattr(cr, name), torch_fn, ((3, 4),), domain))

add(
    S("sigmoid_extreme", cr.sigmoid, T.sigmoid, (), inputs=lambda r: [[-800.0, -30.0, 0.0,
                                                                          30.0, 800.0]]),
    S("leaky_relu", lambda x: cr.leaky_relu(x, 0.1), lambda x: F.leaky_relu(x, 0.1), ((5,),),
      "away"),
    S("elu", lambda x: cr.elu(x, 1.3), lambda x: F.elu(x, 1.3), ((5,),), "away"),
    S("softplus", lambda x: cr.softplus(x, 2.0, 3.0), lambda x: F.softplus(x, 2.0, 3.0),
      ((6,),), "away"),
    S("gelu", cr.gelu, F.gelu, ((6,),)),
    S("gelu_tanh", lambda x: cr.gelu(x, "tanh"), lambda x: F.gelu(x, approximate="tanh"),
      ((6,),)),
    S("clip", lambda x: cr.clip(x, -0.5, 0.5), lambda x: T.clamp(x, -0.5, 0.5), ((8,),),
      inputs=lambda r: [[-1.0, -0.7, -0.3, 0.1, 0.4, 0.7, 1.2, 0.0]]),
    S("clip_tensor_bounds", lambda x, lo: cr.clip(x, lo, 0.5),
      lambda x, lo: T.minimum(T.maximum(x, lo), T.tensor(0.5, dtype=x.dtype)), ((4,), (4,))),
    S("identity", lambda x: apply(IDENTITY, (x,)), lambda x: x.clone(), ((3,),)),
)

# -- elementwise, binary (with broadcasting) and Python-number operands --------------------------
for shapes in [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (3,))]:
    tag = "x".join(map(str, shapes[0])) + "_" + "x".join(map(str, shapes[1]))
    add(
        S(f"add_{tag}", cr.add, T.add, shapes),
        S(f"subtract_{tag}", lambda x, y: x - y, T.sub, shapes),
        S(f"multiply_{tag}", lambda x, y: x * y, T.mul, shapes),
        S(f"maximum_{tag}", cr.maximum, T.maximum, shapes),
    )
add(
    S("divide", lambda x, y: x / y, T.div, ((3, 1), (4,)), "away"),
    S("power", lambda x, y: x ** y, T.pow, ((3, 4), (4,)), "positive"),
    S("power_zero_base", lambda x, y: x ** y, T.pow, (),
      inputs=lambda r: [[0.0, 0.5, 2.0], [2.0, 1.5, 3.0]], order=1, fd=False),
    S("minimum", cr.minimum, T.minimum, ((2, 3), (3,))),
    S("where", lambda x, y: cr.where(x.data > 0, x, y * 2),
      lambda x, y: T.where(x > 0, x, y * 2), ((3, 4), (4,))),
    S("add_scalar", lambda x: x + 2.5, lambda x: x + 2.5, ((4,),)),
    S("radd_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, ((4,),)),
    S("sub_scalar", lambda x: x - 2.5, lambda x: x - 2.5, ((4,),)),
    S("rsub_scalar", lambda x: 2.5 - x, lambda x: 2.5 - x, ((4,),)),
    S("mul_scalar", lambda x: x * 1.7, lambda x: x * 1.7, ((4,),)),
    S("rmul_scalar", lambda x: 1.7 * x, lambda x: 1.7 * x, ((4,),)),
    S("div_scalar", lambda x: x / 1.7, lambda x: x / 1.7, ((4,),)),
    S("rdiv_scalar", lambda x: 1.7 / x, lambda x: 1.7 / x, ((4,),), "away"),
    S("pow_scalar_int", lambda x: x ** 3, lambda x: x ** 3, ((4,),)),
    S("pow_scalar_by_multiplication_2", lambda x: x ** 2, lambda x: x ** 2, ((4,),)),
    S("pow_scalar_by_multiplication_4", lambda x: x ** 4, lambda x: x ** 4, ((2, 3),)),
    S("pow_scalar_int_5", lambda x: x ** 5, lambda x: x ** 5, ((4,),)),
    S("pow_scalar_frac", lambda x: x ** 2.5, lambda x: x ** 2.5, ((4,),), "positive"),
    S("pow_scalar_zero", lambda x: x ** 0, lambda x: x ** 0, ((4,),)),
    S("rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x, ((4,),)),
    S("ndarray_lhs", lambda x: np.arange(4.0, dtype=x.dtype) @ x,
      lambda x: T.arange(4.0, dtype=x.dtype) @ x, ((4, 2),)),
)

# -- reductions ------------------------------------------------------------------------------
for axis, keep in [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)]:
    tag = f"{axis}_{keep}".replace(" ", "")
    tdim = (lambda a: tuple(range(3)) if a is None else a)(axis)
    add(
        S(f"sum_{tag}", lambda x, a=axis, k=keep: cr.sum(x, a, k),
          lambda x, d=tdim, k=keep: T.sum(x, d, keepdim=k), ((2, 3, 4),)),
        S(f"max_{tag}", lambda x, a=axis, k=keep: cr.max(x, a, k),
          lambda x, d=tdim, k=keep: T.amax(x, d, keepdim=k), ((2, 3, 4),)),
        S(f"logsumexp_{tag}", lambda x, a=axis, k=keep: cr.logsumexp(x, a, k),
          lambda x, d=tdim, k=keep: T.logsumexp(x, d, keepdim=k), ((2, 3, 4),)),
        S(f"mean_{tag}", lambda x, a=axis, k=keep: cr.mean(x, a, k),
          lambda x, d=tdim, k=keep: T.mean(x, d, keepdim=k), ((2, 3, 4),)),
        S(f"norm_{tag}", lambda x, a=axis, k=keep: cr.norm(x, axis=a, keepdims=k),
          lambda x, d=tdim, k=keep: T.linalg.vector_norm(x, dim=d, keepdim=k), ((2, 3, 4),)),
    )
add(
    S("min", lambda x: cr.min(x, 1), lambda x: T.amin(x, 1), ((3, 4),)),
    S("max_ties", lambda x: cr.max(x, 1), lambda x: T.amax(x, 1), (),
      inputs=lambda r: [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]], order=1, fd=False),
    S("prod", lambda x: cr.prod(x, 1), lambda x: T.prod(x, 1), ((3, 4),), "away"),
    S("prod_zeros", lambda x: cr.prod(x, 1), lambda x: T.prod(x, 1), (),
      inputs=lambda r: [[[1.0, 0.0, 2.0], [3.0, 0.0, 0.0], [1.5, 2.0, -1.0]]]),
    S("prod_all", cr.prod, T.prod, ((2, 3),), "away"),
    S("var", lambda x: cr.var(x, 1), lambda x: T.var(x, 1, correction=0), ((3, 4),)),
    S("var_ddof", lambda x: cr.var(x, 0, ddof=1), lambda x: T.var(x, 0), ((3, 4),)),
    S("std", lambda x: cr.std(x, 1, keepdims=True),
      lambda x: T.std(x, 1, correction=0, keepdim=True), ((3, 4),)),
    S("norm_l1", lambda x: cr.norm(x, 1), lambda x: T.linalg.vector_norm(x, 1), ((5,),), "away"),
    S("norm_inf", lambda x: cr.norm(x, np.inf), lambda x: T.linalg.vector_norm(x, float("inf")),
      ((5,),)),
    S("norm_p3", lambda x: cr.norm(x, 3, axis=0), lambda x: T.linalg.vector_norm(x, 3, dim=0),
      ((3, 2),), "away"),
    S("norm_at_zero", lambda x: cr.norm(x * 0.0), lambda x: T.linalg.vector_norm(x * 0.0),
      ((3,),), order=1),
    S("softmax", lambda x: cr.softmax(x, 0), lambda x: T.softmax(x, 0), ((3, 4),)),
    S("log_softmax", cr.log_softmax, lambda x: T.log_softmax(x, -1), ((3, 4),)),
    S("log_softmax_extreme", cr.log_softmax, lambda x: T.log_softmax(x, -1), (),
      inputs=lambda r: [[[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]]]),
)

# -- shape ------------------------------------------------------------------------------------
add(
    S("reshape", lambda x: cr.reshape(x, (4, -1)), lambda x: x.reshape(4, -1), ((2, 3, 2),)),
    S("transpose", lambda x: cr.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1),
      ((2, 3, 4),)),
    S("transpose_T", lambda x: x.T, lambda x: x.T, ((2, 3),)),
    S("swapaxes", lambda x: cr.swapaxes(x, 0, 2), lambda x: x.transpose(0, 2), ((2, 3, 4),)),
    S("broadcast_to", lambda x: cr.broadcast_to(x, (2, 3, 4)), lambda x: x.expand(2, 3, 4),
      ((3, 1),)),
    S("sum_to", lambda x: cr.sum_to(x, (3, 1)), lambda x: x.sum(0).sum(-1, keepdim=True),
      ((2, 3, 4),)),
    S("expand_dims", lambda x: cr.expand_dims(x, (0, 2)), lambda x: x[None, :, None],
      ((3, 4),)),
    S("squeeze", lambda x: cr.squeeze(x), lambda x: x.squeeze(), ((3, 1, 4, 1),)),
    S("squeeze_axis", lambda x: cr.squeeze(x, 1), lambda x: x.squeeze(1), ((3, 1, 4, 1),)),
    S("concatenate", lambda x, y: cr.concatenate([x, y, x], axis=1),
      lambda x, y: T.cat([x, y, x], 1), ((2, 3), (2, 1))),
    S("stack", lambda x, y: cr.stack([x, y], axis=-1), lambda x, y: T.stack([x, y], -1),
      ((2, 3), (2, 3))),
    S("split", lambda x: cr.split(x, [1, 3], axis=1)[1] * 2,
      lambda x: T.split(x, [1, 2, 1], 1)[1] * 2, ((2, 4),)),
    S("split_sections", lambda x: cr.split(x, 2)[0], lambda x: T.chunk(x, 2)[0], ((4, 3),)),
    S("pad", lambda x: cr.pad(x, ((1, 0), (2, 1))), lambda x: F.pad(x, (2, 1, 1, 0)),
      ((2, 3),)),
    S("pad_value", lambda x: cr.pad(x, 1, constant_values=0.5),
      lambda x: F.pad(x, (1, 1, 1, 1), value=0.5), ((2, 3),)),
    S("flip", lambda x: cr.flip(x, 1), lambda x: T.flip(x, (1,)), ((2, 3, 4),)),
    S("flip_all", lambda x: cr.flip(x), lambda x: T.flip(x, (0, 1)), ((2, 3),)),
    S("take", lambda x: cr.take(x, [0, 2, 2], axis=1),
      lambda x: x[:, T.tensor([0, 2, 2])], ((2, 3),)),
    S("take_flat", lambda x: cr.take(x, [5, 0, 5]), lambda x: x.reshape(-1)[[5, 0, 5]],
      ((2, 3),)),
    S("getitem_basic", lambda x: x[1:, ::2, None, -1], lambda x: x[1:, ::2, None, -1],
      ((3, 4, 2),)),
    S("getitem_int", lambda x: x[1], lambda x: x[1], ((3, 4),)),
    S("getitem_ellipsis", lambda x: x[..., 1:3], lambda x: x[..., 1:3], ((2, 3, 4),)),
    S("getitem_array_repeats", lambda x: x[[0, 2, 0, 0]], lambda x: x[[0, 2, 0, 0]],
      ((3, 4),)),
    S("getitem_two_arrays", lambda x: x[[0, 1, 1], [2, 0, 2]],
      lambda x: x[[0, 1, 1], [2, 0, 2]], ((3, 4),)),
    S("getitem_bool", lambda x: x[x.data > 0], lambda x: x[x > 0], ((3, 4),)),
    S("astype", lambda x: cr.astype(x, np.float32) * 1.0, lambda x: x.float() * 1.0, ((3,),),
      order=1, rtol=1e-6, atol=1e-6, fd=False),
    # The gradient of getitem is scatter_add; it depends on x (so is recorded) only when
    # the indexed values enter a nonlinear function.
    S("getitem_squared", lambda x: x[[0, 2, 0]] ** 2, lambda x: x[[0, 2, 0]] ** 2, ((3, 2),)),
)

# -- products -----------------------------------------------------------------------------------
add(
    S("matmul", cr.matmul, T.matmul, ((3, 4), (4, 2))),
    S("matmul_batched", cr.matmul, T.matmul, ((2, 3, 4), (4, 5))),
    S("matmul_broadcast", cr.matmul, T.matmul, ((2, 1, 3, 4), (3, 4, 2))),
    S("matmul_vec_mat", cr.matmul, T.matmul, ((4,), (4, 2))),
    S("matmul_mat_vec", cr.matmul, T.matmul, ((3, 4), (4,))),
    S("matmul_vec_vec", lambda x, y: x @ y, T.matmul, ((4,), (4,))),
    S("dot", cr.dot, T.dot, ((5,), (5,))),
    S("outer", cr.outer, T.outer, ((3,), (4,))),
    S("trace", cr.trace, T.trace, ((3, 3),)),
    S("einsum_matmul", lambda x, y: cr.einsum("ij,jk->ik", x, y),
      lambda x, y: T.einsum("ij,jk->ik", x, y), ((3, 4), (4, 2))),
    S("einsum_implicit", lambda x, y: cr.einsum("ij,kj", x, y),
      lambda x, y: T.einsum("ij,kj", x, y), ((3, 4), (2, 4))),
    S("einsum_sum_out", lambda x, y: cr.einsum("ijk,j->i", x, y),
      lambda x, y: T.einsum("ijk,j->i", x, y), ((2, 3, 4), (3,))),
    S("einsum_three", lambda x, y, z: cr.einsum("ij,jk,kl->il", x, y, z),
      lambda x, y, z: T.einsum("ij,jk,kl->il", x, y, z), ((2, 3), (3, 4), (4, 2))),
    S("einsum_ellipsis", lambda x, y: cr.einsum("...ij,jk->...ik", x, y),
      lambda x, y: T.einsum("...ij,jk->...ik", x, y), ((2, 3, 4), (4, 2))),
)

# -- matrix functions (inputs kept well conditioned: the rules invert matrices) ------------------
def _conditioned(*shape):
    """Random matrices plus a multiple of the identity: far from singular."""
    return lambda r: [r.standard_normal(shape) + 3.0 * np.eye(shape[-1])]


def _spd(n):
    """A symmetric positive-definite matrix (B·Bᵀ + n·I)."""
    return lambda r: [(lambda b: b @ b.T + n * np.eye(n))(r.standard_normal((n, n)))]


def _cr_sym(a):
    return 0.5 * (a + cr.swapaxes(a, -1, -2))


add(
    S("inv", cr.linalg.inv, T.linalg.inv, (), inputs=_conditioned(3, 3)),
    S("inv_stack", cr.linalg.inv, T.linalg.inv, (), inputs=_conditioned(2, 3, 3)),
    S("solve_matrix", cr.linalg.solve, T.linalg.solve, (),
      inputs=lambda r: _conditioned(3, 3)(r) + [r.standard_normal((3, 2))]),
    S("solve_vector", cr.linalg.solve, T.linalg.solve, (),
      inputs=lambda r: _conditioned(3, 3)(r) + [r.standard_normal(3)]),
    S("solve_broadcast", cr.linalg.solve, T.linalg.solve, (),
      inputs=lambda r: _conditioned(3, 3)(r) + [r.standard_normal((2, 3, 2))]),
    S("det", cr.linalg.det, T.linalg.det, (), inputs=_conditioned(3, 3)),
    S("det_stack", cr.linalg.det, T.linalg.det, (), inputs=_conditioned(2, 3, 3)),
    S("slogdet", lambda a: cr.linalg.slogdet(a)[1], lambda a: T.linalg.slogdet(a)[1], (),
      inputs=lambda r: [-_conditioned(3, 3)(r)[0]]),
    # Cholesky reads a symmetric matrix: differentiate through sym(A), as PyTorch's own tests.
    S("cholesky", lambda a: cr.linalg.cholesky(_cr_sym(a)),
      lambda a: T.linalg.cholesky(0.5 * (a + a.mT)), (), inputs=_spd(3)),
)

# -- convolution and pooling (their gradients are again convolutions / scatters) ----------------
from chainrule.ops import conv as C  # noqa: E402

add(
    S("conv2d", lambda x, w: C.conv2d(x, w), F.conv2d, ((2, 2, 5, 4), (3, 2, 3, 2))),
    # stride 1 takes the "wide rows" path of conv_kernels; padding and dilation shift it
    S("conv2d_wide_pad_dilation",
      lambda x, w: C.conv2d(x, w, padding=(1, 2), dilation=(2, 1)),
      lambda x, w: F.conv2d(x, w, padding=(1, 2), dilation=(2, 1)),
      ((2, 2, 5, 4), (3, 2, 2, 3))),
    S("conv2d_stride_pad_dilation",
      lambda x, w: C.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
      lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
      ((1, 2, 6, 6), (2, 2, 3, 2))),
    S("conv2d_bias", lambda x, w, b: C.conv2d(x, w, b), F.conv2d,
      ((1, 1, 4, 4), (2, 1, 2, 2), (2,))),
    S("conv1d", lambda x, w: C.conv1d(x, w, stride=2, padding=1),
      lambda x, w: F.conv1d(x, w, stride=2, padding=1), ((2, 2, 7), (3, 2, 3))),
    S("conv2d_squared", lambda x, w: C.conv2d(x * x, w) ** 2,
      lambda x, w: F.conv2d(x * x, w) ** 2, ((1, 1, 4, 4), (1, 1, 2, 2))),
    S("max_pool2d", lambda x: C.max_pool2d(x, 2) ** 2, lambda x: F.max_pool2d(x, 2) ** 2,
      ((1, 2, 4, 4),)),
    S("max_pool1d", lambda x: C.max_pool1d(x, 3, 2), lambda x: F.max_pool1d(x, 3, 2),
      ((2, 2, 7),)),
    S("avg_pool2d", lambda x: C.avg_pool2d(x * x, 3, 1), lambda x: F.avg_pool2d(x * x, 3, 1),
      ((1, 2, 4, 5),)),
    # C·KW ≥ 16 on a small plane takes conv_kernels' batch-last layout (the ones above: wide)
    S("conv2d_batch_last_pad", lambda x, w: C.conv2d(x, w, padding=1),
      lambda x, w: F.conv2d(x, w, padding=1), ((2, 4, 5, 6), (3, 4, 2, 4))),
    S("conv2d_batch_last_stride_pad_dilation",
      lambda x, w: C.conv2d(x, w, stride=(2, 3), padding=(0, 2), dilation=(1, 2)),
      lambda x, w: F.conv2d(x, w, stride=(2, 3), padding=(0, 2), dilation=(1, 2)),
      ((2, 8, 6, 7), (2, 8, 3, 2))),
    S("conv1d_bias", lambda x, w, b: C.conv1d(x, w, b, padding=1),
      lambda x, w, b: F.conv1d(x, w, b, padding=1), ((2, 2, 5), (3, 2, 2), (3,))),
    # the bias gradient's primitive (conv2d_bias reaches it only through a backward pass)
    S("channel_sum", lambda g: C.apply(C.CHANNEL_SUM, (g,), {"nd": 4, "shape": g.shape}),
      lambda g: g.sum((0, 2, 3)), ((2, 3, 4, 5),)),
)

# -- fused primitives of the layers ------------------------------------------------------------
from chainrule.nn import functional as CF  # noqa: E402

add(
    S("linear", CF.linear, F.linear, ((4, 3), (2, 3), (2,))),
    S("linear_3d_nobias", CF.linear, F.linear, ((2, 4, 3), (5, 3))),
    S("linear_squared", lambda x, w, b: CF.linear(x, w, b) ** 2,
      lambda x, w, b: F.linear(x, w, b) ** 2, ((4, 3), (2, 3), (2,))),
    S("cross_entropy_mean", lambda x: CF.cross_entropy(x, np.array([0, 2, 1, 2])),
      lambda x: F.cross_entropy(x, T.tensor([0, 2, 1, 2])), ((4, 3),)),
    S("cross_entropy_sum", lambda x: CF.cross_entropy(x, np.array([1, 0]), reduction="sum"),
      lambda x: F.cross_entropy(x, T.tensor([1, 0]), reduction="sum"), ((2, 5),)),
)

# -- PyTorch-shaped Tensor methods (chainrule/torch_methods.py): each against the same method
# of torch.Tensor, on the same inputs; ``clone`` is the one primitive of their own.
_IDX = np.array([[2, 0, 1, 1], [0, 0, 3, 2], [1, 3, 0, 0]])
_TIDX = T.tensor(_IDX)
_MASK = np.array([[True, False, False, True]])

add(
    S("clone", lambda x: x.clone() * x, lambda x: x.clone() * x, ((3, 4),)),
    S("method_pow", lambda x: x.pow(3), lambda x: x.pow(3), ((3, 4),)),
    S("method_view", lambda x: x.view(4, -1).view_as(x.T) ** 2,
      lambda x: x.view(4, -1).view_as(x.T) ** 2, ((3, 4),)),
    S("method_unsqueeze_squeeze", lambda x: (x.unsqueeze(-1) * x.unsqueeze(0)).squeeze(0),
      lambda x: (x.unsqueeze(-1) * x.unsqueeze(0)).squeeze(0), ((3,),)),
    S("method_flatten", lambda x: x.flatten(1) ** 2, lambda x: x.flatten(1) ** 2,
      ((2, 3, 4),)),
    S("method_transpose", lambda x: x.transpose(0, 2) * x.permute(2, 1, 0),
      lambda x: x.transpose(0, 2) * x.permute(2, 1, 0), ((2, 3, 4),)),
    S("method_max_dim", lambda x: x.max(1).values ** 2, lambda x: x.max(1).values ** 2,
      ((3, 5),)),
    S("method_min_dim_keepdim", lambda x: x.min(0, keepdim=True)[0] * x,
      lambda x: x.min(0, keepdim=True)[0] * x, ((3, 5),)),
    S("method_gather", lambda x: x.gather(1, _IDX) ** 2, lambda x: x.gather(1, _TIDX) ** 2,
      ((3, 4),)),
    S("method_scatter_add", lambda x, s: x.scatter_add(1, _IDX, s * s),
      lambda x, s: x.scatter_add(1, _TIDX, s * s), ((3, 4), (3, 4))),
    S("method_index_select", lambda x: x.index_select(0, [2, 0, 2]) ** 2,
      lambda x: x.index_select(0, T.tensor([2, 0, 2])) ** 2, ((3, 4),)),
    S("method_masked_fill", lambda x: x.masked_fill(_MASK, 0.5) ** 2,
      lambda x: x.masked_fill(T.tensor(_MASK), 0.5) ** 2, ((3, 4),)),
    S("method_expand_repeat", lambda x: x.expand(2, 3, -1) * x.repeat(2, 1, 2)[..., :4],
      lambda x: x.expand(2, 3, -1) * x.repeat(2, 1, 2)[..., :4], ((3, 4),)),
    S("method_chunk_split", lambda x: x.chunk(3, 1)[1] * x.split([1, 4], 1)[1][:, :2],
      lambda x: x.chunk(3, 1)[1] * x.split([1, 4], 1)[1][:, :2], ((3, 5),)),
    S("method_clamp", lambda x: x.clamp(-0.5, 0.5) * x, lambda x: x.clamp(-0.5, 0.5) * x,
      ((3, 4),), "away", order=1, fd=False),
    S("method_reductions_dim", lambda x: x.sum(dim=1, keepdim=True) * x.mean(1)[:, None]
      + x.std(0) * x.var(dim=0, keepdim=True),
      lambda x: x.sum(dim=1, keepdim=True) * x.mean(1)[:, None]
      + x.std(0) * x.var(dim=0, keepdim=True), ((3, 4),)),
    S("method_to_double", lambda x: (x.double() * 2).to(x.dtype) * x.clone().contiguous(),
      lambda x: (x.double() * 2).to(x.dtype) * x.clone().contiguous(), ((3,),)),
)

# -- vmap's entry and exit (chainrule/batching.py): the batch in and out, inside other ops ----
add(
    S("vmap_matvec", lambda x, w: cr.vmap(lambda r: cr.tanh(w @ r))(x),
      lambda x, w: T.tanh(x @ w.T), ((3, 2), (4, 2))),
    S("vmap_axes", lambda x: cr.vmap(lambda c: c * c.sum(), in_axes=1, out_axes=1)(x),
      lambda x: x * x.sum(0, keepdim=True), ((3, 4),)),
    S("vmap_nested", lambda x, y: cr.vmap(cr.vmap(lambda a, b: a * b, in_axes=(0, None)),
                                          in_axes=(None, 0))(x, y),
      lambda x, y: y[:, None] * x[None, :], ((3,), (2,))),
)

# -- the NumPy surface (issue 11) ----------------------------------------------------------------
def _np(values):
    return lambda r: [np.asarray(v, dtype=np.float64) for v in values]


def _between(lo, hi, *shape):
    return lambda r: [r.uniform(lo, hi, shape)]


for name, torch_fn, domain in [
    ("log2", T.log2, "positive"), ("log10", T.log10, "positive"), ("exp2", T.exp2, "real"),
    ("sinh", T.sinh, "real"), ("cosh", T.cosh, "real"), ("arcsin", T.asin, "unit"),
    ("arccos", T.acos, "unit"), ("arctan", T.atan, "real"), ("arcsinh", T.asinh, "real"),
    ("arctanh", T.atanh, "unit"), ("deg2rad", T.deg2rad, "real"),
    ("rad2deg", T.rad2deg, "real"), ("sinc", T.sinc, "real"), ("floor", T.floor, "real"),
    ("ceil", T.ceil, "real"), ("trunc", T.trunc, "real"), ("rint", T.round, "real"),
    ("round", T.round, "real"),
]:
    add(S(f"np_{name}", getattr(cr, name), torch_fn, ((3, 4),), domain))
add(
    S("np_arccosh", cr.arccosh, T.acosh, (), inputs=_between(1.2, 3.0, 3, 4)),
    S("np_cbrt", cr.cbrt, lambda x: x.sign() * x.abs() ** (1 / 3), ((3, 4),), "away"),
    S("np_round_decimals", lambda x: cr.round(x, 2) + x, lambda x: T.round(x, decimals=2) + x,
      ((5,),)),
    S("np_sinc_at_zero", lambda x: cr.sinc(x * 0.0) + cr.sinc(x), lambda x: T.sinc(x * 0.0)
      + T.sinc(x), ((4,),), order=1),
    S("np_nan_to_num", lambda x: cr.nan_to_num(x, posinf=9.0, neginf=-9.0) ** 2,
      lambda x: T.nan_to_num(x, posinf=9.0, neginf=-9.0) ** 2, (),
      inputs=_np([[1.0, np.nan, np.inf, -np.inf, -2.0]]), order=1),
    S("np_degrees_radians", lambda x: cr.degrees(cr.radians(x) * 2.0),
      lambda x: T.rad2deg(T.deg2rad(x) * 2.0), ((3,),)),
)
for shapes in [((3, 4), (3, 4)), ((3, 1), (4,))]:
    tag = "bcast" if shapes[0] != shapes[1] else "same"
    add(
        S(f"np_arctan2_{tag}", cr.arctan2, T.atan2, shapes),
        S(f"np_hypot_{tag}", cr.hypot, T.hypot, shapes),
        S(f"np_logaddexp_{tag}", cr.logaddexp, T.logaddexp, shapes),
        S(f"np_logaddexp2_{tag}", cr.logaddexp2, T.logaddexp2, shapes),
        S(f"np_remainder_{tag}", cr.remainder, T.remainder, shapes, "away"),
        S(f"np_fmod_{tag}", cr.fmod, T.fmod, shapes, "away"),
        S(f"np_fmax_{tag}", cr.fmax, T.fmax, shapes),
        S(f"np_fmin_{tag}", cr.fmin, T.fmin, shapes),
        S(f"np_copysign_{tag}", cr.copysign, T.copysign, shapes, "away"),
    )
add(
    S("np_mod_operator", lambda x, y: x % y + 2.5 % y + x % 0.7,
      lambda x, y: T.remainder(x, y) + T.remainder(T.tensor(2.5, dtype=y.dtype), y)
      + T.remainder(x, 0.7), ((4,), (4,)), "away"),
    S("np_fmax_nan", cr.fmax, T.fmax, (), inputs=_np([[1.0, np.nan, 3.0], [np.nan, 2.0, 1.0]]),
      fd=False),
    S("np_heaviside", cr.heaviside,
      lambda x, h: (x > 0).to(x.dtype) + (x == 0).to(x.dtype) * h, (),
      inputs=_np([[-1.0, 0.0, 2.0, 0.0], [0.3, 0.4, 0.5, 0.6]]), fd=False),
    S("std_zero_spread", lambda x: cr.std(x * 0.0 + 1.0, 1), lambda x: T.std(
        x * 0.0 + 1.0, 1, correction=0), ((2, 3),), order=1),
    S("power_zero_base_scalar", lambda y: 0.0 ** y, lambda y: T.pow(0.0, y), (),
      inputs=_np([[0.0, 0.5, 2.0]]), order=1, fd=False),
    S("linspace_endpoints", lambda a, b: cr.linspace(a, b, 5),
      lambda a, b: a + (b - a) * T.linspace(0, 1, 5, dtype=a.dtype), ((), ())),
)

# products
add(
    S("np_tensordot_int", lambda x, y: cr.tensordot(x, y, 2),
      lambda x, y: T.tensordot(x, y, 2), ((2, 3, 4), (3, 4, 2))),
    S("np_tensordot_axes", lambda x, y: cr.tensordot(x, y, ([0, 2], [1, 0])),
      lambda x, y: T.tensordot(x, y, ([0, 2], [1, 0])), ((2, 3, 4), (4, 2, 5))),
    S("np_inner", cr.inner, T.inner, ((2, 3), (4, 3))),
    S("np_vdot", cr.vdot, lambda x, y: T.vdot(x.reshape(-1), y.reshape(-1)), ((2, 3), (6,))),
    S("np_kron", cr.kron, T.kron, ((2, 3), (2, 2))),
    S("np_cross", cr.cross, lambda x, y: T.linalg.cross(x, y.expand_as(x)), ((4, 3), (3,))),
    S("np_dot_nd", cr.dot, lambda x, y: T.tensordot(x, y, ([-1], [-2])),
      ((2, 3, 4), (5, 4, 2))),
    S("np_dot_scalar", cr.dot, T.mul, ((), (3,))),
)

# structure and joining
add(
    S("np_diag_vector", lambda x: cr.diag(x, 1), lambda x: T.diag(x, 1), ((3,),)),
    S("np_diag_vector_neg", lambda x: cr.diag(x, -2), lambda x: T.diag(x, -2), ((3,),)),
    S("np_diag_matrix", lambda x: cr.diag(x, -1), lambda x: T.diag(x, -1), ((3, 4),)),
    S("np_diagonal", lambda x: cr.diagonal(x, 1, 2, 0), lambda x: T.diagonal(x, 1, 2, 0),
      ((3, 2, 4),)),
    S("np_diagflat", cr.diagflat, T.diagflat, ((2, 2),)),
    S("np_trace_offset", lambda x: cr.trace(x, -1, 1, 2),
      lambda x: T.diagonal(x, -1, 1, 2).sum(-1), ((2, 3, 4),)),
    S("np_tril", lambda x: cr.tril(x, 1), lambda x: T.tril(x, 1), ((2, 3, 4),)),
    S("np_triu", lambda x: cr.triu(x, -1), lambda x: T.triu(x, -1), ((3, 4),)),
    S("np_vstack", lambda x, y: cr.vstack([x, y]), lambda x, y: T.vstack([x, y]),
      ((3,), (2, 3))),
    S("np_hstack", lambda x, y: cr.hstack([x, y]), lambda x, y: T.hstack([x, y]),
      ((2, 3), (2, 1))),
    S("np_dstack", lambda x, y: cr.dstack([x, y]), lambda x, y: T.dstack([x, y]),
      ((2, 3), (2, 3))),
    S("np_column_stack", lambda x, y: cr.column_stack([x, y]),
      lambda x, y: T.column_stack([x, y]), ((3,), (3, 2))),
    S("np_atleast_3d", lambda x: cr.atleast_3d(x) * 2, lambda x: T.atleast_3d(x) * 2,
      ((3,),)),
    S("np_append", lambda x, y: cr.append(x, y), lambda x, y: T.cat([x.reshape(-1),
                                                                      y.reshape(-1)]),
      ((2, 2), (3,))),
    S("np_array_split", lambda x: cr.array_split(x, 3, axis=1)[0] * 2,
      lambda x: T.tensor_split(x, 3, 1)[0] * 2, ((2, 7),)),
    S("np_hsplit", lambda x: cr.hsplit(x, [1])[1], lambda x: T.hsplit(x, [1])[1], ((2, 3),)),
    S("np_moveaxis", lambda x: cr.moveaxis(x, [0, 1], [-1, -2]),
      lambda x: T.movedim(x, (0, 1), (-1, -2)), ((2, 3, 4),)),
    S("np_rollaxis", lambda x: cr.rollaxis(x, 2), lambda x: T.movedim(x, 2, 0), ((2, 3, 4),)),
    S("np_roll", lambda x: cr.roll(x, (1, -2), (0, 1)), lambda x: T.roll(x, (1, -2), (0, 1)),
      ((3, 4),)),
    S("np_roll_flat", lambda x: cr.roll(x, 5), lambda x: T.roll(x, 5), ((3, 4),)),
    S("np_rot90", lambda x: cr.rot90(x, 1), lambda x: T.rot90(x, 1), ((2, 3),)),
    S("np_rot90_3", lambda x: cr.rot90(x, 3, (1, 2)), lambda x: T.rot90(x, 3, (1, 2)),
      ((2, 3, 4),)),
    S("np_repeat", lambda x: cr.repeat(x, [1, 3], axis=0),
      lambda x: T.repeat_interleave(x, T.tensor([1, 3]), 0), ((2, 3),)),
    S("np_tile", lambda x: cr.tile(x, (2, 1, 3)), lambda x: T.tile(x, (2, 1, 3)), ((2, 2),)),
    S("np_ravel_flips", lambda x: cr.ravel(cr.fliplr(cr.flipud(x))),
      lambda x: T.ravel(T.fliplr(T.flipud(x))), ((2, 3),)),
    S("np_select", lambda x, y: cr.select([x.data > 0.5, x.data < -0.5], [x, y * 2], 0.25),
      lambda x, y: T.where(x > 0.5, x, T.where(x < -0.5, y * 2, T.tensor(0.25, dtype=x.dtype))),
      ((3, 4), (3, 4))),
    S("np_meshgrid", lambda x, y: cr.meshgrid(x, y)[0] * cr.meshgrid(x, y)[1],
      lambda x, y: T.meshgrid(x, y, indexing="xy")[0] * T.meshgrid(x, y, indexing="xy")[1],
      ((3,), (2,))),
    S("np_take_along_axis", lambda x: cr.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1),
      lambda x: T.take_along_dim(x, T.tensor([[2, 0], [1, 1]]), 1), ((2, 3),)),
)

# scans, order, statistics
add(
    S("np_cumsum", lambda x: cr.cumsum(x, 1), lambda x: T.cumsum(x, 1), ((2, 3, 4),)),
    S("np_cumsum_flat", cr.cumsum, lambda x: T.cumsum(x.reshape(-1), 0), ((2, 3),)),
    S("np_cumprod", lambda x: cr.cumprod(x, 0), lambda x: T.cumprod(x, 0), ((4, 3),)),
    S("np_cumprod_zeros", lambda x: cr.cumprod(x, -1), lambda x: T.cumprod(x, -1), (),
      inputs=_np([[[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0]]])),
    S("np_diff", lambda x: cr.diff(x, 2, axis=0), lambda x: T.diff(x, 2, 0), ((4, 3),)),
    S("np_diff_prepend", lambda x: cr.diff(x, prepend=0.5),
      lambda x: T.diff(x, prepend=T.full((2, 1), 0.5, dtype=x.dtype)), ((2, 3),)),
    S("np_sort", lambda x: cr.sort(x, 0), lambda x: T.sort(x, 0).values, ((4, 3),)),
    S("np_partition", lambda x: cr.partition(x, 2),
      lambda x: T.take_along_dim(x, T.tensor(np.argpartition(x.detach().numpy(), 2)), -1),
      ((3, 5),)),
    S("np_median_odd", lambda x: cr.median(x, 1), lambda x: T.median(x, 1).values, ((3, 5),)),
    S("np_median_even", lambda x: cr.median(x, 0, keepdims=True),
      lambda x: T.quantile(x, 0.5, 0, keepdim=True), ((4, 3),)),
    S("np_quantile", lambda x: cr.quantile(x, [0.1, 0.75], axis=1),
      lambda x: T.quantile(x, T.tensor([0.1, 0.75], dtype=x.dtype), 1), ((3, 6),)),
    S("np_percentile_all", lambda x: cr.percentile(x, 30), lambda x: T.quantile(x, 0.3),
      ((3, 4),)),
    S("np_average", lambda x, w: cr.average(x, 1, w), lambda x, w: (x * w).sum(1) / w.sum(),
      ((3, 4), (4,)), inputs=lambda r: [r.standard_normal((3, 4)), r.uniform(0.5, 2.0, 4)]),
    S("np_ptp", lambda x: cr.ptp(x, 0), lambda x: T.amax(x, 0) - T.amin(x, 0), ((4, 3),)),
    S("np_nansum", lambda x: cr.nansum(x, 1), lambda x: T.nansum(x, 1), (),
      inputs=_np([[[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]])),
    S("np_nanmean", lambda x: cr.nanmean(x, 1), lambda x: T.nanmean(x, 1), (),
      inputs=_np([[[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]])),
    S("np_nanmax_nanmin", lambda x: cr.nanmax(x, 1) * cr.nanmin(x, 1),
      lambda x: T.amax(T.where(x.isnan(), -T.inf, x), 1) * T.amin(T.where(x.isnan(), T.inf, x),
                                                                    1), (),
      inputs=_np([[[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]])),
)

# cr.special (SciPy's names; PyTorch's torch.special as the oracle)
TS = torch.special
add(
    S("sp_gammaln", cr.special.gammaln, T.lgamma, ((3, 4),), "positive"),
    S("sp_digamma", cr.special.digamma, T.digamma, ((3, 4),), "positive"),
    S("sp_polygamma", lambda x: cr.special.polygamma(2, x), lambda x: T.polygamma(2, x),
      ((5,),), "positive"),
    S("sp_erfc", cr.special.erfc, T.erfc, ((3, 4),)),
    S("sp_erfinv", cr.special.erfinv, T.erfinv, ((3, 4),), "unit"),
    S("sp_logit", cr.special.logit, T.logit, (), inputs=_between(0.1, 0.9, 3, 4)),
    S("sp_expit", cr.special.expit, T.sigmoid, ((4,),)),
    S("sp_ndtr", cr.special.ndtr, TS.ndtr, ((3, 4),)),
    S("sp_log_ndtr", cr.special.log_ndtr, TS.log_ndtr, ((3, 4),)),
    S("sp_ndtri", cr.special.ndtri, TS.ndtri, (), inputs=_between(0.05, 0.95, 3, 4)),
    S("sp_i0", cr.special.i0, TS.i0, ((3, 4),)),
    S("sp_i0e", cr.special.i0e, TS.i0e, ((3, 4),), "away"),
    S("sp_i1", cr.special.i1, TS.i1, ((3, 4),)),
    S("sp_i1e", cr.special.i1e, TS.i1e, ((3, 4),), "away"),
    S("sp_xlogy", cr.special.xlogy, T.xlogy, (),
      inputs=lambda r: [np.array([0.0, 1.5, -2.0, 0.7]), r.uniform(0.5, 2.0, 4)]),
    S("sp_xlog1py", cr.special.xlog1py, TS.xlog1py, (),
      inputs=lambda r: [np.array([0.0, 1.5, -2.0, 0.7]), r.uniform(0.5, 2.0, 4)]),
    S("sp_betaln", cr.special.betaln, lambda a, b: T.lgamma(a) + T.lgamma(b) - T.lgamma(a + b),
      ((3,), (3,)), "positive"),
    S("sp_logsumexp_b", lambda a, b: cr.special.logsumexp(a, 1, b=b),
      lambda a, b: T.log(T.sum(b * T.exp(a), 1)), ((2, 3), (2, 3)), "positive"),
    S("sp_softmax_all", cr.special.softmax, lambda x: T.softmax(x.reshape(-1), 0).reshape(
        x.shape), ((2, 3),)),
    S("sp_log_softmax_axis", lambda x: cr.special.log_softmax(x, 0),
      lambda x: T.log_softmax(x, 0), ((2, 3),)),
)


# cr.linalg: eigenvector and singular-vector signs are a choice, so the specs use functions
# of them that do not depend on it (v², u·vᵀ).
def _sym(a):
    return 0.5 * (a + cr.swapaxes(a, -1, -2))


def _tsym(a):
    return 0.5 * (a + a.mT)


def _separated(n):
    """A symmetric matrix with well-separated eigenvalues (their gaps enter the rule)."""
    def make(r):
        q, _ = np.linalg.qr(r.standard_normal((n, n)))
        return [q @ np.diag(np.arange(1.0, n + 1) * 1.5) @ q.T + 0.1 * r.standard_normal((n, n))]
    return make


def _tall(m, n):
    return lambda r: [r.standard_normal((m, n)) + np.eye(m, n) * 2.0]


add(
    S("la_eigvalsh", lambda a: cr.linalg.eigvalsh(_sym(a)),
      lambda a: T.linalg.eigvalsh(_tsym(a)), (), inputs=_separated(4)),
    S("la_eigh_vectors", lambda a: cr.linalg.eigh(_sym(a))[1] ** 2,
      lambda a: T.linalg.eigh(_tsym(a))[1] ** 2, (), inputs=_separated(3)),
    S("la_svd_values", lambda a: cr.linalg.svd(a, compute_uv=False),
      T.linalg.svdvals, (), inputs=_tall(4, 3)),
    S("la_svd_uv", lambda a: (lambda u, s, vh: u @ vh * s.sum())(
        *cr.linalg.svd(a, full_matrices=False)),
      lambda a: (lambda u, s, vh: u @ vh * s.sum())(*T.linalg.svd(a, full_matrices=False)),
      (), inputs=_tall(4, 3)),
    S("la_svd_wide", lambda a: (lambda u, s, vh: u ** 2 + s)(
        *cr.linalg.svd(a, full_matrices=False)),
      lambda a: (lambda u, s, vh: u ** 2 + s)(*T.linalg.svd(a, full_matrices=False)),
      (), inputs=lambda r: [_tall(4, 3)(r)[0].T]),
    S("la_svd_full_tall", lambda a: (lambda u, s, vh: u[:, :3] ** 2 + s.sum())(
        *cr.linalg.svd(a)),
      lambda a: (lambda u, s, vh: u[:, :3] ** 2 + s.sum())(*T.linalg.svd(a)), (),
      inputs=_tall(4, 3)),
    S("la_qr", lambda a: (lambda q, r: q ** 2 + cr.sum(r ** 2))(*cr.linalg.qr(a)),
      lambda a: (lambda q, r: q ** 2 + (r ** 2).sum())(*T.linalg.qr(a)), (),
      inputs=_tall(4, 3)),
    S("la_qr_wide", lambda a: cr.linalg.qr(a, "r") ** 2,
      lambda a: T.linalg.qr(a)[1] ** 2, (), inputs=lambda r: [_tall(4, 3)(r)[0].T]),
    S("la_pinv", cr.linalg.pinv, T.linalg.pinv, (), inputs=_tall(4, 3)),
    S("la_pinv_wide", cr.linalg.pinv, T.linalg.pinv, (), inputs=lambda r: [_tall(4, 2)(r)[0].T]),
    # A perturbation in a random direction raises the rank (pinv jumps): no finite
    # differences, and no second order (the first derivative's extension off the rank-r
    # matrices is a convention: PyTorch's and the truncated SVD's differ there); PyTorch's
    # first order, the adjoint identity and forward = reverse still check it.
    S("la_pinv_rank_deficient", cr.linalg.pinv, T.linalg.pinv, (),
      inputs=lambda r: [r.standard_normal((4, 2)) @ r.standard_normal((2, 3))], fd=False,
      order=1),
    S("la_lstsq", lambda a, b: cr.linalg.lstsq(a, b)[0],
      lambda a, b: T.linalg.pinv(a) @ b, (), inputs=lambda r: _tall(5, 3)(r) + [
          r.standard_normal((5, 2))]),
    S("la_matrix_power", lambda a: cr.linalg.matrix_power(a, 3),
      lambda a: T.linalg.matrix_power(a, 3), ((3, 3),)),
    S("la_matrix_power_neg", lambda a: cr.linalg.matrix_power(a, -2),
      lambda a: T.linalg.matrix_power(a, -2), (), inputs=_conditioned(3, 3)),
    S("la_multi_dot", lambda a, b, c: cr.linalg.multi_dot([a, b, c]),
      lambda a, b, c: T.linalg.multi_dot([a, b, c]), ((3,), (3, 4), (4, 2))),
)
for ord_ in ["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]:
    add(S(f"la_norm_matrix_{ord_}", lambda a, o=ord_: cr.linalg.norm(a, o),
          lambda a, o=ord_: T.linalg.matrix_norm(a, o), (), inputs=_tall(4, 3)))
for ord_ in [None, 1, 3, -1.5, np.inf, -np.inf]:
    add(S(f"la_norm_vector_{ord_}", lambda a, o=ord_: cr.linalg.norm(a, o, axis=1),
          lambda a, o=ord_: T.linalg.vector_norm(a, 2 if o is None else o, dim=1), ((3, 4),),
          "away"))
