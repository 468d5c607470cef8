"""dz/dt when t reaches z along two paths: the multivariable chain rule.

    z = x² + sin(x·y),   x = t²,   y = eᵗ,   at t = 0.5

t influences z through x and through y, so the total derivative is the SUM over paths of
the product of the derivatives along each path:

    dz/dt = ∂z/∂x · dx/dt  +  ∂z/∂y · dy/dt
          = (2x + y·cos(xy)) · 2t  +  (x·cos(xy)) · eᵗ

Backprop gets the sum for free: t is used twice, and the backward pass adds the
cotangents arriving at t from both uses (t̄ = x̄·dx/dt + ȳ·dy/dt). Below, `cr.gradient`
also pulls out each path's factors separately, to show the two contributions.
"""
import math

import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def main() -> dict[str, tuple[float, float]]:
    t = cr.tensor(0.5, dtype=cr.float64, requires_grad=True, name="t")
    x = t ** 2
    y = cr.exp(t)
    z = x ** 2 + cr.sin(x * y)

    # Partial derivatives at the intermediate nodes; retain the graph for the sweeps after.
    dz_dx, dz_dy = cr.gradient(z, [x, y], retain_graph=True)
    (dx_dt,) = cr.gradient(x, t, retain_graph=True)
    (dy_dt,) = cr.gradient(y, t, retain_graph=True)
    path_x = (dz_dx * dx_dt).item()
    path_y = (dz_dy * dy_dt).item()
    z.backward()  # the ordinary full backward pass: both paths at once
    total = t.grad.item()

    # The same by hand, in plain floats.
    tv = 0.5
    xv, yv = tv ** 2, math.exp(tv)
    hand_x = (2 * xv + yv * math.cos(xv * yv)) * 2 * tv
    hand_y = (xv * math.cos(xv * yv)) * math.exp(tv)

    show("path via x  ∂z/∂x·dx/dt", path_x, "(2x + y·cos(xy))·2t", hand_x)
    show("path via y  ∂z/∂y·dy/dt", path_y, "x·cos(xy)·eᵗ", hand_y)
    show("dz/dt at t=0.5 (backward)", total, "sum of both paths", hand_x + hand_y)
    return {
        "path via x": (path_x, hand_x),
        "path via y": (path_y, hand_y),
        "dz/dt": (total, hand_x + hand_y),
        "dz/dt = sum of paths": (total, path_x + path_y),
    }


if __name__ == "__main__":
    main()
