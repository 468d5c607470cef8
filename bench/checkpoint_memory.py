"""Memory that ``cr.checkpoint`` saves on a deep MLP: peak traced memory (NumPy's arrays
included) of one forward and backward pass, with and without rematerialisation.

A 32-layer MLP with SiLU activations (z·σ(z)), width 256, batch 1024, float32: each layer's
graph keeps three activation-sized arrays (the matmul's input, z, σ(z)) until the backward
pass reaches it. Checkpointing a segment of layers keeps only the segment's input, and the
backward pass runs the segment again (one extra forward pass in all); segments of √32 ≈ 6
layers is the classic trade-off. The weights' gradients (8 MiB) are part of every peak.

Run: python bench/checkpoint_memory.py   (prints a table; a benchmark, not a test)
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np

import chainrule as cr

DEPTH, WIDTH, BATCH = 32, 256, 1024


def layers(h, *ws):
    for w in ws:
        z = h @ w
        h = z * cr.sigmoid(z)
    return h


def step(ws, x, segment):
    """One forward and backward pass; ``segment`` layers per checkpoint (0: none)."""
    h = x
    if segment == 0:
        h = layers(h, *ws)
    else:
        block = cr.checkpoint(layers)
        for i in range(0, len(ws), segment):
            h = block(h, *ws[i:i + segment])
    (h * h).mean().backward()


def measure(segment):
    rng = np.random.default_rng(0)
    ws = [cr.tensor((rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32),
                    requires_grad=True) for _ in range(DEPTH)]
    x = cr.tensor(rng.standard_normal((BATCH, WIDTH)).astype(np.float32))
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    start = time.perf_counter()
    step(ws, x, segment)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grads = np.concatenate([w.grad.data.ravel() for w in ws])
    return (peak - base) / 2 ** 20, seconds, grads


def main():
    act = BATCH * WIDTH * 4 / 2 ** 20
    print(f"{DEPTH}-layer SiLU MLP, width {WIDTH}, batch {BATCH}, float32; one activation "
          f"{act:.2f} MiB; peak traced memory of one forward + backward pass")
    print(f"{'checkpointing':<26}{'peak MiB':>10}{'saved':>9}{'time s':>9}")
    ref = None
    for segment, label in [(0, "none"), (1, "every layer"), (6, "segments of 6 (≈√32)"),
                           (DEPTH, "one segment (all)")]:
        mib, seconds, grads = measure(segment)
        if ref is None:
            ref = (mib, grads)
        assert np.allclose(grads, ref[1], rtol=1e-5, atol=1e-6), "gradients differ"
        print(f"{label:<26}{mib:>10.1f}{1 - mib / ref[0]:>9.0%}{seconds:>9.2f}")


if __name__ == "__main__":
    main()
