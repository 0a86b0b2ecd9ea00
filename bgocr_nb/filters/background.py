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
        under half the paper's brightness next to it (its soft rim). So do
        photographs printed on the page, which hold no paper either (see
        ``_pictures``). 0 disables both.

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
        pictures = _pictures(small, size, bright, out)
        if pictures is not None:
            void = pictures if void is None else void | pictures
        if void is not None:  # grow it over the blurred rim of the dark region
            void = ops.maximum(void.astype(xp.float32), size)
            out = xp.where(_full_size(void, image.shape, factor) > 0.5,
                           xp.float32(255.0), out)
    return out


PICTURE_DIM = 0.85  # a picture: paper field dimmer than this share of the paper level,
ROUGH = 0.2         # ... changing by this share of it across a window
BUSY = 0.05         # ... over this share of the place a window and more from its edge,
LINE_LENGTH = 6.0   # ... and no line of text in it: ink run together this many glyphs
LINE_THICK = 2.0    # ... long and at most this many thick (a picture's blobs run together thick)
PICTURE_GAP = 3     # windows: dim places this near a picture's are parts of it


def _pictures(field: Any, size: int, bright: float, flat: Any) -> Any | None:
    """Where the (small) paper ``field`` lies under pictures (photographs), on its
    grid; None where there are none. In a picture there is no paper: the field
    follows the picture's own light and dark places, and dividing by it leaves blobs
    that Tesseract reads as characters. A picture is a dim place (under
    ``PICTURE_DIM`` of the paper level), with all it encloses, whose field changes
    fast (by ``ROUGH`` of the paper level across a window) over ``BUSY`` of it away
    from its edge, as light falling on paper never does (a gray panel or a shadow
    changes at its edge only, or slowly), and which holds no line of text on the
    flattened page ``flat`` (a shadow with a sharp edge holds text). A halftone's
    field is the paper between its dots: it is no dim place, and stays as it is."""
    import cv2
    import numpy as np

    ops = ops_for(field)
    host = np.ascontiguousarray(ops.to_host(field), dtype=np.float32)
    slope = np.hypot(cv2.Sobel(host, cv2.CV_32F, 1, 0), cv2.Sobel(host, cv2.CV_32F, 0, 1)) / 8
    rough = slope * size > ROUGH * bright
    if not rough.any():
        return None
    dim = (host < PICTURE_DIM * bright).astype(np.uint8)
    count, labels = cv2.connectedComponents(dim, connectivity=8)
    core = cv2.erode(dim, np.ones((2 * size + 1, 2 * size + 1), np.uint8)) > 0
    held = np.bincount(labels[core], minlength=count)
    busy = np.bincount(labels[rough & core], minlength=count)
    keep = busy > BUSY * held
    keep[0] = False
    if not keep.any():
        return None
    lines = _text_lines(flat)
    if lines is None:
        return None  # no glyphs to tell text by: nothing is taken for a picture
    on_grid = cv2.resize(lines.astype(np.uint8), (host.shape[1], host.shape[0]),
                         interpolation=cv2.INTER_AREA) > 0
    texts = np.zeros(count, bool)
    texts[np.unique(labels[on_grid])] = True  # places holding text are paper
    keep &= ~texts
    if not keep.any():
        return None
    # a picture's dim places may lie apart (a light thing in it between them): the dim
    # places within ``PICTURE_GAP`` windows of one, and the hull round them all, where
    # that holds no text
    window = np.ones((2 * PICTURE_GAP * size + 1,) * 2, np.uint8)
    near = cv2.dilate(keep[labels].astype(np.uint8), window) > 0
    joins = np.zeros(count, bool)
    joins[np.unique(labels[near])] = True
    joins &= ~texts
    joins[0] = False
    parts = joins[labels].astype(np.uint8)
    found = np.zeros_like(parts)
    groups, grouped = cv2.connectedComponents(cv2.dilate(parts, window), connectivity=8)
    for g in range(1, groups):
        part = (grouped == g) & (parts > 0)
        if not keep[np.unique(labels[part])].any():
            continue  # dim places near no picture
        hull = np.zeros_like(parts)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.argwhere(part)[:, ::-1].astype(np.int32)), 1)
        found |= part.astype(np.uint8) if (hull.astype(bool) & on_grid).any() else hull
    outside = np.pad(found, 1)
    cv2.floodFill(outside, None, (0, 0), 2)
    return ops.xp.asarray(outside[1:-1, 1:-1] != 2)  # and all they enclose


def _text_lines(flat: Any) -> Any | None:
    """Where a flattened page holds lines of text, as a host mask on a copy about 1000
    pixels across: its ink run together along each line (joined over gaps a glyph
    wide), at least ``LINE_LENGTH`` glyphs long and at most ``LINE_THICK`` thick,
    whatever the skew. None when too few glyphs are found to tell their height."""
    import cv2
    import numpy as np

    from .analysis import glyphs, shrink
    from .binarize import ink_threshold

    small, _ = shrink(flat, 1000)
    ink = (ops_for(flat).to_host(small < ink_threshold(small))).astype(np.uint8)
    height = glyphs(ink)[3]
    if height is None:
        return None
    joined = cv2.dilate(ink, np.ones((1, max(3, round(height)) | 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    length = np.hypot(w, h)
    # ... and made of glyphs: as many blobs of ink as it is glyphs long, at least (the
    # dark rim a picture leaves on the flattened page is one long blob); each ink pixel
    # counts 1 / its blob's area towards its line's blobs
    _, parts, sizes, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    on = ink > 0
    blobs = np.bincount(labels[on], weights=1.0 / sizes[parts[on], cv2.CC_STAT_AREA],
                        minlength=count)
    line = ((length >= LINE_LENGTH * height) & (area <= LINE_THICK * height * length)
            & (blobs >= LINE_LENGTH - 0.5))
    line[0] = False
    return line[labels]


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
