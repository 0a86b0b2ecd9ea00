"""Pipelines: parse a filter spec, run it on a device, report what happened.

A spec is a comma-separated list of filter names, each optionally with keyword
parameters: ``"deskew,background(radius=40),binarize(method=sauvola)"``.
``"auto"`` (the default) measures the page and picks the filters; ``"none"``
leaves the image raw. Colour input is made gray by the first step: a leading
``grayscale`` step as it says (``grayscale(method=red)`` drops out red seals),
``auto`` as the page needs, luma before any other.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Union

import numpy as np

from .backend import cpu_ops, gpu_ops
from .devices import CPU, Device, DeviceSpec, Selection, select_device
from .errors import ArgumentError, DeviceError, MissingDependencyError
from .filters import FILTERS, Filter
from .filters.color import grayscale

_STEP = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\(([^()]*)\))?\s*(,|$)")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Step:
    """One filter with its parameters."""

    filter: Filter
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.filter.name
        args = ",".join(f"{k}={_format(v)}" for k, v in self.params.items())
        return f"{self.filter.name}({args})"


def _format(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _coerce(flt: Filter, name: str, text: str) -> Any:
    """Convert ``text`` to the type of the parameter's default."""
    default = flt.params[name].default
    text = text.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ArgumentError(f"{flt.name}: `{name}` must be true or false, got {text!r}.")
    if isinstance(default, (int, float)) or default is None:
        try:
            number = float(text)
        except ValueError:
            raise ArgumentError(f"{flt.name}: `{name}` must be a number, got {text!r}.") from None
        if not math.isfinite(number):
            raise ArgumentError(f"{flt.name}: `{name}` must be finite, got {text!r}.")
        integral = isinstance(default, int) or (default is None and number.is_integer())
        return int(number) if integral and number.is_integer() else number
    return text.strip("'\"")


def parse_spec(spec: Union[str, Iterable[str], None]) -> list[Step]:
    """Parse a filter spec into steps.

    Parameters
    ----------
    spec : str, list of str or None
        ``"auto"``, ``"none"`` (or ``""``/None for raw), or e.g.
        ``"deskew,background(radius=40),binarize(method=sauvola)"``.

    Raises
    ------
    ArgumentError
        For unknown filters or parameters (listing the valid ones) and values
        of the wrong type.

    Examples
    --------
    >>> [str(s) for s in parse_spec("deskew, background(radius=40)")]
    ['deskew', 'background(radius=40)']
    """
    if spec is None:
        return []
    if not isinstance(spec, str):
        items = list(spec) if isinstance(spec, Iterable) else None
        if items is None or not all(isinstance(item, str) for item in items):
            raise ArgumentError(f"A filter spec is a string such as 'auto', 'none' or "
                                f"'deskew,background(radius=40)', or a list of such strings, "
                                f"got {spec!r}.")
        spec = ",".join(items)
    text = spec.strip()
    if text.lower() in ("", "none", "raw"):
        return []
    steps, pos = [], 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if not match or match.end() == pos:
            raise ArgumentError(f"Cannot parse the filter spec {spec!r} at {text[pos:]!r}: "
                                "write name or name(key=value, ...), separated by commas.")
        name, args, sep = match.groups()
        flt = FILTERS.get(name.lower())
        if flt is None:
            raise ArgumentError(f"Unknown filter {name!r}. Valid filters: "
                                f"{', '.join(FILTERS)} (or 'none').")
        params = {}
        for item in filter(None, (a.strip() for a in (args or "").split(","))):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or key not in flt.params:
                valid = ", ".join(flt.params) or "none"
                raise ArgumentError(f"Unknown parameter {item!r} for filter {flt.name!r}. "
                                    f"Valid parameters: {valid}.")
            params[key] = _coerce(flt, key, value)
        steps.append(Step(flt, params))
        pos = match.end()
        if not sep and pos < len(text):
            raise ArgumentError(f"Cannot parse the filter spec {spec!r}.")
    if any(step.filter.name == "grayscale" for step in steps[1:]):
        raise ArgumentError(f"In {spec!r}, `grayscale` comes after another filter, which "
                            "has already made the page gray: put it first.")
    return steps


@dataclass
class StepRecord:
    """What one step did: applied or skipped, why, with which parameters, how long."""

    name: str
    applied: bool = True
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        mark = "+" if self.applied else "-"
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{mark} {self.name}{f'({args})' if args else ''}: {self.reason}".rstrip(": ")


@dataclass
class Preprocessed:
    """The output of :func:`preprocess`.

    Attributes
    ----------
    image : numpy.ndarray
        uint8 gray page, ready for OCR.
    steps : list of StepRecord
    angle : float
        Skew removed, degrees counter-clockwise (0 if no deskew ran).
    device : Device
    seconds : float
        Wall time on the device, including the copies to and from it.
    scale : float
        How much the page was resized (``upscale``, ``downscale``): the output's
        resolution is the input's times this.
    """

    image: np.ndarray
    steps: list[StepRecord]
    angle: float
    device: Device
    seconds: float
    scale: float = 1.0


def _ops_for_device(device: Device):
    if not device.is_gpu:
        return cpu_ops()
    try:
        ops = gpu_ops()
        ops.xp.cuda.Device(device.index).use()
    except ImportError as exc:
        raise MissingDependencyError(f"CuPy is needed for {device.id}: {exc}") from exc
    except Exception as exc:
        raise DeviceError(f"Cannot use {device.id}: {type(exc).__name__}: {exc}") from exc
    return ops


class Pipeline:
    """A parsed filter spec bound to nothing: run it on any image and device.

    Examples
    --------
    >>> import numpy as np
    >>> page = np.full((64, 64), 200, np.uint8)
    >>> out = Pipeline("background").run(page, device="cpu")
    >>> int(out.image.max())
    255
    """

    def __init__(self, spec: Union[str, Iterable[str], None] = "auto") -> None:
        self.steps = parse_spec(spec)
        self._check_values()

    def _check_values(self) -> None:
        """Raise the ArgumentError a parameter's value would raise on the first page
        (``background(radius=-1)``): run on a small page, so a batch fails up front."""
        if not self.steps:
            return
        probe = np.full((48, 64), 230, np.uint8)
        probe[16:24, 8:56:6] = 20  # a line of "glyphs"
        try:
            self.run(probe, device=Selection(CPU, "checking the filter values"))
        except ArgumentError as exc:
            raise ArgumentError(f"In the filter spec {self.spec!r}: {exc}") from None
        except Exception:  # noqa: BLE001 - anything else is about this page, not the values
            pass

    @classmethod
    def from_steps(cls, steps: Iterable[Step]) -> "Pipeline":
        """A pipeline of already parsed steps."""
        pipeline = cls(None)
        pipeline.steps = list(steps)
        return pipeline

    @property
    def spec(self) -> str:
        return ",".join(str(s) for s in self.steps) or "none"

    def __repr__(self) -> str:
        return f"Pipeline({self.spec!r})"

    def run(self, image: Any, *, device: DeviceSpec | Selection = "auto") -> Preprocessed:
        """Run the steps on ``image`` (any array-like, gray or RGB) on ``device``."""
        selection = device if isinstance(device, Selection) else select_device(device)
        ops = _ops_for_device(selection.device)
        start = time.perf_counter()
        records: list[StepRecord] = []
        angle, scale = 0.0, 1.0
        page = ops.asarray(image)
        for step in self.steps:
            if not step.filter.colour:
                page = grayscale(page)  # luma, unless a grayscale or auto step came first
            t0 = time.perf_counter()
            rows = page.shape[0]
            page, info = step.filter.apply(page, **step.params)
            if step.filter.name in ("upscale", "downscale"):
                scale *= page.shape[0] / rows
            scale *= info.get("scale", 1.0)
            if ops.name == "cupy":
                ops.xp.cuda.get_current_stream().synchronize()
            seconds = time.perf_counter() - t0
            if "steps" in info:  # auto: one record per decision
                records += [StepRecord(**s) for s in info["steps"]]
            else:
                records.append(StepRecord(step.filter.name, params=dict(step.params),
                                          seconds=seconds))
            angle = info.get("angle", angle)
        host = ops.to_uint8(page if page.ndim == 2 else grayscale(page))
        return Preprocessed(host, records, float(angle), selection.device,
                            time.perf_counter() - start, scale)


def filter_help() -> str:
    """A table of the filters and their parameters, for ``--help`` and docs."""
    lines = []
    for f in FILTERS.values():
        params = ", ".join(f"{n}={p.default!r}" for n, p in f.params.items())
        lines.append(f"  {f.name:<11} {f.summary}" + (f"\n{'':14}{params}" if params else ""))
    return "\n".join(lines)


__all__ = ["Pipeline", "Preprocessed", "Step", "StepRecord", "filter_help", "parse_spec"]
