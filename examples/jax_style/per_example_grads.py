"""Per-example gradients of an MLP, written as a JAX program.

This file is the JAX program with its import lines changed, and nothing else:

    import jax.numpy as jnp                  ->  import chainrule as jnp
    from jax import grad, vmap               ->  from chainrule import grad, vmap
    from jax.nn import log_softmax           ->  from chainrule import log_softmax
    from jax.tree_util import tree_leaves, tree_map
                                             ->  from chainrule.tree import leaves as tree_leaves
                                                 from chainrule.tree import map as tree_map

``vmap(grad(loss), in_axes=(None, 0, 0))`` gives one gradient per example in one batched
pass (no Python loop over the examples). With them: the per-example gradient norms, and
their clipping as in differentially private SGD. The program checks itself against a loop
of ``grad`` and against ``grad`` of the mean loss; ``tests/test_jax_style.py`` checks it
against ``torch.func.vmap``.

Run: python examples/jax_style/per_example_grads.py
"""
import numpy as np

import chainrule as jnp
from chainrule import grad, log_softmax, vmap
from chainrule.tree import leaves as tree_leaves
from chainrule.tree import map as tree_map


def init_params(sizes, rng):
    return [(rng.normal(0.0, 1.0 / np.sqrt(m), (m, n)), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss(params, x, y):
    """Cross-entropy of ONE example: x (features,), y one-hot (classes,)."""
    return -jnp.sum(log_softmax(predict(params, x)) * y)


per_example_grads = vmap(grad(loss), in_axes=(None, 0, 0))


def batch_loss(params, xs, ys):
    return jnp.mean(vmap(loss, in_axes=(None, 0, 0))(params, xs, ys))


def clip(grads, max_norm):
    """Each example's gradient scaled to norm at most ``max_norm`` (DP-SGD's clipping)."""
    norms = np.sqrt(sum(np.sum(np.asarray(g) ** 2, axis=tuple(range(1, np.ndim(g))))
                        for g in tree_leaves(grads)))
    scale = np.minimum(1.0, max_norm / norms)
    return tree_map(lambda g: g * scale.reshape((-1,) + (1,) * (np.ndim(g) - 1)), grads), norms


def main():
    rng = np.random.default_rng(0)
    params = init_params([8, 16, 16, 4], rng)
    xs = rng.normal(size=(32, 8))
    ys = np.eye(4)[rng.integers(0, 4, 32)]

    grads = per_example_grads(params, xs, ys)
    for i, (gw, gb) in enumerate(grads):
        print(f"layer {i}: per-example dW {tuple(gw.shape)}, db {tuple(gb.shape)}")

    loop = [grad(loss)(params, xs[n], ys[n]) for n in range(len(xs))]
    vs_loop = max(float(np.max(np.abs(np.asarray(g)[n] - np.asarray(h))))
                  for n in range(len(xs))
                  for g, h in zip(tree_leaves(grads), tree_leaves(loop[n])))
    print(f"max |vmap - loop of grad|          = {vs_loop:.2e}")

    mean_grads = grad(batch_loss)(params, xs, ys)
    vs_mean = max(float(np.max(np.abs(np.mean(np.asarray(g), axis=0) - np.asarray(m))))
                  for g, m in zip(tree_leaves(grads), tree_leaves(mean_grads)))
    print(f"max |mean of per-example - grad of mean| = {vs_mean:.2e}")

    clipped, norms = clip(grads, 1.0)
    clipped_norms = np.sqrt(sum(np.sum(np.asarray(g) ** 2, axis=tuple(range(1, np.ndim(g))))
                                for g in tree_leaves(clipped)))
    print(f"per-example gradient norms: min {norms.min():.3f}, max {norms.max():.3f}; "
          f"after clipping to 1: max {clipped_norms.max():.3f}")
    return {"grads": grads, "vs_loop": vs_loop, "vs_mean": vs_mean, "norms": norms,
            "clipped_norms": clipped_norms, "params": params, "xs": xs, "ys": ys}


if __name__ == "__main__":
    main()
