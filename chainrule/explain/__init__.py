"""Explaining backprop: ``explain(output)`` records the engine's own backward sweep.

``trace`` builds the :class:`Explanation` (nodes and steps), ``fmt`` formats numbers and
names, and ``render_text`` / ``render_latex`` / ``render_dot`` turn it into text.
"""
from .trace import Explanation, NodeRow, Step, Term, explain

__all__ = ["explain", "Explanation", "NodeRow", "Step", "Term"]
