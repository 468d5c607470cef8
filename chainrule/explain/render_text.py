"""Terminal text and Markdown: a table of nodes, then the backward steps in bar notation."""
from __future__ import annotations

from . import fmt

_HEAD = ("name", "op", "shape", "value", "grad")


def _cells(ex) -> list[tuple]:
    return [(r.name, r.op, str(r.shape), fmt.brief(r.value), fmt.brief(r.grad))
            for r in ex.nodes]


def _symbolic(step) -> str:
    return " + ".join(f"{fmt.bar(t.child)}·∂{t.child}/∂{step.name}" for t in step.terms)


def _numeric(step) -> str | None:
    """``0.1234 · 1.5 + 0.1 · 0.5`` where every term is a scalar, else None."""
    parts = []
    for t in step.terms:
        if not (fmt.is_scalar(t.value) and fmt.is_scalar(t.child_bar)):
            return None
        p = t.partial
        parts.append(f"{fmt.term_num(t.child_bar)} · {fmt.term_num(p)}" if p is not None
                     else fmt.term_num(t.value))
    return " + ".join(parts)


def step_lines(step) -> list[str]:
    """One equation line, then the local formulas and notes, indented."""
    lhs = fmt.bar(step.name)
    if step.is_output or not step.terms:
        why = "the output: ∂output/∂output" if step.is_output else "set by a hook"
        return [f"{lhs} = {fmt.summary(step.bar)}   ({why})"]
    numeric = _numeric(step)
    if numeric is not None:
        eq = f"{lhs} = {_symbolic(step)} = {numeric} = {fmt.summary(step.bar)}"
        lines = [eq]
    else:
        lines = [f"{lhs} = {_symbolic(step)}", f"    = {fmt.shaped(step.bar)}"]
        if len(step.terms) > 1:
            lines += [f"    term from {t.child}: {fmt.shaped(t.value)}" for t in step.terms]
    formulas = []
    for t in step.terms:
        line = f"    ∂{t.child}/∂{step.name} ({t.child_op}): {t.local}"
        if t.local and line not in formulas:
            formulas.append(line)
    return lines + formulas + [f"    note: {n}" for n in step.notes]


def to_text(ex) -> str:
    rows = [_HEAD] + _cells(ex)
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    out = [f"Explanation of {ex.output}: {len(ex.nodes)} nodes, parents first", ""]
    for i, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out += ["", f"Backward pass, in the order it ran (v̄ = ∂{ex.output}/∂v):"]
    for step in ex.steps:
        out += step_lines(step)
    return "\n".join(out)


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(ex) -> str:
    out = [f"**Explanation of `{ex.output}`**", "",
           "| " + " | ".join(_HEAD) + " | local derivative |",
           "|" + "---|" * (len(_HEAD) + 1)]
    for r, cells in zip(ex.nodes, _cells(ex)):
        out.append("| " + " | ".join(_md(c) for c in cells) + f" | {_md(r.local)} |")
    out += ["", f"**Backward pass** (v̄ = ∂{ex.output}/∂v), in the order it ran:", ""]
    for i, step in enumerate(ex.steps, 1):
        first, *rest = step_lines(step)
        out.append(f"{i}. `{first}`")
        out += [f"   - {_md(line.strip())}" for line in rest]
    return "\n".join(out)
