"""Shared formatting: numbers and arrays, bar names, LaTeX names."""
from __future__ import annotations

import numpy as np

SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"
_FROM_SUB = {c: str(i) for i, c in enumerate(SUBSCRIPTS)}
SMALL = 6  # tensors with at most this many elements are shown in full


def sub(n: int) -> str:
    """``12`` -> ``₁₂``."""
    return "".join(SUBSCRIPTS[int(d)] for d in str(n))


def num(v) -> str:
    """A scalar, compactly: ``0.1234``, ``-1.5e-07``."""
    v = float(np.asarray(v).reshape(-1)[0]) if np.size(v) else float("nan")
    return f"{v + 0.0:.4g}"  # + 0.0: a gradient blocked by a ReLU is 0, not -0


# Rounding noise: an entry this many machine epsilons (of the array's dtype) below the
# array's largest magnitude is what is left of a cancellation, and prints as 0.
NOISE_EPS = 64


def noise_floor(a) -> float:
    """The magnitude under which entries of ``a`` are rounding noise (0 for exact dtypes)."""
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.size == 0:
        return 0.0
    finite = np.abs(a[np.isfinite(a)])
    top = float(finite.max()) if finite.size else 0.0
    return NOISE_EPS * float(np.finfo(a.dtype).eps) * top


def denoise(a):
    """``a`` with its rounding noise set to exact zeros (``-3.7e-09`` beside 0.4 -> 0); the
    exact values stay available (tooltips).

    >>> denoise(np.array([0.4, -3.7e-9], dtype=np.float32)).tolist()
    [0.4000000059604645, 0.0]
    """
    a = np.asarray(a)
    floor = noise_floor(a)
    if floor == 0.0 or a.size < 2:
        return a
    return np.where(np.abs(a) <= floor, 0.0, a).astype(a.dtype)


def _mean(af, dtype) -> float:
    """The mean, 0 where it is below the noise of summing these entries."""
    m = float(af.mean())
    eps = float(np.finfo(dtype).eps) if np.dtype(dtype).kind == "f" else 0.0
    return 0.0 if abs(m) <= NOISE_EPS * eps * float(np.abs(af).mean()) else m


MATRIX_MAX = 8  # matrices with at most this many rows and columns print as matrices


def matrix(a, max_size: int = MATRIX_MAX ** 2) -> list[str] | None:
    """A small vector or matrix as aligned lines, ``[[0.6, -0.2], [0.3, 0.4]]`` over two
    lines; None for anything larger (or not 1-D/2-D).

    >>> print("\\n".join(matrix(np.array([[0.6, -0.25], [10.0, 0.4]]))))
    [[0.6, -0.25],
     [ 10,   0.4]]
    """
    a = np.asarray(a)
    if a.size > max_size:
        return None
    if a.ndim == 1 and 1 < a.size <= MATRIX_MAX:
        return ["[" + ", ".join(num(x) for x in denoise(a)) + "]"]
    if a.ndim != 2 or a.shape[0] > MATRIX_MAX or a.shape[1] > MATRIX_MAX or a.size < 2:
        return None
    if a.dtype.kind not in "fiub":
        return None
    cells = [[num(x) for x in row] for row in denoise(a)]
    widths = [max(len(r[j]) for r in cells) for j in range(a.shape[1])]
    lines = []
    for i, r in enumerate(cells):
        body = ", ".join(c.rjust(w) for c, w in zip(r, widths))
        lines.append(("[[" if i == 0 else " [") + body + ("]]" if i == len(cells) - 1 else "],"))
    return lines


def term_num(v) -> str:
    """A number inside a product or sum: negatives in parentheses."""
    s = num(v)
    return f"({s})" if s.startswith("-") else s


def shaped(a) -> str:
    """Like ``brief`` but non-scalars say their shape first."""
    if a is None or np.size(a) == 1:
        return summary(a)
    return f"{tuple(np.shape(a))} {brief(a)}"


def is_scalar(a) -> bool:
    return a is not None and np.size(a) == 1


def summary(a) -> str:
    """A value or tensor in one short string: scalars as numbers, small tensors in full,
    big ones as shape, first values and summary statistics."""
    if a is None:
        return "–"
    a = np.asarray(a)
    if a.size == 1:
        return num(a)
    flat = denoise(a).reshape(-1)
    if a.size <= SMALL:
        return "[" + ", ".join(num(x) for x in flat) + "]"
    if a.dtype.kind not in "fciub":
        return f"{a.dtype} {tuple(a.shape)}"
    af = flat.astype(np.float64)
    head = ", ".join(num(x) for x in flat[:3])
    return (f"{tuple(a.shape)} [{head}, …] ‖·‖={num(np.linalg.norm(af))} "
            f"mean={num(_mean(af, a.dtype))} min={num(af.min())} max={num(af.max())}")


def brief(a, mean: bool = True) -> str:
    """For pictures and tables, which show the shape apart: small tensors in full, big ones
    as their norm and (unless ``mean=False``, for edge labels) mean; ``summary`` has more."""
    if a is None or np.size(a) <= SMALL or np.asarray(a).dtype.kind not in "fiub":
        return summary(a)
    af = np.asarray(a, dtype=np.float64)
    return f"‖·‖={num(np.linalg.norm(af))}" + (
        f" mean={num(_mean(af, np.asarray(a).dtype))}" if mean else "")


def edge(a) -> str:
    """What an edge label shows: a number, a short vector, else the norm.

    >>> edge(np.array([0.5, -0.25])), edge(np.ones((4, 4)))
    ('[0.5, -0.25]', '‖·‖=4')
    """
    if a is None:
        return ""
    a = np.asarray(a)
    if a.size == 1:
        return num(a)
    if a.size <= 3:
        return "[" + ", ".join(num(x) for x in denoise(a).reshape(-1)) + "]"
    return f"‖·‖={num(np.linalg.norm(np.asarray(a, dtype=np.float64)))}"


def split_name(name: str) -> tuple[str, str]:
    """``mul₁`` -> (``mul``, ``₁``): the base and its trailing subscript digits."""
    i = len(name)
    while i > 0 and name[i - 1] in _FROM_SUB:
        i -= 1
    return name[:i], name[i:]


def bar(name: str) -> str:
    """Bar notation: ``w`` -> ``w̄``, ``x₁`` -> ``x̄₁``, longer names -> ``v̄[mul₁]``."""
    base, subs = split_name(name)
    if len(base) == 1:
        return base + "\u0304" + subs
    return f"v̄[{name}]"


_TEX_ESC = {"_": r"\_", "#": r"\#", "%": r"\%", "&": r"\&", "$": r"\$", "{": r"\{",
            "}": r"\}", "^": r"\^{}", "~": r"\~{}", "\\": r"\textbackslash{}"}
_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψωΔΣΦΨΩ",
                  r"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
                  r"pi rho sigma tau upsilon phi chi psi omega Delta Sigma Phi Psi Omega".split()))


def tex_name(name: str) -> str:
    """A name as LaTeX math: ``w`` -> ``w``, ``mul₁`` -> ``\\mathrm{mul}_{1}``."""
    base, subs = split_name(name)
    if len(base) == 1 and base in _GREEK:
        body = "\\" + _GREEK[base]
    elif len(base) == 1 and base.isascii() and base.isalpha():
        body = base
    else:
        esc = "".join(_TEX_ESC.get(c, "\\" + _GREEK[c] + " " if c in _GREEK else c)
                      for c in base)
        body = r"\mathrm{" + esc + "}"
    if subs:
        body += "_{" + "".join(_FROM_SUB[c] for c in subs) + "}"
    return body


def tex_bar(name: str) -> str:
    base, _ = split_name(name)
    return (r"\bar{" if len(base) == 1 else r"\overline{") + tex_name(name) + "}"
