"""d/dx e^(√x) at x = 2.

With u = √x and y = e^u:

    dy/dx = dy/du · du/dx = e^u · 1/(2√x) = e^√x / (2√x)

At x = 2: e^1.41421... / 2.82842... = 1.454253618...
"""
import math

import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def main() -> dict[str, tuple[float, float]]:
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True, name="x")
    y = cr.exp(cr.sqrt(x))
    y.backward()

    backprop = x.grad.item()
    hand = math.exp(math.sqrt(2.0)) / (2 * math.sqrt(2.0))
    show("d/dx e^√x at x=2", backprop, "e^√x/(2√x)", hand)
    return {"d/dx e^√x": (backprop, hand)}


if __name__ == "__main__":
    main()
