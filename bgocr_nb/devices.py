"""Device discovery and selection: the CPU and every CUDA GPU that CuPy can use.

``import cupy`` may fail (not installed), or succeed with no usable device (no
driver, no GPU). Both cases leave the CPU as the only device and keep the reason,
so the user can read why the GPU is not offered.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import DeviceError, NoGpuError

DeviceSpec = Union[str, int, "Device", None]


@dataclass(frozen=True)
class Device:
    """One compute device.

    Attributes
    ----------
    kind : {"cpu", "gpu"}
    index : int or None
        CUDA device index for GPUs.
    name : str
    total_memory, free_memory : int or None
        Bytes, for GPUs (free memory as read when the list was made).
    compute_capability : str or None
        For example ``"9.0"``.
    """

    kind: str
    index: int | None = None
    name: str = "CPU"
    total_memory: int | None = None
    free_memory: int | None = None
    compute_capability: str | None = None

    @property
    def id(self) -> str:
        """The spec that selects this device: ``"cpu"`` or ``"gpu:N"``."""
        return "cpu" if self.kind == "cpu" else f"gpu:{self.index}"

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"

    def describe(self) -> str:
        """One line for menus and logs."""
        if not self.is_gpu:
            return "CPU (NumPy/OpenCV)"
        gib = 1024**3
        return (f"GPU {self.index}: {self.name}, {self.free_memory / gib:.1f} of "
                f"{self.total_memory / gib:.1f} GiB free, CC {self.compute_capability}")

    def __str__(self) -> str:
        return self.id


CPU = Device("cpu")


@dataclass
class DeviceList:
    """Every usable device, the CPU first, and why GPUs are missing if they are."""

    devices: list[Device]
    gpu_unavailable_reason: str | None = None

    def __iter__(self):
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def __getitem__(self, i: int) -> Device:
        return self.devices[i]

    @property
    def gpus(self) -> list[Device]:
        return [d for d in self.devices if d.is_gpu]

    def rows(self) -> list[dict[str, Any]]:
        return [{"device": d.id, "name": d.name, "total_memory_gib": _gib(d.total_memory),
                 "free_memory_gib": _gib(d.free_memory),
                 "compute_capability": d.compute_capability} for d in self.devices]

    def to_dataframe(self):
        """The device table as a :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("device")

    def __repr__(self) -> str:
        lines = [d.describe() for d in self.devices]
        if self.gpu_unavailable_reason:
            lines.append(f"No GPU: {self.gpu_unavailable_reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("device", "name", "total GiB", "free GiB", "CC"))
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v if v is not None else ''))}</td>"
                             for v in row.values()) + "</tr>" for row in self.rows())
        note = (f"<p><b>No GPU:</b> {html.escape(self.gpu_unavailable_reason)}</p>"
                if self.gpu_unavailable_reason else "")
        return f"<table><tr>{head}</tr>{body}</table>{note}"


def _gib(n: int | None) -> float | None:
    return None if n is None else round(n / 1024**3, 2)


def _probe_gpus() -> tuple[list[Device], str | None]:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return [], (f"CuPy is not importable ({type(exc).__name__}: {exc}). Install the "
                    "extra that matches your CUDA: pip install 'bgocr-nb[cuda12]' or '[cuda13]'.")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, no device
        return [], f"CuPy found no usable CUDA device ({type(exc).__name__}: {exc})."
    if count == 0:
        return [], "CuPy reports 0 CUDA devices."
    gpus = []
    for i in range(count):
        try:
            props = cupy.cuda.runtime.getDeviceProperties(i)
            with cupy.cuda.Device(i):
                free, total = cupy.cuda.runtime.memGetInfo()
            name = props["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            gpus.append(Device("gpu", i, name, int(total), int(free),
                               f"{props['major']}.{props['minor']}"))
        except Exception:  # a device that cannot be queried cannot be used either
            continue
    reason = None if gpus else "No CUDA device could be queried."
    return gpus, reason


def devices() -> DeviceList:
    """List the CPU and every CUDA GPU that CuPy can use.

    Returns
    -------
    DeviceList
        The CPU first, then GPUs by index, with current free memory. Where no GPU
        is usable, ``gpu_unavailable_reason`` says why.

    Examples
    --------
    >>> devs = devices()
    >>> devs[0].id
    'cpu'
    """
    gpus, reason = _probe_gpus()
    return DeviceList([CPU, *gpus], reason)


@dataclass(frozen=True)
class Selection:
    """A chosen device and the reason it was chosen."""

    device: Device
    reason: str
    available: DeviceList = field(repr=False, compare=False, default=None)  # type: ignore


_SPEC = re.compile(r"^(?:(auto|cpu|gpu)|gpu:(\d+)|(\d+))$")


def select_device(spec: DeviceSpec = "auto", *, available: DeviceList | None = None) -> Selection:
    """Resolve a device spec.

    Parameters
    ----------
    spec : {"auto", "cpu", "gpu", "gpu:N"}, int, Device or None
        ``"auto"`` (or None) takes the GPU with the most free memory, else the CPU.
        ``"gpu"`` takes the GPU with the most free memory and fails without one.
        ``"gpu:N"`` or ``N`` takes GPU ``N``.
    available : DeviceList, optional
        The devices to choose from (default: :func:`devices`).

    Raises
    ------
    DeviceError
        If the spec is malformed or asks for a GPU that cannot be used; the message
        names the reason and the valid choices. :class:`~bgocr_nb.errors.NoGpuError`
        where no GPU can be used at all.
    """
    if isinstance(spec, Device):
        spec = spec.id
    if spec is None:
        spec = "auto"
    if isinstance(spec, bool) or not isinstance(spec, (str, int)):
        raise DeviceError(f"A device must be 'auto', 'cpu', 'gpu', 'gpu:N' or N, got {spec!r}.")
    text = str(spec).strip().lower()
    match = _SPEC.match(text)
    if not match:
        raise DeviceError(f"Unknown device {spec!r}: use 'auto', 'cpu', 'gpu', 'gpu:N' or N.")
    available = available if available is not None else devices()
    gpus = available.gpus
    word, gpu_n, bare_n = match.groups()
    if word == "cpu":
        return Selection(CPU, "the CPU was requested", available)
    if word in ("auto", "gpu"):
        if gpus:
            best = max(gpus, key=lambda d: d.free_memory or 0)
            return Selection(best, f"GPU {best.index} has the most free memory", available)
        if word == "auto":
            return Selection(CPU, f"no GPU: {available.gpu_unavailable_reason}", available)
        raise NoGpuError(f"A GPU was requested but none can be used: "
                          f"{available.gpu_unavailable_reason} Valid choices: 'cpu', 'auto'.")
    index = int(gpu_n if gpu_n is not None else bare_n)
    for gpu in gpus:
        if gpu.index == index:
            return Selection(gpu, f"GPU {index} was requested", available)
    if not gpus:
        raise NoGpuError(f"GPU {index} was requested but no GPU can be used: "
                          f"{available.gpu_unavailable_reason} Valid choices: 'cpu', 'auto'.")
    valid = ", ".join(repr(d.id) for d in available)
    raise DeviceError(f"GPU {index} does not exist. Valid choices: {valid}, 'auto'.")
