"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

>>> import chainrule as cr
>>> from chainrule import optim
>>> w = cr.tensor([3.0], dtype=cr.float64, requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> for _ in range(3):
...     opt.zero_grad()
...     cr.sum(w * w).backward()
...     opt.step()
>>> w.tolist()   # each step halves w
[0.375]
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW", "lr_scheduler",
           "Adadelta", "NAdam"]
