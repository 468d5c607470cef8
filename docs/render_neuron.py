"""Writes docs/neuron.svg and docs/neuron.txt, the README's picture and trace of the seed
neuron (run: .venv/bin/python docs/render_neuron.py; `chainrule explain neuron` does the same
into any folder)."""
from pathlib import Path

from chainrule.explain.cases import neuron

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    ex = neuron()
    (HERE / "neuron.svg").write_text(ex.to_svg())
    (HERE / "neuron.txt").write_text(ex.to_text() + "\n")
    print(ex.to_text())
