"""Explaining backprop: ``explain(output)`` records the engine's own backward sweep.

``trace`` builds the :class:`Explanation` (nodes, steps, and the ``nn.Module`` groups from
``modules``), ``fmt`` formats numbers and names, ``render_text`` / ``render_latex`` turn it
into text; ``picture`` decides what a picture shows (module clusters, collapsed modules),
``render_dot`` / ``render_svg`` (with ``layout`` when Graphviz is missing) and
``render_html`` draw it.
"""
from .trace import Explanation, NodeRow, Step, Term, explain

__all__ = ["explain", "Explanation", "NodeRow", "Step", "Term"]
