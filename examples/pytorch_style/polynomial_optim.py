"""Fit sin(x) on [-π, π] with a cubic built from ``nn`` layers, trained by an optimizer
(RMSprop) instead of hand-written updates. PyTorch's idiom, run by chainrule.

Replace the import line below by ``import torch`` and the program runs on PyTorch unchanged
(``tests/test_pytorch_style_examples.py`` checks that both fit the same coefficients).

    python examples/pytorch_style/polynomial_optim.py
"""
import math

import chainrule as torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

powers = torch.tensor([1, 2, 3])
features = x.unsqueeze(-1).pow(powers)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
loss_fn = torch.nn.MSELoss(reduction="sum")

# The optimizer holds the parameters it updates; RMSprop scales each step by a running
# average of the squared gradient, so one learning rate suits all four coefficients.
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for step in range(2000):
    y_pred = model(features)
    loss = loss_fn(y_pred, y)
    if step % 200 == 199:
        print(f"step {step + 1:5d}  loss {loss.item():12.4f}")

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
a = linear_layer.bias.item()
b, c, d = (linear_layer.weight[:, i].item() for i in range(3))
print(f"Result: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3")
