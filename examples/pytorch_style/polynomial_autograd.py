"""Fit sin(x) on [-π, π] with a cubic a + b x + c x² + d x³, by hand-written gradient descent
on gradients that autograd computes: PyTorch's idiom, run by chainrule.

The program is a PyTorch program: replace the import line below by ``import torch`` and it
runs on PyTorch unchanged (``tests/test_pytorch_style_examples.py`` does exactly that, and
checks that both fit the same coefficients).

    python examples/pytorch_style/polynomial_autograd.py
"""
import math

import chainrule as torch

dtype = torch.float
device = torch.device("cpu")  # chainrule runs on the CPU; "cuda" would be refused clearly

# 2000 points of the curve to fit.
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# The four coefficients, random to start with; requires_grad=True asks autograd to track
# every operation on them, so that backward() can fill in their .grad.
a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for step in range(2000):
    # Forward pass: the polynomial's prediction, and the summed squared error.
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if step % 200 == 199:
        print(f"step {step + 1:5d}  loss {loss.item():12.4f}")

    # Backward pass: d loss / d a, ..., d loss / d d, into a.grad, ..., d.grad.
    loss.backward()

    # The update itself must not be recorded (it is not part of the model), and the gradients
    # are reset afterwards, since backward() adds to whatever .grad already holds.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
