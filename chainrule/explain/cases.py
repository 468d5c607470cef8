"""Ready-made explanations for the command line and the demo."""
from __future__ import annotations

from ..errors import ChainruleError
from ..tensor import float64, tensor
from .expr import evaluate
from .trace import explain


def neuron(w: float = 0.5, b: float = -0.2, x: float = 1.5, target: float = 1.0):
    """The seed example: z = w·x + b, y = σ(z), L = ½(y − t)²."""
    from .. import ops
    wt = tensor(w, dtype=float64, requires_grad=True, name="w")
    bt = tensor(b, dtype=float64, requires_grad=True, name="b")
    z = wt * x + bt
    z.name = "z"
    y = ops.sigmoid(z)
    y.name = "y"
    loss = 0.5 * (y - target) ** 2
    loss.name = "L"
    return explain(loss)


def explain_expression(text: str, values: dict):
    """Explain a formula of named scalar variables at the given values."""
    variables = {k: tensor(v, dtype=float64, requires_grad=True, name=k)
                 for k, v in values.items()}
    out = evaluate(text, variables)
    if not getattr(out, "requires_grad", False):
        raise ChainruleError(f"--expr {text!r} does not depend on {sorted(values)}")
    return explain(out)
