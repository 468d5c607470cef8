"""Run every worked example of backprop in order (what `chainrule demo` shows).

    python examples/run_all.py

The examples that draw a plot write it into ./chainrule-examples/ (``run_all(out=...)``
chooses another folder).
"""
from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

# (file stem, heading), in teaching order: one chain, longer chains, several paths, a neuron,
# higher order, implicit functions; then vectors, matrices, layers and training; last, what a
# gradient costs.
EXAMPLES: list[tuple[str, str]] = [
    ("sin_of_square", "1. d/dx sin(x²): the chain rule"),
    ("exp_of_sin_of_square", "2. d/dx e^(sin x²): a chain of three"),
    ("exp_of_sqrt", "3. d/dx e^√x"),
    ("two_paths", "4. dz/dt along two paths: the multivariable chain rule"),
    ("neuron_l2", "5. A neuron with L2 regularisation, step by step: w̄ = z̄x + R̄w, b̄ = z̄"),
    ("second_derivative", "6. The second derivative of sin(x²)"),
    ("implicit_circle", "7. Implicit differentiation on the circle x² + y² = 1"),
    ("vector_chain_rule", "8. The vector chain rule J_yx = J_yu·J_ux"),
    ("vectorized_two_layer", "9. The two-layer network in matrices: W̄⁽²⁾ = ȳhᵀ, h̄ = W⁽²⁾ᵀȳ, "
                             "z̄ = h̄ ∘ σ'(z), W̄⁽¹⁾ = z̄xᵀ"),
    ("delta_propagation", "10. Layer by layer over a batch: the δ recursion"),
    ("two_layer_relu_gd", "11. Training relu(W₂ relu(W₁x)) by gradient descent, by hand"),
    ("rosenbrock_hessian", "12. The Hessian of the Rosenbrock function"),
    ("symbolic_vs_backprop", "13. Why backprop wins: symbolic derivatives against shared work"),
    ("gradient_cost", "14. The cost of a gradient: backprop against finite differences"),
]


def load(stem: str) -> ModuleType:
    """Import examples/<stem>.py by path: examples/ is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location(f"_chainrule_example_{stem}",
                                                  HERE / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_all(out: str | Path | None = None) -> dict[str, dict]:
    """Run each example's ``main()`` under a heading; returns {stem: that main()'s result}.
    ``out``: the folder for the examples that write files (each has its own default)."""
    results = {}
    for stem, heading in EXAMPLES:
        print(f"\n== {heading} ({stem}.py) ==")
        main = load(stem).main
        writes = out is not None and "out" in inspect.signature(main).parameters
        results[stem] = main(out=out) if writes else main()
    return results


if __name__ == "__main__":
    run_all()
