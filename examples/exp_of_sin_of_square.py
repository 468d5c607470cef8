"""d/dx e^(sin(x²)) at x = 0.7: a chain of three links.

Name the intermediate values u = x², v = sin(u), y = e^v. Each link contributes its local
derivative and the chain rule multiplies them:

    dy/dx = dy/dv · dv/du · du/dx = e^v · cos(u) · 2x = e^(sin x²) · cos(x²) · 2x

Backprop evaluates that product right to left (from y back to x), one factor per node;
`cr.grad` wraps the same backward pass as a function transform.
"""
import math

import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def f(x: cr.Tensor) -> cr.Tensor:
    return cr.exp(cr.sin(x ** 2))


def main() -> dict[str, tuple[float, float]]:
    x = 0.7
    backprop = cr.grad(f)(cr.tensor(x, dtype=cr.float64)).item()
    hand = math.exp(math.sin(x ** 2)) * math.cos(x ** 2) * 2 * x
    show("d/dx e^(sin x²) at x=0.7", backprop, "e^(sin x²)·cos(x²)·2x", hand)
    return {"d/dx e^(sin x²)": (backprop, hand)}


if __name__ == "__main__":
    main()
