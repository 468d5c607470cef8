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
    S("pow_int_2", lambda x: x ** 2, lambda x: x ** 2, ((4,),)),
    S("pow_int_4", lambda x: x ** 4, lambda x: x ** 4, ((2, 3),)),
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
