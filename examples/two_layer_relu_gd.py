"""Training f(x) = relu(W₂·relu(W₁x)) by plain gradient descent, the update written by hand.

n, m, k = 100, 10, 2: x ∈ R¹⁰⁰, W₁ ∈ R¹⁰ˣ¹⁰⁰, W₂ ∈ R²ˣ¹⁰. The N training examples are the
columns of X; their targets Y come from a "teacher" network of the same shape, so a perfect
fit exists. Forward and loss:

    A = W₁X,   H = relu(A),   P = W₂H,   F = relu(P),   L = (1/2N)·Σ ‖F − Y‖²

Backprop by hand (relu'(u) = 1[u > 0], an indicator applied elementwise):

    F̄ = (F − Y)/N
    P̄ = F̄ ∘ 1[P > 0]        W̄₂ = P̄·Hᵀ
    H̄ = W₂ᵀ·P̄
    Ā = H̄ ∘ 1[A > 0]        W̄₁ = Ā·Xᵀ

Each step: W := W − α·∂L/∂W for both matrices, with no optimizer object, and chainrule's
gradients compared with these formulas on the same weights.
"""
import numpy as np

import chainrule as cr

N_IN, N_HIDDEN, N_OUT = 100, 10, 2  # n, m, k
N_EXAMPLES, STEPS, LR = 200, 100, 0.3


def problem(seed: int = 0) -> tuple[np.ndarray, ...]:
    """(X, Y, W1, W2): inputs, the teacher's targets, and the student's initial weights."""
    rng = np.random.default_rng(seed)

    def he(rows, cols):  # He initialisation keeps relu activations at unit scale
        return rng.normal(scale=np.sqrt(2 / cols), size=(rows, cols))
    X = rng.normal(size=(N_IN, N_EXAMPLES))
    Y = np.maximum(he(N_OUT, N_HIDDEN) @ np.maximum(he(N_HIDDEN, N_IN) @ X, 0), 0)
    return X, Y, he(N_HIDDEN, N_IN), he(N_OUT, N_HIDDEN)


def hand_gradients(X, Y, W1, W2) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂W₁, ∂L/∂W₂) by the docstring's formulas."""
    A = W1 @ X
    H = np.maximum(A, 0)
    P = W2 @ H
    P_bar = (np.maximum(P, 0) - Y) / X.shape[1] * (P > 0)
    A_bar = (W2.T @ P_bar) * (A > 0)
    return A_bar @ X.T, P_bar @ H.T


def loss(W1, W2, X, Y) -> cr.Tensor:
    F = cr.relu(W2 @ cr.relu(W1 @ X))
    return cr.sum((F - Y) ** 2) / (2 * X.shape[1])


def main() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    X, Y, W1_0, W2_0 = problem()
    W1 = cr.tensor(W1_0, requires_grad=True, name="W1")
    W2 = cr.tensor(W2_0, requires_grad=True, name="W2")
    worst = 0.0  # the largest disagreement with the hand formulas over all steps
    for step in range(STEPS):
        L = loss(W1, W2, X, Y)
        L.backward()
        hand_W1, hand_W2 = hand_gradients(X, Y, W1.numpy(), W2.numpy())
        worst = max(worst, np.max(np.abs(W1.grad.numpy() - hand_W1)),
                    np.max(np.abs(W2.grad.numpy() - hand_W2)))
        if step == 0:
            first_loss = L.item()
            results = {"∂L/∂W₁ at step 0": (W1.grad.numpy().copy(), hand_W1),
                       "∂L/∂W₂ at step 0": (W2.grad.numpy().copy(), hand_W2)}
        if step % 20 == 0:
            print(f"step {step:3d}  L = {L.item():.9f}")
        with cr.no_grad():  # the update is not part of the model: record no graph for it
            W1 -= LR * W1.grad
            W2 -= LR * W2.grad
        W1.grad = W2.grad = None  # .grad accumulates across backward() calls

    with cr.no_grad():
        final = loss(W1, W2, X, Y).item()
    print(f"after {STEPS} steps  L = {final:.9f}  ({first_loss / final:.0f}× lower)")
    print(f"max |backprop − hand| over all {STEPS} steps, both matrices: {worst:.1e}")
    H = np.maximum(W1.numpy() @ X, 0)
    results["final loss"] = (final, np.sum((np.maximum(W2.numpy() @ H, 0) - Y) ** 2)
                             / (2 * N_EXAMPLES))
    return results


if __name__ == "__main__":
    main()
