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
    flat = a.reshape(-1)
    if a.size <= SMALL:
        return "[" + ", ".join(num(x) for x in flat) + "]"
    if a.dtype.kind not in "fciub":
        return f"{a.dtype} {tuple(a.shape)}"
    af = flat.astype(np.float64)
    head = ", ".join(num(x) for x in flat[:3])
    return (f"{tuple(a.shape)} [{head}, …] ‖·‖={num(np.linalg.norm(af))} "
            f"mean={num(af.mean())} min={num(af.min())} max={num(af.max())}")


def brief(a, mean: bool = True) -> str:
    """For pictures and tables, which show the shape apart: small tensors in full, big ones
    as their norm and (unless ``mean=False``, for edge labels) mean; ``summary`` has more."""
    if a is None or np.size(a) <= SMALL or np.asarray(a).dtype.kind not in "fiub":
        return summary(a)
    af = np.asarray(a, dtype=np.float64)
    return f"‖·‖={num(np.linalg.norm(af))}" + (f" mean={num(af.mean())}" if mean else "")


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
