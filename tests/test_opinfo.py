"""chainrule against PyTorch's own test inputs: the sample inputs of PyTorch's OpInfo database
(``torch.testing._internal.common_methods_invocations.op_db``, shipped in the torch wheel).

For every OpInfo whose name is a chainrule function (``cr.NAME``, ``cr.linalg.NAME``,
``cr.special.NAME``) this file holds either an adapter (PyTorch's argument conventions to
chainrule's) or an exclusion with its reason; a test fails when a new match has neither. Each
mapped OpInfo runs on up to ``PER_OP`` of its float64 samples: values, then first- and
second-order gradients against ``torch.autograd.grad``.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest", reason="PyTorch's OpInfo database needs torch's test "
                                         "extras: pip install expecttest")

import chainrule as cr  # noqa: E402

PER_OP = 3  # samples per OpInfo: a few hundred in all keeps the file under a minute or two


class NotApplicable(Exception):
    """A sample whose arguments chainrule's function does not take (NumPy semantics differ)."""


def _axis(dim, x=None):
    """torch's dim as NumPy's axis; a 0-d tensor takes dim 0 or -1 in torch (as if 1-D)."""
    if x is not None and x.ndim == 0:
        return None
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return None
    return tuple(dim) if isinstance(dim, (list, tuple)) else int(dim)


def _reduction(fn):
    def run(x, dim=None, keepdim=False, dtype=None, **kw):
        if kw:
            raise NotApplicable(f"arguments {sorted(kw)}")
        return fn(x, _axis(dim, x), keepdim)
    return run


def _moments(fn):
    def run(x, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
        if isinstance(dim, bool):  # torch.var(x, unbiased)
            dim, unbiased = None, dim
        ddof = 1 if correction is None and unbiased in (None, True) else (
            0 if correction is None else correction)
        return fn(x, _axis(dim), keepdims=keepdim, ddof=ddof)
    return run


def _with_dim(fn):
    def run(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x), None
        return fn(x, _axis(dim, x), keepdim), None  # (values, indices): indices are not compared
    return run


def _split(x, split_size_or_sections, dim=0):
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
    cuts = list(np.cumsum(sizes)[:-1])
    return tuple(cr.split(x, [int(c) for c in cuts], axis=dim))


def _squeeze(x, dim=None):
    if dim is None:
        return cr.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d for d in dims if x.ndim and x.shape[d] == 1)
    return cr.squeeze(x, dims) if dims else x


def _flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return cr.reshape(x, (1,))
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return cr.reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def _sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        return x, None
    out = cr.sort(-x if descending else x, dim)
    return (-out if descending else out), None


def _quantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    if interpolation != "linear":
        raise NotApplicable(f"interpolation={interpolation!r}")
    return cr.quantile(x, q, dim, keepdim)


def _norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" and (dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 1)):
        return cr.linalg.norm(x, None, _axis(dim), keepdim)  # torch: 2-norm of the elements
    if isinstance(dim, int) or (isinstance(dim, (list, tuple)) and len(dim) == 1):
        return cr.linalg.norm(x, p, _axis(dim), keepdim)
    if dim is None and isinstance(p, (int, float)):
        return cr.linalg.norm(cr.ravel(x), p, None, keepdim) if not keepdim else \
            cr.reshape(cr.linalg.norm(cr.ravel(x), p), (1,) * x.ndim)
    return cr.linalg.norm(x, p, _axis(dim), keepdim)


def _linalg_norm(x, ord=None, dim=None, keepdim=False, **kw):  # noqa: A002
    return cr.linalg.norm(x, ord, _axis(dim), keepdim)


def _svd(a, full_matrices=True, **kw):
    m, n = a.shape[-2:]
    if full_matrices and m != n:
        raise NotApplicable("full_matrices=True, non-square: the complement's basis is a "
                            "choice (LAPACK's in both, but not guaranteed equal)")
    if min(m, n) == 0:
        raise NotApplicable("empty matrix")
    return cr.linalg.svd(a, full_matrices=full_matrices)


def _pinv(a, rcond=None, hermitian=False, *, atol=None, rtol=None):
    if not (rcond is None and atol is None and rtol is None):
        raise NotApplicable("explicit cut-off tolerances")
    if min(a.shape[-2:]) == 0 or np.any(np.linalg.matrix_rank(a.data) < min(a.shape[-2:])):
        raise NotApplicable("rank-deficient: its second derivative is a convention (the "
                            "spec la_pinv_rank_deficient checks the first)")
    return cr.linalg.pinv(a)


def _lstsq(a, b, rcond=None, *, driver=None):
    if a.ndim > 2 or min(a.shape[-2:]) == 0:
        raise NotApplicable("batched or empty matrix (NumPy's lstsq takes one matrix)")
    return cr.linalg.lstsq(a, b)[0], None, None, None


def _qr(a, mode="reduced"):
    m, n = a.shape[-2:]
    if min(m, n) == 0 or (mode == "complete" and m > n):
        raise NotApplicable(f"mode {mode!r} on shape {a.shape}")
    if mode == "r":
        return None, cr.linalg.qr(a, "r")
    return cr.linalg.qr(a, mode)


def _square_sign_free(w, v):
    """Eigen/singular vectors are defined up to sign: compare v², which is not."""
    return w, v * v


def _svd_post(u, s, vh):
    return u * u, s, vh * vh


def _qr_post(q, r):
    return (None if q is None else q * q), r * r


def _values(fn):
    def run(*a, **k):
        out = fn(*[v.data if isinstance(v, cr.Tensor) else v for v in a],
                 **{kk: (v.data if isinstance(v, cr.Tensor) else v) for kk, v in k.items()})
        return out
    return run


def _nograd(fn):
    fn.values_only = True
    return fn


def _tri_indices(fn):
    def run(row, col, offset=0, **kw):
        return cr.tensor(np.stack(fn(row, offset, col)))
    return _nograd(run)


def _unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    if dim is not None:
        raise NotApplicable("unique along a dim")
    out = cr.unique(x, return_inverse=return_inverse, return_counts=return_counts)
    return out


def _searchsorted(seq, values, *, out_int32=False, right=False, side=None, sorter=None):
    if seq.ndim != 1 or sorter is not None:
        raise NotApplicable("batched sorted sequence or sorter")
    side = side or ("right" if right else "left")
    return cr.searchsorted(seq, values, side=side)


def _argsort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        raise NotApplicable("0-d input")
    if len(np.unique(x.data)) != x.size:
        raise NotApplicable("ties: their order is a choice")
    return cr.argsort(-x if descending else x, dim, kind="stable")


def _index_of(fn):
    def run(x, dim=None, keepdim=False):
        if x.ndim == 0:
            raise NotApplicable("0-d input")
        return fn(x, dim, keepdim)
    return _nograd(run)


def _einsum(tensors, equation):
    return cr.einsum(equation, *tensors)


def _tensordot(a, b, dims=2):
    if not isinstance(dims, int):
        if any(a.shape[i] != b.shape[j] for i, j in zip(*dims)):
            raise NotApplicable("torch broadcasts contracted size-1 axes; NumPy does not")
    return cr.tensordot(a, b, dims)


def _cross(a, b, dim=None):
    if dim is None:
        dim = next(i for i, n in enumerate(a.shape) if n == 3)
    return cr.cross(a, b, axis=dim)


def _diff(x, n=1, dim=-1, prepend=None, append=None):
    if x.ndim == 0:
        raise NotApplicable("0-d input")
    return cr.diff(x, n, axis=dim, prepend=prepend, append=append)


def _take(x, index):
    return cr.take(x, index.data)


def _meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    if any(t.ndim == 0 for t in tensors):
        tensors = [cr.reshape(t, (1,)) if t.ndim == 0 else t for t in tensors]
    return tuple(cr.meshgrid(*tensors, indexing=indexing))


def _add(x, y, *, alpha=1):
    return cr.add(x, y * alpha if alpha != 1 else y)


def _polygamma(x, n, **kw):
    return cr.special.polygamma(n, x)


def _where(x, condition, other):
    return cr.where(condition.data, x, other)


def _matrix_like(fn):
    def run(a, *args, **kw):
        if min(a.shape[-2:]) == 0:
            raise NotApplicable("empty matrix")
        return fn(a, *args, **kw)
    return run


def _eigh(a, UPLO="L"):  # noqa: N803
    if min(a.shape[-2:]) == 0:
        raise NotApplicable("empty matrix")
    return cr.linalg.eigh(a, UPLO)


def _solve(a, b, *, left=True):
    if not left or min(a.shape[-2:]) == 0:
        raise NotApplicable("left=False or empty")
    if b.ndim > 1 and b.shape == a.shape[:-1]:
        raise NotApplicable("a batch of vectors: torch's convention, NumPy 2 reads a matrix")
    return cr.linalg.solve(a, b)


def _slogdet(a):
    if min(a.shape[-2:]) == 0:
        raise NotApplicable("empty matrix")
    sign, logabs = cr.linalg.slogdet(a)
    return None, logabs


def _round(x, *, decimals=0):
    return cr.round(x, decimals)


def _stack_like(fn):
    def run(tensors, *args, **kw):
        return fn(list(tensors), *args, **kw)
    return run


# (OpInfo name, variant) -> adapter taking PyTorch's arguments, returning chainrule's output
# shaped as PyTorch's (None where an output, such as indices, is not compared); an adapter
# may carry ``post`` (applied to both outputs: sign-free forms) or ``values_only``.
U = {n: getattr(cr, n) for n in (
    "abs ceil cos cosh deg2rad erf exp exp2 expm1 floor log log10 log1p log2 neg positive "
    "rad2deg reciprocal sigmoid sign sin sinc sinh sqrt square tan tanh trunc").split()}
B = {n: getattr(cr, n) for n in (
    "copysign fmax fmin fmod hypot logaddexp logaddexp2 maximum minimum remainder").split()}
ADAPTERS = {(n, ""): f for n, f in {**U, **B}.items()}
ADAPTERS.update({
    ("add", ""): _add,
    ("round", ""): _round, ("round", "decimals_0"): _round, ("round", "decimals_3"): _round,
    ("round", "decimals_neg_3"): _round,
    ("nan_to_num", ""): lambda x, nan=0.0, posinf=None, neginf=None: cr.nan_to_num(
        x, nan=nan, posinf=posinf, neginf=neginf),
    ("heaviside", ""): _nograd(lambda x, y: cr.heaviside(x, y)),
    ("max", "binary"): cr.maximum, ("min", "binary"): cr.minimum,
    ("max", "reduction_no_dim"): cr.max, ("min", "reduction_no_dim"): cr.min,
    ("max", "reduction_with_dim"): _with_dim(cr.max),
    ("min", "reduction_with_dim"): _with_dim(cr.min),
    ("sum", ""): _reduction(cr.sum), ("mean", ""): _reduction(cr.mean),
    ("prod", ""): _reduction(lambda x, a, k: cr.prod(x, a, k)),
    ("logsumexp", ""): _reduction(cr.logsumexp), ("nansum", ""): _reduction(cr.nansum),
    ("nanmean", ""): _reduction(cr.nanmean),
    ("var", ""): _moments(cr.var), ("var", "unbiased"): _moments(cr.var),
    ("std", ""): _moments(cr.std), ("std", "unbiased"): _moments(cr.std),
    ("softmax", ""): lambda x, dim, dtype=None: cr.softmax(x, _axis(dim, x)),
    ("softmax", "with_dtype"): lambda x, dim, dtype=None: cr.softmax(x, _axis(dim, x)),
    ("log_softmax", ""): lambda x, dim, dtype=None: cr.log_softmax(x, _axis(dim, x)),
    ("log_softmax", "with_dtype"): lambda x, dim, dtype=None: cr.log_softmax(
        x, _axis(dim, x)),
    ("cumsum", ""): lambda x, dim, dtype=None: cr.cumsum(x, dim) if x.ndim else x,
    ("cumprod", ""): lambda x, dim, dtype=None: cr.cumprod(x, dim) if x.ndim else x,
    ("diff", ""): _diff,
    ("sort", ""): _sort,
    ("quantile", ""): _quantile,
    ("reshape", ""): lambda x, shape: cr.reshape(x, shape),
    ("transpose", ""): lambda x, d0, d1: cr.swapaxes(x, d0, d1) if x.ndim else x,
    ("squeeze", ""): _squeeze, ("squeeze", "multiple"): _squeeze,
    ("flatten", ""): _flatten, ("ravel", ""): cr.ravel,
    ("flip", ""): lambda x, dims: cr.flip(x, tuple(dims)) if x.ndim else x,
    ("fliplr", ""): cr.fliplr, ("flipud", ""): cr.flipud,
    ("roll", ""): lambda x, shifts, dims=None: cr.roll(x, shifts, dims),
    ("rot90", ""): lambda x, k=1, dims=(0, 1): cr.rot90(x, k, tuple(dims)),
    ("repeat", ""): lambda x, *reps: cr.tile(x, reps[0] if len(reps) == 1 and isinstance(
        reps[0], (tuple, list)) else reps),
    ("tile", ""): lambda x, dims: cr.tile(x, tuple(dims)),
    ("take", ""): _take,
    ("split", ""): _split, ("split", "list_args"): _split,
    ("broadcast_to", ""): lambda x, shape: cr.broadcast_to(x, shape),
    ("atleast_1d", ""): lambda ts: tuple(cr.atleast_1d(*ts)) if isinstance(
        ts, list) else cr.atleast_1d(ts),
    ("atleast_2d", ""): lambda ts: tuple(cr.atleast_2d(*ts)) if isinstance(
        ts, list) else cr.atleast_2d(ts),
    ("atleast_3d", ""): lambda ts: tuple(cr.atleast_3d(*ts)) if isinstance(
        ts, list) else cr.atleast_3d(ts),
    ("stack", ""): _stack_like(lambda ts, dim=0: cr.stack(ts, dim)),
    ("hstack", ""): _stack_like(cr.hstack), ("vstack", ""): _stack_like(cr.vstack),
    ("dstack", ""): _stack_like(cr.dstack), ("column_stack", ""): _stack_like(cr.column_stack),
    ("hsplit", ""): lambda x, s: tuple(cr.hsplit(x, s)),
    ("vsplit", ""): lambda x, s: tuple(cr.vsplit(x, s)),
    ("dsplit", ""): lambda x, s: tuple(cr.dsplit(x, s)),
    ("meshgrid", "variadic_tensors"): _meshgrid, ("meshgrid", "list_of_tensors"): _meshgrid,
    ("diag", ""): lambda x, diagonal=0: cr.diag(x, diagonal),
    ("diagonal", ""): lambda x, offset=0, dim1=0, dim2=1: cr.diagonal(x, offset, dim1, dim2),
    ("diagflat", ""): lambda x, offset=0: cr.diagflat(x, offset),
    ("trace", ""): cr.trace,
    ("tril", ""): lambda x, diagonal=0: cr.tril(x, diagonal),
    ("triu", ""): lambda x, diagonal=0: cr.triu(x, diagonal),
    ("where", ""): _where,
    ("matmul", ""): cr.matmul, ("dot", ""): cr.dot, ("vdot", ""): cr.vdot,
    ("inner", ""): cr.inner, ("outer", ""): cr.outer, ("kron", ""): cr.kron,
    ("tensordot", ""): _tensordot,
    ("cross", ""): _cross, ("einsum", ""): _einsum,
    ("linalg.inv", ""): _matrix_like(cr.linalg.inv),
    ("linalg.det", ""): _matrix_like(cr.linalg.det),
    ("linalg.slogdet", ""): _slogdet,
    ("linalg.solve", ""): _solve,
    ("linalg.cholesky", ""): _matrix_like(lambda a, upper=False: cr.swapaxes(
        cr.linalg.cholesky(a), -1, -2) if upper else cr.linalg.cholesky(a)),
    ("linalg.eigh", ""): _eigh,
    ("linalg.eigvalsh", ""): _matrix_like(lambda a, UPLO="L": cr.linalg.eigvalsh(a, UPLO)),
    ("linalg.svd", ""): _svd,
    ("linalg.svdvals", ""): _matrix_like(lambda a, driver=None: cr.linalg.svdvals(a)),
    ("linalg.qr", ""): _qr,
    ("linalg.pinv", ""): _pinv,
    ("linalg.lstsq", ""): _lstsq,
    ("linalg.matrix_power", ""): lambda a, n: cr.linalg.matrix_power(a, n),
    ("linalg.multi_dot", ""): lambda arrays: cr.linalg.multi_dot(list(arrays)),
    ("linalg.norm", ""): _linalg_norm,
    ("norm", ""): _norm, ("norm", "fro"): _norm, ("norm", "inf"): _norm,
    ("norm", "nuc"): _norm,
    ("special.i0e", ""): cr.special.i0e, ("special.i1", ""): cr.special.i1,
    ("special.i1e", ""): cr.special.i1e, ("special.log_ndtr", ""): cr.special.log_ndtr,
    ("special.ndtr", ""): cr.special.ndtr, ("special.ndtri", ""): cr.special.ndtri,
    ("special.xlog1py", ""): cr.special.xlog1py,
    ("special.polygamma", "special_polygamma_n_0"): _polygamma,
    # Results without a derivative: values only.
    ("isfinite", ""): _nograd(cr.isfinite), ("isinf", ""): _nograd(cr.isinf),
    ("isnan", ""): _nograd(cr.isnan),
    ("argmax", ""): _index_of(cr.argmax), ("argmin", ""): _index_of(cr.argmin),
    ("argsort", ""): _nograd(_argsort), ("searchsorted", ""): _nograd(_searchsorted),
    ("unique", ""): _nograd(_unique),
    ("allclose", ""): _nograd(lambda a, b, rtol=1e-5, atol=1e-8, equal_nan=False: cr.tensor(
        cr.allclose(a, b, rtol, atol, equal_nan))),
})
# OpInfos under PyTorch's own names for chainrule's functions (run too; not required).
ALSO = {
    ("asin", ""): cr.arcsin, ("acos", ""): cr.arccos, ("atan", ""): cr.arctan,
    ("asinh", ""): cr.arcsinh, ("acosh", ""): cr.arccosh, ("atanh", ""): cr.arctanh,
    ("atan2", ""): cr.arctan2, ("i0", ""): cr.special.i0, ("lgamma", ""): cr.special.gammaln,
    ("digamma", ""): cr.special.digamma, ("erfc", ""): cr.special.erfc,
    ("erfinv", ""): cr.special.erfinv, ("xlogy", ""): cr.special.xlogy,
    ("logit", ""): lambda x, eps=None: cr.special.logit(x if eps is None else cr.clip(
        x, eps, 1 - eps)),
    ("amax", ""): _reduction(cr.max), ("amin", ""): _reduction(cr.min),
    ("movedim", ""): lambda x, source, destination: cr.moveaxis(x, source, destination),
    ("msort", ""): lambda x: cr.sort(x, 0) if x.ndim else x,
    ("take_along_dim", ""): lambda x, indices, dim=None: cr.take_along_axis(x, indices, dim),
    ("tensor_split", ""): lambda x, sections, dim=0: tuple(cr.array_split(
        x, sections if isinstance(sections, int) else [int(v) for v in np.ravel(
            sections.data if isinstance(sections, cr.Tensor) else sections)], axis=dim)),
    ("linalg.cross", ""): lambda a, b, dim=-1: cr.cross(a, b, axis=dim),
    ("linalg.vector_norm", ""): lambda x, ord=2, dim=None, keepdim=False, dtype=None: (  # noqa: A006
        cr.linalg.norm(cr.ravel(x) if dim is None else x, ord, _axis(dim), False)
        if not keepdim or dim is not None else cr.reshape(
            cr.linalg.norm(cr.ravel(x), ord), (1,) * x.ndim)),
    ("linalg.matrix_norm", ""): lambda x, ord="fro", dim=(-2, -1), keepdim=False, dtype=None:
        cr.linalg.norm(x, ord, tuple(dim), keepdim),  # noqa: A006
    ("special.i1e", ""): cr.special.i1e, ("special.ndtri", ""): cr.special.ndtri,
    **{("polygamma", f"polygamma_n_{n}"): (lambda x, n, **k: cr.special.polygamma(n, x))
       for n in range(5)},
}
# PyTorch's function forms that chainrule also provides (torch_methods): run as well.
ALSO.update({
    ("cat", ""): lambda tensors, dim=0: cr.cat(list(tensors), dim),
    ("unsqueeze", ""): lambda x, dim: cr.unsqueeze(x, dim),
    ("clamp", ""): lambda x, min=None, max=None: cr.clamp(x, min, max),  # noqa: A002
})
ADAPTERS.update(ALSO)
ADAPTERS[("linalg.eigh", "")].post = _square_sign_free
ADAPTERS[("linalg.svd", "")].post = _svd_post
ADAPTERS[("linalg.qr", "")].post = _qr_post

# Matching OpInfos not run, each with its reason.
EXCLUDED = {
    # Factories: no tensor input to differentiate (and randn is random).
    ("arange", ""): "factory", ("eye", ""): "factory", ("full", ""): "factory",
    ("ones", ""): "factory", ("zeros", ""): "factory", ("randn", ""): "factory (random)",
    ("ones_like", ""): "factory", ("zeros_like", ""): "factory",
    ("linspace", ""): "factory from numbers; cr.linspace in Tensors has its own spec",
    ("linspace", "tensor_overload"): "torch's steps are a Tensor argument; cr.linspace's "
                                      "Tensor form has its own spec",
    # PyTorch's dtype names (cr.float, cr.long, ...) are dtypes in chainrule, not functions; the
    # methods (x.float(), x.long(), ...) are checked against torch in tests/test_torch_methods.
    **{(n, ""): "a dtype in chainrule (the method is tested in test_torch_methods)"
       for n in ("bool", "double", "float", "half", "int", "long")},
    ("empty", ""): "factory (uninitialised values)",
    ("multinomial", ""): "random draws (tests/test_torch_creation checks the distribution)",
    ("normal", ""): "random draws", ("normal", "in_place"): "random draws, in place",
    ("normal", "number_mean"): "random draws", ("rand_like", ""): "random draws",
    ("randint", ""): "random draws", ("randn_like", ""): "random draws",
    ("tril_indices", ""): "torch refuses its own float64 samples (an integer-only op)",
    ("triu_indices", ""): "torch refuses its own float64 samples (an integer-only op)",
    # Same name, different function.
    ("gradient", ""): "cr.gradient is torch.autograd.grad, not numpy.gradient",
    ("select", ""): "torch.select is indexing (x.select(dim, i)), not numpy.select",
    ("median", ""): "torch.median takes the lower middle value, NumPy (cr.median) averages "
                    "the two",
    ("linalg.pinv", "hermitian"): "hermitian=True reads one triangle; cr.linalg.pinv uses "
                                  "the whole matrix",
    ("linalg.pinv", "singular"): "rank-deficient inputs: the second derivative there is a "
                                 "convention (PyTorch's differs from the truncated SVD's); "
                                 "the spec la_pinv_rank_deficient checks values and the first",
    ("linalg.lstsq", "grad_oriented"): "duplicates linalg.lstsq with batched and wide "
                                       "samples cr.linalg.lstsq does not take",
    ("linalg.norm", "subgradients_at_zero"): "subgradient conventions at 0 for every ord "
                                             "are torch-specific",
}


# The database is loaded by the tests, not at collection: its thousands of objects would
# slow every garbage collection of the session (and widen the window in which another
# library's gc callback, not chainrule, receives test_interrupts' signals).
@functools.cache
def _matches():
    """Every OpInfo (name, variant) whose name is a chainrule function."""
    from torch.testing._internal.common_methods_invocations import op_db

    names = {n for n in dir(cr) if not n.startswith("_")}
    linalg, special = set(cr.linalg.__all__), set(cr.special.__all__)
    out = []
    for op in op_db:
        n = op.name
        hit = (n[7:] in linalg if n.startswith("linalg.") else
               n[8:] in special if n.startswith("special.") else n in names)
        if hit:
            out.append(op)
    return out


@functools.cache
def _run():
    from torch.testing._internal.common_methods_invocations import op_db

    return [op for op in op_db if (op.name, op.variant_test_name) in ADAPTERS]


def test_every_matching_opinfo_is_mapped_or_excluded():
    matches = _matches()
    missing = sorted({(op.name, op.variant_test_name) for op in matches} - set(ADAPTERS)
                     - set(EXCLUDED))
    assert not missing, f"OpInfos named like a chainrule function, with no adapter or " \
                        f"exclusion: {missing}"
    stale = sorted(set(EXCLUDED) - {(op.name, op.variant_test_name) for op in matches})
    assert not stale, f"exclusions that match no OpInfo: {stale}"


# -- running a sample -------------------------------------------------------------------------
def _to_cr(v, leaves):
    if isinstance(v, torch.Tensor):
        arr = v.detach().numpy().copy()
        if v.dtype.is_floating_point and v.requires_grad:
            t = cr.tensor(arr, requires_grad=True)
            leaves.append((v, t))
            return t
        return cr.tensor(arr)
    if isinstance(v, list):
        return [_to_cr(x, leaves) for x in v]
    if isinstance(v, tuple):
        return tuple(_to_cr(x, leaves) for x in v)
    if isinstance(v, (torch.dtype, torch.device)):
        return None
    return v


def _flat(out):
    if isinstance(out, (list, tuple)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _pairs(ours, theirs, post):
    if post is not None:
        ours = post(*ours) if isinstance(ours, tuple) else post(ours)
        theirs = post(*theirs) if isinstance(theirs, tuple) else post(theirs)
    ours, theirs = _flat(ours), _flat(theirs)
    if len(ours) != len(theirs):
        raise AssertionError(f"{len(ours)} outputs vs PyTorch's {len(theirs)}")
    return [(o, t) for o, t in zip(ours, theirs) if o is not None and t is not None]


def _np(t):
    """A torch tensor's values (``force``: PyTorch hands back lazy zero tensors as grads)."""
    return t.detach().numpy(force=True)


def _samples(op):
    """The samples spread evenly over the list (the first ones are often the trivial)."""
    samples = list(op.sample_inputs("cpu", torch.float64, requires_grad=op.supports_autograd))
    order = np.argsort(np.argsort(np.arange(len(samples)) % max(1, len(samples) // PER_OP)))
    return [samples[i] for i in np.argsort(order, kind="stable")]


def _kwargs(kwargs, leaves):
    return {k: c for k, v in kwargs.items() if (c := _to_cr(v, leaves)) is not None
            or not isinstance(v, (torch.dtype, torch.device))}


def _check(op, sample, adapter, rng):
    leaves = []
    x = _to_cr(sample.input, leaves)
    args = [_to_cr(a, leaves) for a in sample.args]
    kwargs = _kwargs(sample.kwargs, leaves)
    ours = adapter(x, *args, **kwargs)
    theirs = op.op(sample.input, *sample.args, **sample.kwargs)
    pairs = _pairs(ours, theirs, getattr(adapter, "post", None))
    for o, t in pairs:
        o = o if isinstance(o, cr.Tensor) else cr.tensor(o)
        tt = _np(t) if isinstance(t, torch.Tensor) else np.asarray(t)
        assert o.shape == tt.shape, f"shape {o.shape} vs PyTorch's {tt.shape}"
        np.testing.assert_allclose(o.data, tt, rtol=1e-7, atol=1e-9, equal_nan=True,
                                   err_msg="values")
    if getattr(adapter, "values_only", False) or not op.supports_autograd or not leaves:
        return
    live = [(o, t) for o, t in pairs if isinstance(t, torch.Tensor) and t.requires_grad]
    if not live:
        return
    vs = [rng.standard_normal(t.shape) for _, t in live]
    tl = sum((t * torch.tensor(v)).sum() for (_, t), v in zip(live, vs))
    cl = sum(cr.sum(o * v) for (o, _), v in zip(live, vs))
    tleaves, cleaves = [a for a, _ in leaves], [b for _, b in leaves]
    tg = torch.autograd.grad(tl, tleaves, create_graph=True, allow_unused=True)
    cg = cr.gradient(cl, cleaves, create_graph=True) if cl.requires_grad else [
        cr.zeros_like(c) for c in cleaves]
    for g, h in zip(cg, tg):
        expect = np.zeros(g.shape) if h is None else _np(h)
        np.testing.assert_allclose(g.data, expect, rtol=1e-6, atol=1e-8, err_msg="gradient")
    if not op.supports_gradgrad:
        return
    second = [(g, h, rng.standard_normal(g.shape)) for g, h in zip(cg, tg)
              if h is not None and h.requires_grad]
    if not second:
        return
    ts = sum((h * torch.tensor(w)).sum() for _, h, w in second)
    cs = sum(cr.sum(g * w) for g, _, w in second)
    th = torch.autograd.grad(ts, tleaves, allow_unused=True)
    ch = cr.gradient(cs, cleaves) if cs.requires_grad else [cr.zeros_like(c) for c in cleaves]
    for g, h in zip(ch, th):
        expect = np.zeros(g.shape) if h is None else _np(h)
        np.testing.assert_allclose(g.data, expect, rtol=1e-5, atol=1e-7,
                                   err_msg="second-order gradient")


def run_op(op):
    """(samples run, samples not applicable) for one OpInfo; raises on a disagreement."""
    adapter = ADAPTERS[(op.name, op.variant_test_name)]
    rng = np.random.default_rng(zlib.crc32(f"{op.name}.{op.variant_test_name}".encode()))
    ran = skipped = 0
    for sample in _samples(op):
        if ran == PER_OP:
            break
        try:
            _check(op, sample, adapter, rng)
            ran += 1
        except NotApplicable:
            skipped += 1
    return ran, skipped


def test_opinfo_samples():
    """Every mapped OpInfo, in one test (the database loads once, inside it)."""
    failures, total = [], 0
    for op in _run():
        name = f"{op.name}.{op.variant_test_name}".strip(".")
        try:
            ran, _ = run_op(op)
        except Exception as err:  # collect them all: one report names every failing op
            failures.append(f"{name}: {type(err).__name__}: {str(err).strip()[:300]}")
            continue
        total += ran
        if not ran:
            failures.append(f"{name}: every sample was not applicable")
    assert not failures, "\n".join(failures)
    assert total >= 300, f"only {total} samples ran"
