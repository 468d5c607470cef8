"""d/dx sin(x²) at x = 3: the chain rule with two links.

Write y = sin(u) with u = x². The chain rule multiplies the local derivatives along the
chain x -> u -> y:

    dy/dx = dy/du · du/dx = cos(u) · 2x = 2x·cos(x²)

At x = 3: 2·3·cos(9) = -5.466781571...

Backprop does exactly this from the output end: it seeds ȳ = 1, then ū = ȳ·cos(u) and
x̄ = ū·2x.
"""
import math

import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def main() -> dict[str, tuple[float, float]]:
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True, name="x")
    y = cr.sin(x ** 2)
    y.backward()  # fills x.grad with dy/dx

    backprop = x.grad.item()
    hand = 2 * 3.0 * math.cos(3.0 ** 2)
    show("d/dx sin(x²) at x=3", backprop, "2x·cos(x²)", hand)
    return {"d/dx sin(x²)": (backprop, hand)}


if __name__ == "__main__":
    main()
