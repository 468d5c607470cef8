"""Why backprop wins: the size of symbolic derivatives against the work of backprop.

Differentiate a formula symbolically, one parameter at a time, and each partial derivative is
its own expression tree: every intermediate value the parameter feeds into is written out
again inside it, once per path. Backprop computes each intermediate value once (the forward
pass), then each cotangent once (the backward pass), and shares both among all parameters.

`cr.symbolic(f, *names).op_counts()` measures both for the same program, in one unit:
operations as `sympy.count_ops` counts them. The rows are the seed neuron
L = ½(σ(w·x + b) − t)² and scalar MLPs with three weight layers (sigmoid hidden units, a
linear output, loss ½(y − t)²) of growing width.
"""
import chainrule as cr

X = (0.5, -1.0)  # the MLP's fixed input
T = 0.25  # its target


def neuron(w, b):
    return 0.5 * (cr.sigmoid(w * 1.5 + b) - 1.0) ** 2


def mlp(widths):
    """(f, parameter names) of a scalar MLP with layer widths like (2, 3, 3, 1): written
    neuron by neuron with scalar ops, so SymPy can follow every one."""
    names = [f"{kind}{layer}_{j}{i}"
             for layer in range(1, len(widths)) for j in range(widths[layer])
             for kind, i in [("b", "")] + [("w", i) for i in range(widths[layer - 1])]]

    def f(*params):
        params = iter(params)
        a = X[:widths[0]]
        for layer in range(1, len(widths)):
            zs = []
            for _ in range(widths[layer]):
                z = next(params)  # the bias, then w·a one input at a time
                for a_i in a:
                    z = z + next(params) * a_i
                zs.append(z)
            a = zs if layer == len(widths) - 1 else [cr.sigmoid(z) for z in zs]
        return 0.5 * (a[0] - T) ** 2
    return f, names


CASES = [("neuron ½(σ(1.5w + b) − 1)²", neuron, ("w", "b"))] + [
    (f"MLP {'-'.join(map(str, w))}", *mlp(w)) for w in ((2, 2, 2, 1), (2, 3, 3, 1))]

CAPTION = """\
Operations as sympy.count_ops counts them: each +, −, ×, ÷, power, exp and negation is one,
so σ(z) = 1/(1 + e⁻ᶻ) is four, and a rational constant such as 3/2 counts one ÷.
  f              the closed form of f as one expression tree
  symbolic       Σ over the parameters of ∂f/∂θ as sympy.diff returns it, each partial its
                 own tree with nothing shared (not simplified)
  + CSE          the same partials after sympy.cse: each repeated subexpression computed once
  backprop       chainrule's forward pass + backward pass: every primitive it recorded, at the
                 count of its SymPy counterpart (the backward ops recorded with
                 create_graph=True and a seed that requires grad, so none goes unseen; the
                 sums where paths meet are included; the forward pass includes computing L)"""


def main() -> dict:
    print(f"{'function':28s} {'params':>6s} {'f':>5s} {'symbolic':>8s} {'+ CSE':>6s}"
          f" {'backprop = fwd + bwd':>21s} {'symbolic / backprop':>20s}")
    results = {}
    for label, f, names in CASES:
        counts = cr.symbolic(f, *names, simplify=False).op_counts()
        print(f"{label:28s} {len(names):6d} {counts.function:5d} {counts.symbolic:8d}"
              f" {counts.symbolic_cse:6d} {counts.backprop:8d} = {counts.forward:4d} +"
              f" {counts.backward:4d} {counts.symbolic / counts.backprop:19.1f}×")
        results[label] = counts
    print(CAPTION)
    return results


if __name__ == "__main__":
    main()
