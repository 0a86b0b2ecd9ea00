"""Contrast enhancement for faint text."""

from __future__ import annotations

from typing import Any

from ..backend import ops_for
from ._checks import check_number
from .binarize import hist_percentile, histogram, otsu_from_histogram


def levels(image: Any, *, black: float = 1.0, white: float = 0.8) -> tuple[float, float]:
    """The input levels that :func:`enhance` maps to black and white.

    ``black`` is a percentile of the image (the darkest ink); ``white`` is a point
    between Otsu's ink/paper threshold (0) and the median paper level (1).
    """
    hist = histogram(image)
    threshold = otsu_from_histogram(hist)
    low = hist_percentile(hist, black)
    paper = hist.copy()
    paper[: int(threshold)] = 0
    paper_level = hist_percentile(paper, 50.0) if paper.sum() else 255.0
    high = threshold + white * (paper_level - threshold)
    return low, max(high, low + 1.0)


def enhance(image: Any, *, black: float = 1.0, white: float = 0.8) -> Any:
    """Stretch the ink-to-paper range to the full 0-255 scale.

    Parameters
    ----------
    black : float
        Percentile (0-50) of the image mapped to 0: the darkest ink.
    white : float
        Where white starts, from Otsu's threshold (0) to the paper level (1):
        everything lighter, such as show-through and faint stains, becomes paper.
        Lower values whiten more but thin the strokes' soft edges, which can
        upset Tesseract's layout analysis.

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
    low, high = levels(image, black=black, white=white)
    return ops_for(image).stretch(image, low, high)
