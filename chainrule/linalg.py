"""``cr.linalg``: matrix functions, differentiable to any order in both modes.

>>> import chainrule as cr
>>> a = cr.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=cr.float64, requires_grad=True)
>>> cr.linalg.det(a).backward()
>>> a.grad.data.round(12).tolist()  # ∂det A/∂A = det A · A⁻ᵀ = adj(A)ᵀ
[[3.0, -1.0], [-1.0, 2.0]]
"""
from .errors import LinAlgError
from .ops.extra_linalg import (
                                eigh,
                                eigvalsh,
                                lstsq,
                                matrix_power,
                                multi_dot,
                                norm,
                                pinv,
                                qr,
                                svd,
                                svdvals,
)
from .ops.matrix import cholesky, det, inv, slogdet, solve

__all__ = ["LinAlgError", "cholesky", "det", "inv", "slogdet", "solve",
           "eigh", "eigvalsh", "lstsq", "matrix_power", "multi_dot", "norm", "pinv", "qr", "svd",
           "svdvals"]
