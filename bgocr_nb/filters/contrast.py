"""Contrast enhancement for faint text."""

from __future__ import annotations

from typing import Any

from ..backend import ops_for
from ._checks import check_number
from .binarize import hist_percentile, histogram, otsu_from_histogram


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
