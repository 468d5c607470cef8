"""The exercises: from one chain of scalars to the backward pass of a convolution.

Each task's graph is evaluated by the engine (the op functions use chainrule ops) and its
reference solution is plain NumPy, so a test can check the one against the other.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..functional import mean, softmax
from ..ops.conv import conv2d
from .graph import Mistake, Op, Task

# -- 1. the chain rule on one chain ---------------------------------------------------------

CHAIN_RULE = Task(
    name="chain_rule",
    title="Exercise: the chain rule, one local derivative at a time",
    prompt="""
f(x) = e^(sin(x²)) as a chain of three nodes:   u = x²,   s = sin(u),   f = eˢ.
Starting from f̄ = ∂f/∂f = 1, give s̄ = ∂f/∂s, ū = ∂f/∂u and x̄ = ∂f/∂x at the x in ex.v.x.
Each is the previous bar times one local derivative.""",
    make=lambda rng: ({"x": np.array(0.7)}, {}),
    ops=(
        Op("u", ("x",), lambda x, c: x * x, "u = x²", {"x": "ū·2x"}, {"x": "∂u/∂x = 2x"}),
        Op("s", ("u",), lambda u, c: ops.sin(u), "s = sin(u)", {"u": "s̄·cos(u)"},
           {"u": "∂s/∂u = cos(u)"}),
        Op("f", ("s",), lambda s, c: ops.exp(s), "f = eˢ", {"s": "f̄·eˢ"}, {"s": "∂f/∂s = eˢ = f"}),
    ),
    asked=("s", "u", "x"),
    solution="""
import numpy as np

def backward(v):
    f_bar = 1.0
    s_bar = f_bar * np.exp(v.s)        # ∂f/∂s = eˢ
    u_bar = s_bar * np.cos(v.u)        # ∂s/∂u = cos u
    x_bar = u_bar * 2 * v.x            # ∂u/∂x = 2x
    return {"s": s_bar, "u": u_bar, "x": x_bar}
""",
)

# -- 2. two paths ---------------------------------------------------------------------------

TWO_PATHS = Task(
    name="two_paths",
    title="Exercise: a variable that reaches the output along two paths",
    prompt="""
z = x² + sin(x·y) with x = t² and y = eᵗ, as nodes:
    x = t²,  y = eᵗ,  a = x²,  p = x·y,  q = sin(p),  z = a + q.
Give ā, q̄, p̄, x̄, ȳ and t̄. x feeds both a and p, and t feeds both x and y: each of their
bars is a sum with one term per path.""",
    make=lambda rng: ({"t": np.array(0.5)}, {}),
    ops=(
        Op("x", ("t",), lambda t, c: t * t, "x = t²", {"t": "x̄·2t"}, {"t": "∂x/∂t = 2t"}),
        Op("y", ("t",), lambda t, c: ops.exp(t), "y = eᵗ", {"t": "ȳ·eᵗ"}, {"t": "∂y/∂t = eᵗ"}),
        Op("a", ("x",), lambda x, c: x * x, "a = x²", {"x": "ā·2x"}, {"x": "∂a/∂x = 2x"}),
        Op("p", ("x", "y"), lambda x, y, c: x * y, "p = x·y", {"x": "p̄·y", "y": "p̄·x"},
           {"x": "∂p/∂x = y", "y": "∂p/∂y = x"}),
        Op("q", ("p",), lambda p, c: ops.sin(p), "q = sin(p)", {"p": "q̄·cos(p)"},
           {"p": "∂q/∂p = cos(p)"}),
        Op("z", ("a", "q"), lambda a, q, c: a + q, "z = a + q", {"a": "z̄", "q": "z̄"},
           {"a": "∂z/∂a = 1", "q": "∂z/∂q = 1"}),
    ),
    asked=("a", "q", "p", "x", "y", "t"),
    solution="""
import numpy as np

def backward(v):
    a_bar = q_bar = 1.0                      # z = a + q
    p_bar = q_bar * np.cos(v.p)
    x_bar = a_bar * 2 * v.x + p_bar * v.y    # two paths: through a and through p
    y_bar = p_bar * v.x
    t_bar = x_bar * 2 * v.t + y_bar * np.exp(v.t)   # two paths: through x and through y
    return {"a": a_bar, "q": q_bar, "p": p_bar, "x": x_bar, "y": y_bar, "t": t_bar}
""",
)

# -- 3. the neuron with L2 regularisation ---------------------------------------------------


def _neuron_make(rng):
    return ({"w": np.array(2.0), "b": np.array(-1.0)},
            {"x": np.array(1.5), "t": np.array(1.0), "lam": np.array(0.1)})


NEURON = Task(
    name="neuron",
    title="Exercise: backward pass of a neuron with L2 regularisation",
    prompt="""
z = w·x + b,   y = σ(z),   L = ½(y − t)²,   R = ½w²,   Lreg = L + λR
(constants x, t and λ = lam are in ex.v). Starting from L̄reg = 1, give L̄, R̄, ȳ, z̄, w̄, b̄.
σ'(z) = σ(z)(1 − σ(z)) = y(1 − y).""",
    make=_neuron_make,
    ops=(
        Op("z", ("w", "b"), lambda w, b, c: w * c["x"] + b, "z = w·x + b",
           {"w": "z̄·x", "b": "z̄"}, {"w": "∂z/∂w = x", "b": "∂z/∂b = 1"}),
        Op("y", ("z",), lambda z, c: ops.sigmoid(z), "y = σ(z)", {"z": "ȳ·σ'(z) = ȳ·y(1 − y)"},
           {"z": "∂y/∂z = σ'(z) = y(1 − y)"}),
        Op("L", ("y",), lambda y, c: 0.5 * (y - c["t"]) ** 2, "L = ½(y − t)²",
           {"y": "L̄·(y − t)"}, {"y": "∂L/∂y = y − t"}),
        Op("R", ("w",), lambda w, c: 0.5 * w * w, "R = ½w²", {"w": "R̄·w"},
           {"w": "∂R/∂w = w"}),
        Op("Lreg", ("L", "R"), lambda L, R, c: L + c["lam"] * R, "Lreg = L + λR",
           {"L": "L̄reg", "R": "L̄reg·λ"}, {"L": "∂Lreg/∂L = 1", "R": "∂Lreg/∂R = λ"}),
    ),
    asked=("L", "R", "y", "z", "w", "b"),
    solution="""
def backward(v):
    L_bar = 1.0                          # Lreg = L + λR
    R_bar = v.lam
    y_bar = L_bar * (v.y - v.t)
    z_bar = y_bar * v.y * (1 - v.y)      # σ'(z) = y(1 − y)
    w_bar = z_bar * v.x + R_bar * v.w    # two paths: through z and through R
    b_bar = z_bar
    return {"L": L_bar, "R": R_bar, "y": y_bar, "z": z_bar, "w": w_bar, "b": b_bar}
""",
)

# -- 4. a two-layer network on a batch ------------------------------------------------------


def _two_layer_make(rng):
    # Distinct sizes (N, D, H, K) = (4, 3, 5, 2), so that a transposed or mis-summed gradient
    # has a shape of its own and the checker can tell which mistake made it.
    return ({"W1": rng.normal(size=(3, 5)), "b1": rng.normal(size=5) * 0.1,
             "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=2) * 0.1},
            {"X": rng.normal(size=(4, 3)), "T": rng.normal(size=(4, 2))})


TWO_LAYER = Task(
    name="two_layer",
    title="Exercise: backward pass of a two-layer network on a batch",
    prompt="""
A batch of N = 4 inputs X (4×3), one per row, and targets T (4×2):
    Z = X W1 + b1   (4×5),   H = σ(Z),   Y = H W2 + b2   (4×2),   L = ½ Σ (Y − T)².
Give Ȳ, W̄2, b̄2, H̄, Z̄, W̄1, b̄1 (each with the shape of its node). b1 and b2 are broadcast
over the rows of the batch.""",
    make=_two_layer_make,
    ops=(
        Op("Z", ("W1", "b1"), lambda W1, b1, c: c["X"] @ W1 + b1, "Z = X W1 + b1",
           {"W1": "Xᵀ Z̄", "b1": "Σₙ Z̄[n, :] (sum over the batch axis 0)"},
           {"W1": "∂(X W1)/∂W1 pulls Z̄ back as Xᵀ Z̄",
            "b1": "b1 was broadcast over the rows: its gradient sums Z̄ over axis 0"}),
        Op("H", ("Z",), lambda Z, c: ops.sigmoid(Z), "H = σ(Z)", {"Z": "H̄ ∘ H ∘ (1 − H)"},
           {"Z": "∂H/∂Z = σ'(Z) = H(1 − H), elementwise"}),
        Op("Y", ("H", "W2", "b2"), lambda H, W2, b2, c: H @ W2 + b2, "Y = H W2 + b2",
           {"H": "Ȳ W2ᵀ", "W2": "Hᵀ Ȳ", "b2": "Σₙ Ȳ[n, :] (sum over the batch axis 0)"},
           {"H": "∂(H W2)/∂H pulls Ȳ back as Ȳ W2ᵀ",
            "W2": "∂(H W2)/∂W2 pulls Ȳ back as Hᵀ Ȳ",
            "b2": "b2 was broadcast over the rows: its gradient sums Ȳ over axis 0"}),
        Op("L", ("Y",), lambda Y, c: 0.5 * ops.sum((Y - c["T"]) ** 2), "L = ½ Σ (Y − T)²",
           {"Y": "L̄·(Y − T)"}, {"Y": "∂L/∂Y = Y − T"}),
    ),
    asked=("Y", "W2", "b2", "H", "Z", "W1", "b1"),
    solution="""
def backward(v):
    Y_bar = v.Y - v.T
    W2_bar = v.H.T @ Y_bar               # (5×4)(4×2): the shape of W2
    b2_bar = Y_bar.sum(axis=0)           # b2 was broadcast over the batch axis
    H_bar = Y_bar @ v.W2.T
    Z_bar = H_bar * v.H * (1 - v.H)      # σ'(Z) = H(1 − H)
    W1_bar = v.X.T @ Z_bar
    b1_bar = Z_bar.sum(axis=0)
    return {"Y": Y_bar, "W2": W2_bar, "b2": b2_bar, "H": H_bar, "Z": Z_bar,
            "W1": W1_bar, "b1": b1_bar}
""",
)

# -- 5. softmax cross-entropy ---------------------------------------------------------------


def _softmax_make(rng):
    return {"S": rng.normal(size=(4, 3))}, {"labels": np.array([0, 2, 1, 2])}


def _pick(P, c):
    return P[np.arange(len(c["labels"])), c["labels"]]


def _softmax_axis0(v, g):
    """S̄ with the softmax's Jacobian summed over the batch (axis 0) instead of the classes."""
    return v["P"] * (g["P"] - (g["P"] * v["P"]).sum(axis=0, keepdims=True))


SOFTMAX_CE = Task(
    name="softmax_ce",
    title="Exercise: backward pass of softmax cross-entropy",
    prompt="""
Scores S (4 examples × 3 classes) and the right class of each example in labels:
    P = softmax(S) along each row,   nll[n] = −log P[n, labels[n]],   L = mean(nll).
Give n̄ll, P̄ and S̄. Only the right class's probability enters nll; the softmax mixes a row.""",
    make=_softmax_make,
    ops=(
        Op("P", ("S",), lambda S, c: softmax(S, axis=1), "P = softmax(S) per row",
           {"S": "P ∘ (P̄ − Σₖ P̄[:, k] P[:, k]) (the sum runs over the classes, axis 1, "
                 "one per row)"},
           {"S": "∂P[n, i]/∂S[n, j] = P[n, i](δᵢⱼ − P[n, j]) within each row n"}),
        Op("nll", ("P",), lambda P, c: -ops.log(_pick(P, c)), "nll[n] = −log P[n, labels[n]]",
           {"P": "−n̄ll[n] / P[n, labels[n]] at the right class, 0 elsewhere"},
           {"P": "∂nll[n]/∂P[n, labels[n]] = −1/P[n, labels[n]]"}),
        Op("L", ("nll",), lambda nll, c: mean(nll), "L = mean(nll)", {"nll": "L̄ / N"},
           {"nll": "∂L/∂nll[n] = 1/N"}),
    ),
    asked=("nll", "P", "S"),
    mistakes=(Mistake("S", "summed over the wrong axis", _softmax_axis0,
                      "your S̄ sums P̄ ∘ P over axis 0 (the batch); the softmax normalises each "
                      "row, so the sum in its Jacobian runs over the classes, axis 1"),),
    hints={"S": ("all together, S̄ = (P − onehot(labels)) / N",)},
    solution="""
import numpy as np

def backward(v):
    N = len(v.labels)
    nll_bar = np.full(N, 1.0 / N)              # L = mean(nll)
    P_bar = np.zeros_like(v.P)
    rows = np.arange(N)
    P_bar[rows, v.labels] = -nll_bar / v.P[rows, v.labels]
    S_bar = v.P * (P_bar - (P_bar * v.P).sum(axis=1, keepdims=True))
    return {"nll": nll_bar, "P": P_bar, "S": S_bar}
""",
)

# -- 6. a convolution -----------------------------------------------------------------------


def _conv_make(rng):
    return ({"x": rng.normal(size=(5, 5)), "w": rng.normal(size=(3, 3))},
            {"T": rng.normal(size=(3, 3))})


def _correlate(x, w):
    """Valid cross-correlation of 2-D arrays, as conv2d computes it (no kernel flip)."""
    k, m = w.shape
    out = np.zeros((x.shape[0] - k + 1, x.shape[1] - m + 1))
    for i in range(k):
        for j in range(m):
            out += w[i, j] * x[i:i + out.shape[0], j:j + out.shape[1]]
    return out


def _conv_unflipped(v, g):
    """x̄ from sliding the unflipped kernel over the padded Ȳ: the kernel flip forgotten."""
    k = v["w"].shape[0]
    return _correlate(np.pad(g["Y"], k - 1), v["w"])


def _conv_w_flipped(v, g):
    return g["w"][::-1, ::-1]


CONV = Task(
    name="conv",
    title="Exercise: backward pass of a convolution",
    prompt="""
An image x (5×5) and a kernel w (3×3); Y = x ⋆ w is conv2d's valid cross-correlation,
    Y[a, b] = Σᵢⱼ w[i, j] x[a + i, b + j]   (3×3),   L = ½ Σ (Y − T)².
Give Ȳ, w̄ and x̄. Each w[i, j] and each x pixel is used at several output positions.""",
    make=_conv_make,
    ops=(
        Op("Y", ("x", "w"),
           lambda x, w, c: conv2d(x.reshape(1, 1, 5, 5), w.reshape(1, 1, 3, 3)).reshape(3, 3),
           "Y = x ⋆ w",
           {"w": "w̄[i, j] = Σ_ab Ȳ[a, b] x[a + i, b + j] (x cross-correlated with Ȳ)",
            "x": "x̄ = Ȳ, zero-padded by 2, cross-correlated with w flipped in both axes "
                 "(x̄[a + i, b + j] += Ȳ[a, b] w[i, j])"},
           {"w": "∂Y[a, b]/∂w[i, j] = x[a + i, b + j]",
            "x": "∂Y[a, b]/∂x[a + i, b + j] = w[i, j]"}),
        Op("L", ("Y",), lambda Y, c: 0.5 * ops.sum((Y - c["T"]) ** 2), "L = ½ Σ (Y − T)²",
           {"Y": "L̄·(Y − T)"}, {"Y": "∂L/∂Y = Y − T"}),
    ),
    asked=("Y", "w", "x"),
    mistakes=(
        Mistake("x", "kernel not flipped", _conv_unflipped,
                "your x̄ slides w over the padded Ȳ without flipping it; the transpose of a "
                "cross-correlation is a cross-correlation with the kernel flipped in both "
                "axes (w[::-1, ::-1])"),
        Mistake("w", "kernel not flipped", _conv_w_flipped,
                "your w̄ is flipped in both axes: it correlates Ȳ with x the wrong way round; "
                "w̄[i, j] pairs Ȳ[a, b] with x[a + i, b + j]"),
    ),
    solution="""
import numpy as np

def backward(v):
    Y_bar = v.Y - v.T
    k = v.w.shape[0]
    w_bar = np.zeros_like(v.w)
    x_bar = np.zeros_like(v.x)
    for a in range(Y_bar.shape[0]):
        for b in range(Y_bar.shape[1]):
            w_bar += Y_bar[a, b] * v.x[a:a + k, b:b + k]   # ∂Y[a,b]/∂w = the window
            x_bar[a:a + k, b:b + k] += Y_bar[a, b] * v.w    # ∂Y[a,b]/∂window = w
    return {"Y": Y_bar, "w": w_bar, "x": x_bar}
""",
)

TASKS = {t.name: t for t in (CHAIN_RULE, TWO_PATHS, NEURON, TWO_LAYER, SOFTMAX_CE, CONV)}
