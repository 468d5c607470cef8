"""Devices and PyTorch's dtype names: chainrule computes with NumPy, on the CPU only.

PyTorch programs name a device (``torch.device("cpu")``, ``device=`` on factories,
``.to(device)``) and dtypes by PyTorch's names (``torch.float``, ``torch.long``). chainrule
accepts the same spellings so such programs run unchanged; a device other than the CPU is
refused with an error that says so (NumPy has no GPU).

>>> import chainrule as cr
>>> cr.device("cpu")
device(type='cpu')
>>> cr.zeros(2, device="cpu", dtype=cr.double).dtype
dtype('float64')
"""
from __future__ import annotations

import numpy as np

from .errors import ChainruleError

# PyTorch's dtype names (``torch.float`` is float32, ``torch.int`` int32, ``torch.long``
# int64). NumPy dtypes, so they work wherever a dtype is accepted.
float16 = half = np.dtype(np.float16)
float32 = float_ = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int32 = int_ = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_CPU_ONLY = ("chainrule runs on the CPU only (it computes with NumPy); use device='cpu', "
             "or leave the device out")


class DeviceError(ChainruleError, RuntimeError):
    """A device other than the CPU was asked for."""


class device:  # noqa: N801  (named like torch.device)
    """A device, as ``torch.device``: only ``"cpu"`` (index 0, or none) exists in chainrule.

    >>> import chainrule as cr
    >>> cr.device("cpu"), cr.device("cpu", 0).type
    (device(type='cpu'), 'cpu')
    >>> cr.device("cuda")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainrule.device.DeviceError: device 'cuda': chainrule runs on the CPU only ...
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device = "cpu", index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got "
                            f"{builtin_type(type).__name__}")
        name, _, number = type.partition(":")
        if number:
            if index is not None or not number.isdigit():
                raise DeviceError(f"device {type!r}: expected 'cpu' or 'cpu:0'")
            index = int(number)
        if name != "cpu":
            raise DeviceError(f"device {type!r}: {_CPU_ONLY}")
        if index not in (None, 0):
            raise DeviceError(f"device {type!r} index {index}: there is one CPU device, "
                              "'cpu' (index 0)")
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='cpu'{idx})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else "cpu:0"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except DeviceError:
                return False
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash("cpu")


builtin_type = type
CPU = device("cpu")


def check_device(dev, where: str = "") -> None:
    """Accept None, ``"cpu"`` or a ``cr.device``; raise ``DeviceError`` for anything else.

    >>> from chainrule.device import check_device
    >>> check_device("cpu:0")
    """
    if dev is None or dev is CPU:
        return
    try:
        device(dev)
    except DeviceError as e:
        raise DeviceError(f"{where}: {e}" if where else str(e)) from None


def is_device(v) -> bool:
    """Whether ``v`` names a device (a ``cr.device`` or a string such as ``"cpu"``, ``"cuda"``);
    used by ``.to()`` to tell devices from dtypes."""
    if isinstance(v, device):
        return True
    return isinstance(v, str) and v.partition(":")[0] in ("cpu", "cuda", "mps", "xla", "xpu",
                                                          "meta", "hip", "tpu", "ipu")


class cuda:  # noqa: N801  (the namespace torch.cuda)
    """``cr.cuda.is_available()`` is False, so ``"cuda" if cr.cuda.is_available() else "cpu"``
    picks the CPU.

    >>> import chainrule as cr
    >>> cr.cuda.is_available(), cr.cuda.device_count()
    (False, 0)
    """

    @staticmethod
    def is_available() -> bool:
        """Always False: chainrule has no GPU backend."""
        return False

    @staticmethod
    def device_count() -> int:
        """The number of CUDA devices: always 0 (chainrule runs on the CPU)."""
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Nothing to seed: there is no GPU (accepted so seeding code runs unchanged)."""

    manual_seed_all = manual_seed


def to_args(args, dtype, device, where: str):
    """The dtype that ``.to(...)`` asks for, from PyTorch's forms (``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(tensor)``: its dtype, or keywords); a device
    other than the CPU is refused.

    >>> import chainrule as cr
    >>> to_args(("cpu", cr.float64), None, None, "Tensor.to")
    dtype('float64')
    """
    for a in args:
        if hasattr(a, "_data"):  # a Tensor: its dtype
            dtype = a.dtype
        elif is_device(a):
            device = a
        else:
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"{where}: expected a dtype (e.g. cr.float32), a device ('cpu') "
                                f"or a tensor, got {a!r}") from None
    if device is not None:
        check_device(device, where)
    return dtype

