"""The ``chainrule`` command (also ``python -m chainrule``): ``train``, ``explain``, ``demo``."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

from .errors import ChainruleError

DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 0.05}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chainrule", description="Backpropagation on NumPy: "
                                "train models, run the demo.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an MLP or CNN and write checkpoint, metrics, plot")
    t.add_argument("--dataset", choices=["digits", "mnist1d", "mnist"], default="digits")
    t.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=None,
                   help="learning rate (default depends on the optimizer)")
    t.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default="adam")
    t.add_argument("--momentum", type=float, default=0.9, help="for --optimizer sgd")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="chainrule-run", help="directory for the outputs")
    t.add_argument("--mnist-root", default="data/mnist",
                   help="folder with the MNIST IDX files (for --dataset mnist)")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.safetensors")
    e = sub.add_parser("explain", help="print a backward pass step by step and draw its graph")
    e.add_argument("case", nargs="?", choices=["neuron"], help="a built-in example")
    e.add_argument("--expr", help='a formula of named variables, e.g. "exp(sin(x**2))"')
    e.add_argument("--at", nargs="+", default=[], metavar="NAME=VALUE",
                   help="where to evaluate --expr, e.g. x=0.7")
    e.add_argument("--out", default=".", help="folder for the SVG and text files")
    d = sub.add_parser("demo", help="the main job: train the digits MLP, run the examples")
    d.add_argument("--out", default="chainrule-demo")
    d.add_argument("--epochs", type=int, default=40)
    return p


def _config(args, parser):
    from .train import CHECKPOINT, Config
    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    if not lr > 0:
        parser.error(f"--lr must be positive, got {lr}")
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    if args.resume and not os.path.exists(os.path.join(args.out, CHECKPOINT)):
        parser.error(f"--resume: no checkpoint at {os.path.join(args.out, CHECKPOINT)}")
    return Config(args.dataset, args.model, args.epochs, args.batch_size, lr, args.optimizer,
                  args.momentum, args.seed, args.out, args.mnist_root)


def _run_examples():
    path = Path(__file__).resolve().parents[1] / "examples" / "run_all.py"
    if not path.exists():
        print("(the worked examples live in the source checkout's examples/; not found here)")
        return
    spec = importlib.util.spec_from_file_location("chainrule_examples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run_all()


def _demo(args):
    from .train import Config, run
    print("chainrule demo: a 64-128-10 ReLU MLP on the 8x8 digits, Adam (lr 0.01), "
          f"{args.epochs} epochs, outputs in {args.out}/")
    t0 = time.perf_counter()
    last = run(Config(epochs=args.epochs, lr=0.01, out=args.out))
    print(f"final test accuracy: {last['test_acc']:.4f}  "
          f"({time.perf_counter() - t0:.1f} s; checkpoint, metrics.csv and curves.png in "
          f"{args.out}/)\n")
    from .explain.cases import neuron
    _write_explanation(neuron(), args.out, "explain-neuron")
    print("\nThe worked examples: backprop next to the hand-derived derivative\n")
    _run_examples()


def _explain(args, parser):
    from .explain.cases import explain_expression, neuron
    if (args.case is None) == (args.expr is None):
        parser.error("explain: give a case (neuron) or --expr, not both")
    if args.case == "neuron":
        ex, stem = neuron(), "explain-neuron"
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
        ex, stem = explain_expression(args.expr, values), "explain-expr"
    _write_explanation(ex, args.out, stem)


def _write_explanation(ex, folder, stem):
    os.makedirs(folder, exist_ok=True)
    text = ex.to_text()
    print(text)
    for suffix, content in ((".txt", text + "\n"), (".svg", ex.to_svg()),
                            (".html", ex.to_html())):
        with open(os.path.join(folder, stem + suffix), "w", encoding="utf-8") as f:
            f.write(content)
    print(f"\nwrote {os.path.join(folder, stem)}.txt, .svg and .html (open the page in a "
          "browser to step through it)")


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            _demo(args)
        elif args.command == "explain":
            _explain(args, parser)
        else:
            from .train import run
            run(_config(args, parser), resume=args.resume)
    except (ChainruleError, OSError, ValueError) as err:
        parser.exit(2, f"chainrule: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
