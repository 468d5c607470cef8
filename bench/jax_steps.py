"""jax.jit of the MLP training steps, timed in a process of its own (no PyTorch in it).

    python bench/jax_steps.py [--budget SECONDS]      prints JSON on stdout

PyTorch's and XLA's thread pools slow each other badly in one process, so ``cases/compiled``
runs this script as a subprocess. Ratios against PyTorch are chained through the NumPy
reference step, timed here and in the main process: jax/PyTorch = (jax/NumPy here) ×
(NumPy/PyTorch there). Needs the ``bench`` extra (``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import json
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import numpy as np  # noqa: E402
import timing  # noqa: E402  (bench/: the same blocks-in-turn timing as every case)

LR = 0.01
SHAPES = {"small": ((64, 32, 32, 10), 16), "large": ((784, 256, 256, 10), 128)}


def init(sizes, batch, seed=0):
    """The bench's MLP weights, as PyTorch's Linear initialises them: U(±1/√fan_in) (used by
    ``cases/mlp`` too; here because this process must not import PyTorch)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, n_out).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return params, x, y


def numpy_step(params, x, y, rows):
    """Hand-written forward, backward and SGD update: the yardstick both processes time."""
    hs, h = [x], x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            h = np.maximum(h, 0)
        hs.append(h)
    z = h - h.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    g = np.exp(logp)
    g[rows, y] -= 1
    g /= len(y)
    for i in reversed(range(0, len(params), 2)):
        h_in = hs[i // 2]
        gw, gb = g.T @ h_in, g.sum(axis=0)
        if i > 0:
            g = (g @ params[i]) * (h_in > 0)
        params[i] -= LR * gw
        params[i + 1] -= LR * gb
    return -logp[rows, y].mean()


def jax_step_fn():
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return [p - LR * g for p, g in zip(params, grads)], value
    return jax, step


def main():
    budget = float(sys.argv[sys.argv.index("--budget") + 1]) if "--budget" in sys.argv else 1.0
    jax, step = jax_step_fn()
    out = {}
    for name, (sizes, batch) in SHAPES.items():
        p0, x, y = init(sizes, batch)
        rows = np.arange(batch)
        p_np = [p.copy() for p in p0]
        state = {"p": [jax.numpy.asarray(p) for p in p0]}
        xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y)
        t0 = time.perf_counter()
        state["p"], v = step(state["p"], xj, yj)
        v.block_until_ready()
        compile_s = time.perf_counter() - t0

        def run():
            state["p"], value = step(state["p"], xj, yj)
            value.block_until_ready()
        s = timing.compare({"jax": run, "np": lambda: numpy_step(p_np, x, y, rows)}, budget)
        out[name] = {"jax": s["jax"].median, "numpy": s["np"].median, "compile_s": compile_s}
    json.dump({"jax": jax.__version__, "steps": out}, sys.stdout)


if __name__ == "__main__":
    main()
