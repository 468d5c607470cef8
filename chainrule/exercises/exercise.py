"""An exercise as the learner holds it: the values, ``check``, ``hint`` and ``solution``."""
from __future__ import annotations

import numpy as np

from ..tensor import float64, tensor
from ..transforms import gradient, vjp
from .checker import Report, check, local_text, step_text
from .graph import Task, bar, nfc


class Values(dict):
    """The forward values of an exercise, by node name: ``v["z"]`` or ``v.z`` (NumPy arrays).

    >>> v = Values(z=np.array(2.0))
    >>> float(v.z)
    2.0
    """

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no value named {name!r}; the values are "
                                 f"{sorted(self)}") from None

    def copy_for_learner(self) -> Values:
        """A deep copy, so that a learner's in-place edits cannot change the checker's values."""
        return Values({k: np.array(a, copy=True) for k, a in self.items()})


class Hint(str):
    """A hint's text (NFC-normalised); shown as plain text in a notebook.

    >>> import chainrule as cr
    >>> ex = cr.exercises.get("chain_rule")
    >>> print(ex.hint("s"))
    Hint 1/3 for s̄: s is used by f (f = eˢ). Sum one term per use: s̄ = f̄·∂f/∂s.
    """

    def __new__(cls, text: str):
        return super().__new__(cls, nfc(text))

    def __repr__(self) -> str:
        return str(self)


class Solution(str):
    """The reference solution's source code; ``.backward`` is the function it defines.

    >>> import chainrule as cr
    >>> ex = cr.exercises.get("chain_rule")
    >>> "def backward(v):" in ex.solution()
    True
    >>> ex.check(ex.solution().backward).ok
    True
    """

    def __repr__(self) -> str:
        return str(self)

    @property
    def backward(self):
        """The ``backward(v)`` function the source defines, ready for ``Exercise.check``."""
        scope: dict = {}
        exec(compile(str(self), "<solution>", "exec"), scope)  # our own source, never input
        return scope["backward"]


class Exercise:
    """One task with its numbers: derive the gradients, then ``check`` them.

    ``values`` (also ``v``) holds every forward value; ``asked`` the nodes whose gradients to
    give, in backward order. ``check(answer)`` takes a dict ``{node: gradient}`` or a function
    ``backward(v)`` returning one, and returns a :class:`~chainrule.exercises.checker.Report`
    that names the first wrong node and element and the chain-rule step that fixes it.
    ``hint()`` gives the next hint for the node to work on; ``solution()`` the full answer.

    >>> import chainrule as cr
    >>> ex = cr.exercises.get("chain_rule")
    >>> ex.asked
    ['s', 'u', 'x']
    >>> report = ex.check({"s": float(ex.v.f)})      # f̄ = 1, so s̄ = f̄·eˢ = f
    >>> report.correct, report.node
    (['s'], 'u')
    """

    def __init__(self, task: Task, seed: int = 0):
        self.task = task
        self.seed = seed
        leaves, consts = task.make(np.random.default_rng(seed))
        self.values = Values({k: np.asarray(a) for k, a in consts.items()})
        self.grads, self.terms = self._run_engine(leaves, consts)
        self.asked = task.backward_order()
        self._levels: dict[str, int] = {}
        self._focus: str | None = None

    @property
    def v(self) -> Values:
        """The forward values, by node name (``ex.v.z`` is ``ex.values["z"]``)."""
        return self.values

    def _run_engine(self, leaves: dict, consts: dict):
        """Forward once; the engine's gradient of every node and every edge's term."""
        nodes = {k: tensor(np.asarray(a, np.float64), dtype=float64, requires_grad=True, name=k)
                 for k, a in leaves.items()}
        for op in self.task.ops:
            t = op.fn(*[nodes[p] for p in op.parents], consts)
            t.name = op.name
            nodes[op.name] = t
        for k, t in nodes.items():
            self.values[k] = np.array(t.data, dtype=np.float64)
        out = nodes[self.task.output]
        names = [k for k in nodes if k != self.task.output]
        gs = gradient(out, [nodes[k] for k in names], retain_graph=True)
        grads = {k: np.array(g.data, np.float64) for k, g in zip(names, gs)}
        grads[self.task.output] = np.ones_like(self.values[self.task.output])
        terms = {}
        for op in self.task.ops:  # each edge's contribution: the op's vjp at its own gradient
            _, pull = vjp(lambda *ps, op=op: op.fn(*ps, consts),
                          *[self.values[p] for p in op.parents])
            for p, g in zip(op.parents, pull(grads[op.name])):
                terms[(op.name, p)] = np.array(g.data, np.float64)
        return grads, terms

    def check(self, answer) -> Report:
        """Compare ``answer`` (dict or ``backward(v)``) with the engine, node by node."""
        report = check(self.task, self.grads, self.terms, self.values, answer)
        self._focus = report.node
        return report

    def hint(self, node: str | None = None) -> Hint:
        """The next hint for ``node`` (default: the node the last check stopped at).

        The first hint names the paths through which the node reaches the output, the second
        the local derivatives, the third the chain-rule step itself.
        """
        node = node or self._focus or self.asked[0]
        if node not in self.asked:
            raise ValueError(f"{self.task.name}: no asked node {node!r}; asked: {self.asked}")
        hints = self._hints(node)
        level = self._levels.get(node, 0)
        self._levels[node] = level + 1
        if level >= len(hints):
            return Hint(f"No more hints for {bar(node)}: ex.solution() shows the answer.")
        return Hint(f"Hint {level + 1}/{len(hints)} for {bar(node)}: {hints[level]}")

    def _hints(self, node: str) -> list[str]:
        users = self.task.children(node)
        paths = " + ".join(f"{bar(op.name)}·∂{op.name}/∂{node}" for op in users)
        which = "; ".join(f"{op.name} = {op.text.split('=', 1)[-1].strip()}" for op in users)
        first = (f"{node} is used by {', '.join(op.name for op in users)} ({which}). "
                 f"Sum one term per use: {bar(node)} = {paths}.")
        local = local_text(self.task, node) + list(self.task.hints.get(node, ()))
        out = [first]
        if local:
            out.append("; ".join(local) + ".")
        out.append(f"The step, with the gradients you already have: {step_text(self.task, node)}")
        return out

    def solution(self) -> Solution:
        """The reference ``backward(v)`` in NumPy, as source; ``.backward`` runs it."""
        return Solution(self.task.solution.strip() + "\n")

    def __repr__(self) -> str:
        order = ", ".join(bar(n) for n in self.asked)
        return (f"{self.task.title}\n\n{self.task.prompt.strip()}\n\n"
                f"Give, in this order: {order}  (ex.check(...), ex.hint(), ex.solution())")

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(repr(self))}</pre>"
