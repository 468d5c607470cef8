"""The second derivative of sin(x²), by differentiating the backward pass itself.

First derivative (chain rule):   f'(x)  = 2x·cos(x²)
Second derivative (product rule on 2x · cos(x²), chain rule on cos(x²)):

    f''(x) = 2·cos(x²) + 2x · (-sin(x²) · 2x) = 2cos(x²) − 4x²·sin(x²)

Backprop can do this because the backward pass is itself built from differentiable ops:
  * `cr.grad(cr.grad(f))` composes the transform with itself (JAX style);
  * `y.backward(create_graph=True)` records the backward pass as a graph, so x.grad is a
    tensor that can be backpropagated again (PyTorch style).
"""
import math

import chainrule as cr


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def f(x: cr.Tensor) -> cr.Tensor:
    return cr.sin(x ** 2)


def main() -> dict[str, tuple[float, float]]:
    x0 = 3.0
    hand1 = 2 * x0 * math.cos(x0 ** 2)
    hand2 = 2 * math.cos(x0 ** 2) - 4 * x0 ** 2 * math.sin(x0 ** 2)

    # JAX style: a transform of a transform.
    d2_transform = cr.grad(cr.grad(f))(cr.tensor(x0, dtype=cr.float64)).item()

    # PyTorch style: backward twice.
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True, name="x")
    f(x).backward(create_graph=True)
    dfdx = x.grad      # 2x·cos(x²), still attached to a graph
    x.grad = None      # .grad accumulates: clear it, or f'' would be added to f'
    dfdx.backward()
    d1_backward = dfdx.item()
    d2_backward = x.grad.item()

    show("f'(3)  backward(create_graph=True)", d1_backward, "2x·cos(x²)", hand1)
    show("f''(3) cr.grad(cr.grad(f))", d2_transform, "2cos(x²) − 4x²·sin(x²)", hand2)
    show("f''(3) backward twice", d2_backward, "2cos(x²) − 4x²·sin(x²)", hand2)
    return {
        "f' by backward": (d1_backward, hand1),
        "f'' by grad(grad(f))": (d2_transform, hand2),
        "f'' by backward twice": (d2_backward, hand2),
    }


if __name__ == "__main__":
    main()
