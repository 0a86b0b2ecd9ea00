"""Thresholding: global Otsu and local Sauvola, and the gray-level histogram they share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import ops_for
from ._checks import check_choice, check_image, check_number

_SAMPLES = 500_000  # a histogram of a regular subsample is exact enough


def histogram(image: Any) -> np.ndarray:
    """256-bin gray-level histogram (host array) of a regular subsample of ``image``."""
    check_image(image)
    step = max(1, int(math.sqrt(image.size / _SAMPLES)))
    return ops_for(image).histogram(image[::step, ::step])


def hist_percentile(hist: np.ndarray, q: float) -> float:
    """The gray level below which ``q`` percent of the histogram lies."""
    cdf = np.cumsum(hist)
    return float(np.searchsorted(cdf, cdf[-1] * q / 100.0))


def otsu_from_histogram(hist: np.ndarray) -> float:
    """Otsu's threshold of a 256-bin histogram: maximises the between-class variance."""
    p = hist / max(hist.sum(), 1.0)
    levels = np.arange(256, dtype=np.float64) + 0.5
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * levels)
    between = (m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1.0 - w0), 1e-12)
    return float(np.argmax(between[:-1])) + 1.0


def otsu_levels(hist: np.ndarray) -> tuple[float, float | None, float | None]:
    """Otsu's threshold of a 256-bin histogram and the median level of each side
    of it (dark, light); a side that is empty has None."""
    t = otsu_from_histogram(hist)
    dark, light = hist.copy(), hist.copy()
    dark[int(t):], light[: int(t)] = 0, 0
    return (t, hist_percentile(dark, 50.0) if dark.sum() else None,
            hist_percentile(light, 50.0) if light.sum() else None)


def otsu_threshold(image: Any) -> float:
    """Otsu's threshold of an image with values in [0, 255]."""
    return otsu_from_histogram(histogram(image))


INK_REACH = 0.784  # ink is at most this far from the darkest ink to white (200 for black ink)


def ink_threshold(flat: Any) -> float:
    """Gray level below which a flattened page (paper near white) is ink.

    Otsu's threshold, capped at ``INK_REACH`` of the way from the darkest ink
    (0.1st percentile) to white: on a page with little ink Otsu's split falls
    into the paper's noise, and a fixed cap would miss faint, low-contrast ink.
    """
    hist = histogram(flat)
    darkest = hist_percentile(hist, 0.1)
    return min(otsu_from_histogram(hist), darkest + INK_REACH * (255.0 - darkest))


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

    Examples
    --------
    >>> import numpy as np
    >>> page = np.full((40, 40), 230, np.float32); page[10:20, 5:35] = 40
    >>> out = binarize(page, method="otsu")
    >>> float(out[15, 20]), float(out[0, 0])
    (0.0, 255.0)
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
