"""NumPy lacks erf; use SciPy's when it is installed, else the standard library's, per element."""
from __future__ import annotations

import math

import numpy as np

_erf = None


def erf_array(x):
    global _erf
    if _erf is None:
        try:
            from scipy.special import erf as scipy_erf
            _erf = scipy_erf
        except ImportError:  # exact to double precision, but a Python call per element
            _vec = np.frompyfunc(math.erf, 1, 1)
            _erf = lambda a: np.asarray(_vec(a), dtype=np.result_type(a, np.float32))  # noqa: E731
    x = np.asarray(x)
    return _erf(x).astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)
