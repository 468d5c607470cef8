"""Writes the README's pictures and traces from the shipped examples, so that their numbers
are the README's: docs/neuron.svg and docs/neuron.txt (the README's first snippet: the neuron
with w = 2, b = -1, x = 1.5, t = 1) and docs/explain-mlp.svg and .txt (`chainrule explain mlp`,
each layer one box). The pictures use the built-in layout top to bottom, whatever is
installed, so they are the same on every machine and readable at the README's 880 px.
Run: python docs/render_neuron.py (tests/test_explain_v2.py checks the files are current)."""
from pathlib import Path

from chainrule.explain.cases import mlp, neuron
from chainrule.explain.render_svg import layered_svg

HERE = Path(__file__).resolve().parent
README_NEURON = {"w": 2.0, "b": -1.0, "x": 1.5, "target": 1.0}  # the README's snippet


def pictures() -> dict:
    """File name -> content, for every file this script writes."""
    ex, net = neuron(**README_NEURON), mlp()
    return {"neuron.svg": layered_svg(ex, None, "TB") + "\n", "neuron.txt": ex.to_text() + "\n",
            "explain-mlp.svg": layered_svg(net, True, "TB") + "\n",
            "explain-mlp.txt": net.to_text() + "\n"}


if __name__ == "__main__":
    for name, content in pictures().items():
        (HERE / name).write_text(content, encoding="utf-8")
        print("wrote", HERE / name)
