"""Writes docs/neuron.svg and docs/neuron.txt, the README's picture and trace of the seed
neuron (run: .venv/bin/python docs/render_neuron.py)."""
from pathlib import Path

import chainrule as cr

HERE = Path(__file__).resolve().parent


def neuron():
    w = cr.tensor(0.5, requires_grad=True, name="w")
    b = cr.tensor(-0.2, requires_grad=True, name="b")
    z = w * 1.5 + b
    z.name = "z"
    y = cr.sigmoid(z)
    y.name = "y"
    loss = 0.5 * (y - 1.0) ** 2
    loss.name = "L"
    return cr.explain(loss)


if __name__ == "__main__":
    ex = neuron()
    (HERE / "neuron.svg").write_text(ex.to_svg())
    (HERE / "neuron.txt").write_text(ex.to_text() + "\n")
    print(ex.to_text())
