"""The single neuron with L2 regularisation, backpropagated node by node.

    z = w·x + b,   y = σ(z),   L = ½(y − t)²,   R = ½w²,   L_reg = L + λR

Backward, writing v̄ = ∂L_reg/∂v and starting from the output:

    L̄ = 1,   R̄ = λ
    ȳ = L̄·(y − t)
    z̄ = ȳ·σ'(z) = ȳ·σ(z)(1 − σ(z))
    w̄ = z̄·x + R̄·w       w reaches L_reg along two paths, through z and through R
    b̄ = z̄

`cr.explain` prints every one of these steps as the engine ran it (its auto-named nodes
split z = w·x + b into mul₁ = w·x and z = mul₁ + b, and R = ½w² into pow₂ = w² and
R = ½·pow₂); then its z̄ and R̄ are put into the two formulas above.
"""
import math

import chainrule as cr

W, B, X, T, LAM = 2.0, -1.0, 1.5, 1.0, 0.1  # the neuron of the README's first five minutes


def show(what: str, backprop: float, formula: str, hand: float) -> None:
    print(f"{what}:  backprop = {backprop:.9f}  by hand {formula} = {hand:.9f}"
          f"  |diff| = {abs(backprop - hand):.1e}")


def main() -> dict[str, tuple[float, float]]:
    w = cr.tensor(W, dtype=cr.float64, requires_grad=True, name="w")
    b = cr.tensor(B, dtype=cr.float64, requires_grad=True, name="b")
    z = w * X + b
    y = cr.sigmoid(z)
    L = 0.5 * (y - T) ** 2
    R = 0.5 * w ** 2
    L_reg = L + LAM * R
    for t, name in ((z, "z"), (y, "y"), (L, "L"), (R, "R"), (L_reg, "L_reg")):
        t.name = name  # explain labels nodes by these names

    ex = cr.explain(L_reg)
    print(ex.to_text())
    print("\nThe same backward pass in bar notation (to_latex()):")
    print(ex.to_latex())
    bar = {name: float(g) for name, g in ex.grads.items()}
    L_reg.backward()  # the ordinary backward pass: explain observed this very sweep

    # The hand formulas from the docstring, in plain floats.
    s = 1 / (1 + math.exp(-(W * X + B)))
    z_bar = (s - T) * s * (1 - s)
    print()
    show("z̄", bar["z"], "(y − t)·σ(z)(1 − σ(z))", z_bar)
    show("R̄", bar["R"], "λ", LAM)
    show("w̄", bar["w"], "z̄·x + R̄·w", z_bar * X + LAM * W)
    show("b̄", bar["b"], "z̄", z_bar)
    show("w̄ from the trace's own z̄, R̄", bar["w"], "z̄·x + R̄·w", bar["z"] * X + bar["R"] * W)
    return {
        "z̄": (bar["z"], z_bar),
        "R̄": (bar["R"], LAM),
        "w̄ = z̄x + R̄w": (bar["w"], z_bar * X + LAM * W),
        "b̄ = z̄": (bar["b"], z_bar),
        "w.grad after backward()": (w.grad.item(), z_bar * X + LAM * W),
        "b.grad after backward()": (b.grad.item(), z_bar),
    }


if __name__ == "__main__":
    main()
