"""The shape of an exercise: a small graph of named nodes whose gradients a learner derives.

A :class:`Task` lists its nodes in forward order. Each :class:`Op` computes one node from its
parents with chainrule ops and states, for every parent, the term that parent receives in the
backward pass (``"z̄·x"``) and, where it helps, the local derivative in words
(``"∂z/∂w = x"``). The engine evaluates the graph once; the checker then compares the learner's
gradient of every node with the engine's, in the order a backward pass computes them.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# A combining macron after the first character writes v̄ (the gradient of the output with
# respect to v, the "bar" of the classic backprop notes).
_MACRON = "\u0304"


def bar(name: str) -> str:
    """``bar("W2") == "W̄2"``: the bar-notation name of a node's gradient (NFC-normalised,
    so that ``"ȳ"`` typed in any editor compares equal).

    >>> bar("z") == "z\u0304"
    True
    """
    return nfc(name[:1] + _MACRON + name[1:])


def nfc(text: str) -> str:
    """Text in Unicode's composed form (NFC): one way of writing each barred letter."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Op:
    """One node of a task: ``name = fn(*parents, consts)`` in chainrule ops.

    ``terms[p]`` is the contribution node ``p`` receives from this node in the backward pass,
    as a formula in bar notation; ``local[p]`` (optional) is the local derivative ∂name/∂p in
    words, shown by hints and by the fix for a missing local derivative.
    """

    name: str
    parents: tuple[str, ...]
    fn: Callable
    text: str
    terms: dict[str, str]
    local: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A typical error at one node that a generic test cannot recognise by itself.

    ``wrong(values, grads)`` returns the value a learner who makes this error gets, from the
    forward values and the correct gradients (NumPy arrays by node name).
    """

    node: str
    kind: str
    wrong: Callable[[dict, dict], np.ndarray]
    explain: str


@dataclass(frozen=True)
class Task:
    """An exercise: its graph, what the learner gives, hints and the reference solution.

    ``make(rng)`` returns ``(leaves, consts)``: the differentiable inputs by name (float64
    arrays) and the constants (data, targets, hyper-parameters). ``asked`` names the nodes
    whose gradients the learner computes; ``solution`` is Python source defining
    ``backward(v)`` that returns them as a dict.
    """

    name: str
    title: str
    prompt: str
    make: Callable[[np.random.Generator], tuple[dict, dict]]
    ops: tuple[Op, ...]
    asked: tuple[str, ...]
    solution: str
    mistakes: tuple[Mistake, ...] = ()
    hints: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.ops[-1].name

    def children(self, node: str) -> list[Op]:
        """The ops that consume ``node``, in forward order."""
        return [op for op in self.ops if node in op.parents]

    def backward_order(self) -> list[str]:
        """Every asked node, in an order a backward pass can compute them.

        A node's gradient is complete once all its consumers are done, so walking the ops
        from last to first and placing each parent after its last consumer works; leaves
        come after the op that uses them first.
        """
        order: list[str] = []
        done: set[str] = {self.output}
        pending = [n for n in self.asked]
        # Repeatedly take the asked nodes whose consumers are all done (Kahn's algorithm on the
        # reversed graph), keeping the task's listing order among ready nodes.
        while pending:
            ready = [n for n in pending
                     if all(c.name in done or c.name not in self.asked and
                            _all_upstream_done(self, c.name, done) for c in self.children(n))]
            if not ready:
                raise RuntimeError(f"task {self.name!r}: asked nodes {pending} form no order")
            first = ready[0]
            order.append(first)
            done.add(first)
            pending.remove(first)
        return order


def _all_upstream_done(task: Task, node: str, done: set[str]) -> bool:
    """A node that is not asked is done once every consumer of it is done."""
    if node == task.output:
        return True
    return all(c.name in done or (c.name not in task.asked
                                  and _all_upstream_done(task, c.name, done))
               for c in task.children(node))
