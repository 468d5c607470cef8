"""Run one of the engine's Python-bound cases N times, for instruction counts under callgrind
(deterministic where wall-clock A/B runs on a shared machine are not).

    for n in 2 62; do PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/instructions.py chain $n 2>&1 | grep Collected; done

Per call = (count at 62 − count at 2) / 60. Cases: ``chain`` (1,000 elementwise ops on 16
floats, forward and backward), ``mlp`` (the 64-32-32-10 SGD step with ``p.data -= lr * g``),
``mlp_raw`` (the same, updating ``p._data``: no version counter), ``natural`` (the same
MLP as users write it: ``x @ W.T + b``, ``log_softmax`` · one-hot, ``optim.SGD``),
``compiled`` (the fused step, ``F.linear`` · ``F.cross_entropy`` · ``optim.SGD``, under
``cr.compile``: its replay), ``hessian`` (Rosenbrock, n = 100, float64). ``--root DIR``
imports chainrule from another checkout, to compare two.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def cases(cr, np):
    from chainrule.nn import functional as F

    rng = np.random.default_rng(0)
    x0 = cr.tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)

    def chain():
        h = x0
        for _ in range(250):
            h = cr.sin(cr.tanh(h) * 1.01 + 0.1)
        h.sum().backward()

    shapes = [(32, 64), (32,), (32, 32), (32,), (10, 32), (10,)]
    w = [cr.tensor(rng.standard_normal(s).astype(np.float32) * 0.1, requires_grad=True)
         for s in shapes]
    xb = cr.tensor(rng.standard_normal((16, 64)).astype(np.float32))
    yb = rng.integers(0, 10, 16)

    def mlp_loss():
        h = F.relu(F.linear(xb, w[0], w[1]))
        h = F.relu(F.linear(h, w[2], w[3]))
        loss = F.cross_entropy(F.linear(h, w[4], w[5]), yb)
        for p in w:
            p.grad = None
        loss.backward()

    def mlp():
        mlp_loss()
        with cr.no_grad():
            for p in w:
                p.data -= 0.01 * p.grad.data

    def mlp_raw():
        mlp_loss()
        with cr.no_grad():
            for p in w:
                p._data -= 0.01 * p.grad._data

    def rosenbrock(v):
        return cr.sum(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)

    onehot = cr.tensor(np.eye(10, dtype=np.float32)[yb])
    opt = cr.optim.SGD(w, lr=0.01)

    def natural():  # as users write it: x @ W.T + b, relu, log_softmax · one-hot, optim.SGD
        h = xb
        for i in range(0, 6, 2):
            h = h @ w[i].T + w[i + 1]
            h = cr.relu(h) if i < 4 else h
        loss = -cr.sum(cr.log_softmax(h, axis=-1) * onehot) * (1.0 / 16)
        loss.backward()
        opt.step()
        opt.zero_grad()

    def fused_step(x, y):  # F.linear, F.cross_entropy, optim.SGD: the bench's compiled step
        h = F.relu(F.linear(x, w[0], w[1]))
        h = F.relu(F.linear(h, w[2], w[3]))
        loss = F.cross_entropy(F.linear(h, w[4], w[5]), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    compiled_step = cr.compile(fused_step)

    hx = cr.tensor(rng.standard_normal(100), dtype=cr.float64)
    hess = cr.hessian(rosenbrock)
    return {"chain": chain, "mlp": mlp, "mlp_raw": mlp_raw, "natural": natural,
            "compiled": lambda: compiled_step(xb, yb),
            "hessian": lambda: hess(hx)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=("chain", "mlp", "mlp_raw", "natural", "compiled", "hessian"))
    ap.add_argument("n", type=int, help="calls after one warm-up call")
    ap.add_argument("--root", help="the checkout to import chainrule from")
    args = ap.parse_args()
    sys.path.insert(0, args.root or os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numpy as np

    import chainrule as cr
    fn = cases(cr, np)[args.case]
    for _ in range(args.n + 1):
        fn()


if __name__ == "__main__":
    main()
