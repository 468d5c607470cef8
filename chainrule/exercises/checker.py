"""Compare a learner's backward pass with the engine's, node by node, and name the first error.

The checker walks the asked nodes in backward order. Every node before the first wrong one is
right, so the first wrong node is exactly where the learner's chain-rule step went astray: its
inputs (the gradients of the nodes it feeds) were correct. The diagnosis then tries the
mistakes learners make most, each recomputed from the correct values: a transpose left out, a
local derivative left out (the upstream gradient passed straight through), a sum over the wrong
axis, a path dropped from the sum over paths, a flipped sign or a stray factor, and the task's
own typical mistakes (a kernel not flipped, a softmax summed over the batch).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .graph import Task, bar, nfc

RTOL, ATOL = 1e-5, 1e-8

# The kinds of mistake the checker names; tests and notebooks match on these strings.
MISSING_TRANSPOSE = "missing transpose"
MISSING_LOCAL = "missing local derivative"
WRONG_AXIS = "summed over the wrong axis"
DROPPED_PATH = "dropped path"
WRONG_SIGN = "wrong sign"
WRONG_FACTOR = "wrong factor"
WRONG_SHAPE = "wrong shape"
WRONG_VALUE = "wrong value"


@dataclass
class Report:
    """What the checker found. ``bool(report)`` is True when every asked gradient is right.

    ``node`` is the first node whose gradient is wrong or missing (None when all are right),
    ``index`` the first wrong element (a tuple; ``()`` for a scalar, None when the shape is
    wrong), ``kind`` the mistake (one of the module's constants, or a task's own), ``fix``
    the chain-rule step that computes the node's gradient, and ``correct`` the nodes checked
    and found right, in backward order.

    >>> import chainrule as cr
    >>> ex = cr.exercises.get("chain_rule")
    >>> r = ex.check({"s": float(ex.v.f), "u": 0.0})
    >>> bool(r), r.correct, r.node, r.kind
    (False, ['s'], 'u', 'wrong value')
    """

    task: str
    ok: bool
    complete: bool
    correct: list[str]
    node: str | None = None
    index: tuple | None = None
    expected: object = None
    got: object = None
    kind: str | None = None
    why: str = ""
    fix: str = ""
    order: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        """The report as text, as printed."""
        return nfc(self._text())

    def _text(self) -> str:
        right = ", ".join(bar(n) for n in self.correct) or "none yet"
        if self.ok:
            return (f"✓ {self.task}: all {len(self.correct)} gradients match the engine's: "
                    f"{right}.")
        name = bar(self.node)
        if not self.complete:
            return (f"… {self.task}: right so far: {right}. Next: {name}.\n"
                    f"  The chain-rule step: {self.fix}\n"
                    f"  ex.hint() gives a hint; ex.solution() shows the full answer.")
        where = ("" if self.index is None
                 else f" at element {list(self.index)}" if self.index else "")
        lines = [f"✗ {self.task}: {name} is wrong{where}: yours {_fmt(self.got)}, "
                 f"the engine's {_fmt(self.expected)}.",
                 f"  What happened ({self.kind}): {self.why}",
                 f"  The chain-rule step: {self.fix}",
                 f"  Right so far: {right}.",
                 "  ex.hint() gives a hint; ex.solution() shows the full answer."]
        return "\n".join(lines)

    def __post_init__(self) -> None:
        self.why, self.fix = nfc(self.why), nfc(self.fix)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        import html
        colour = "#1a7f37" if self.ok else "#b35900" if not self.complete else "#cf222e"
        return (f'<pre style="border-left: 4px solid {colour}; padding-left: 8px">'
                f"{html.escape(self.message)}</pre>")


def _fmt(x) -> str:
    a = np.asarray(x)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    with np.printoptions(precision=4, suppress=True, threshold=20):
        return f"shape {a.shape} " + np.array2string(a, separator=", ").replace("\n", "")


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and equal to the checker's tolerance (relative to b's largest element)."""
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL * scale))


def step_text(task: Task, node: str) -> str:
    """``"w̄ = z̄·x + R̄·w"``: the chain-rule step for ``node`` with the task's local terms."""
    terms = [op.terms[node] for op in task.children(node)]
    return f"{bar(node)} = " + " + ".join(terms)


def local_text(task: Task, node: str) -> list[str]:
    """The local derivatives ∂c/∂node of every consumer c, in words, where the task gives them."""
    return [op.local[node] for op in task.children(node) if node in op.local]


def as_answer(task: Task, answer, values) -> dict[str, np.ndarray]:
    """The learner's answer as float64 arrays by node name; a callable is called with the values.

    Raises a ValueError naming unknown nodes and a TypeError naming a node whose value is not
    numeric; the checker's own values are never handed out (the learner gets copies).
    """
    if callable(answer):
        answer = answer(values.copy_for_learner())
    if not hasattr(answer, "items"):
        raise TypeError(f"{task.name}: give the gradients as a dict {{node name: value}} or a "
                        f"function backward(v) returning one; got {type(answer).__name__}")
    unknown = sorted(set(answer) - set(task.asked))
    if unknown:
        raise ValueError(f"{task.name}: no node named {unknown}; the nodes whose gradients "
                         f"this task asks for are {list(task.asked)}")
    out = {}
    for name, value in answer.items():
        try:
            out[name] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{task.name}: the gradient given for {name!r} is not numeric "
                            f"({type(value).__name__}): {e}") from None
    return out


def check(task: Task, grads: dict, terms: dict, values, answer) -> Report:
    """Check ``answer`` against the engine's ``grads`` (see :class:`Report`)."""
    given = as_answer(task, answer, values)
    order = task.backward_order()
    correct: list[str] = []
    for node in order:
        if node not in given:
            return Report(task.name, False, False, correct, node=node,
                          fix=step_text(task, node), order=order)
        got, expected = given[node], grads[node]
        if close(got, expected):
            correct.append(node)
            continue
        kind, why = diagnose(task, node, got, expected, grads, terms, values)
        return Report(task.name, False, True, correct, node=node,
                      index=_first_wrong(got, expected), expected=expected, got=got,
                      kind=kind, why=why, fix=_fix(task, node), order=order)
    return Report(task.name, True, True, correct, order=order)


def _fix(task: Task, node: str) -> str:
    local = local_text(task, node)
    return step_text(task, node) + "".join(f"\n      where {t}" for t in local)


def _first_wrong(got: np.ndarray, expected: np.ndarray) -> tuple | None:
    if got.shape != expected.shape:
        return None
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL * scale)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()


def diagnose(task: Task, node: str, got, expected, grads, terms, values) -> tuple[str, str]:
    """``(kind, explanation)`` of the learner's error at ``node``; upstream gradients are right."""
    name = bar(node)
    consumers = task.children(node)
    mine = [(op, terms[(op.name, node)]) for op in consumers]

    for m in task.mistakes:  # the task's own typical mistakes first: they are the most specific
        if m.node == node and close(got, np.asarray(m.wrong(values, grads), np.float64)):
            return m.kind, m.explain

    if got.ndim == 2 and got.T.shape == expected.shape and close(got.T, expected):
        return MISSING_TRANSPOSE, (
            f"your {name} is the transpose of the right one (shape {got.shape}, "
            f"{node} has shape {expected.shape}): a product like Aᵀ·B was written B·A or "
            f"Bᵀ·A, and a gradient always has the shape of its node")

    if got.shape != expected.shape:
        for op in consumers:
            upstream = grads[op.name]
            for k in range(upstream.ndim):
                s = upstream.sum(axis=k)
                if s.size == got.size and close(got.reshape(s.shape), s):
                    right = [j for j in range(upstream.ndim) if _sums_to(upstream, j, expected)]
                    along = f"axis {right[0]}" if right else "the broadcast axes"
                    return WRONG_AXIS, (
                        f"your {name} sums {bar(op.name)} over axis {k}; {node} was broadcast "
                        f"along {along} in {op.text}, so its gradient sums over {along} "
                        f"and keeps {node}'s shape {expected.shape}")
        if got.size == expected.size and close(got.reshape(expected.shape), expected):
            return WRONG_SHAPE, (f"the numbers are right but the shape is {got.shape}; "
                                 f"{node} has shape {expected.shape}, and so does {name}")
        return WRONG_SHAPE, (f"your {name} has shape {got.shape} but {node} has shape "
                             f"{expected.shape}: a gradient always has the shape of its node")

    if len(mine) > 1:
        for r in range(1, len(mine)):
            for kept in itertools.combinations(range(len(mine)), r):
                part = sum(mine[i][1] for i in kept)
                if close(got, part):
                    lost = [mine[i][0] for i in range(len(mine)) if i not in kept]
                    paths = ", ".join(f"through {op.name} ({op.terms[node]})" for op in lost)
                    return DROPPED_PATH, (
                        f"{node} reaches the output along {len(mine)} paths and your {name} "
                        f"has only {r} of their terms; add the path {paths}")

    for op, term in mine:
        upstream = grads[op.name]
        if upstream.shape == got.shape and not close(term, upstream):
            if close(got, expected - term + upstream):
                local = op.local.get(node, f"∂{op.name}/∂{node}")
                return MISSING_LOCAL, (
                    f"your {name} passes {bar(op.name)} straight through from {op.text}; "
                    f"the local derivative is missing: multiply by {local}")

    if close(got, -expected):
        return WRONG_SIGN, f"your {name} has the opposite sign of the right one"

    denom = float(np.vdot(expected, expected))
    if denom > 0:
        k = float(np.vdot(got, expected)) / denom
        if abs(k - 1) > 1e-6 and abs(k) > 1e-9 and close(got, k * expected):  # 0: not a factor
            return WRONG_FACTOR, (f"your {name} is {_ratio(k)} times the right one: a constant "
                                  f"factor (a ½, a 2, a 1/N from a mean) is off")

    return WRONG_VALUE, (f"no common mistake explains it; recompute {name} from the gradients "
                         f"of the nodes {node} feeds, one term per path")


def _sums_to(a: np.ndarray, axis: int, target: np.ndarray) -> bool:
    s = a.sum(axis=axis)
    return s.size == target.size and close(s.reshape(target.shape), target)


def _ratio(k: float) -> str:
    for n in range(2, 101):
        if abs(k - n) < 1e-6 * n:
            return str(n)
        if abs(k - 1 / n) < 1e-6 / n:
            return f"1/{n}"
    return f"{k:.6g}"
