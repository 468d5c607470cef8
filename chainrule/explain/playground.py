"""``chainrule playground``: a local page in the spirit of TensorFlow Playground, driven by
chainrule. Pick 2-D toy data (moons, circles, spirals, xor), the hidden layers, activation,
optimizer and learning rate; train live and watch the decision boundary, the loss curve and
one sample's graph with its gradients change every step.

All training and every number happen here, in chainrule (``Playground``); the page asks for
steps and draws what it gets back: boundary probabilities on a grid, the losses, and the
sample's explanation as laid out by ``render_html.page_data``.
"""
from __future__ import annotations

import math

import numpy as np

DATASETS = ("moons", "circles", "spirals", "xor")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
GRID = 40  # boundary resolution: GRID × GRID points
MAX_UNITS, MAX_LAYERS, MAX_STEPS = 32, 4, 200  # per layer, hidden layers, steps per request


def make_data(name: str, n: int = 200, noise: float = 0.1, seed: int = 0):
    """``(X, y)``: ``n`` points in 2-D, standardized, and their 0/1 labels.

    >>> X, y = make_data("xor", n=8)
    >>> X.shape, sorted(set(y.tolist()))
    ((8, 2), [0, 1])
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    if name == "moons":
        a = rng.uniform(0, math.pi, half)
        b = rng.uniform(0, math.pi, n - half)
        X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                            np.stack([1 - np.cos(b), 0.5 - np.sin(b)], 1)])
        y = np.r_[np.zeros(half), np.ones(n - half)]
        X += rng.normal(0, noise, X.shape)
    elif name == "circles":
        a = rng.uniform(0, 2 * math.pi, n)
        r = np.r_[np.full(half, 1.0), np.full(n - half, 0.45)]
        X = np.stack([r * np.cos(a), r * np.sin(a)], 1) + rng.normal(0, noise, (n, 2))
        y = np.r_[np.zeros(half), np.ones(n - half)]
    elif name == "spirals":
        t = np.sqrt(rng.uniform(0.05, 1, half)) * 3 * math.pi
        arm = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * math.pi)
        X = np.concatenate([arm, -arm]) + rng.normal(0, noise / 2, (2 * half, 2))
        y = np.r_[np.zeros(half), np.ones(half)]
    elif name == "xor":
        X = rng.uniform(-1, 1, (n, 2))
        X += np.sign(X) * 0.1  # a margin around the axes
        y = (X[:, 0] * X[:, 1] < 0).astype(np.float64)
        X += rng.normal(0, noise / 2, X.shape)
    else:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float64), y.astype(np.int64)


def _settings(message: dict) -> dict:
    """Checked settings from the page (anything wrong is a ValueError naming it)."""
    dataset = message.get("dataset", "moons")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}")
    text = str(message.get("layers", "8, 8")).strip()
    try:
        layers = [int(v) for v in text.replace(",", " ").split()] if text else []
    except ValueError:
        raise ValueError(f"layers: {text!r} is not a list of whole numbers, e.g. 8, 8") \
            from None
    if len(layers) > MAX_LAYERS or any(not 1 <= n <= MAX_UNITS for n in layers):
        raise ValueError(f"layers: up to {MAX_LAYERS} hidden layers of 1 to {MAX_UNITS} units")
    activation = message.get("activation", "tanh")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")
    optimizer = message.get("optimizer", "adam")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
    try:
        lr = float(message.get("lr", 0.03))
    except (TypeError, ValueError):
        raise ValueError("learning rate: not a number") from None
    if not (math.isfinite(lr) and 0 < lr <= 10):
        raise ValueError("learning rate must be a number in (0, 10]")
    try:
        seed = int(message.get("seed", 0))
    except (TypeError, ValueError):
        raise ValueError("seed: not a whole number") from None
    return {"dataset": dataset, "layers": layers, "activation": activation,
            "optimizer": optimizer, "lr": lr, "seed": seed}


class Playground:
    """One model on one dataset, trained by chainrule a few full-batch steps at a time."""

    def __init__(self, **settings):
        self.reset(settings)

    def reset(self, message: dict) -> None:
        from .. import nn, optim
        s = _settings(message)
        self.settings = s
        self.X, self.y = make_data(s["dataset"], seed=s["seed"])
        rng = np.random.default_rng(s["seed"])
        act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[s["activation"]]
        layers, width = [], 2
        for n in s["layers"]:
            layers += [nn.Linear(width, n, rng=rng, dtype=np.float64), act()]
            width = n
        layers.append(nn.Linear(width, 1, rng=rng, dtype=np.float64))
        self.model = nn.Sequential(*layers)
        make = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSprop}
        self.opt = make[s["optimizer"]](self.model.parameters(), lr=s["lr"])
        self.step_count, self.losses, self.sample = 0, [], 0
        lo, hi = self.X.min(0) - 0.5, self.X.max(0) + 0.5
        self.extent = [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(hi[1], lo[1], GRID))
        self.grid = np.stack([gx.ravel(), gy.ravel()], 1)

    def _loss(self, X, y):
        from ..nn import functional as F
        from ..tensor import tensor
        logits = self.model(tensor(X, name="x")).reshape(-1)
        target = tensor(y.astype(np.float64), name="t")
        loss = F.binary_cross_entropy_with_logits(logits, target)
        loss.name = "L"
        return loss

    def train(self, steps: int) -> None:
        for _ in range(steps):
            self.opt.zero_grad()
            loss = self._loss(self.X, self.y)
            loss.backward()
            self.opt.step()
            self.losses.append(float(loss.item()))
            self.step_count += 1

    def probabilities(self, X) -> np.ndarray:
        from .. import engine
        from ..ops import sigmoid
        from ..tensor import tensor
        with engine.no_grad():
            return sigmoid(self.model(tensor(X)).reshape(-1)).data

    def state(self) -> dict:
        """What the page draws: data, boundary, losses, accuracy and the sample's graph."""
        from .render_html import page_data
        from .trace import explain
        p = self.probabilities(self.X)
        i = self.sample
        ex = explain(self._loss(self.X[i:i + 1], self.y[i:i + 1]))
        keys = [g.key for g in ex.groups if g.depth == 1]
        sample = page_data(ex, states=[(), tuple(keys)])
        return {"settings": self.settings, "step": self.step_count,
                "loss": self.losses[-1] if self.losses else None,
                "losses": _thin(self.losses), "accuracy": float(((p > 0.5) == self.y).mean()),
                "points": np.round(self.X, 4).tolist(), "labels": self.y.tolist(),
                "extent": self.extent, "grid": GRID,
                "boundary": np.round(self.probabilities(self.grid), 3).tolist(),
                "sample_index": i, "sample": sample}

    # -- the page's API: each returns (status, reply) ----------------------------------------
    def api_reset(self, message) -> tuple[int, dict]:
        try:
            self.reset(message if isinstance(message, dict) else {})
        except ValueError as err:
            return 400, {"error": str(err)}
        return 200, self.state()

    def api_step(self, message) -> tuple[int, dict]:
        steps = message.get("steps", 1) if isinstance(message, dict) else None
        if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            return 400, {"error": f"steps must be a whole number from 1 to {MAX_STEPS}"}
        self.train(steps)
        return 200, self.state()

    def api_sample(self, message) -> tuple[int, dict]:
        i = message.get("index") if isinstance(message, dict) else None
        if not isinstance(i, int) or not 0 <= i < len(self.y):
            return 400, {"error": f"index must be a point's number, 0 to {len(self.y) - 1}"}
        self.sample = i
        return 200, self.state()


def _thin(losses: list, at_most: int = 400) -> list:
    """The loss curve with at most ``at_most`` points (every k-th, and the last)."""
    if len(losses) <= at_most:
        return losses
    k = math.ceil(len(losses) / at_most)
    return losses[::k] + [losses[-1]]


def serve_playground(port: int = 0, **settings):
    """Start the playground on ``http://127.0.0.1:PORT/`` in a background thread; returns
    the server (``.url``, ``.stop()``, ``.playground``).

    >>> with serve_playground() as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """
    from .playground_page import page
    from .serve import JsonServer
    pg = Playground(**settings)
    server = JsonServer(lambda: page(pg.state()), {"reset": pg.api_reset, "step": pg.api_step,
                                                   "sample": pg.api_sample},
                        port, "chainrule-playground")
    server.playground = pg
    return server
