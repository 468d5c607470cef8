"""cr.exercises: every reference solution passes, and planted mistakes are named correctly.

Each planted mistake starts from the task's own reference solution and changes one step the
way learners get it wrong; the checker must name that node, that kind of mistake, and (where
the shapes agree) the first wrong element.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule.exercises import checker
from chainrule.exercises.graph import nfc

TASKS = list(cr.exercises.tasks())


def planted(name, node, change):
    """The reference solution of ``name`` with ``node``'s gradient replaced by ``change(v, g)``,
    where ``g`` holds the solution's own gradients, so later nodes still use correct inputs."""
    ex = cr.exercises.get(name)
    right = ex.solution().backward

    def backward(v):
        g = right(v)
        g[node] = change(v, g)
        return g
    return ex, backward


@pytest.mark.parametrize("name", TASKS)
def test_reference_solution_passes_and_matches_the_engine(name):
    ex = cr.exercises.get(name)
    report = ex.check(ex.solution().backward)
    assert report.ok and report.complete, report.message
    assert report.correct == ex.asked
    # The engine's gradients of the leaves agree with finite differences too (the checker's
    # expected values are the engine's, so they must be right).
    assert len(ex.asked) >= 3


@pytest.mark.parametrize("name", TASKS)
def test_each_engine_gradient_matches_finite_differences(name):
    """The checker's reference values: perturb every leaf element and rerun the task's graph."""
    ex = cr.exercises.get(name)
    task = ex.task
    leaves, consts = task.make(np.random.default_rng(0))

    def forward(vals):
        nodes = {k: cr.tensor(np.asarray(a, np.float64), dtype=cr.float64) for k, a in vals.items()}
        for op in task.ops:
            nodes[op.name] = op.fn(*[nodes[p] for p in op.parents], consts)
        return float(nodes[task.output].item())

    eps = 1e-6
    for leaf in (k for k in leaves if k in task.asked):
        num = np.zeros_like(np.asarray(leaves[leaf], np.float64))
        for idx in np.ndindex(num.shape):
            plus = {k: np.array(a, np.float64) for k, a in leaves.items()}
            minus = {k: np.array(a, np.float64) for k, a in leaves.items()}
            plus[leaf][idx] += eps
            minus[leaf][idx] -= eps
            num[idx] = (forward(plus) - forward(minus)) / (2 * eps)
        np.testing.assert_allclose(ex.grads[leaf], num, rtol=1e-6, atol=1e-8)


def test_missing_transpose_is_named():
    ex, bw = planted("two_layer", "W2", lambda v, g: g["Y"].T @ v.H)   # Ȳᵀ H, not Hᵀ Ȳ
    r = ex.check(bw)
    assert (r.node, r.kind) == ("W2", checker.MISSING_TRANSPOSE), r.message
    assert r.correct == ["Y"]
    assert nfc("W̄2 = Hᵀ Ȳ") in r.fix


def test_forgotten_sigma_prime_in_the_neuron_is_named():
    ex, bw = planted("neuron", "z", lambda v, g: g["y"])               # z̄ = ȳ
    r = ex.check(bw)
    assert (r.node, r.kind) == ("z", checker.MISSING_LOCAL), r.message
    assert "σ'(z)" in r.why and r.index == ()
    assert r.correct == ["L", "R", "y"]


def test_forgotten_sigma_prime_in_the_network_names_the_first_wrong_element():
    ex, bw = planted("two_layer", "Z", lambda v, g: g["H"])
    r = ex.check(bw)
    assert (r.node, r.kind) == ("Z", checker.MISSING_LOCAL), r.message
    assert r.index == (0, 0)
    assert "σ'(Z)" in r.why


def test_bias_summed_over_the_wrong_axis_is_named():
    ex, bw = planted("two_layer", "b1", lambda v, g: g["Z"].sum(axis=1))   # over units, not rows
    r = ex.check(bw)
    assert (r.node, r.kind) == ("b1", checker.WRONG_AXIS), r.message
    assert "axis 1" in r.why and "axis 0" in r.why


def test_softmax_summed_over_the_batch_axis_is_named():
    def axis0(v, g):
        return v.P * (g["P"] - (g["P"] * v.P).sum(axis=0, keepdims=True))
    ex, bw = planted("softmax_ce", "S", axis0)
    r = ex.check(bw)
    assert (r.node, r.kind) == ("S", checker.WRONG_AXIS), r.message
    assert r.correct == ["nll", "P"]


def test_dropped_path_in_the_neuron_is_named():
    ex, bw = planted("neuron", "w", lambda v, g: g["z"] * v.x)          # no R̄·w
    r = ex.check(bw)
    assert (r.node, r.kind) == ("w", checker.DROPPED_PATH), r.message
    assert "through R" in r.why


def test_dropped_path_in_two_paths_is_named_at_x_and_at_t():
    ex, bw = planted("two_paths", "x", lambda v, g: g["a"] * 2 * v.x)
    r = ex.check(bw)
    assert (r.node, r.kind) == ("x", checker.DROPPED_PATH), r.message
    assert "through p" in r.why
    ex, bw = planted("two_paths", "t", lambda v, g: g["x"] * 2 * v.t)
    r = ex.check(bw)
    assert (r.node, r.kind) == ("t", checker.DROPPED_PATH), r.message
    assert "through y" in r.why


def test_unflipped_kernel_in_the_convolution_is_named():
    def unflipped(v, g):
        out = np.zeros_like(v.x)
        wf = v.w[::-1, ::-1]      # the learner's x̄ loop uses the flipped kernel by mistake
        for a in range(3):
            for b in range(3):
                out[a:a + 3, b:b + 3] += g["Y"][a, b] * wf
        return out
    ex, bw = planted("conv", "x", unflipped)
    r = ex.check(bw)
    assert (r.node, r.kind) == ("x", "kernel not flipped"), r.message


def test_sign_factor_and_single_element_errors():
    ex, bw = planted("chain_rule", "u", lambda v, g: -g["u"])
    assert ex.check(bw).kind == checker.WRONG_SIGN
    ex, bw = planted("softmax_ce", "S", lambda v, g: g["S"] * 4)           # forgot the 1/N
    r = ex.check(bw)
    assert r.kind == checker.WRONG_FACTOR and "4 times" in r.why, r.message

    def one_off(v, g):
        s = g["S"].copy()
        s[2, 1] += 0.5
        return s
    ex, bw = planted("softmax_ce", "S", one_off)
    r = ex.check(bw)
    assert (r.node, r.index, r.kind) == ("S", (2, 1), checker.WRONG_VALUE), r.message


def test_a_partial_answer_is_checked_up_to_the_next_node():
    ex = cr.exercises.get("neuron")
    r = ex.check({"L": 1.0, "R": float(ex.v.lam)})
    assert not r.ok and not r.complete and r.node == "y" and r.correct == ["L", "R"]
    assert nfc("ȳ = L̄·(y − t)") in r.message


def test_hints_come_one_at_a_time_and_the_solution_only_when_asked():
    ex = cr.exercises.get("neuron")
    r = ex.check({"L": 1.0, "R": 0.1, "y": 0.0})
    solution = str(ex.solution())
    assert "def backward" not in r.message and solution.splitlines()[-2] not in r.message
    h1, h2, h3, h4 = ex.hint(), ex.hint(), ex.hint(), ex.hint()
    assert h1.startswith(nfc("Hint 1/3 for ȳ")) and "y is used by L" in h1
    assert h2.startswith("Hint 2/3") and "∂L/∂y = y − t" in h2
    assert h3.startswith("Hint 3/3") and nfc("ȳ = L̄·(y − t)") in h3
    assert "solution()" in h4
    hw = ex.hint("w")
    assert hw.startswith(nfc("Hint 1/3 for w̄")) and "w is used by z, R" in hw


def test_bad_answers_are_refused_clearly():
    ex = cr.exercises.get("neuron")
    with pytest.raises(ValueError, match=r"no node named \['q'\]"):
        ex.check({"q": 1.0})
    with pytest.raises(TypeError, match="'y' is not numeric"):
        ex.check({"L": 1.0, "R": 0.1, "y": "half"})
    with pytest.raises(TypeError, match="dict"):
        ex.check([1.0, 2.0])
    with pytest.raises(ValueError, match="no exercise named 'nope'"):
        cr.exercises.get("nope")


def test_the_learner_cannot_change_the_checkers_values():
    ex = cr.exercises.get("two_layer")
    before = ex.v.H.copy()

    def vandal(v):
        v.H[:] = 0.0
        return {}
    ex.check(vandal)
    np.testing.assert_array_equal(ex.v.H, before)


def test_shape_mismatch_without_a_known_cause_says_shapes():
    ex, bw = planted("two_layer", "W1", lambda v, g: np.zeros((2, 2)))
    r = ex.check(bw)
    assert (r.node, r.kind, r.index) == ("W1", checker.WRONG_SHAPE, None)
    assert "(3, 5)" in r.why


def test_the_exercises_guide_prints_what_it_shows(capsys):
    """docs/exercises.md runs a planted mistake and shows the report: both must agree."""
    import re
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "exercises.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    shown = re.search(r"prints\n\n```text\n(.*?)```", page, re.S).group(1)
    exec(compile(code, "docs/exercises.md", "exec"), {})
    printed = capsys.readouterr().out
    report = printed[printed.index("✗"):]      # what follows print(ex)'s task text
    assert nfc(report) == nfc(shown)


def test_a_task_may_leave_intermediate_nodes_out():
    """Only x̄ is asked; u = x² in between is not, and the order and check still work."""
    from chainrule.exercises.exercise import Exercise
    from chainrule.exercises.graph import Op, Task
    task = Task(
        name="short", title="t", prompt="p",
        make=lambda rng: ({"x": np.array(0.3)}, {}),
        ops=(Op("u", ("x",), lambda x, c: x * x, "u = x²", {"x": "ū·2x"}),
             Op("f", ("u",), lambda u, c: cr.sin(u), "f = sin(u)", {"u": "f̄·cos(u)"})),
        asked=("x",), solution="def backward(v):\n    return {}\n")
    ex = Exercise(task)
    assert ex.asked == ["x"]
    assert ex.check({"x": np.cos(0.09) * 0.6}).ok
    assert ex.check({"x": np.cos(0.09)}).node == "x"
