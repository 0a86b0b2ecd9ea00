"""Contrast enhancement for faint text: one stretch for the page, or one for each
place where the ink fades across it."""

from __future__ import annotations

import math
from typing import Any

from ..backend import ops_for
from ._checks import check_image, check_number
from .analysis import shrink, text_radius
from .binarize import hist_percentile, histogram, otsu_from_histogram, otsu_levels


def _points(hist: Any, black: float, white: float) -> tuple[float, float, float]:
    """Black and white input levels, and Otsu's ink/paper threshold, of a histogram."""
    threshold = otsu_from_histogram(hist)
    ink = hist.copy()
    ink[int(threshold):] = 0
    # the darkest ink, though never lighter than the ink's median: on a page with
    # little ink the percentile would land on the paper and the stretch blacken it
    low = min(hist_percentile(hist, black), hist_percentile(ink, 50.0) if ink.sum() else 255.0)
    paper = hist.copy()
    paper[: int(threshold)] = 0
    paper_level = hist_percentile(paper, 50.0) if paper.sum() else 255.0
    high = threshold + white * (paper_level - threshold)
    return low, max(high, low + 1.0), threshold


def levels(image: Any, *, black: float = 1.0, white: float = 0.8) -> tuple[float, float]:
    """The input levels that :func:`enhance` maps to black and white.

    ``black`` is a percentile of the image (the darkest ink, at most the ink's
    median level: a sparse page's percentile would be paper); ``white`` is a point
    between Otsu's ink/paper threshold (0) and the median paper level (1).
    """
    return _points(histogram(image), black, white)[:2]


def enhance(image: Any, *, black: float = 1.0, white: float = 0.8,
            marks: float | None = None, out: Any = None) -> Any:
    """Stretch the ink-to-paper range to the full 0-255 scale.

    Parameters
    ----------
    black : float
        Percentile (0-50) of the image mapped to 0: the darkest ink. Where the
        ink covers less than about twice that share of the page, its median
        level is used instead.
    white : float
        Where white starts, from Otsu's threshold (0) to the paper level (1):
        everything lighter, such as show-through and faint stains, becomes paper.
        Lower values whiten more but thin the strokes' soft edges, which can
        upset Tesseract's layout analysis.
    marks : float, optional
        A lower ``white`` for pixels more than two pixels away from any ink, where
        faint marks (show-through, pencil, stains) are no part of a stroke: they
        are whitened harder while the strokes keep their edges.
    out : array, optional
        Where to write the result (``image`` itself works); a new array by default.

    Examples
    --------
    >>> import numpy as np
    >>> page = np.full((50, 50), 220, np.float32); page[20:30, 10:40] = 170  # faint ink
    >>> out = enhance(page)
    >>> float(out[25, 25]), float(out[0, 0])
    (0.0, 255.0)
    """
    black = check_number(black, "black", low=0, high=50)
    white = check_number(white, "white", low=0, high=1)
    ops = ops_for(image)
    hist = histogram(image)
    low, high, threshold = _points(hist, black, white)
    if marks is None or check_number(marks, "marks", low=0, high=1) >= white:
        return ops.stretch(image, low, high, out=out)
    xp = ops.xp
    far = ops.maximum((image < threshold).astype(xp.float32), 5) == 0
    harder = ops.stretch(image, low, _points(hist, black, marks)[1])
    out = ops.stretch(image, low, high, out=out)
    xp.copyto(out, harder, where=far)
    return out


DENSE_INK = 0.5  # ink covering more of a neighbourhood is a dark ground (a bar), not text
FADED_LOW, FADED_HIGH = 0.25, 0.5  # local ink contrast (of the page's) not stretched / fully


def _text_ink(image: Any, radius: float | None) -> tuple[Any, Any, Any, float, int]:
    """:func:`ink_field` on blocks of ``factor`` pixels: ``(field, text, grounds,
    paper, factor)``, ``text`` the share of each block that is text, ``grounds``
    1 on the dark grounds and their rims."""
    ops = ops_for(image)
    xp = ops.xp
    radius = radius or text_radius(image)
    factor = max(1, min(int(radius // 6), min(image.shape) // 2))
    threshold, _, paper = otsu_levels(histogram(image))
    paper = 255.0 if paper is None else paper
    ink = ops.downscale((image < threshold).astype(xp.float32), factor)  # share of each block
    darkest = image
    if factor > 1:  # block minima: thin strokes keep their darkness
        first = factor // 2
        darkest = ops.minimum(image, factor)[first::factor, first::factor][:ink.shape[0],
                                                                          :ink.shape[1]]
    window = round(radius / factor) | 1
    dense = (ops.box_mean(ink, window) > DENSE_INK).astype(xp.float32)
    grounds = ops.maximum(dense, window)  # and their rims
    text = ink * (1.0 - grounds)
    source = xp.where(text > 0, darkest, xp.float32(paper))
    size = 2 * math.ceil(radius / factor) + 1
    return ops.gaussian(ops.minimum(source, size), size / 4.0), text, grounds, paper, factor


def ink_field(image: Any, radius: float | None = None) -> tuple[Any, Any, float]:
    """How dark the ink is around each pixel of a dark-on-light page.

    The darkest text ink within ``radius`` (a minimum filter over the text
    pixels, smoothed), computed on a copy shrunk by block minima so that thin
    strokes keep their darkness. Dark grounds, where ink covers more than
    ``DENSE_INK`` of a neighbourhood (a heading bar, a picture), are left out
    with their rims: they are no faded text. Returns the field (full size; the
    paper level where there is no text nearby), the grounds (1 on them, 0
    elsewhere, full size) and the page's paper level.
    """
    field, _, grounds, paper, factor = _text_ink(image, radius)
    if factor > 1:
        ops = ops_for(image)
        field, grounds = ops.resize(field, image.shape), ops.resize(grounds, image.shape)
    return field, grounds, paper


def unfade(image: Any, *, radius: float | None = None) -> Any:
    """Even out ink that fades across the page: toner running low, a worn ribbon,
    a carbon copy.

    Each place's darkest ink (:func:`ink_field`) maps to black and the paper to
    white; dark grounds (bars, pictures) stay as they are. Where the ink is
    barely darker than the paper (under a quarter of the page's ink-to-paper
    contrast: blank paper, specks) nothing is stretched, so paper noise is not
    blown up; full stretching sets in at half of it. Not part of ``auto``: the
    grays of a colour chart or map vary as faded ink does, and it would blacken
    their lines and fills.

    Parameters
    ----------
    radius : float, optional
        Reach in pixels of each place's ink (default
        :func:`~bgocr_nb.filters.analysis.text_radius`: twice the text height).

    Examples
    --------
    >>> import numpy as np
    >>> page = np.full((60, 200), 250, np.float32)
    >>> page[20:30, 10:90:4] = 20    # dark strokes on the left
    >>> page[20:30, 110:190:4] = 120  # faded ones on the right
    >>> out = unfade(page, radius=12)
    >>> float(out[25, 50]), float(out[25, 150]), float(out[55, 5])  # paper far off: as it was
    (0.0, 0.0, 250.0)
    """
    check_image(image)
    if radius is not None:
        radius = check_number(radius, "radius", low=2, high=10_000)
    ops = ops_for(image)
    xp = ops.xp
    field, grounds, paper = ink_field(image, radius)
    span = max(paper - hist_percentile(histogram(image), 1.0), 1.0)
    contrast = xp.maximum(paper - field, 1.0)
    weight = xp.clip((contrast - FADED_LOW * span) / ((FADED_HIGH - FADED_LOW) * span), 0, 1)
    weight *= 1.0 - grounds  # dark grounds stay as they are
    stretched = xp.clip((image - field) * (255.0 / contrast), 0.0, 255.0)
    return (image + weight * (stretched - image)).astype(xp.float32)


def ink_spread(image: Any, radius: float | None = None) -> float:
    """How much the ink's darkness varies across a page: the spread (10th to 90th
    percentile) of :func:`ink_field` over the text, as a share of the darkest
    ink's contrast to the paper. Near 0 for ink that is equally dark everywhere,
    faint or not; 0.3 and more where it fades across the page. Measured on a copy
    at most 2000 pixels across (:func:`~bgocr_nb.filters.analysis.shrink`)."""
    xp = ops_for(image).xp
    small, factor = shrink(image)
    field, text, _, paper, _ = _text_ink(small, None if radius is None else radius / factor)
    held = text > 0
    if int(held.sum()) < 20:  # a few words: too little to tell
        return 0.0
    # percentiles of the field over the text pixels: blocks weighted by the text they hold
    order = xp.argsort(field[held])
    values, weights = field[held][order], xp.cumsum(text[held][order])
    low, high = (float(values[int(xp.searchsorted(weights, q * weights[-1]))])
                 for q in (0.1, 0.9))
    return (high - low) / max(paper - low, 1.0)
