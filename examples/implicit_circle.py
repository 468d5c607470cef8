"""Implicit differentiation on the unit circle x² + y² = 1, at (0.6, 0.8).

Along the curve F(x, y) = x² + y² − 1 stays 0, so its total derivative is 0:

    dF/dx = F_x + F_y · dy/dx = 0   =>   dy/dx = −F_x / F_y = −2x / 2y = −x/y

Backprop supplies both partials F_x = 2x and F_y = 2y from one backward pass
(`cr.grad(F, argnums=(0, 1))`). As a cross-check, the upper half of the circle is also
the explicit curve y = √(1 − x²), whose derivative backprop gives directly.
"""
import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def F(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
    return x ** 2 + y ** 2 - 1


def upper_half(x: cr.Tensor) -> cr.Tensor:
    return cr.sqrt(1 - x ** 2)


def main() -> dict[str, tuple[float, float]]:
    x0, y0 = 0.6, 0.8
    x = cr.tensor(x0, dtype=cr.float64)
    y = cr.tensor(y0, dtype=cr.float64)

    F_x, F_y = (g.item() for g in cr.grad(F, argnums=(0, 1))(x, y))
    implicit = -F_x / F_y
    explicit = cr.grad(upper_half)(x).item()

    show("F_x at (0.6, 0.8)", F_x, "2x", 2 * x0)
    show("F_y at (0.6, 0.8)", F_y, "2y", 2 * y0)
    show("dy/dx = −F_x/F_y", implicit, "−x/y", -x0 / y0)
    show("dy/dx of y = √(1−x²)", explicit, "−x/y", -x0 / y0)
    return {
        "F_x": (F_x, 2 * x0),
        "F_y": (F_y, 2 * y0),
        "dy/dx implicit": (implicit, -x0 / y0),
        "dy/dx explicit": (explicit, -x0 / y0),
    }


if __name__ == "__main__":
    main()
