"""Background removal by flat-field normalisation.

The page is modelled as ``observed = paper(x, y) * ink(x, y)``: uneven light,
shadows, stains, coloured paper and paper texture live in the slowly varying
``paper`` field, the text in ``ink``. A morphological closing (brightest value,
then darkest, over a window wider than any stroke) wipes the dark text out and
leaves an estimate of ``paper``; dividing by it returns dark text on white.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import ops_for
from ._checks import check_image, check_number


VOID_REACH = 0.5  # darker than this fraction of the paper, and next to no paper: no paper


def default_radius(shape: tuple[int, ...]) -> int:
    """A radius wider than text strokes for a page of this size (2% of the short side)."""
    return max(8, round(min(shape[:2]) / 50))


def paper_field(image: Any, radius: float | None = None) -> Any:
    """The paper field of :func:`estimate` on the shrunken copy it is estimated on
    (cheap to summarise: its levels are those of the full-size field)."""
    return _paper_field(image, radius)[0]


def _paper_field(image: Any, radius: float | None) -> tuple[Any, int, int]:
    """The paper field on a shrunken copy, with the shrink factor and window size."""
    check_image(image)
    radius = default_radius(image.shape) if radius is None else check_number(
        radius, "radius", low=1, high=10_000)
    ops = ops_for(image)
    # Work on a copy shrunk so the window is about 13 pixels: cheap, and the
    # block means average paper grain and noise away before taking maxima.
    factor = max(1, int(radius // 6))
    small = ops.downscale(image, factor)
    size = 2 * math.ceil(radius / factor) + 1
    field = ops.minimum(ops.maximum(small, size), size)
    return ops.gaussian(field, size / 4.0), factor, size


def _full_size(field: Any, shape: tuple[int, int], factor: int) -> Any:
    return ops_for(field).resize(field, shape) if factor > 1 else field


def estimate(image: Any, *, radius: float | None = None) -> Any:
    """Estimate the background (paper and illumination) field of a dark-on-light page.

    Parameters
    ----------
    image : 2-D float array
        Gray page, dark text on a lighter ground, values in [0, 255].
    radius : float, optional
        Half-width in pixels of the window that must hold only paper somewhere;
        use about twice the text height. Default: :func:`default_radius`.

    Returns
    -------
    array
        The background field, same shape as ``image``.
    """
    field, factor, _ = _paper_field(image, radius)
    return _full_size(field, image.shape, factor)


def remove(image: Any, *, radius: float | None = None, floor: float = 0.2) -> Any:
    """Remove the background: divide the page by its estimated paper field.

    Returns dark text on white (paper maps to 255), same shape as ``image``.

    Parameters
    ----------
    radius : float, optional
        See :func:`estimate`.
    floor : float
        Where the "paper" is darker than this fraction of the page's brightest
        paper, it is no paper at all (scanner lid, table, a page edge's shadow):
        dividing would only amplify its noise, so it turns white, with what is
        under half the paper's brightness next to it (its soft rim).
        0 disables.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[0:200, 0:300]
    >>> page = (100 + 150 * x / 300).astype(np.float32)  # light falling off to the left
    >>> page[90:110, 50:250] *= 0.3                        # a dark bar of "text"
    >>> flat = remove(page, radius=30)
    >>> bool(abs(flat[10, 60] - flat[10, 240]) < 3)  # paper: white from dim to bright
    True
    >>> bool(flat[100, 100] < 100)                   # the bar: still dark
    True
    """
    floor = check_number(floor, "floor", low=0, high=0.9)
    small, factor, size = _paper_field(image, radius)
    ops = ops_for(image)
    xp = ops.xp
    # the divisor at least 1 (a bilinear enlargement keeps that); a new array, as
    # the field itself is still needed below
    out = ops.divide_into(image, _full_size(xp.maximum(small, 1.0), image.shape, factor))
    if floor > 0:
        bright = float(xp.percentile(small, 98.0))
        void = _no_paper(small, floor * bright, VOID_REACH * bright, size)
        if void is not None:  # grow it over the blurred rim of the dark region
            void = ops.maximum(void.astype(xp.float32), size)
            out = xp.where(_full_size(void, image.shape, factor) > 0.5,
                           xp.float32(255.0), out)
    return out


def _no_paper(field: Any, floor: float, reach: float, size: int) -> Any:
    """Where a (small) paper field is no paper: darker than ``floor``, and what is
    darker than ``reach`` within two windows (``size``) of it: the field's soft rim
    round a table or lid, which would otherwise turn into gray smudges. Bounded, so
    a deep shadow on the page beside a table keeps its text. None when nothing is
    darker than ``floor``."""
    ops = ops_for(field)
    xp = ops.xp
    seed = field < floor
    if not bool(seed.any()):
        return None
    near = ops.maximum(seed.astype(xp.float32), 4 * size + 1) > 0
    return seed | (near & (field < reach))
