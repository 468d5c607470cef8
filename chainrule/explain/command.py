"""The command line's explain side: ``chainrule explain ... --serve`` and ``chainrule
playground`` (``cli.py`` defines the arguments and calls in here)."""
from __future__ import annotations

import argparse


def add_serve_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("--serve", action="store_true",
                   help="instead of writing files, serve a live page on 127.0.0.1 where every "
                   "input and constant is editable and chainrule recomputes each edit")
    e.add_argument("--port", type=int, default=0, metavar="N",
                   help="port for --serve (default: any free port)")


def add_playground_arguments(p: argparse.ArgumentParser) -> None:
    from .playground import ACTIVATIONS, DATASETS, OPTIMIZERS
    p.add_argument("--port", type=int, default=0, metavar="N",
                   help="port on 127.0.0.1 (default: any free port)")
    p.add_argument("--dataset", choices=DATASETS, default="moons")
    p.add_argument("--layers", default="8, 8", metavar="N,N",
                   help="units per hidden layer (default: 8, 8)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="tanh")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=float, default=0.03, help="learning rate (default: 0.03)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, not {port}")


def serve_explanation(ex, port: int) -> None:
    """Serve ``ex`` live until Ctrl-C (prints the URL first)."""
    from .serve import run_until_interrupted, serve
    _check_port(port)
    run_until_interrupted(serve(ex, port), "live explanation")


def run_playground(args: argparse.Namespace) -> None:
    """``chainrule playground``: serve until Ctrl-C."""
    from .playground import serve_playground
    from .serve import run_until_interrupted
    _check_port(args.port)
    server = serve_playground(args.port, dataset=args.dataset, layers=args.layers,
                              activation=args.activation, optimizer=args.optimizer, lr=args.lr)
    if args.open:
        import webbrowser
        webbrowser.open(server.url)
    run_until_interrupted(server, "chainrule playground")
