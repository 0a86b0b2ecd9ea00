"""Thresholding: global Otsu and local Sauvola."""

from __future__ import annotations

from typing import Any

from ..backend import ops_for
from ._checks import check_choice, check_image, check_number


def otsu_threshold(image: Any) -> float:
    """Otsu's threshold of an image with values in [0, 255] (256-bin histogram)."""
    check_image(image)
    xp = ops_for(image).xp
    hist, _ = xp.histogram(image, bins=256, range=(0.0, 256.0))
    p = hist.astype(xp.float64) / max(int(image.size), 1)
    levels = xp.arange(256, dtype=xp.float64) + 0.5
    w0 = xp.cumsum(p)
    m0 = xp.cumsum(p * levels)
    total = m0[-1]
    w1 = 1.0 - w0
    between = (total * w0 - m0) ** 2 / xp.maximum(w0 * w1, 1e-12)
    return float(xp.argmax(between[:-1])) + 1.0


def sauvola_threshold(image: Any, *, window: int = 31, k: float = 0.2, r: float = 128.0) -> Any:
    """Sauvola's local threshold ``m * (1 + k * (s / r - 1))`` over a square window."""
    ops = ops_for(image)
    mean = ops.box_mean(image, window)
    sq = ops.box_mean(image * image, window)
    std = ops.xp.sqrt(ops.xp.maximum(sq - mean * mean, 0.0))
    return mean * (1.0 + k * (std / r - 1.0))


def binarize(image: Any, *, method: str = "sauvola", window: int = 0, k: float = 0.2) -> Any:
    """Threshold a dark-on-light page to 0 (ink) and 255 (paper).

    Parameters
    ----------
    method : {"sauvola", "otsu"}
        ``otsu`` uses one threshold for the page; ``sauvola`` a local one, which
        copes with what background removal left behind.
    window : int
        Sauvola window in pixels; 0 picks 1/40 of the short side (at least 15).
    k : float
        Sauvola sensitivity in (0, 1]; larger keeps less faint ink.
    """
    check_image(image)
    check_choice(method, "method", ("sauvola", "otsu"))
    xp = ops_for(image).xp
    if method == "otsu":
        threshold = otsu_threshold(image)
    else:
        window = int(check_number(window, "window", low=0, high=4001))
        k = check_number(k, "k", low=0, high=1, low_inclusive=False)
        window = window or max(15, min(image.shape) // 40)
        threshold = sauvola_threshold(image, window=window, k=k)
    return xp.where(image > threshold, 255.0, 0.0).astype(xp.float32)
