"""Page measurements that drive the automatic pipeline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from . import background
from .binarize import otsu_threshold
from .color import paper_level
from .denoise import noise_sigma


def text_height(image: Any) -> float | None:
    """Median height in pixels of the ink blobs (glyphs) of a dark-on-light page.

    None when the page holds too few glyph-like blobs to tell.
    """
    import cv2

    ops = ops_for(image)
    factor = max(1, math.ceil(max(image.shape) / 2000))
    small = ops.downscale(image, factor)
    flat = background.remove(small)
    ink = ops.to_host(flat < min(otsu_threshold(flat), 200.0)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n < 2:
        return None
    h = stats[1:, cv2.CC_STAT_HEIGHT].astype(float)
    w = stats[1:, cv2.CC_STAT_WIDTH].astype(float)
    area = stats[1:, cv2.CC_STAT_AREA].astype(float)
    limit = min(ink.shape) / 4
    glyph = (h >= 3) & (h < limit) & (w < limit) & (area >= 6) & (w / h < 8) & (h / w < 8)
    if glyph.sum() < 10:
        return None
    return float(np.median(h[glyph])) * factor


@dataclass
class PageStats:
    """What :func:`measure` finds out about a page (all in full-resolution pixels)."""

    paper_level: float        #: dominant brightness, 0-255
    noise_sigma: float        #: additive noise estimate, gray levels
    unevenness: float         #: (brightest - darkest) / brightest of the paper field
    paper_brightness: float   #: the paper field's bright level (98th percentile)
    text_height: float | None  #: median glyph height


def measure(image: Any) -> PageStats:
    """Measure polarity, noise, background unevenness and text size of a gray page."""
    ops = ops_for(image)
    xp = ops.xp
    height = text_height(image)
    radius = max(8.0, 2.0 * height) if height else None
    factor = max(1, math.ceil(max(image.shape) / 1200))
    field = background.estimate(ops.downscale(image, factor),
                                radius=None if radius is None else radius / factor)
    lo, hi = (float(v) for v in xp.percentile(field, xp.asarray([2.0, 98.0])))
    return PageStats(paper_level=paper_level(image), noise_sigma=noise_sigma(image),
                     unevenness=(hi - lo) / max(hi, 1.0), paper_brightness=hi,
                     text_height=height)
