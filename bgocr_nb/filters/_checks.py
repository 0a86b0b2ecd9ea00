"""Input checks shared by the filters (skimage-style messages)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ArgumentError


def check_image(image: Any, name: str = "image") -> None:
    """Require a 2-D array with at least one pixel."""
    if getattr(image, "ndim", None) != 2:
        raise ArgumentError(f"The parameter `{name}` must be a 2-dimensional array, got "
                            f"shape {getattr(image, 'shape', type(image).__name__)}.")
    if image.size == 0:
        raise ArgumentError(f"The parameter `{name}` is empty, got shape {image.shape}.")


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True) -> float:
    """Require a finite number inside [low, high] (or (low, high] if not low_inclusive)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"The parameter `{name}` must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise ArgumentError(f"The parameter `{name}` must be finite, got {value!r}.")
    too_low = low is not None and (number < low if low_inclusive else number <= low)
    if too_low or (high is not None and number > high):
        lo = "" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        hi = "" if high is None else f"{high:g}]"
        raise ArgumentError(f"The parameter `{name}` must be in {lo or '(-inf'}, "
                            f"{hi or 'inf)'}, got {value!r}.")
    return number


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ArgumentError(f"The parameter `{name}` must be one of {', '.join(choices)}; "
                            f"got {value!r}.")
    return value
