"""``cr.special``: SciPy's special functions (``scipy.special`` names), differentiable to any
order in both modes. SciPy computes the values: it is an optional extra,
``pip install 'chainrule[special]'``, imported when a function is first called.

>>> import chainrule as cr
>>> x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
>>> cr.special.expit(x).backward()
>>> round(x.grad.item(), 6)   # σ(x)(1 − σ(x))
0.235004
"""
from .ops.elementwise import erf
from .ops.special_fns import (
    betaln,
    digamma,
    erfc,
    erfinv,
    expit,
    gammaln,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    log_softmax,
    logit,
    logsumexp,
    ndtr,
    ndtri,
    polygamma,
    psi,
    softmax,
    xlog1py,
    xlogy,
)

__all__ = ["betaln", "digamma", "erf", "erfc", "erfinv", "expit", "gammaln", "i0", "i0e", "i1",
           "i1e", "log_ndtr", "log_softmax", "logit", "logsumexp", "ndtr", "ndtri", "polygamma",
           "psi", "softmax", "xlog1py", "xlogy"]
