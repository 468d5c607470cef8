"""The backward pass as LaTeX bar-notation equations in one ``align*`` environment."""
from __future__ import annotations

from . import fmt


def _tex_num(s: str) -> str:
    if "e" in s and not s.startswith(("inf", "nan")):
        m, e = s.split("e")
        return rf"{m} \times 10^{{{int(e)}}}"
    return s


def _value(a, paren=False) -> str:
    if fmt.is_scalar(a):
        s = _tex_num(fmt.num(a))
        return f"({s})" if paren and s.startswith("-") else s
    return r"\text{" + fmt.summary(a).replace("‖·‖", "norm").replace("…", "...") + "}"


def _tex_dot(name: str) -> str:
    return r"\dot{" + fmt.tex_name(name) + "}"


def step_tex(step, mode: str = "reverse") -> str:
    """One step: v̄ = Σ ū·∂u/∂v backward, or v̇ = Σ u̇·∂v/∂u in forward mode."""
    mark = _tex_dot if mode == "forward" else fmt.tex_bar
    lhs = mark(step.name)
    if step.is_output or not step.terms:
        return rf"{lhs} &= {_value(step.bar)}"
    node = fmt.tex_name(step.name)
    if mode == "forward":  # the terms come from the operands u of this node v
        sym = " + ".join(rf"{_tex_dot(t.child)}\,\frac{{\partial {node}}}"
                         rf"{{\partial {fmt.tex_name(t.child)}}}" for t in step.terms)
    else:
        sym = " + ".join(rf"{fmt.tex_bar(t.child)}\,\frac{{\partial {fmt.tex_name(t.child)}}}"
                         rf"{{\partial {node}}}" for t in step.terms)
    line = rf"{lhs} &= {sym}"
    nums = []
    for t in step.terms:
        if not (fmt.is_scalar(t.value) and fmt.is_scalar(t.child_bar)):
            nums = None
            break
        p = t.partial
        nums.append(rf"{_value(t.child_bar, True)} \cdot {_value(p, True)}" if p is not None
                    else _value(t.value, True))
    if nums:
        line += " = " + " + ".join(nums)
    return line + f" = {_value(step.bar)}"


def to_latex(ex) -> str:
    body = " \\\\\n".join(step_tex(s, ex.mode) for s in ex.steps)
    return "\\begin{align*}\n" + body + "\n\\end{align*}"
