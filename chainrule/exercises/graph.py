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

        A node's gradient is complete once every consumer's is (Kahn's algorithm on the
        reversed graph); among the nodes ready at a time the task's listing order decides.
        """
        done = {self.output}
        order: list[str] = []
        pending = list(self.asked)
        while pending:
            ready = [n for n in pending if self._complete(n, done)]
            if not ready:
                raise RuntimeError(f"task {self.name!r}: asked nodes {pending} form no order")
            order.append(ready[0])
            done.add(ready[0])
            pending.remove(ready[0])
        return order

    def _complete(self, node: str, done: set[str]) -> bool:
        """Whether ``node``'s gradient can be computed: each consumer is done, or is a node
        the learner is not asked for whose own consumers are (it only passes gradient on)."""
        return all(c.name in done or (c.name not in self.asked and self._complete(c.name, done))
                   for c in self.children(node))
