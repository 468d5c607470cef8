"""Fit sin(x) on [-π, π] with a cubic, the model built from ``nn`` layers: a Linear layer on
the features (x, x², x³), a summed squared-error loss, and hand-written gradient descent over
``model.parameters()``. PyTorch's idiom, run by chainrule.

Replace the import line below by ``import torch`` and the program runs on PyTorch unchanged
(``tests/test_pytorch_style_examples.py`` checks that both fit the same coefficients).

    python examples/pytorch_style/polynomial_nn.py
"""
import math

import chainrule as torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Features (x, x², x³) for each point: x of shape (2000,) becomes (2000, 1), and raising it
# to the powers (1, 2, 3) broadcasts to (2000, 3).
powers = torch.tensor([1, 2, 3])
features = x.unsqueeze(-1).pow(powers)

# Linear(3, 1) holds the coefficients b, c, d (its weight) and a (its bias); Flatten(0, 1)
# turns the (2000, 1) output into (2000,), the shape of y.
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
for step in range(2000):
    y_pred = model(features)
    loss = loss_fn(y_pred, y)
    if step % 200 == 199:
        print(f"step {step + 1:5d}  loss {loss.item():12.4f}")

    model.zero_grad()  # gradients add up across backward() calls: start from none
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
a = linear_layer.bias.item()
b, c, d = (linear_layer.weight[:, i].item() for i in range(3))
print(f"Result: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3")
