"""Ready-made explanations for the command line and the demo. Each takes ``focus``: the name
of one of its parameters, to keep only the paths from it to the loss (``W1`` finds ``W₁``)."""
from __future__ import annotations

import numpy as np

from ..errors import ChainruleError
from ..tensor import float64, tensor
from . import fmt
from .expr import evaluate
from .trace import explain


def _explain(loss, parameters: dict, focus: str | None):
    if focus is None:
        return explain(loss)
    base = focus.rstrip("0123456789")
    typed = base + fmt.sub(int(focus[len(base):])) if base != focus else focus  # W1 -> W₁
    for name in (focus, typed):
        if name in parameters:
            return explain(loss, focus=parameters[name])
    raise ChainruleError(f"--focus {focus!r}: not a parameter here; choose from "
                         f"{', '.join(parameters)}")


def _leaf(value, name):
    return tensor(value, dtype=float64, requires_grad=True, name=name)


def neuron(w: float = 0.5, b: float = -0.2, x: float = 1.5, target: float = 1.0,
           focus: str | None = None):
    """The seed example: z = w·x + b, y = σ(z), L = ½(y − t)²."""
    from .. import ops
    wt, bt = _leaf(w, "w"), _leaf(b, "b")
    xt = tensor(x, dtype=float64, name="x")  # constants get names too: every number shows
    tt = tensor(target, dtype=float64, name="t")
    z = wt * xt + bt
    z.name = "z"
    y = ops.sigmoid(z)
    y.name = "y"
    loss = 0.5 * (y - tt) ** 2
    loss.name = "L"
    return _explain(loss, {"w": wt, "b": bt}, focus)


def two_layer(focus: str | None = None):
    """f = relu(W₂ relu(W₁x)) with n, m, k = 3, 2, 2 and L = ½‖f − t‖²: every value is
    small enough to read, and the second output unit is switched off by its ReLU, so no
    gradient flows back through it."""
    from .. import ops
    x = tensor([[1.0], [2.0], [-1.0]], dtype=float64, name="x")  # vectors are columns
    w1 = _leaf([[0.6, -0.2, 0.1], [0.3, 0.4, -0.6]], "W₁")
    w2 = _leaf([[1.0, 0.5], [0.5, -0.4]], "W₂")
    t = tensor([[1.0], [0.5]], dtype=float64, name="t")
    z1 = w1 @ x
    z1.name = "z₁"
    h = ops.relu(z1)
    h.name = "h"
    z2 = w2 @ h
    z2.name = "z₂"
    f = ops.relu(z2)
    f.name = "f"
    loss = 0.5 * ((f - t) ** 2).sum()
    loss.name = "L"
    return _explain(loss, {"W₁": w1, "W₂": w2}, focus)


def mlp(batch: int = 4, seed: int = 0, focus: str | None = None):
    """One training step's loss of a 4-8-8-3 ReLU MLP (``nn.Sequential``) on a batch of
    four: softmax cross-entropy. Its nodes are grouped by the layer that computed them."""
    from .. import nn
    from ..nn import functional as F
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.ReLU(), nn.Linear(8, 8, rng=rng),
                          nn.ReLU(), nn.Linear(8, 3, rng=rng))
    x = tensor(rng.standard_normal((batch, 4)).astype(np.float32), name="x")
    y = rng.integers(0, 3, batch)
    loss = F.cross_entropy(model(x), y)
    loss.name = "L"
    return _explain(loss, dict(model.named_parameters()), focus)


def explain_expression(text: str, values: dict, focus: str | None = None):
    """Explain a formula of named scalar variables at the given values."""
    variables = {k: _leaf(v, k) for k, v in values.items()}
    out = evaluate(text, variables)
    if not getattr(out, "requires_grad", False):
        raise ChainruleError(f"--expr {text!r} does not depend on {sorted(values)}")
    return _explain(out, variables, focus)


CASES = {"neuron": neuron, "two-layer": two_layer, "mlp": mlp}  # for `chainrule explain CASE`
