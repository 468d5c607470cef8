"""Terminal text and Markdown: a table of nodes, then the backward steps in bar notation."""
from __future__ import annotations

from . import fmt

_HEAD = ("name", "op", "shape", "value", "grad")
TABLE_MAX = 6  # the table shows matrices of up to this many entries (the steps show more)


def _block(a) -> list[str]:
    """A table cell: small matrices as matrices (several lines), others in one line."""
    return fmt.matrix(a, max_size=TABLE_MAX) or [fmt.brief(a)]


def _table(ex, grad_label: str = "grad") -> list[str]:
    head = _HEAD[:-1] + (grad_label,)
    rows = [[[r.name], [r.op], [str(r.shape)], _block(r.value), _block(r.grad)]
            for r in ex.nodes]
    widths = [max([len(head[i])] + [len(line) for r in rows for line in r[i]])
              for i in range(len(head))]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for r in rows:
        for k in range(max(len(c) for c in r)):
            out.append("  ".join((c[k] if k < len(c) else "").ljust(w)
                                 for c, w in zip(r, widths)).rstrip())
    return out


def _in_numbers(row, values: dict) -> str | None:
    """The expression with each operand's name replaced by its value, where all are scalars."""
    text = row.expr
    if not row.parents or not all(fmt.is_scalar(values.get(p)) for p in row.parents):
        return None
    # longest names first, so that ``mul₁`` is not read as ``mul`` + ``₁``
    for name in sorted(set(row.parents), key=len, reverse=True):
        text = text.replace(name, "\0" + str(row.parents.index(name)) + "\0")
    for k, name in enumerate(row.parents):
        text = text.replace("\0" + str(k) + "\0", fmt.term_num(values[name]))
    return text


def forward_lines(row, values: dict | None = None) -> list[str]:
    """``mul₁ = w · x = 0.5 · 1.5 = 0.75``: the op in names, in numbers, and its value."""
    if row.kind != "op":
        return []
    lhs = f"{row.name} = {row.expr}"
    if fmt.is_scalar(row.value):
        numbers = _in_numbers(row, values or {})
        if numbers is not None and numbers != row.expr:
            lhs += f" = {numbers}"
        return [f"{lhs} = {fmt.num(row.value)}"]
    block = fmt.matrix(row.value)
    if block is None:
        return [lhs, f"    = {fmt.shaped(row.value)}"]
    return [lhs] + [("    = " if i == 0 else "      ") + line for i, line in enumerate(block)]


def _symbolic(step) -> str:
    """Σ v̄ⱼ·∂vⱼ/∂vᵢ; a matrix rule (``h̄ += W₂ᵀ @ z̄₂``) is written as the product it is."""
    return " + ".join(t.local.split(" += ", 1)[1] if " += " in t.local else
                      f"{fmt.bar(t.child)}·∂{t.child}/∂{step.name}" for t in step.terms)


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
        block = fmt.matrix(step.bar)
        lines = [f"{lhs} = {_symbolic(step)}"] + (
            [f"    = {fmt.shaped(step.bar)}"] if block is None else
            [("    = " if i == 0 else "      ") + line for i, line in enumerate(block)])
        if len(step.terms) > 1:
            lines += [f"    term from {t.child}: {fmt.shaped(t.value)}" for t in step.terms]
    formulas = []
    for t in step.terms:
        p = t.partial
        same = p is None or t.local.replace("−", "-") == fmt.num(p)  # "1": no " = 1"
        number = "" if same else f" = {fmt.num(p)}"
        line = f"    ∂{t.child}/∂{step.name} ({t.child_op}): {t.local}{number}"
        if t.local and line not in formulas:
            formulas.append(line)
    return lines + formulas + [f"    note: {n}" for n in step.notes]


def to_text(ex) -> str:
    if ex.mode == "forward":
        from .forward import to_text as forward_text
        return forward_text(ex)
    out = [f"Explanation of {ex.output}: {len(ex.nodes)} nodes, parents first", ""]
    out += _table(ex)
    out += ["", "Forward pass:"]
    values = {r.name: r.value for r in ex.nodes}
    for row in ex.nodes:
        out += forward_lines(row, values)
    out += ["", f"Backward pass, in the order it ran (v̄ = ∂{ex.output}/∂v):"]
    for step in ex.steps:
        out += step_lines(step)
    return "\n".join(out)


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def _md_cell(a) -> str:
    """A table cell: a small matrix over several lines (``<br>``), else one line."""
    block = fmt.matrix(a, max_size=TABLE_MAX)
    return "<br>".join(_md(line) for line in block) if block else _md(fmt.brief(a))


def to_markdown(ex) -> str:
    out = [f"**Explanation of `{ex.output}`**", "",
           "| " + " | ".join(_HEAD) + " | local derivative |",
           "|" + "---|" * (len(_HEAD) + 1)]
    for r in ex.nodes:
        cells = [_md(r.name), _md(r.op), str(r.shape), _md_cell(r.value), _md_cell(r.grad),
                 _md("; ".join(r.partials))]
        out.append("| " + " | ".join(cells) + " |")
    if ex.mode == "forward":
        out += ["", f"**Tangents** (forward mode, v̇ = ∂v/∂{ex.wrt}), in graph order:", ""]
    else:
        out += ["", f"**Backward pass** (v̄ = ∂{ex.output}/∂v), in the order it ran:", ""]
    for i, step in enumerate(ex.steps, 1):
        first, *rest = step.lines if ex.mode == "forward" else step_lines(step)
        out.append(f"{i}. `{first}`")
        if rest:  # the matrices and formulas keep their layout in a code block
            out += ["   ```"] + [f"   {line}" for line in rest] + ["   ```"]
    return "\n".join(out)
