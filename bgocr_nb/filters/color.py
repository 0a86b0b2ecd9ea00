"""Colour handling: grayscale conversion and polarity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import ops_for
from ._checks import check_choice, check_image

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV and Pillow use


def grayscale(image: Any, *, method: str = "luma") -> Any:
    """Convert an RGB(A) or gray image to a 2-D float32 gray image in [0, 255].

    Parameters
    ----------
    image : array, shape (H, W), (H, W, 3) or (H, W, 4)
        RGB order; an alpha channel is ignored (composite it beforehand).
    method : {"luma", "min", "max"}
        ``luma`` weighs the channels as the eye does; ``min`` keeps the darkest
        channel (coloured ink turns dark); ``max`` the brightest (coloured stamps
        and marks fade into the paper).
    """
    check_choice(method, "method", ("luma", "min", "max"))
    xp = ops_for(image).xp
    image = xp.asarray(image)
    if image.ndim == 2:
        return image.astype(xp.float32, copy=False)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"The parameter `image` must be (H, W) or (H, W, 3|4), got {image.shape}.")
    rgb = image[..., :3].astype(xp.float32)
    if method == "min":
        return rgb.min(axis=2)
    if method == "max":
        return rgb.max(axis=2)
    r, g, b = _LUMA
    return rgb[..., 0] * r + rgb[..., 1] * g + rgb[..., 2] * b


def invert(image: Any) -> Any:
    """Swap dark and light: ``255 - image``."""
    check_image(image)
    return 255.0 - image


DARK = 110.0  # a dominant level below this is a dark ground


def paper_level(image: Any) -> float:
    """The page's dominant brightness: the median of a coarse copy of it."""
    check_image(image)
    ops = ops_for(image)
    factor = max(1, max(image.shape) // 512)
    return float(ops.xp.median(ops.downscale(image, factor)))


def light_text(image: Any, *, window: int = 9) -> bool:
    """Whether the page's text is lighter than the ground it stands on.

    Looks only where the image is busy (the local standard deviation over
    ``window`` pixels of a copy about 1000 pixels across exceeds a quarter of the
    page's range): there text and its ground mix, and the ground covers most of
    it, so the median is the ground's side. Plain areas, such as a dark table
    around a photographed page, do not count, unlike in :func:`paper_level`.
    """
    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    small = ops.downscale(image, max(1, max(image.shape) // 1000))
    mean = ops.box_mean(small, window)
    spread = xp.sqrt(xp.maximum(ops.box_mean(small * small, window) - mean * mean, 0))
    lo, hi = (float(v) for v in xp.percentile(small, xp.asarray([2.0, 98.0])))
    busy = small[spread > 0.25 * (hi - lo)]
    if busy.size < 0.001 * small.size:  # no text to tell by
        return paper_level(image) < DARK
    return float(xp.median(busy)) < 0.5 * (lo + hi)


def is_inverted(image: Any) -> bool:
    """Whether the page is light text on a dark ground: its dominant level is
    dark and its text is light."""
    return paper_level(image) < DARK and light_text(image)


BRIGHTER = 1.15  # light text stands this far above the paper level estimated around it


def reversed_regions(image: Any, *, min_glyphs: int = 3) -> Any | None:
    """Where a dark-on-light page holds light text on a dark ground: a heading
    bar, a table header, a label.

    Background removal models the page as paper times ink, so nothing on it is
    brighter than the paper; light text on a wide dark ground is, relative to the
    paper level estimated there (the ground), and is whitened away with it. So:
    at least ``min_glyphs`` glyph-shaped light blobs well above the estimated
    paper mark such text, and its ground is the solid dark blob around them,
    taller than they are. Found on a copy about 1500 pixels across. Returns a
    boolean mask of the grounds with all they enclose, shaped and placed like
    ``image``; None when there are none.
    """
    import cv2

    from . import background
    from .analysis import glyphs

    check_image(image)
    ops = ops_for(image)
    factor = max(1, math.ceil(max(image.shape) / 1500))
    small = ops.downscale(image, factor)
    field = ops.to_host(background.estimate(small))
    small = ops.to_host(small)
    over = small > BRIGHTER * field
    if over.sum() < 6 * min_glyphs:
        return None
    _, letters, keep, _ = glyphs(over)
    if keep.sum() < min_glyphs:
        return None
    x, y, w, h = letters[keep, :4].T
    # the ground: darker than halfway from its level up to the letters'
    ground_level = float(np.median(field[y + h // 2, x + w // 2]))
    dark = (small < 0.5 * (ground_level + float(np.median(small[over])))).astype(np.uint8)
    _, ground, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    above = ground[np.maximum(y - 1, 0), x + w // 2]
    below = ground[np.minimum(y + h, dark.shape[0] - 1), x + w // 2]
    inside = (above == below) & (above > 0)
    tall = np.zeros(len(stats))
    np.maximum.at(tall, above[inside], h[inside])
    gw, gh, area = stats[:, 2], stats[:, 3], stats[:, 4]
    chosen = np.flatnonzero((np.bincount(above[inside], minlength=len(stats)) >= min_glyphs)
                            & (gh >= 1.2 * tall) & (area >= 0.7 * gw * gh))
    chosen = chosen[chosen > 0]
    if not chosen.size:
        return None
    mask = np.zeros(dark.shape, np.uint8)
    for g in chosen:  # the ground and everything it encloses (letters, their counters)
        gx, gy, gw, gh = stats[g, :4]
        crop = np.pad((ground[gy:gy + gh, gx:gx + gw] == g).astype(np.uint8), 1)
        outside = crop.copy()
        cv2.floodFill(outside, None, (0, 0), 1)
        mask[gy:gy + gh, gx:gx + gw] |= ((1 - outside) | crop)[1:-1, 1:-1]
    mask = cv2.resize(mask.astype(np.float32), None, fx=factor, fy=factor,
                      interpolation=cv2.INTER_LINEAR)
    full = np.zeros(image.shape, bool)
    rows, cols = min(mask.shape[0], image.shape[0]), min(mask.shape[1], image.shape[1])
    full[:rows, :cols] = mask[:rows, :cols] > 0.5
    return ops.xp.asarray(full)
