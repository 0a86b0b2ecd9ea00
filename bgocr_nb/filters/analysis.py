"""Page measurements that drive the automatic pipeline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from . import background
from .binarize import histogram, ink_threshold, otsu_levels
from .denoise import noise_sigma, speck_limit


ANALYSIS_SIDE = 2000  # pixels: most measurements run on a copy at most this large
NARROW_SIDE = 256     # ... short of a narrow side under this (a long strip keeps its lines apart)


def shrink_factor(shape: tuple[int, ...], side: int = ANALYSIS_SIDE) -> int:
    """The whole factor that brings an image of ``shape`` to at most ``side`` pixels
    across, short of making its narrow side less than ``NARROW_SIDE``."""
    height, width = shape[:2]
    return max(1, min(math.ceil(max(height, width) / side), min(height, width) // NARROW_SIDE))


def shrink(image: Any, side: int = ANALYSIS_SIDE) -> tuple[Any, int]:
    """A copy of ``image`` at most ``side`` pixels across (block means; the image
    itself when it is that small already), and the factor it was shrunk by; see
    :func:`shrink_factor`."""
    factor = shrink_factor(image.shape, side)
    return ops_for(image).downscale(image, factor), factor


def ink_mask(image: Any) -> Any:
    """Boolean ink of a dark-on-light page, robust to uneven background."""
    flat = background.remove(image)
    return flat < ink_threshold(flat)


def _ink(image: Any) -> tuple[np.ndarray, int]:
    """Host boolean ink mask of a copy at most ``ANALYSIS_SIDE`` pixels, and its shrink factor."""
    small, factor = shrink(image)
    return ops_for(image).to_host(ink_mask(small)), factor


def glyphs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Connected components of a host ink mask, and which of them look like glyphs.

    Returns ``(labels, stats, keep, height)``: OpenCV's label image and component
    stats (background row dropped), a boolean per component that is False for what
    is no glyph (specks, rules, bands, borders, pictures), and the glyphs' median
    height (None when fewer than ten glyphs are found).
    """
    import cv2

    # Grana's algorithm labels as the default does, in half the time when stats are kept
    _, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        ink.astype(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)
    stats = stats[1:]
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(float)
    w = stats[:, cv2.CC_STAT_WIDTH].astype(float)
    area = stats[:, cv2.CC_STAT_AREA].astype(float)
    limit = min(ink.shape) / 4
    keep = (h >= 3) & (h < limit) & (w < limit) & (area >= 6) & (w / h < 8) & (h / w < 8)
    height = float(np.median(h[keep])) if keep.sum() >= 10 else None
    return labels, stats, keep, height


def text_height(image: Any) -> float | None:
    """Median height in pixels of the ink blobs (glyphs) of a dark-on-light page.

    None when the page holds too few glyph-like blobs to tell.
    """
    return _survey(image)[0]


def _survey(image: Any) -> tuple[float | None, int]:
    """:func:`text_height`, and how many ink blobs are specks by their size
    (:func:`~bgocr_nb.filters.denoise.speck_limit`), on one labelling."""
    import cv2

    ink, factor = _ink(image)
    _, stats, _, height = glyphs(ink)
    areas = stats[:, cv2.CC_STAT_AREA]
    specks = int((areas <= speck_limit(areas)[0]).sum()) if areas.size >= 10 else 0
    return (None if height is None else height * factor), specks


def glyph_radius(height: float | None) -> float | None:
    """A window half-width wider than any glyph: twice the text height, at least 8 px
    (None without a height)."""
    return max(8.0, 2.0 * height) if height else None


def text_radius(image: Any) -> float:
    """:func:`glyph_radius` of a page's text, or the default background radius for a
    page whose text cannot be measured."""
    return glyph_radius(text_height(image)) or background.default_radius(image.shape)


def profile_lines(profile: np.ndarray, min_runs: int = 2,
                  longest: float | None = None) -> float | None:
    """The height of text lines from a projection profile taken across them: the
    length of the run of inked rows (over 2 % of the peak) that holds the median
    ink, so specks of noise between the lines, runs with little ink, do not count.
    Runs longer than ``longest`` are no lines (a picture, with the lines beside it)
    and are left out. None for fewer than ``min_runs`` runs of two rows or more."""
    rows = profile > max(1.0, 0.02 * float(profile.max(initial=0)))
    edges = np.diff(np.r_[0, rows.astype(np.int8), 0])
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    runs = ((stops - starts) >= 2) & ((stops - starts) <= (longest or np.inf))
    if runs.sum() < max(min_runs, 1):
        return None
    heights = (stops - starts)[runs]
    total = np.r_[0.0, np.cumsum(profile, dtype=np.float64)]
    ink = (total[stops] - total[starts])[runs]  # each run's ink
    order = np.argsort(heights)
    cumulative = np.cumsum(ink[order])
    return float(heights[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def faint_marks(image: Any) -> float:
    """Fraction of the page covered by faint marks away from the text.

    Faint means between the ink and the paper levels; away means more than two
    pixels from any ink, which leaves out the soft edges of the strokes. What is
    left is show-through from the other side, pencil, faint stains.
    """
    ops = ops_for(image)
    xp = ops.xp
    small, _ = shrink(image)
    t, ink, paper = otsu_levels(histogram(small))
    if ink is None or paper is None:
        return 0.0
    span = paper - ink
    faint = (small > ink + 0.5 * span) & (small < paper - 0.12 * span)
    near_ink = ops.maximum((small < t).astype(xp.float32), 5) > 0
    return float((faint & ~near_ink).mean())


@dataclass
class PageStats:
    """What :func:`measure` finds out about a page (all in full-resolution pixels)."""

    noise_sigma: float          #: additive noise estimate, gray levels
    unevenness: float           #: (brightest - darkest) / brightest of the paper field
    paper_brightness: float     #: the paper field's bright level (98th percentile)
    text_height: float | None   #: median glyph height
    radius: float | None        #: background window for this text (None: the default)
    specks: int = 0             #: ink blobs of a speck's size (on the copy measured)


def measure(image: Any) -> PageStats:
    """Measure noise, background unevenness and text size of a dark-on-light gray page."""
    xp = ops_for(image).xp
    small, factor = shrink(image)  # one copy for the text and the paper
    height, specks = _survey(small)
    height = None if height is None else height * factor
    radius = glyph_radius(height)
    field = background.paper_field(small, None if radius is None else radius / factor)
    lo, hi = (float(v) for v in xp.percentile(field, xp.asarray([2.0, 98.0])))
    return PageStats(noise_sigma=noise_sigma(image), unevenness=(hi - lo) / max(hi, 1.0),
                     paper_brightness=hi, text_height=height, radius=radius, specks=specks)
