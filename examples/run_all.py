"""Run every worked example of backprop in order (what `chainrule demo` shows).

    python examples/run_all.py
"""
import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

# (file stem, heading), in teaching order: one chain, longer chains, several paths,
# higher order, implicit functions, then vectors and matrices.
EXAMPLES: list[tuple[str, str]] = [
    ("sin_of_square", "1. d/dx sin(x²): the chain rule"),
    ("exp_of_sin_of_square", "2. d/dx e^(sin x²): a chain of three"),
    ("exp_of_sqrt", "3. d/dx e^√x"),
    ("two_paths", "4. dz/dt along two paths: the multivariable chain rule"),
    ("second_derivative", "5. The second derivative of sin(x²)"),
    ("implicit_circle", "6. Implicit differentiation on the circle x² + y² = 1"),
    ("vector_chain_rule", "7. The vector chain rule J_yx = J_yu·J_ux"),
    ("rosenbrock_hessian", "8. The Hessian of the Rosenbrock function"),
]


def load(stem: str) -> ModuleType:
    """Import examples/<stem>.py by path: examples/ is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location(f"_chainrule_example_{stem}",
                                                  HERE / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_all() -> dict[str, dict]:
    """Run each example's ``main()`` under a heading; returns {stem: that main()'s result}."""
    results = {}
    for stem, heading in EXAMPLES:
        print(f"\n== {heading} ({stem}.py) ==")
        results[stem] = load(stem).main()
    return results


if __name__ == "__main__":
    run_all()
