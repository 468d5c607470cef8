"""Exercises that check your own backward pass, node by node (``cr.exercises``).

Pick a task, derive the gradient of every node by hand (as numbers or as a NumPy function
``backward(v)``), and ``check`` it: the checker compares each of your intermediate gradients with
the engine's in backward order and names the first wrong node, the first wrong element, the
mistake (a missing transpose, a forgotten local derivative such as σ'(z), a sum over the wrong
axis, a dropped path ...) and the chain-rule step that fixes it. ``hint()`` helps one step at a
time; ``solution()`` shows the answer only when you ask.

>>> import chainrule as cr
>>> ex = cr.exercises.get("neuron")
>>> def backward(v):
...     y_bar = v.y - v.t
...     z_bar = y_bar                     # forgot σ'(z)
...     return {"L": 1.0, "R": v.lam, "y": y_bar, "z": z_bar, "w": z_bar * v.x, "b": z_bar}
>>> report = ex.check(backward)
>>> report.node, report.kind
('z', 'missing local derivative')
>>> ex.check(ex.solution().backward).ok
True
"""
from __future__ import annotations

from .checker import Report
from .exercise import Exercise, Hint, Solution, Values
from .tasks import TASKS

__all__ = ["get", "tasks", "Exercise", "Report", "Hint", "Solution", "Values"]


def tasks() -> dict[str, str]:
    """The available tasks: ``{name: title}``, from one chain of scalars to a convolution.

    >>> import chainrule as cr
    >>> list(cr.exercises.tasks())
    ['chain_rule', 'two_paths', 'neuron', 'two_layer', 'softmax_ce', 'conv']
    """
    return {name: t.title for name, t in TASKS.items()}


def get(name: str, *, seed: int = 0) -> Exercise:
    """The exercise ``name`` with its numbers drawn from ``seed`` (see :func:`tasks`).

    Args:
        name: one of ``tasks()``.
        seed: seeds the task's random inputs, so that a notebook and a test see the same
            numbers.

    Returns:
        An :class:`Exercise`; print it for the task, then ``check``, ``hint``, ``solution``.

    >>> import chainrule as cr
    >>> ex = cr.exercises.get("two_paths")
    >>> ex.asked
    ['a', 'q', 'p', 'x', 'y', 't']
    """
    if name not in TASKS:
        raise ValueError(f"no exercise named {name!r}; the exercises are {list(TASKS)}")
    return Exercise(TASKS[name], seed=seed)
