"""The training job behind ``chainrule train`` and ``chainrule demo``: data, models, the loop,
and checkpoints that resume to exactly the parameters of an uninterrupted run.

Every random number comes from one of four generators derived from the seed (``init`` for
the weights, ``shuffle`` for the batch order, ``dropout`` for the masks, and chainrule's
default generator for anything that falls back to it). The checkpoint written after each
epoch keeps their states, so stopping after epoch k and resuming gives the same parameters,
bit for bit, as never stopping.

With ``distributed`` (under ``mpirun -n N``) each of the N ranks computes ``batch_size / N``
samples of every batch and the gradients are averaged over the ranks before each step, so the
run is the single-process run (up to floating-point summation order) whatever N is, except
with ``dropout``, whose masks each rank draws for itself from (seed, rank, epoch). Either way
the checkpoint written by rank 0 resumes with any number of ranks.

>>> cfg = Config(dataset="mnist1d", model="cnn")
>>> build_model(cfg, 40, make_rngs(0))
Sequential(
  (0): Reshape((1, 40))
  (1): Conv1d(1, 25, kernel_size=(5,), stride=2, padding=1)
  (2): ReLU()
  (3): Conv1d(25, 25, kernel_size=(3,), stride=2, padding=1)
  (4): ReLU()
  (5): Conv1d(25, 25, kernel_size=(3,), stride=2, padding=1)
  (6): ReLU()
  (7): Flatten()
  (8): Linear(in_features=125, out_features=10, bias=True)
)
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import data, io, nn, optim
from . import distributed as dist
from ._extras import install_hint, requirement
from .compile import compile as cr_compile
from .engine import no_grad
from .errors import ChainruleError
from .nn import functional as F
from .tensor import Tensor, default_rng, manual_seed

CHECKPOINT, METRICS, CURVES = "checkpoint.safetensors", "metrics.csv", "curves.png"
GRADIENTS = "gradients.png"
OUTPUTS = (CHECKPOINT, METRICS, CURVES, GRADIENTS)  # what a run writes into --out
CHECKPOINT_FORMAT = "chainrule.train/1"
FIELDS = ["epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"]
DATASETS, MODELS = ("digits", "mnist1d", "mnist"), ("mlp", "cnn")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine")
# Per dataset: epochs and batch size. MNIST-1D follows the paper (Greydanus 2020): batch 100,
# 6,000 steps = 150 epochs of its 4,000 training samples.
DATASET_DEFAULTS = {"digits": {"epochs": 30, "batch_size": 32},
                    "mnist1d": {"epochs": 150, "batch_size": 100},
                    "mnist": {"epochs": 5, "batch_size": 64}}
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 0.05}
# The small data sets train best (and, for MNIST-1D, as in the paper) with Adam at 1e-2.
DEFAULT_LR_FOR = {(d, o): 1e-2 for d in ("digits", "mnist1d") for o in ("adam", "adamw")}
# A plot costs ~0.1 s, more than an epoch of the small models: redraw at most this often
# (and after the last epoch).
PLOT_EVERY_S = 10.0
# Settings that may change when resuming: the rest must match the checkpoint's run. How many
# processes compute it and whether gradients are watched do not change the run's numbers.
RESUMABLE_CHANGES = ("epochs", "out", "mnist_root", "download", "distributed", "monitor_grads",
                     "compile")


class TrainError(ChainruleError, ValueError):
    """A training run cannot start: bad settings, or a checkpoint that does not fit."""


@dataclass
class Config:
    """One run's settings (what ``chainrule train`` parses, and the checkpoint keeps)."""
    dataset: str = "digits"
    model: str = "mlp"
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-2
    optimizer: str = "adam"
    momentum: float = 0.9
    schedule: str = "constant"
    dropout: float = 0.0
    seed: int = 0
    out: str = "chainrule-run"
    mnist_root: str = "data/mnist"
    download: bool = False
    distributed: bool = False
    monitor_grads: bool = False
    compile: bool = True  # replay each step with cr.compile where it applies (same results)

    def check(self) -> Config:
        """Raise :class:`TrainError` naming the first bad setting; return self."""
        for name, value, options in (("dataset", self.dataset, DATASETS),
                                     ("model", self.model, MODELS),
                                     ("optimizer", self.optimizer, OPTIMIZERS),
                                     ("schedule", self.schedule, SCHEDULES)):
            if value not in options:
                raise TrainError(f"--{name} must be one of {', '.join(options)}, got {value!r}")
        problems = [(self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
                    (self.batch_size >= 1,
                     f"--batch-size must be at least 1, got {self.batch_size}"),
                    (math.isfinite(self.lr) and self.lr > 0,
                     f"--lr must be positive, got {self.lr}"),
                    (0 <= self.momentum < 1, f"--momentum must be in [0, 1), got {self.momentum}"),
                    (0 <= self.dropout < 1, f"--dropout must be in [0, 1), got {self.dropout}"),
                    (self.seed >= 0, f"--seed must be non-negative, got {self.seed}")]
        for ok, message in problems:
            if not ok:
                raise TrainError(message)
        return self


def required_modules(cfg: Config) -> dict[str, str]:
    """``{module: extra}`` of every optional package the run will import: safetensors for the
    checkpoint, matplotlib for curves.png, tqdm for the progress bar, the dataset's package
    (none for MNIST, nor for a cached MNIST-1D), mpi4py under --distributed."""
    needed = {"safetensors": "safetensors", "matplotlib": "plot", "tqdm": "progress"}
    if cfg.dataset == "digits":
        needed["sklearn"] = "datasets"
    elif cfg.dataset == "mnist1d" and not os.path.exists(data.mnist1d_cache_path()):
        needed["mnist1d"] = "datasets"
    if cfg.distributed:
        needed["mpi4py"] = "mpi"
    return needed


def check_requirements(cfg: Config, needed_by: str = "this run",
                       more: dict[str, str] | None = None) -> None:
    """Raise :class:`TrainError` (one line: what is missing, the extra, the install commands)
    unless every package in :func:`required_modules` (and ``more``) can be imported: found
    before the data loads, not after an epoch."""
    needed = {**required_modules(cfg), **(more or {})}
    mpi = {"mpi4py": needed.pop("mpi4py")} if "mpi4py" in needed else {}
    problem = requirement(needed, needed_by)
    if problem:
        raise TrainError(problem)
    if requirement(mpi, "--distributed"):  # its own line, which names the MPI library too
        raise TrainError("--distributed: mpi4py is not installed: " + install_hint("mpi")
                         + "; it also needs an MPI library such as Open MPI (apt-get install "
                         "openmpi-bin)")


def existing_outputs(out: str) -> list[str]:
    """The files of a run that are already in the folder ``out`` (none if it does not exist)."""
    return [name for name in OUTPUTS if os.path.exists(os.path.join(out, name))]


def clear_outputs(out: str) -> list[str]:
    """Remove an earlier run's files from ``out`` (for a new run with --overwrite, so that the
    folder never mixes two runs); return the names removed."""
    gone = existing_outputs(out)
    for name in gone:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(out, name))
    return gone


@contextlib.contextmanager
def held_interrupts():
    """Hold Ctrl-C (SIGINT) until the block is done, then deliver it: the files written in the
    block agree with each other and with what the job records as saved. Only the main thread
    receives signals; elsewhere this does nothing.

    >>> with held_interrupts():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending and callable(previous):
            previous(signal.SIGINT, pending[0])  # raises KeyboardInterrupt, as if just now
        elif pending and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


def defaults_for(dataset: str, optimizer: str) -> dict:
    """The settings a run gets when the command line does not give them."""
    lr = DEFAULT_LR_FOR.get((dataset, optimizer), DEFAULT_LR[optimizer])
    return {**DATASET_DEFAULTS[dataset], "lr": lr}


# -- data and models ----------------------------------------------------------------------

def load_dataset(cfg: Config):
    """``(x_train, y_train, x_test, y_test)``: flat float32 features, int64 labels."""
    if cfg.dataset == "digits":
        return data.load_digits()
    if cfg.dataset == "mnist1d":
        return data.load_mnist1d()
    try:
        x_tr, y_tr, x_te, y_te = data.load_mnist(cfg.mnist_root, download=cfg.download)
    except FileNotFoundError as e:
        raise TrainError(f"{e} (on the command line: --download)") from None
    return x_tr.reshape(len(x_tr), -1), y_tr, x_te.reshape(len(x_te), -1), y_te


def standardizer(x_train: np.ndarray, per_feature: bool) -> dict:
    """Mean and scale of the training set, per feature (for MLPs) or one for all (for CNNs,
    whose weights are shared across positions). The scale is the standard deviation plus
    0.1, so features nearly constant in training (the digits' empty border) are not blown
    up; measured on digits, this lifts the MLP's test accuracy by about one point."""
    axis = 0 if per_feature else None
    return {"mean": np.asarray(x_train.mean(axis, dtype=np.float64), np.float32),
            "scale": np.asarray(x_train.std(axis, dtype=np.float64) + 0.1, np.float32)}


def input_stats(cfg: Config, x_train: np.ndarray) -> dict:
    """How inputs are standardized: MNIST-1D is used as its generator standardized it (as in
    the paper; standardizing again cost its CNN 0.7 points over seeds 0-3), the others by
    :func:`standardizer`."""
    if cfg.dataset == "mnist1d":
        return {"mean": np.zeros((), np.float32), "scale": np.ones((), np.float32)}
    return standardizer(x_train, per_feature=cfg.model == "mlp")


def standardize(x: np.ndarray, stats: dict) -> np.ndarray:
    return ((x - stats["mean"]) / stats["scale"]).astype(np.float32)


class Reshape(nn.Module):
    """Gives flat feature vectors the (C, H, W) or (C, L) layout a CNN expects."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)

    def extra_repr(self):
        return str(self.shape)


def make_rngs(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for init, shuffling and dropout, and chainrule's default
    generator reseeded, all from ``seed``."""
    rngs = {name: np.random.default_rng([seed, k])
            for k, name in enumerate(("init", "shuffle", "dropout"))}
    manual_seed(seed)
    rngs["default"] = default_rng()
    return rngs


def _mlp(sizes, dropout, rngs):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, rng=rngs["init"]), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout, rng=rngs["dropout"]))
    return nn.Sequential(*layers[:-2 if dropout else -1])


def _cnn(cfg: Config, n_in: int, rngs):
    """The MNIST-1D paper's CNN (its ``ConvBase``), a small CNN for the 8x8 digits, and a
    LeNet for 28x28 MNIST."""
    r = rngs["init"]
    C1, C2, R, P = nn.Conv1d, nn.Conv2d, nn.ReLU, nn.MaxPool2d
    if cfg.dataset == "mnist1d":
        body = [Reshape(1, n_in), C1(1, 25, 5, 2, 1, rng=r), R(), C1(25, 25, 3, 2, 1, rng=r),
                R(), C1(25, 25, 3, 2, 1, rng=r), R()]
    elif cfg.dataset == "digits":
        body = [Reshape(1, 8, 8), C2(1, 16, 3, padding=1, rng=r), R(), P(2)]
    else:
        body = [Reshape(1, 28, 28), C2(1, 8, 5, rng=r), R(), P(2), C2(8, 16, 5, rng=r), R(),
                P(2)]
    with no_grad():
        n_flat = nn.Sequential(*body)(Tensor._wrap(np.zeros((1, n_in), np.float32))).size
    head = [nn.Dropout(cfg.dropout, rng=rngs["dropout"])] if cfg.dropout else []
    return nn.Sequential(*body, nn.Flatten(), *head, nn.Linear(n_flat, 10, rng=r))


def build_model(cfg: Config, n_in: int, rngs: dict) -> nn.Module:
    """The MLP (64-128-10 on digits, 40-100-100-10 on MNIST-1D, 784-256-256-10 on MNIST) or
    the CNN for ``cfg.dataset``, initialised from ``rngs["init"]``."""
    if cfg.model == "cnn":
        return _cnn(cfg, n_in, rngs)
    hidden = {"digits": [128], "mnist1d": [100, 100], "mnist": [256, 256]}[cfg.dataset]
    return _mlp([n_in, *hidden, 10], cfg.dropout, rngs)


def build_optimizer(cfg: Config, params):
    params = list(params)
    kinds = {"sgd": lambda: optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum),
             "adam": lambda: optim.Adam(params, lr=cfg.lr),
             "adamw": lambda: optim.AdamW(params, lr=cfg.lr),
             "rmsprop": lambda: optim.RMSprop(params, lr=cfg.lr),
             "adagrad": lambda: optim.Adagrad(params, lr=cfg.lr)}
    return kinds[cfg.optimizer]()


def build_scheduler(cfg: Config, opt, steps_per_epoch: int):
    """Cosine annealing to 0 over the whole run, stepped once per batch; or None."""
    if cfg.schedule == "constant":
        return None
    return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)


# -- the run --------------------------------------------------------------------------------

@dataclass
class Job:
    """Everything one training run holds between epochs. ``loader`` gives this rank's share
    of each of the ``steps_per_epoch`` batches; ``test`` is its share of the test set."""
    cfg: Config
    model: nn.Module
    opt: optim.Optimizer
    scheduler: object
    loader: data.DataLoader
    test: tuple
    rngs: dict
    stats: dict
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    saved_epoch: int | None = None  # the epoch the checkpoint on disk holds (None: none yet)
    rows: list = field(default_factory=list)
    rank: int = 0
    world_size: int = 1
    ddp: object = None  # the DistributedDataParallel wrapper under --distributed
    monitor: object = None  # a GradientMonitor under --monitor-grads (on rank 0)
    compiled_step: object = None  # the cr.compile'd step (made on first use)


def prepare(cfg: Config, checkpoint: dict | None = None) -> Job:
    """Load the data and build model, optimizer, schedule and loader; with ``checkpoint``
    (from :func:`load_checkpoint`), continue where it stopped. Raises on unusable input."""
    cfg.check()
    check_requirements(cfg)
    rank, world = _join(cfg)
    x_tr, y_tr, x_te, y_te = load_dataset(cfg)
    # Create --out now, not after the first epoch, but only once the data has loaded: a run
    # that fails on its input leaves nothing behind.
    try:
        os.makedirs(cfg.out, exist_ok=True)
    except OSError as e:
        raise TrainError(f"--out {cfg.out}: cannot create the folder ({e.strerror})") from None
    stats = input_stats(cfg, x_tr)
    rngs = make_rngs(cfg.seed)
    model = build_model(cfg, x_tr.shape[1], rngs)
    opt = build_optimizer(cfg, model.parameters())
    train_set = data.TensorDataset(standardize(x_tr, stats), y_tr)
    if cfg.distributed:
        # The same generator state on every rank: each draws the same order and takes its share.
        sampler = dist.DistributedSampler(len(y_tr), rng=rngs["shuffle"], rank=rank,
                                          world_size=world)
        loader = data.DataLoader(train_set, cfg.batch_size // world, sampler=sampler)
    else:
        loader = data.DataLoader(train_set, cfg.batch_size, shuffle=True, rng=rngs["shuffle"])
    steps = math.ceil(len(y_tr) / cfg.batch_size)
    job = Job(cfg, model, opt, build_scheduler(cfg, opt, steps), loader,
              (standardize(x_te, stats)[rank::world], y_te[rank::world]), rngs, stats, steps,
              rank=rank, world_size=world)
    if checkpoint is not None:
        _restore(job, checkpoint)
    if cfg.distributed:
        job.ddp = dist.DistributedDataParallel(model)
    if cfg.monitor_grads and rank == 0:
        job.monitor = nn.utils.GradientMonitor(model)
    return job


def _join(cfg: Config) -> tuple[int, int]:
    """This process's rank and the number of ranks: (0, 1) unless ``cfg.distributed``."""
    if not cfg.distributed:
        return 0, 1
    try:
        dist.init()
    except dist.DistributedError as e:
        raise TrainError(f"--distributed: {e}") from None
    rank, world = dist.rank(), dist.world_size()
    if cfg.batch_size % world:
        raise TrainError(f"--batch-size {cfg.batch_size} does not split evenly over {world} "
                         "ranks: it is the global batch, each rank computing an equal share")
    return rank, world


def _batches(job: Job):
    """This rank's share of each of the epoch's batches: None where it has none (the last
    batch can be smaller than the number of ranks), since every rank must take every step."""
    shares = iter(job.loader)
    for _ in range(job.steps_per_epoch):
        yield next(shares, None)


def _reseed_dropout(job: Job, epoch: int) -> None:
    """With several ranks, each draws its dropout masks from (seed, rank, epoch): identical
    masks on every rank would correlate them, and a rank's masks can then be redrawn on
    resume without its generator in the checkpoint (which holds rank 0's state only)."""
    fresh = np.random.default_rng([job.cfg.seed, 2, job.rank, epoch])
    job.rngs["dropout"].bit_generator.state = fresh.bit_generator.state


def _step_function(job: Job):
    """One training step (zero_grad, forward, backward, step) as ``cr.compile`` replays it,
    where it applies: not under --distributed (gradients are averaged between backward and
    step) or --monitor-grads (it reads every step), nor with --no-compile."""
    if not job.cfg.compile or job.ddp is not None or job.monitor is not None:
        return None
    if job.compiled_step is None:
        model, opt = job.model, job.opt

        def train_step(xb, yb):
            opt.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            return loss, logits
        job.compiled_step = cr_compile(train_step)
    return job.compiled_step


def train_epoch(job: Job, desc: str) -> tuple[float, float]:
    """One pass over the training set; the mean loss and accuracy seen on the way (over all
    ranks)."""
    job.model.train()
    batches = _batches(job)
    bar = _progress(batches, job.steps_per_epoch, desc) if job.rank == 0 else batches
    with contextlib.closing(bar) if hasattr(bar, "close") else contextlib.nullcontext():
        return _train_batches(job, bar)


def _train_batches(job: Job, bar) -> tuple[float, float]:
    total = correct = seen = 0
    step = _step_function(job)
    for batch in bar:
        if step is not None and batch is not None:  # the same step, replayed
            xb, yb = batch
            loss, logits = step(xb, yb)
            n = len(yb.data)
            total += loss.item() * n
            correct += int((logits.data.argmax(1) == yb.data).sum())
            seen += n
        else:
            job.opt.zero_grad()
            n = 0
            if batch is not None:
                xb, yb = batch
                logits = job.model(xb)
                loss = F.cross_entropy(logits, yb)
                loss.backward()
                n = len(yb.data)
                total += loss.item() * n
                correct += int((logits.data.argmax(1) == yb.data).sum())
                seen += n
            if job.ddp is not None:
                job.ddp.allreduce_gradients(n)
            if job.monitor is not None:
                job.monitor.record()
            job.opt.step()
            if job.monitor is not None:
                job.monitor.record(after_step=True)
        if job.scheduler is not None:
            job.scheduler.step()
        job.step += 1
        if hasattr(bar, "set_postfix") and seen:
            bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.4f}",
                            refresh=False)
    return _mean_over_ranks(job, total / seen if seen else 0.0, correct / seen if seen else 0.0,
                            seen)


def _mean_over_ranks(job: Job, loss: float, acc: float, count: int) -> tuple[float, float]:
    """This rank's mean loss and accuracy over ``count`` samples, or under --distributed the
    means over every rank's samples."""
    if job.ddp is None:
        return loss, acc
    means = dist.reduce_mean({"loss": loss, "acc": acc}, count)
    return means["loss"], means["acc"]


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray,
             batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on ``(x, y)``, in eval mode and without a graph."""
    model.eval()
    total = correct = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(Tensor._wrap(x[i:i + batch_size]))
            yb = y[i:i + batch_size]
            total += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.data.argmax(1) == yb).sum())
    return total / len(x), correct / len(x)


def fit(job: Job, log=print, stop_after: int | None = None) -> dict:
    """Train from ``job.epoch + 1`` to ``cfg.epochs``, writing metrics and checkpoint after
    every epoch (and the plots); returns the last epoch's metrics. ``stop_after`` ends the
    run after that epoch, as an interruption would (the schedule still spans ``cfg.epochs``).
    Under --distributed every rank trains, and rank 0 alone prints and writes the files."""
    cfg = job.cfg
    writer = job.rank == 0
    log = log if writer else (lambda line: None)
    last = cfg.epochs if stop_after is None else min(stop_after, cfg.epochs)
    if job.epoch >= cfg.epochs:
        log(f"{_path(cfg, CHECKPOINT)} is already at epoch {job.epoch} of {cfg.epochs}: "
            "nothing to do (raise --epochs to train on)")
    plotted, first_step = time.perf_counter(), job.step + 1
    for epoch in range(job.epoch + 1, last + 1):
        t0 = time.perf_counter()
        if job.world_size > 1 and cfg.dropout:
            _reseed_dropout(job, epoch)
        tr_loss, tr_acc = train_epoch(job, f"epoch {epoch}/{cfg.epochs}")
        te_loss, te_acc = _mean_over_ranks(job, *evaluate(job.model, *job.test),
                                           len(job.test[1]))
        row = dict(zip(FIELDS, (epoch, job.step, tr_loss, tr_acc, te_loss, te_acc,
                                job.opt.param_groups[0]["lr"], time.perf_counter() - t0)))
        # Ctrl-C waits for the end of this block: the epoch counts as done exactly when its
        # metrics and checkpoint are on disk, and job.saved_epoch says so.
        with held_interrupts():
            job.epoch = epoch
            job.rows.append(row)
            log(summary(row, cfg.epochs))
            if writer:
                # metrics first: a resumed run drops rows past the checkpoint, never misses one
                write_metrics(job.rows, _path(cfg, METRICS))
                save_checkpoint(job)
                job.saved_epoch = epoch
        if not writer:
            continue
        if epoch == last or time.perf_counter() - plotted >= PLOT_EVERY_S:
            plot_curves(job.rows, _path(cfg, CURVES))
            if job.monitor is not None:
                job.monitor.plot(_path(cfg, GRADIENTS), title="mean gradient norm per layer, "
                                 f"steps {first_step}-{job.step}", first_step=first_step)
            plotted = time.perf_counter()
    return job.rows[-1] if job.rows else {}


def summary(row: dict, epochs: int) -> str:
    """The line printed after each epoch."""
    return (f"epoch {int(row['epoch'])}/{epochs}  train_loss={row['train_loss']:.4f}  "
            f"train_acc={row['train_acc']:.4f}  test_loss={row['test_loss']:.4f}  "
            f"test_acc={row['test_acc']:.4f}  time={row['seconds']:.1f}s")


def _path(cfg: Config, name: str) -> str:
    return os.path.join(cfg.out, name)


def _progress(iterable, total: int, desc: str):
    """A tqdm bar on stderr (an optional extra). On a terminal it redraws at most 10 times
    a second and vanishes at the end of the epoch, leaving the summary line. Into a file or
    pipe it stays silent for epochs shorter than 30 s and then writes a plain line every
    30 s, so logs hold the summary lines, not a stream of redraws."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    tty = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, leave=not tty, file=sys.stderr,
                mininterval=0.1 if tty else 30.0, delay=0.0 if tty else 30.0,
                dynamic_ncols=tty, ascii=not tty)


# -- checkpoints, metrics, plot ---------------------------------------------------------------

def save_checkpoint(job: Job) -> None:
    """Model, optimizer and schedule state, epoch, step, the run's settings, the
    standardization and every generator's state, written atomically."""
    state = {"format": CHECKPOINT_FORMAT, "epoch": job.epoch, "step": job.step,
             "config": asdict(job.cfg), "model": job.model.state_dict(),
             "optimizer": job.opt.state_dict(),
             "scheduler": job.scheduler.state_dict() if job.scheduler is not None else {},
             "standardize": job.stats,
             "rng": {name: g.bit_generator.state for name, g in job.rngs.items()}}
    io.save(state, _path(job.cfg, CHECKPOINT))


def load_checkpoint(path: str) -> dict:
    """A checkpoint written by :func:`save_checkpoint`, checked for the entries resuming
    needs; raises :class:`TrainError` (or ``CheckpointError``) naming ``path`` otherwise."""
    if not os.path.isfile(path):
        raise TrainError(f"--resume: no checkpoint at {path}")
    state = io.load(path)
    needed = ("format", "epoch", "step", "config", "model", "optimizer", "scheduler", "rng")
    if not isinstance(state, dict) or any(k not in state for k in needed) \
            or state["format"] != CHECKPOINT_FORMAT or not isinstance(state["config"], dict):
        raise TrainError(f"{path} is not a checkpoint written by chainrule train "
                         f"(format {CHECKPOINT_FORMAT})")
    return state


def saved_config(checkpoint: dict, **changes) -> Config:
    """The checkpoint's settings with ``changes``; a change to a setting that shapes the run
    (anything but :data:`RESUMABLE_CHANGES`; and epochs too under the cosine schedule, which
    is laid out for the run's length) is an error, since the resumed run could not then match
    an uninterrupted one."""
    known = {f.name for f in fields(Config)}
    cfg = Config(**{k: v for k, v in checkpoint["config"].items() if k in known})
    try:
        cfg.check()
    except (TypeError, TrainError) as e:  # a checkpoint written by hand, or by a bug
        raise TrainError(f"--resume: the checkpoint's settings are unusable ({e})") from None
    free = RESUMABLE_CHANGES if cfg.schedule != "cosine" else RESUMABLE_CHANGES[1:]
    for key, value in changes.items():
        old = getattr(cfg, key)
        if key not in free and value != old:
            why = " (its cosine schedule is laid out for that many)" if key == "epochs" else ""
            raise TrainError(f"--resume: the checkpoint's run has --{key.replace('_', '-')} "
                             f"{old}{why}, not {value}; leave it out to resume that run")
        setattr(cfg, key, value)
    return cfg


def _restore(job: Job, state: dict) -> None:
    try:
        job.model.load_state_dict(state["model"])
        job.opt.load_state_dict(state["optimizer"])
        if job.scheduler is not None:
            job.scheduler.load_state_dict(state["scheduler"])
        for name, g in job.rngs.items():
            g.bit_generator.state = state["rng"][name]
    except (KeyError, TypeError, ValueError) as e:
        raise TrainError(f"{_path(job.cfg, CHECKPOINT)} does not fit this run: {e}") from None
    job.epoch, job.step = int(state["epoch"]), int(state["step"])
    job.saved_epoch = job.epoch
    job.rows = [r for r in read_metrics(_path(job.cfg, METRICS)) if r["epoch"] <= job.epoch]


def write_metrics(rows: list[dict], path: str) -> None:
    """All epochs so far, one CSV row each (``lr``: after the epoch's last step), replacing
    ``path`` atomically."""
    lines = [",".join(FIELDS)] + [
        ",".join(str(int(r[k])) if k in ("epoch", "step") else f"{r[k]:.6g}" for k in FIELDS)
        for r in rows]
    with io.atomic_open(path) as f:
        f.write(("\n".join(lines) + "\n").encode())


def read_metrics(path: str) -> list[dict]:
    """The rows of a metrics.csv (none if it is missing); numbers as floats."""
    if not os.path.exists(path):
        return []
    try:
        with open(path, newline="") as f:
            return [{k: float(row[k]) for k in FIELDS} for row in csv.DictReader(f)]
    except (KeyError, TypeError, ValueError) as e:
        raise TrainError(f"{path}: unreadable metrics ({type(e).__name__}: {e})") from None


def plot_curves(rows: list[dict], path: str) -> None:
    """Loss and accuracy per epoch, train and test, as a PNG (needs matplotlib)."""
    import matplotlib  # checked up front by check_requirements
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for split, style in (("train", "-"), ("test", "--")):
            ax.plot(epochs, [r[f"{split}_{key}"] for r in rows], style, label=split)
        ax.set(xlabel="epoch", ylabel=label, title=f"{label} per epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        with io.atomic_open(path) as f:  # an interrupted redraw keeps the last complete plot
            fig.savefig(f, dpi=100, format="png")
    finally:
        plt.close(fig)
