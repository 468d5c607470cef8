"""The ``chainrule`` command (also ``python -m chainrule``): ``train``, ``explain``, ``demo``,
``playground``.

Every error the command reports is one line on stderr, ``chainrule: error: ...``, with exit
status 2 (argparse's convention), whether argparse or a later check found it; and every check
that can be made before the work starts is (missing packages, an occupied --out folder).
Ctrl-C at any moment is one line too, ``chainrule: interrupted ...``, saying what is on disk,
with exit status 130.

>>> args = _parser().parse_args(["train", "--dataset", "mnist1d", "--model", "cnn"])
>>> cfg, checkpoint = train_config(args)
>>> cfg.epochs, cfg.batch_size, cfg.lr, checkpoint
(150, 100, 0.01, None)
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path

from . import __version__, io
from ._extras import requirement
from .errors import ChainruleError
from .train import (
    CHECKPOINT,
    DATASETS,
    METRICS,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    Config,
    check_requirements,
    clear_outputs,
    defaults_for,
    existing_outputs,
    fit,
    held_interrupts,
    load_checkpoint,
    prepare,
    saved_config,
)

# The demo: the 64-128-10 MLP on the 8x8 digits. Standardized inputs, dropout 0.2 and a
# cosine schedule give test accuracy 0.969-0.983 over seeds 0-11 (0.978 for seed 0) in
# about a second of training.
DEMO = {"dataset": "digits", "model": "mlp", "epochs": 30, "batch_size": 32, "lr": 1e-2,
        "optimizer": "adam", "schedule": "cosine", "dropout": 0.2}
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
# What the demo imports beyond the training run's packages: SymPy, for the worked example
# that counts the operations of symbolic derivatives.
DEMO_MODULES = {"sympy": "sympy"}


class _Run:
    """What the command has done so far, for a true message when Ctrl-C stops it."""

    def __init__(self):
        self.interrupted = False  # a SIGINT arrived (even if a library then raised otherwise)
        self.out = None  # the run's folder, once known
        self.epochs = None
        self.on_disk = None  # the epoch the folder's checkpoint holds, when it holds one
        self.job = None  # the prepared job, once the data has loaded

    def interrupted_message(self) -> str:
        job, path = self.job, os.path.join(self.out or ".", CHECKPOINT)
        saved = job.saved_epoch if job is not None else self.on_disk
        holds = (f"{path} holds epoch {saved}: continue with --resume" if saved is not None
                 else "no checkpoint was written yet")
        if job is None:
            return ("interrupted before training started; " + holds if saved is not None
                    else "interrupted before training started; nothing was written")
        if job.epoch >= self.epochs:
            return f"interrupted after the last epoch; {path} holds epoch {saved} (complete)"
        return f"interrupted in epoch {job.epoch + 1} of {self.epochs}; {holds}"


_RUN = _Run()


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like the command's own."""

    def error(self, message):
        _fail(f"{message} (see '{self.prog} --help')")


def _fail(message, status: int = EXIT_USAGE):
    if _RUN.interrupted:  # the error is Ctrl-C's doing (a library turned it into another)
        _stop_interrupted()
    sys.stderr.write(f"chainrule: error: {' '.join(str(message).split())}\n")
    sys.exit(status)


def _stop_interrupted():
    """Say what Ctrl-C left on disk, in one line, and exit with status 130."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback now
    job = _RUN.job
    if job is None or job.rank == 0:  # under --distributed, rank 0 speaks for all
        sys.stderr.write(f"chainrule: {_RUN.interrupted_message()}\n")
    sys.exit(EXIT_INTERRUPTED)


def _on_sigint(signum, frame):
    _RUN.interrupted = True
    raise KeyboardInterrupt


def _add_train_arguments(t: argparse.ArgumentParser) -> None:
    # Settings default to None here: the real default depends on the dataset, and with
    # --resume an omitted setting comes from the checkpoint.
    t.add_argument("--dataset", choices=DATASETS, help="default: digits")
    t.add_argument("--model", choices=MODELS, help="default: mlp")
    t.add_argument("--epochs", type=int, metavar="N",
                   help="default: 30 (digits), 150 (mnist1d, the paper's 6,000 steps), 5 (mnist)")
    t.add_argument("--batch-size", type=int, metavar="B",
                   help="default: 32 (digits), 100 (mnist1d), 64 (mnist)")
    t.add_argument("--lr", type=float, help="learning rate; default: 0.01 for Adam/AdamW on "
                   "digits and mnist1d, else 0.001 (Adam, AdamW, RMSprop) or 0.05 (SGD, Adagrad)")
    t.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam")
    t.add_argument("--momentum", type=float, metavar="M", help="SGD momentum; default: 0.9")
    t.add_argument("--schedule", choices=SCHEDULES,
                   help="learning rate over the run: constant, or cosine annealing to 0 "
                   "(default: constant)")
    t.add_argument("--dropout", type=float, metavar="P",
                   help="dropout after each hidden layer (MLP) or before the last layer (CNN); "
                   "default: 0")
    t.add_argument("--seed", type=int, metavar="S",
                   help="seeds init, shuffling and dropout; default: 0")
    t.add_argument("--out", default="chainrule-run", metavar="DIR",
                   help=f"where {CHECKPOINT}, metrics.csv and curves.png go "
                   "(default: chainrule-run)")
    t.add_argument("--resume", action="store_true",
                   help="continue DIR's run from its checkpoint; settings left out come from it")
    t.add_argument("--overwrite", action="store_true",
                   help="start a new run in DIR even though it holds one (whose checkpoint, "
                   "metrics and plots are removed once the data has loaded)")
    t.add_argument("--mnist-root", default="data/mnist", metavar="PATH",
                   help="folder with the four MNIST IDX files (default: data/mnist)")
    t.add_argument("--download", action="store_true",
                   help="fetch missing MNIST files into --mnist-root (checksums verified)")
    t.add_argument("--no-compile", dest="compile", action="store_false", default=None,
                   help="run every step eagerly instead of replaying it with cr.compile "
                   "(the results are the same, bit for bit)")
    t.add_argument("--monitor-grads", action="store_true",
                   help="record per-layer gradient norms and update/weight ratios every step "
                   "and plot them to DIR/gradients.png")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI ranks: run as 'mpirun -n N chainrule train "
                   "... --distributed' (needs mpi4py and an MPI library). --batch-size is the "
                   "global batch, split evenly over the ranks, so the run is the same for any "
                   "N (except with --dropout: each rank draws its own masks) and resumes with "
                   "any N; see docs/scaling.md")


def _add_explain_arguments(e: argparse.ArgumentParser) -> None:
    from .explain.cases import CASES
    e.add_argument("case", nargs="?", choices=list(CASES), help="a built-in example: neuron "
                   "(y = σ(wx + b)), two-layer (f = relu(W₂ relu(W₁x))) or mlp (a training "
                   "step of a 4-8-8-3 nn.Sequential, drawn by layer)")
    e.add_argument("--expr", help='a formula of named variables, e.g. "exp(sin(x**2))"')
    e.add_argument("--at", nargs="+", default=[], metavar="NAME=VALUE",
                   help="where to evaluate --expr, e.g. x=0.7")
    e.add_argument("--focus", metavar="NAME", help="keep only the paths from this parameter "
                   "to the output, e.g. w, W1, 0.weight")
    e.add_argument("--collapse", action="store_true",
                   help="draw each layer (the innermost nn.Module calls) as one box in the SVG")
    e.add_argument("--out", default=".", help="folder for the text, SVG and HTML files")
    from .explain.command import add_serve_arguments
    add_serve_arguments(e)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="chainrule", description="Backpropagation on NumPy, shown step by step: "
                "train models, explain a backward pass, run the demo.")
    p.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("train", help="train an MLP or CNN; write checkpoint, metrics, plot",
                       description="Train an MLP or CNN. Prints one line per epoch and writes "
                       f"DIR/{CHECKPOINT} (after every epoch), DIR/metrics.csv and "
                       "DIR/curves.png. With --resume the result is bitwise the same as an "
                       "uninterrupted run.")
    _add_train_arguments(t)
    e = sub.add_parser("explain", help="print a backward pass step by step and draw its graph")
    _add_explain_arguments(e)
    from .explain.command import add_playground_arguments
    add_playground_arguments(sub.add_parser(
        "playground", help="train a small network live in the browser (localhost page)",
        description="Serve a local page in the spirit of TensorFlow Playground, driven by "
        "chainrule: 2-D toy data, layers, activation, optimizer and learning rate, the "
        "decision boundary, the loss curve and one sample's graph as it trains."))
    d = sub.add_parser("demo", help="the main job: train the digits MLP, run the worked "
                       "examples", description="Train the 64-128-10 MLP on the 8x8 digits "
                       "(test accuracy about 0.98), then run the worked examples of backprop.")
    d.add_argument("--out", default="chainrule-demo", metavar="DIR",
                   help="where the outputs go, replacing an earlier demo's (default: "
                   "chainrule-demo)")
    d.add_argument("--epochs", type=int, default=DEMO["epochs"], metavar="N",
                   help=f"default: {DEMO['epochs']}")
    d.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    return p


# -- train ------------------------------------------------------------------------------------

def train_config(args: argparse.Namespace) -> tuple[Config, dict | None]:
    """The run's settings from the command line, with per-dataset defaults, or with
    ``--resume`` from the checkpoint (then also returned); raises on bad settings."""
    names = {f.name for f in fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.resume:
        checkpoint = load_checkpoint(os.path.join(args.out, CHECKPOINT))
        return saved_config(checkpoint, **given).check(), checkpoint
    base = Config(**{k: given[k] for k in ("dataset", "optimizer") if k in given})
    defaults = defaults_for(base.dataset, base.optimizer)
    return Config(**{**asdict(base), **defaults, **given}).check(), None


def _checked_train_config(args: argparse.Namespace) -> tuple[Config, dict | None]:
    """:func:`train_config`, after and before every check that needs no data: the packages
    the run imports, and that a new run does not silently replace an old one."""
    _RUN.out = args.out
    if args.resume and args.overwrite:
        _fail("--resume continues the run in --out and --overwrite replaces it: give one")
    if args.resume:
        problem = requirement({"safetensors": "safetensors"}, "--resume")
        if problem:
            _fail(problem)
        for path in (os.path.join(args.out, CHECKPOINT), os.path.join(args.out, METRICS)):
            io.remove_leftovers(path)  # of saves that were killed (the next save would, too)
    try:
        cfg, checkpoint = train_config(args)
        check_requirements(cfg, "chainrule train")
    except (ChainruleError, ImportError, OSError) as err:  # settings, checkpoint, packages
        _fail(err)
    if checkpoint is not None:
        _RUN.on_disk = int(checkpoint["epoch"])
    elif not args.overwrite and existing_outputs(cfg.out):
        _fail(f"--out {cfg.out} already holds a run ({', '.join(existing_outputs(cfg.out))}): "
              "continue it with --resume, or replace it with --overwrite")
    return cfg, checkpoint


def _train(cfg: Config, checkpoint: dict | None = None, log=print,
           overwrite: bool = False) -> dict:
    """Prepare (any failure is a one-line error), then train; Ctrl-C keeps the last
    checkpoint and says how to continue. Under --distributed, a rank that fails stops the
    whole job (a rank that merely exited would leave the others waiting forever)."""
    try:
        return _prepare_and_fit(cfg, checkpoint, log, overwrite)
    except SystemExit as stop:
        from . import distributed
        if cfg.distributed and stop.code and distributed.is_initialized() \
                and distributed.world_size() > 1:
            distributed.abort(stop.code)
        raise


def _prepare_and_fit(cfg: Config, checkpoint: dict | None, log, overwrite: bool) -> dict:
    _RUN.out, _RUN.epochs = cfg.out, cfg.epochs
    try:
        job = prepare(cfg, checkpoint)
    except (ChainruleError, ImportError, OSError) as err:
        _fail(err)
    with held_interrupts():
        _RUN.job = job
        if overwrite and job.rank == 0:
            clear_outputs(cfg.out)  # only now: a run that failed on its input changed nothing
    if checkpoint is not None and job.rank == 0:
        log(f"resuming from {os.path.join(cfg.out, CHECKPOINT)} after epoch {job.epoch}")
    try:
        return fit(job, log)
    except OSError as err:  # writing the outputs failed (disk full, permissions)
        _fail(err, EXIT_FAILURE)


# -- explain ----------------------------------------------------------------------------------

def _explain(args, parser):
    from .explain.cases import CASES, explain_expression
    if (args.case is None) == (args.expr is None):
        parser.error(f"explain: give exactly one of a case ({', '.join(CASES)}) or --expr"
                     + (", not both" if args.case is not None else ""))
    if args.at and args.expr is None:
        parser.error("explain: --at NAME=VALUE goes with --expr (the values of its variables)")
    if args.port and not args.serve:
        parser.error("explain: --port goes with --serve")
    if args.case is not None:
        ex, stem = CASES[args.case](focus=args.focus), f"explain-{args.case}"
    else:
        values = {}
        for item in args.at:
            name, sep, value = item.partition("=")
            try:
                values[name] = float(value)
            except ValueError:
                sep = ""
            if not sep or not name.isidentifier():
                parser.error(f"--at: expected NAME=NUMBER, got {item!r}")
        ex, stem = explain_expression(args.expr, values, focus=args.focus), "explain-expr"
    if args.serve:
        from .explain.command import serve_explanation
        serve_explanation(ex, args.port)
        return
    _write_explanation(ex, args.out, stem, collapse=args.collapse)


def _write_explanation(ex, folder, stem, collapse=False):
    os.makedirs(folder, exist_ok=True)
    text = ex.to_text()
    print(text)
    for suffix, content in ((".txt", text + "\n"), (".svg", ex.to_svg(collapse)),
                            (".html", ex.to_html())):
        with open(os.path.join(folder, stem + suffix), "w", encoding="utf-8") as f:
            f.write(content)
    print(f"\nwrote {os.path.join(folder, stem)}.txt, .svg and .html (open the page in a "
          "browser to step through it)")


# -- demo -------------------------------------------------------------------------------------

def _run_examples(out: str) -> None:
    """The worked examples, from the source checkout's examples/ (not installed); the ones
    that write files (plots) write them into ``out``."""
    import chainrule
    path = Path(chainrule.__file__).resolve().parents[1] / "examples" / "run_all.py"
    if not path.is_file():
        print("(the worked examples live in the source checkout's examples/; not found here, "
              "skipped)")
        return
    spec = importlib.util.spec_from_file_location("_chainrule_examples_run_all", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run_all(out=out)


def _demo(args: argparse.Namespace) -> None:
    try:
        cfg = Config(**{**DEMO, "epochs": args.epochs, "seed": args.seed,
                        "out": args.out}).check()
        check_requirements(cfg, "chainrule demo", more=DEMO_MODULES)
    except ChainruleError as err:
        _fail(err)
    replaced = existing_outputs(cfg.out)
    print(f"chainrule demo: a 64-128-10 ReLU MLP on the 8x8 digits (dropout 0.2), Adam "
          f"lr 0.01 with a cosine schedule, {cfg.epochs} epochs; outputs in {cfg.out}/"
          + (" (replacing the previous demo's)" if replaced else ""))
    t0 = time.perf_counter()
    last = _train(cfg, overwrite=True)
    print(f"final test accuracy: {last['test_acc']:.4f}  ({time.perf_counter() - t0:.1f} s; "
          f"{CHECKPOINT}, metrics.csv and curves.png in {cfg.out}/)\n")
    from .explain.cases import neuron
    _write_explanation(neuron(), cfg.out, "explain-neuron")
    print("\nThe worked examples: backprop next to the hand-derived derivative")
    _run_examples(cfg.out)


def main(argv: list[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status
    (errors exit via ``SystemExit``; Ctrl-C exits with status 130 after one line that says
    what is on disk). Without ``argv`` this is the process's own command (the ``chainrule``
    script, ``python -m chainrule``): after Ctrl-C it ends the process at once, and once done
    it ignores further Ctrl-C while Python shuts down."""
    global _RUN
    _RUN = _Run()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if main_thread else None
    try:
        try:
            _main(argv)
        except KeyboardInterrupt:
            _RUN.interrupted = True
            _stop_interrupted()
    except SystemExit:
        if _RUN.interrupted and argv is None:
            # The process's own command: end it now. Python's shutdown would otherwise turn
            # an interrupt that a C extension's import once saw (Cython runs code through
            # PyRun_String, which flags it as unhandled) into death by SIGINT, status -2.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(EXIT_INTERRUPTED)
        raise
    finally:
        if main_thread and not _RUN.interrupted:
            # The process's own command is ending: a late Ctrl-C has nothing left to stop
            # (and would print a traceback from Python's shutdown). Called from Python code
            # with arguments, put the caller's handler back.
            signal.signal(signal.SIGINT, signal.SIG_IGN if argv is None else previous)
    return 0


def _main(argv: list[str] | None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo(args)
    elif args.command == "explain":
        try:
            _explain(args, parser)
        except (ChainruleError, OSError, ValueError) as err:  # e.g. a formula it refuses
            _fail(err)
    elif args.command == "playground":
        from .explain.command import run_playground
        try:
            run_playground(args)
        except (OSError, ValueError) as err:  # a port in use, bad settings
            _fail(err)
    else:
        cfg, checkpoint = _checked_train_config(args)
        _train(cfg, checkpoint, overwrite=args.overwrite)


if __name__ == "__main__":
    sys.exit(main())
