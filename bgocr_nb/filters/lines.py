"""Faint straight lines that are no print: a fold, the rules of notebook paper, a
scanner's streak.

Tesseract reads such a line, where it crosses or touches the text, as strokes of
the letters (``|``, ``l``, a stroke too many in a Chinese character), and a fold
through a column of text can cost it whole lines. A line here is long (a fifth of
the page across, at least), straight (within ``TILT`` of the page's rows or
columns), thin, unbroken wherever no print crosses it, and fainter than the print:
dark table rules and underlines, as dark as the text, are left to Tesseract, which
uses them to find columns and cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from ._checks import check_image, check_number
from .analysis import shrink_factor
from .binarize import histogram, otsu_levels

LINE_SIDE = 1000   # pixels: lines are looked for on a copy at most this large (block minima)
DEPTH = 0.2        # of the ink-to-paper contrast: a line is this much darker than beside it
NOT_INK = 0.3      # ... and this much lighter than the ink (fainter than the print)
THIN = 3           # pixels of the copy: "beside it" is this far either side
TILT = 8.0         # degrees: lines lie this close to the page's rows or columns
GAP = 3            # pixels of the copy: the longest break in a line that no print explains
SEEN = 0.25        # share of a line's length where it shows thin (the rest crosses print)
RUN = 10           # pixels of the copy: a line shows bare, between print, this long at a time
BARE = 0.1         # ... over this share of its length, at least (print in a row never does)
STEADY = 0.15      # of the contrast: the spread (quartiles) of a line's level where it is alone
CANDIDATES = 24    # Hough lines in a row that are no line end the search in a direction
CROWDED = 0.15     # thin marks covering more of the page: noise or a texture, no lines to tell


@dataclass(frozen=True)
class Line:
    """A faint line found on a page, in the page's pixels."""

    start: tuple[float, float]  #: (x, y) of one end
    end: tuple[float, float]    #: (x, y) of the other
    width: float                #: how thick it is
    level: float                #: gray level of its core


def _thin(small: np.ndarray, light: np.ndarray, depth: float, axis: int) -> np.ndarray:
    """uint8 mask (255) of ``light`` pixels darker by ``depth`` than both pixels
    ``THIN`` away across ``axis`` (0: a mark thin across the rows)."""
    import cv2

    k, out = THIN, np.zeros(small.shape, np.uint8)
    if axis == 0:
        sides, middle, dst = cv2.min(small[:-2 * k], small[2 * k:]), small[k:-k], out[k:-k]
    else:
        sides, middle, dst = (cv2.min(small[:, :-2 * k], small[:, 2 * k:]), small[:, k:-k],
                              out[:, k:-k])
    cv2.compare(cv2.subtract(sides, middle), depth, cv2.CMP_GT, dst=dst)
    return cv2.bitwise_and(out, light)


def _long_runs(mask: np.ndarray) -> int:
    """How many of ``mask``'s pixels lie in runs of ``RUN`` or more."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(lengths[lengths >= RUN].sum())


def _follow(small: np.ndarray, thin: np.ndarray, points: tuple[np.ndarray, np.ndarray],
            free: np.ndarray, rho: float, theta: float, ink: float, span: float,
            least: float) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """The stretches of a Hough line ``(rho, theta)`` that are faint lines:
    ``(start, end, width, level)`` on ``small``.

    The line is fitted to the thin marks within 3 pixels of it, then followed
    across the copy: it goes on wherever something darker than beside it lies on
    it (the line, or print crossing it), for ``least`` pixels at least, breaks of
    ``GAP`` pixels at most. It shows thin over ``SEEN`` of that; bare (thin, no
    print on it) in runs of ``RUN`` pixels over ``BARE`` of it; and where no print
    crosses it (``SEEN`` of it, at least) its core is of one level. A row of print
    is none: its soft stroke edges are of every level, and bare only in short
    gaps. The thin marks on a line found are taken out of ``free``: the Hough
    lines round it find it no more."""
    import cv2

    rows, cols = small.shape
    ys, xs = points
    near = free & (np.abs(xs * math.cos(theta) + ys * math.sin(theta) - rho) <= 3)
    if near.sum() < 10:
        return []
    vx, vy, x0, y0 = cv2.fitLine(np.column_stack([xs[near], ys[near]]).astype(np.float32),
                                 cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    if abs(vx) >= abs(vy):  # along the rows: one point a column, the band across it
        px = np.arange(cols, dtype=np.float64)
        py, across = y0 + (px - x0) * vy / vx, (0, 1)
    else:
        py = np.arange(rows, dtype=np.float64)
        px, across = x0 + (py - y0) * vx / vy, (1, 0)
    inside = (py >= 0) & (py < rows) & (px >= 0) & (px < cols)
    px, py = px[inside], py[inside]
    offsets = np.arange(-THIN - 1, THIN + 2)  # the core, +-2, and beside it
    bx = np.clip(np.rint(px[:, None] + across[0] * offsets), 0, cols - 1).astype(np.intp)
    by = np.clip(np.rint(py[:, None] + across[1] * offsets), 0, rows - 1).astype(np.intp)
    band = small[by, bx].astype(np.float32)
    core = band[:, 2:-2]
    darkest, beside, depth = core.min(axis=1), band.max(axis=1), DEPTH * span
    present = np.flatnonzero(darkest < beside - depth)
    if present.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(present) > GAP + 1)
    shows = thin[by[:, 2:-2], bx[:, 2:-2]].any(axis=1)
    clear = darkest > ink + NOT_INK * span  # no print crosses here: the line alone
    found = []
    for a, b in zip(np.r_[present[0], present[breaks + 1]], np.r_[present[breaks], present[-1]]):
        seen = shows[a:b + 1]
        if b - a + 1 < least or seen.mean() < SEEN:
            continue
        alone = darkest[a:b + 1][clear[a:b + 1]]
        if (alone.size < SEEN * (b - a + 1)
                or _long_runs(clear[a:b + 1] & seen) < BARE * (b - a + 1)):
            continue
        low, level, high = np.percentile(alone, [25.0, 50.0, 75.0])
        if high - low > STEADY * span:  # no one line: soft edges of print, all along a row
            continue
        width = float(np.mean((core[a:b + 1][seen] < beside[a:b + 1][seen, None] - depth)
                              .sum(axis=1)))
        found.append((np.array([px[a], py[a]]), np.array([px[b], py[b]]), width, float(level)))
    if found:  # the marks along the fitted line
        free &= np.abs((xs - x0) * vy - (ys - y0) * vx) > THIN
    return found


def faint_lines(image: Any, *, length: float = 0.2) -> list[Line]:
    """Find the faint straight lines on a dark-on-light page (see the module's text).

    Parameters
    ----------
    image : array
        2-D gray page, float32 in [0, 255], NumPy or CuPy.
    length : float
        The shortest line, as a share of the page's width (lines along the
        rows) or height (along the columns).

    Returns
    -------
    list of Line
        In the page's pixels; empty on most pages.
    """
    import cv2

    check_image(image)
    length = check_number(length, "length", low=0.05, high=1.0)
    if min(image.shape) < 8 * THIN:
        return []
    ops = ops_for(image)
    factor = shrink_factor(image.shape, LINE_SIDE)
    small = ops.quantize(image)  # 8 bits: the minimum filter is four times as fast
    if factor > 1:  # block minima: a thin line keeps its darkness
        first = factor // 2
        small = ops.minimum(small, factor)[first::factor, first::factor]
    small = np.ascontiguousarray(ops.to_host(small))
    _, ink, paper = otsu_levels(histogram(small))
    if ink is None or paper is None:
        return []
    span = paper - ink
    light = cv2.compare(small, ink + NOT_INK * span, cv2.CMP_GT)
    rows, cols = small.shape
    tilt = math.radians(TILT)
    found: list[Line] = []
    # lines along the rows (normals near 90 degrees), then along the columns (near 0 or 180)
    for axis, side, ranges in ((0, cols, [(math.pi / 2 - tilt, math.pi / 2 + tilt)]),
                               (1, rows, [(0.0, tilt), (math.pi - tilt, math.pi)])):
        thin = _thin(small, light, DEPTH * span, axis)
        count, votes = cv2.countNonZero(thin), max(10, int(0.25 * length * side))
        if count < votes or count > CROWDED * thin.size:
            continue
        points, shows = np.nonzero(thin), thin > 0
        free = np.ones(points[0].size, bool)
        for low, high in ranges:
            hough = cv2.HoughLines(thin, 1, math.pi / 360, votes, min_theta=low, max_theta=high)
            followed: list[tuple[float, float]] = []
            misses = 0  # candidates in a row that were no line: the rest are weaker still
            for rho, theta in (() if hough is None else hough[:, 0]):
                if misses >= CANDIDATES:
                    break
                if any(abs(rho - r) < 2 * THIN and abs(theta - t) < 0.02 for r, t in followed):
                    continue
                followed.append((rho, theta))
                segments = _follow(small, shows, points, free, rho, theta, ink, span,
                                   length * side)
                misses = 0 if segments else misses + 1
                found += [Line(tuple(start * factor), tuple(end * factor), width * factor, level)
                          for start, end, width, level in segments]
    return found


def remove_lines(image: Any, *, length: float = 0.2) -> tuple[Any, int]:
    """Paint the faint straight lines of a page (:func:`faint_lines`) with the
    paper beside them.

    Along each line, what is lighter than halfway from the ink to the line's
    core becomes the lightest level within a few pixels: the line goes, and the
    print it crosses, darker, stays. Returns the page and how many lines were
    removed.

    Examples
    --------
    >>> import numpy as np
    >>> page = np.full((200, 300), 250, np.float32)
    >>> page[60:80:4, 20:280] = 0          # five rows of dark strokes: print
    >>> page[120:122, :] = 170             # a faint line across the page
    >>> out, count = remove_lines(page)
    >>> count, float(out[121, 150]), float(out[60, 150])
    (1, 250.0, 0.0)
    """
    import cv2

    lines = faint_lines(image, length=length)
    if not lines:
        return image, 0
    ops = ops_for(image)
    xp = ops.xp
    _, ink, _ = otsu_levels(histogram(image))
    out = image.copy()
    rows, cols = image.shape
    for line in lines:
        half = math.ceil(line.width / 2) + 1
        reach = 2 * half + 2  # the strip round the line, with paper beside it
        (xa, ya), (xb, yb) = ((round(x), round(y)) for x, y in (line.start, line.end))
        x0, y0 = max(0, min(xa, xb) - reach), max(0, min(ya, yb) - reach)
        x1, y1 = min(cols, max(xa, xb) + reach + 1), min(rows, max(ya, yb) + reach + 1)
        band = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.line(band, (xa - x0, ya - y0), (xb - x0, yb - y0), 1, 2 * half + 1)
        strip = out[y0:y1, x0:x1]
        beside = ops.maximum(strip, 2 * half + 3)
        on = xp.asarray(band > 0) & (strip > 0.5 * ((ink or 0.0) + line.level))
        out[y0:y1, x0:x1] = xp.where(on, beside, strip)
    return out, len(lines)
