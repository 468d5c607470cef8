"""``cr.compile``: the replay equals eager execution bitwise (losses, parameters, gradients,
optimizer state) on the bench's steps and the training CLI's models, retraces when a guard
changes, and refuses what it cannot replay instead of freezing it."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import train
from chainrule.compile import (  # the module: cr.compile is the function
    CompileError,
    CompileMismatch,
    compile,
)
from chainrule.tensor import Tensor


def _mlp_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    ps = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        ps += [rng.uniform(-0.3, 0.3, (b, a)).astype(np.float32),
               rng.uniform(-0.3, 0.3, b).astype(np.float32)]
    return [cr.tensor(p, requires_grad=True) for p in ps]


def _fused_loss(ps, x, y):
    h = x
    for i in range(0, len(ps), 2):
        h = F.linear(h, ps[i], ps[i + 1])
        if i + 2 < len(ps):
            h = cr.relu(h)
    return F.cross_entropy(h, y)


def _natural_loss(ps, x, onehot):
    """As a user writes it: ``h @ w.T + b``, relu, ``log_softmax(h) * onehot`` (the one-hot
    targets are an argument: NumPy work on arguments inside would be frozen by the trace)."""
    h = x
    for i in range(0, len(ps), 2):
        h = h @ ps[i].T + ps[i + 1]
        if i + 2 < len(ps):
            h = cr.relu(h)
    return -cr.mean(cr.sum(cr.log_softmax(h, axis=-1) * onehot, axis=-1))


def _mlp_step(loss_fn, optimizer):
    ps = _mlp_params((64, 32, 32, 10))
    opt = optimizer(ps)

    def step(x, y):
        loss = loss_fn(ps, x, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return step, ps, opt


def _batches(n_in, sizes=(16, 16, 16, 8, 16), seed=1):
    rng = np.random.default_rng(seed)
    return [(cr.tensor(rng.standard_normal((n, *n_in)).astype(np.float32)),
             rng.integers(0, 10, n)) for n in sizes]


def _state(params, opt):
    out = [p.data.copy() for p in params]
    for p in params:
        out += [v.copy() for v in opt.state.get(p, {}).values() if isinstance(v, np.ndarray)]
    return out


def _assert_same(eager_step, compiled_step, eager_state, compiled_state, batches):
    for x, y in batches:
        a, b = eager_step(x, y), compiled_step(x, y)
        assert a.data.dtype == b.data.dtype and np.array_equal(a.data, b.data), (a, b)
        for u, v in zip(eager_state(), compiled_state(), strict=True):
            assert u.dtype == v.dtype and np.array_equal(u, v)


OPTIMIZERS = {
    "sgd": lambda ps: cr.optim.SGD(ps, lr=0.05),
    "momentum": lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: cr.optim.Adam(ps, lr=0.01),
}


@pytest.mark.parametrize("loss_fn", [_fused_loss, _natural_loss], ids=["fused", "natural"])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_mlp_step_replays_bitwise_and_retraces_on_a_new_batch_size(loss_fn, opt):
    eager, pe, oe = _mlp_step(loss_fn, OPTIMIZERS[opt])
    step, pc, oc = _mlp_step(loss_fn, OPTIMIZERS[opt])
    compiled = compile(step)
    batches = _batches((64,))
    if loss_fn is _natural_loss:
        batches = [(x, np.eye(10, dtype=np.float32)[y]) for x, y in batches]
    _assert_same(eager, compiled, lambda: _state(pe, oe), lambda: _state(pc, oc), batches)
    # 16 (traced; a first step that makes optimizer state traces once more), 8, 16 again
    assert compiled.traces == (2 if opt == "sgd" else 3)
    assert len(compiled._programs) == 2
    assert all(p.grad is None for p in pc)


def _lenet():
    return cr.nn.Sequential(cr.nn.Conv2d(1, 8, 5), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                            cr.nn.Conv2d(8, 16, 5), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                            cr.nn.Flatten(), cr.nn.Linear(256, 10))


def _model_step(build, optimizer):
    cr.manual_seed(0)
    model = build()
    opt = optimizer(list(model.parameters()))

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return step, list(model.parameters()), opt


def test_lenet_step_replays_bitwise():
    eager, pe, oe = _model_step(_lenet, OPTIMIZERS["sgd"])
    step, pc, oc = _model_step(_lenet, OPTIMIZERS["sgd"])
    compiled = compile(step, check=True)
    _assert_same(eager, compiled, lambda: _state(pe, oe), lambda: _state(pc, oc),
                 _batches((1, 28, 28), sizes=(8, 8, 4, 8)))
    assert compiled.traces == 2


CLI_MODELS = [("digits", "mlp", 64, "adam", 0.0), ("digits", "cnn", 64, "sgd", 0.2),
              ("mnist1d", "mlp", 40, "sgd", 0.3), ("mnist1d", "cnn", 40, "adamw", 0.0),
              ("mnist", "cnn", 784, "rmsprop", 0.0)]


@pytest.mark.parametrize("dataset,model,n_in,optimizer,dropout", CLI_MODELS)
def test_training_cli_models_replay_bitwise(dataset, model, n_in, optimizer, dropout):
    def build():
        cfg = train.Config(dataset=dataset, model=model, optimizer=optimizer,
                           dropout=dropout, lr=0.01, momentum=0.9, epochs=1, batch_size=8)
        rngs = train.make_rngs(0)
        net = train.build_model(cfg, n_in, rngs)
        opt = train.build_optimizer(cfg, net.parameters())
        net.train()

        def step(x, y):
            opt.zero_grad()
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            return loss, logits
        return step, list(net.parameters()), opt

    eager, pe, oe = build()
    step, pc, oc = build()
    compiled = compile(step)
    rng = np.random.default_rng(2)
    for n in (8, 8, 8, 5, 8):
        x = cr.tensor(rng.standard_normal((n, n_in)).astype(np.float32))
        y = rng.integers(0, 10, n)
        (la, za), (lb, zb) = eager(x, y), compiled(x, y)
        assert np.array_equal(la.data, lb.data) and np.array_equal(za.data, zb.data)
        for u, v in zip(_state(pe, oe), _state(pc, oc), strict=True):
            assert np.array_equal(u, v)
    assert 2 <= compiled.traces <= 3  # batch 8, batch 5 (and Adam-like state creation)


def test_learning_rate_is_read_live_so_a_scheduler_works():
    eager, pe, oe = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    step, pc, oc = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step)
    se = cr.optim.lr_scheduler.CosineAnnealingLR(oe, T_max=4)
    sc = cr.optim.lr_scheduler.CosineAnnealingLR(oc, T_max=4)
    for x, y in _batches((64,), sizes=(16,) * 4):
        eager(x, y), compiled(x, y)
        se.step(), sc.step()
        for u, v in zip(pe, pc, strict=True):
            assert np.array_equal(u.data, v.data)
    assert compiled.traces == 1


def test_guards_retrace_on_new_parameter_arrays_and_grad_mode():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    @compile
    def f(x):
        y = cr.sum(w * x)
        if cr.is_grad_enabled():
            y.backward()
        return y

    x = cr.tensor([3.0, 4.0])
    assert f(x).item() == 11.0 and f.traces == 1
    w.grad = None
    f(x)
    assert f.traces == 1 and w.grad.tolist() == [3.0, 4.0]
    w.grad = None
    w.data = np.array([0.0, 1.0], np.float32)  # a new array: the program read the old one
    assert f(x).item() == 4.0 and f.traces == 2
    with cr.no_grad():
        assert f(x).item() == 4.0
    assert f.traces == 3


def test_check_mode_catches_a_frozen_numpy_value():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    @compile(check=True)
    def f(x):
        scale = np.asarray(x.data.sum(), np.float32)  # NumPy on an argument: frozen
        return cr.sum(w * scale)

    f(cr.tensor([1.0, 1.0]))
    f(cr.tensor([1.0, 1.0]))  # same values: no difference
    with pytest.raises(CompileMismatch, match="result"):
        f(cr.tensor([2.0, 5.0]))


@pytest.mark.parametrize("body,message", [
    (lambda w, x: float(cr.sum(w * x)), "Python value"),
    (lambda w, x: setattr(w, "data", w.data - 1), "\\.data"),
    (lambda w, x: cr.gradient(cr.sum(w * x), w), "gradient"),
])
def test_refuses_what_it_cannot_replay_and_restores_chainrule(body, message):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    backward, forward = Tensor.backward, cr.registry.PRIMITIVES["multiply"].forward
    f = compile(lambda x: body(w, x))
    with pytest.raises(CompileError, match=message):
        f(cr.tensor([1.0, 1.0]))
    assert Tensor.backward is backward
    assert cr.registry.PRIMITIVES["multiply"].forward is forward


def test_source_shows_the_backward_pass_as_python():
    step, _, _ = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step)
    x, y = _batches((64,), sizes=(4,))[0]
    compiled(x, y)
    src = compiled.source
    assert src.startswith("def replay(INPUTS):")
    forward, backward = src.split("# backward of")
    assert "    dot(x0, ps_0_T, out=v0)  # linear" in forward
    assert "# softmax_cross_entropy" in forward
    assert " dot(" in backward and "# linear, backward" in backward
    assert " multiply(" in backward and "bump_all((ps_0_param" in backward
    # zero_grad() undoes every .grad the step set, before anything reads it: not written
    assert ".grad =" not in backward
    __import__("ast").parse(src)  # valid Python


def test_dropout_masks_are_drawn_at_every_replay():
    rng = np.random.default_rng(0)
    drop = cr.nn.Dropout(0.5, rng=rng)
    f = compile(lambda x: drop(x))
    x = cr.ones(64)
    a, b = f(x).data.copy(), f(x).data.copy()
    assert f.traces == 1 and not np.array_equal(a, b)


def test_scalar_cotangents_that_depend_on_the_data_are_not_frozen():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    @compile
    def f(x):
        loss = cr.sum(w * x) * cr.sum(x * x)  # d/d sum(w·x) = sum(x²): a NumPy scalar
        loss.backward()
        g = w.grad
        w.grad = None
        return loss, g

    for values in ([1.0, 1.0], [2.0, -3.0], [0.5, 4.0]):
        x = cr.tensor(values)
        loss, g = f(x)
        xs = np.asarray(values, np.float32)
        assert np.allclose(g.data, xs * np.sum(xs * xs))
    assert f.traces == 1


@pytest.mark.parametrize("settings", [
    dict(dataset="digits", model="mlp", epochs=2, schedule="cosine", dropout=0.2),
    dict(dataset="digits", model="cnn", epochs=1, optimizer="sgd", momentum=0.9),
])
def test_the_cli_trains_compiled_by_default_with_results_unchanged(settings, tmp_path):
    from tests.test_cli import assert_same_state

    quiet = lambda line: None  # noqa: E731
    jobs = {}
    for compiled in (True, False):
        cfg = train.Config(**settings, out=str(tmp_path / str(compiled)), compile=compiled)
        jobs[compiled] = train.prepare(cfg)
        train.fit(jobs[compiled], quiet)
    assert jobs[True].compiled_step is not None and jobs[True].compiled_step.traces >= 1
    assert jobs[False].compiled_step is None
    assert_same_state(cr.load(tmp_path / "True" / train.CHECKPOINT),
                      cr.load(tmp_path / "False" / train.CHECKPOINT))


def test_switching_a_module_to_eval_retraces():
    drop = cr.nn.Dropout(0.5, rng=np.random.default_rng(0))
    f = compile(lambda x: drop(x))
    x = cr.ones(64)
    assert 0.0 in f(x).tolist() and f.traces == 1
    drop.eval()
    assert f(x).tolist() == [1.0] * 64 and f.traces == 2


# -- the lowered replay: buffers, their sharing, what leaves the call ----------------------
def _fused_step_returning_logits():
    ps = _mlp_params((64, 32, 32, 10))
    opt = cr.optim.SGD(ps, lr=0.05)

    def step(x, y):
        h = x
        for i in range(0, len(ps), 2):
            h = F.linear(h, ps[i], ps[i + 1])
            if i + 2 < len(ps):
                h = cr.relu(h)
        loss = F.cross_entropy(h, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss, h, cr.reshape(h, (-1,))  # a buffer, and a view of it (a generic op)
    return step, ps


def test_lowered_step_shares_buffers_and_results_survive_the_next_call():
    eager, pe = _fused_step_returning_logits()
    step, pc = _fused_step_returning_logits()
    compiled = compile(step, check=True)
    kept = []
    for x, y in _batches((64,), sizes=(16,) * 4):
        a, b = eager(x, y), compiled(x, y)
        for u, v in zip(a, b, strict=True):
            assert np.array_equal(u.data, v.data) and u.data.dtype == v.data.dtype
        kept.append(([v.data.copy() for v in b], b))
        for u, v in zip(pe, pc, strict=True):
            assert np.array_equal(u.data, v.data)
    # what a call returned is the caller's: later calls (into the same buffers) leave it
    for copies, returned in kept:
        for c, t in zip(copies, returned, strict=True):
            assert np.array_equal(c, t.data)
    program = compiled._last
    arrays = program.buffers
    assert "    dot(x0, ps_0_T, out=v0)  # linear" in compiled.source
    # values whose lifetimes do not overlap share arrays: fewer arrays than values
    assert len({id(a) for a in arrays.values()}) < len(arrays)
    returned = compiled(*_batches((64,), sizes=(16,))[0])
    for t in returned[1:]:
        assert not any(np.shares_memory(t.data, a) for a in arrays.values())


def test_buffers_sharing_an_array_never_live_at_once():
    """Replay the plan's decisions on the source: between a value's first write and its
    last read, no other value written into the same array."""
    import re

    step, _ = _fused_step_returning_logits()
    compiled = compile(step)
    compiled(*_batches((64,), sizes=(16,))[0])
    arrays = compiled._last.buffers
    lines = [line.split("#")[0] for line in compiled.source.splitlines()]
    writes = {n: [i for i, t in enumerate(lines) if re.search(rf"out={n}\b", t)]
              for n in arrays}
    reads = {n: [i for i, t in enumerate(lines) if re.search(rf"\b{n}(_T|_flat)?\b(?!\))", t)
                 and not re.search(rf"out={n}\)", t)] for n in arrays}
    spans = {n: (min(writes[n]), max(reads[n] + writes[n])) for n in arrays if writes[n]}
    for a in spans:
        for b in spans:
            if a < b and np.shares_memory(arrays[a], arrays[b]):
                (a0, a1), (b0, b1) = spans[a], spans[b]
                assert a1 <= b0 or b1 <= a0, (a, spans[a], b, spans[b])


def test_a_grad_left_set_is_a_copy_that_the_next_call_leaves_alone():
    def make():
        w = cr.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
                      requires_grad=True)

        def f(x):
            w.grad = None
            loss = cr.sum(cr.relu(F.linear(x, w)))
            loss.backward()  # .grad stays set when the call returns: the caller's
            return loss
        return f, w

    eager, we = make()
    f, wc = make()
    compiled = compile(f)
    held = []
    rng = np.random.default_rng(3)
    for _ in range(6):
        x = cr.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        assert np.array_equal(eager(x).data, compiled(x).data)
        assert np.array_equal(we.grad.data, wc.grad.data)
        held.append((wc.grad, wc.grad.data.copy()))
    for g, copy in held:  # an earlier .grad is not overwritten by a later call
        assert np.array_equal(g.data, copy)
    assert compiled.traces == 2  # .grad None on the first entry, then set
    assert "w_param.grad = new_tensor(g" in compiled.source and ".copy())" in compiled.source


def test_a_lowering_that_does_not_verify_falls_back_to_the_generic_line(monkeypatch):
    from chainrule.compile import lower

    def wrong(prog, c, arrays, params, outs):  # relu lowered to the identity: wrong bytes
        o = prog.buffer(outs[0])
        return [f"np.copyto({o}, {c.x(arrays[0])})"], [o], [], {}

    monkeypatch.setitem(lower.FORWARDS, "relu", wrong)
    eager, pe, oe = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    step, pc, oc = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step)
    _assert_same(eager, compiled, lambda: _state(pe, oe), lambda: _state(pc, oc),
                 _batches((64,), sizes=(16, 16, 16)))
    assert "relu(v0)" in compiled.source
    assert not [line for line in compiled.source.splitlines() if line.endswith("# relu")]


def test_sgd_over_packed_gradients_reads_the_learning_rate_and_guards_momentum():
    eager, pe, oe = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    step, pc, oc = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step)
    batches = _batches((64,), sizes=(16,) * 5)
    for k, (x, y) in enumerate(batches):
        if k == 2:
            oe.param_groups[0]["lr"] = oc.param_groups[0]["lr"] = 0.2
        if k == 3:  # momentum changes the update: the program's guard sends it to trace
            oe.param_groups[0]["momentum"] = oc.param_groups[0]["momentum"] = 0.5
        assert np.array_equal(eager(x, y).data, compiled(x, y).data)
        for u, v in zip(_state(pe, oe), _state(pc, oc), strict=True):
            assert np.array_equal(u, v)
        if k == 0:
            assert "side by side" in compiled.source
    assert compiled.traces >= 2


def test_lowered_replay_matches_eager_bit_for_bit_on_special_values():
    """The lowerings are verified on the traced batch; the same calls must hold on data
    with signed zeros, infinities and NaNs (check=True compares bytes)."""
    step, _, _ = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step, check=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    specials = [x, np.where(x > 0, x, -0.0).astype(np.float32), x * np.float32(1e19),
                np.where(x > 1.5, np.inf, x).astype(np.float32),
                np.where(x > 1.5, np.nan, x).astype(np.float32)]
    for batch in specials:
        compiled(cr.tensor(batch), y)
    assert compiled.traces == 1 and "# linear" in compiled.source


def test_check_mode_compares_bits_not_values():
    from chainrule.compile import _compare

    _compare("same", [np.array([0.0, np.nan])], [np.array([0.0, np.nan])])
    with pytest.raises(CompileMismatch, match="differs"):
        _compare("a zero's sign", [np.array([0.0])], [np.array([-0.0])])


def test_zero_grad_in_place_keeps_the_grads_and_matches_eager():
    def make():
        ps = _mlp_params((64, 32, 32, 10))
        opt = cr.optim.SGD(ps, lr=0.05)

        def step(x, y):
            opt.zero_grad(set_to_none=False)  # zeros written into the grads in place
            loss = _fused_loss(ps, x, y)
            loss.backward()
            opt.step()
            return loss
        return step, ps, opt

    eager, pe, oe = make()
    step, pc, oc = make()
    compiled = compile(step, check=True)
    held = []
    for x, y in _batches((64,), sizes=(16,) * 5):
        assert np.array_equal(eager(x, y).data, compiled(x, y).data)
        for u, v in zip(pe, pc, strict=True):
            assert np.array_equal(u.data, v.data) and np.array_equal(u.grad.data, v.grad.data)
        held.append([(u.grad, v.grad) for u, v in zip(pe, pc, strict=True)])
    assert compiled.traces == 2  # .grad None on the first entry, then set
    for grads in held:  # what the caller held went through the same in-place zeroing
        for u, v in grads:
            assert np.array_equal(u.data, v.data)


def test_names_of_the_users_parameters_never_clash_with_the_programs():
    v0 = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)  # the program's names
    v0_T = cr.tensor(np.full((3, 4), 2.0, np.float32), requires_grad=True)

    def f(x):
        loss = cr.sum(cr.relu(F.linear(cr.relu(F.linear(x, v0)), v0_T.T)))
        loss.backward()
        grads = (v0.grad, v0_T.grad)
        v0.grad = v0_T.grad = None
        return loss, grads

    compiled = compile(f, check=True)
    rng = np.random.default_rng(0)
    for _ in range(3):
        compiled(cr.tensor(rng.standard_normal((2, 4)).astype(np.float32)))
    assert compiled.traces == 1 and "v0_param" in compiled.source


def test_a_folded_constant_handed_out_is_a_copy():
    """A scalar leaf's gradient is the seed of ones, a constant of the program: the .grad
    the caller gets (and may write into) must not be that constant."""
    w = cr.tensor(3.0, requires_grad=True)

    @compile
    def f():
        w.grad = None
        w.backward()
        return {"v0": w.grad}  # (a key named like a program value stays a key)

    for _ in range(5):
        g = f()["v0"]
        assert g.item() == 1.0
        g.data[...] = 0.0  # the caller's array
    assert f.traces == 2  # .grad None on the first entry, then set


def test_a_chain_of_ufuncs_runs_in_place_and_matches_eager():
    w = cr.tensor(np.linspace(0.5, 1.5, 32, dtype=np.float32).reshape(4, 8),
                  requires_grad=True)

    @compile(check=True)
    def f(x):
        h = cr.tanh(cr.exp(cr.sin(x * w)) + x)
        if cr.is_grad_enabled():
            cr.sum(h * h).backward()
        return h

    rng = np.random.default_rng(1)
    xs = [cr.tensor(rng.standard_normal((4, 8)).astype(np.float32)) for _ in range(3)]
    with cr.no_grad():  # no backward: each value dies where the next is made
        outs = [f(x) for x in xs]
        assert "    sin(v0, out=v1)" in f.source
        arrays = f._last.buffers
        assert np.shares_memory(arrays["v0"], arrays["v1"])  # sin wrote over x * w
    assert not np.shares_memory(outs[0].data, outs[1].data)  # results: the caller's
    for x in xs:  # with the backward, the rules read sin's input: no sharing then
        w.grad = None
        f(x)
    assert f.traces == 2 and not np.shares_memory(f._last.buffers["v0"],
                                                  f._last.buffers["v1"])


def test_the_replay_counts_its_in_place_writes_as_eager_does():
    """A graph recorded outside, reading a parameter that the compiled step then updates in
    place, must fail its backward exactly as in eager mode (version counters bumped)."""
    messages = []
    for compiled in (False, True):
        step, ps, _ = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
        run = compile(step) if compiled else step
        batches = _batches((64,), sizes=(16,) * 3)
        run(*batches[0])  # (traced)
        held = cr.sum(ps[0] * ps[0])
        for x, y in batches[1:]:
            run(x, y)
        with pytest.raises(RuntimeError, match="modified by an in-place operation") as err:
            held.backward()
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_a_batch_in_another_memory_layout_gets_its_own_program():
    """BLAS may round differently on a strided or transposed operand, so the layout is part
    of the key: the replay stays bitwise equal to eager on any layout."""
    eager, pe, oe = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    step, pc, oc = _mlp_step(_fused_loss, OPTIMIZERS["sgd"])
    compiled = compile(step)
    rng = np.random.default_rng(4)
    wide = rng.standard_normal((16, 128)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    layouts = [np.ascontiguousarray(wide[:, :64]), wide[:, ::2],
               np.asfortranarray(wide[:, 64:]), np.ascontiguousarray(wide[:, 1::2])]
    for x in layouts:
        assert np.array_equal(eager(x, y).data, compiled(x, y).data)
        for u, v in zip(pe, pc, strict=True):
            assert np.array_equal(u.data, v.data)
    assert compiled.traces == 3  # C order (twice: one program), strided, Fortran order


def test_bump_versions_counts_as_bump_version_one_by_one():
    from chainrule import engine

    a = [cr.tensor(np.zeros(2)) for _ in range(3)]
    b = [cr.tensor(np.zeros(2)) for _ in range(3)]
    a[1]._version, b[1]._version = [5, 7, 3], [5, 7, 3]  # one had writes before, two not
    clock = engine.CLOCK
    for t in b:
        engine.bump_version(t)
    want = [list(t._version) for t in b]
    engine.CLOCK = clock
    engine.bump_versions(a)
    assert [t._version for t in a] == want and engine.CLOCK == clock + 3


def test_numpy_calls_use_bare_names_unless_the_name_is_taken():
    from chainrule.compile.program import Program

    prog = Program()
    prog.namespace["exp"] = "a parameter the user named exp"
    body = ["    np.exp(v0, out=v1)", "    np.add(v1, v2, out=v1)", "    np.add.reduce(v1)",
            "    v3 = np.asarray(v1, np.float32)", "    ok = np.any(v1)"]
    got = prog._bare_numpy_names(body)
    assert got[1:] == ["    np.exp(v0, out=v1)", "    add(v1, v2, out=v1)", "    add.reduce(v1)",
                       "    v3 = asarray(v1, np.float32)", "    ok = np.any(v1)"]
    assert got[0].startswith("    # add(...) is np.add(...)")
    assert prog.namespace["add"] is np.add and prog.namespace["asarray"] is np.asarray


@pytest.mark.parametrize("spatial", [False, True])  # (N, C): lowered; (N, C, L): the helper
def test_each_replay_checks_its_targets_and_a_bad_batch_changes_nothing(spatial):
    """Targets out of range raise in every replay, as in eager (a one-hot row of zeros
    would make the loss silently wrong), before the optimizer writes anything."""
    w = cr.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)

    def step(x, y):
        h = F.linear(x, w)
        if spatial:  # (N, L, C) -> (N, C, L): a class axis of 1, as PyTorch's
            h = cr.swapaxes(h, 1, 2)
        loss = F.cross_entropy(h, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    compiled = compile(step)
    shape = (2, 5, 4) if spatial else (2, 4)
    x = cr.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 10)
    good = np.array([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]]) if spatial else np.array([0, 2])
    compiled(x, good)
    compiled(x, good)  # a replay
    for bad in (3, -1):
        y = good.copy()
        y[(1, 3) if spatial else 1] = bad
        before = w.data.copy()
        with pytest.raises(IndexError, match=r"(cross_entropy|nll_loss): target out of "
                                             r"range \[0, 3\)"):
            compiled(x, y)
        assert np.array_equal(w.data, before) and w.grad is None


@pytest.mark.parametrize("as_tensor", [False, True])
def test_embedding_replays_each_calls_indices(as_tensor):
    """The indices are an argument: every replay reads and checks the new ones (bitwise as
    eager)."""
    def model():
        w = cr.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3),
                      requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.1)

        def step(i):
            loss = cr.sum(F.embedding(i, w) ** 2)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return step, w

    eager, w_eager = model()
    step, w = model()
    compiled = compile(step)
    for idx in ([0, 1], [3, 4], [2, 2], [4, 0]):
        i = np.array(idx)
        i = cr.tensor(i) if as_tensor else i
        assert compiled(i).data.tobytes() == eager(i).data.tobytes()
        assert w.data.tobytes() == w_eager.data.tobytes()
    for bad in ([0, -1], [5, 0]):  # checked as eager checks them, before anything is written
        i = cr.tensor(np.array(bad)) if as_tensor else np.array(bad)
        with pytest.raises(IndexError, match=r"embedding: index out of range \[0, 5\)"):
            compiled(i)
        assert w.data.tobytes() == w_eager.data.tobytes() and w.grad is None
    assert compiled.traces == 1


def test_an_array_made_from_an_argument_outside_the_ops_is_refused_not_frozen():
    """NumPy code on an argument outside chainrule's ops (here a reversed view) would be
    frozen at the first call's values: refused instead."""
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    compiled = compile(lambda a: cr.sum(w * a[::-1]))
    with pytest.raises(CompileError, match="made from an argument outside chainrule's ops"):
        compiled(np.arange(3, dtype=np.float32))


@pytest.mark.parametrize("fn", [
    lambda w, x: cr.sum(w[x > 0]),  # a boolean mask: its positions
    lambda w, x: cr.sum(cr.sort(x * w)[:2]),  # a sort's permutation
    lambda w, x: (x * w)[cr.argmax(x)],  # an argmax
], ids=["mask", "sort", "argmax"])
def test_indices_computed_from_values_are_refused_not_frozen(fn):
    """An index array or mask that a front end computes from values (outside the ops) would
    be frozen at its traced values: such a step is refused (it replayed the first call's
    selection on the next batch before)."""
    w = cr.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    x = cr.tensor(np.array([1.0, -1.0, 2.0, -3.0], np.float32))
    with pytest.raises(CompileError, match="index array or mask computed outside"):
        compile(lambda x: fn(w, x))(x)


def test_one_hot_of_an_argument_is_made_anew_at_every_replay():
    """F.one_hot is NumPy work outside the ops: replayed on each call's indices (checked as
    eager checks them), never frozen; an inferred width is refused."""
    w = cr.tensor(np.arange(12, dtype=np.float32).reshape(4, 3), requires_grad=True)

    def f(y):
        return cr.sum(F.one_hot(y, 4).astype(cr.float32) @ w)
    compiled = compile(f)
    for y in ([0, 1], [2, 3], [3, 3]):
        assert compiled(np.array(y)).item() == f(np.array(y)).item()
    assert compiled.traces == 1
    with pytest.raises(ValueError, match="class index 7 is out of range"):
        compiled(np.array([2, 7]))
    with pytest.raises(CompileError, match=r"one_hot\(num_classes=-1\)"):
        compile(lambda y: cr.sum(F.one_hot(y)))(np.array([0, 1]))
