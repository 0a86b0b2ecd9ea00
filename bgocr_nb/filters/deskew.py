"""Skew estimation by projection profiles, and rotation.

For each candidate angle the ink pixels are projected onto the axis
perpendicular to the text lines; at the true angle the lines stack into sharp
peaks, so the profile's squared differences are largest (Postl's criterion).
All angles are scored at once with one ``bincount``, on CPU and GPU alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from ..errors import ArgumentError
from ._checks import check_image, check_number

_MAX_POINTS = 40_000  # ink pixels scored; more add time, not precision
MARGIN = 0.02         # of the page's longer side: room kept around the ink when rotating
# Text lines are 0.8 to 8 glyphs high (0.8: a glyph measured on a tilted page is taller
# than upright; skewed test pages: 1.1-1.8)
SHORT_LINES, TALL_LINES = 0.8, 8.0
# The lines' angle place by place (they converge on a page photographed at an angle):
BAND_GLYPHS = 3.0     # measured in bands across the lines, each at least this many glyphs
                      # tall (two lines, about; lines that converge blur their profile)
BAND_RANGE = 4.0      # ... within this many degrees of the page's skew
BAND_POINTS = 400     # ... on at least this many ink pixels
BAND_SAMPLE = 3000    # ... and at most this many (a random sample), in profiles of 2-pixel
BAND_BIN = 2          # bins (upright pages then fit 0.2 degrees of spread at most; 1-pixel: 0.6)

Box = tuple[float, float, float, float]  # top, left, bottom, right (pixels)


def _text_points(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Row and column of every pixel of a host ink mask that belongs to text, and the
    glyphs' median height (None when too few are found).

    Blobs much taller than the glyphs are left out (scanner bands, vertical rules,
    pictures): a dark band would otherwise outweigh the text and pull the estimate
    to the edge of the range. Wide blobs stay: blurred or small text merges into
    words and lines, which show the skew best.
    """
    import cv2

    from .analysis import glyphs

    labels, stats, _, height = glyphs(ink)
    if height is not None:
        keep = stats[:, cv2.CC_STAT_HEIGHT] <= 4 * height
        if not keep.all():
            ink = np.r_[False, keep][labels]
    return (*np.nonzero(ink), height)


def _reach(ys: Any, xs: Any, ops: Any) -> int:
    """How far from the centre, in whole pixels and two more, the points (ys, xs) lie."""
    return int(math.ceil(float(ops.xp.sqrt(ops.xp.max(ys * ys + xs * xs))))) + 2


def _profile_scores(proj: Any, profile: Any, count: int, reach: int, ops: Any) -> np.ndarray:
    """Postl's score of ``count`` projection profiles: the points' positions ``proj``
    across the lines (within ``reach`` of 0), each counted in profile ``profile``
    (an array broadcast against ``proj``); the sum of squared differences of
    neighbouring bins, which is largest where the lines stack into sharp peaks."""
    xp = ops.xp
    nbins = 2 * reach + 1
    bins = xp.floor(proj).astype(xp.int64) + reach
    bins += profile * nbins
    hist = xp.bincount(bins.ravel(), minlength=count * nbins).reshape(count, nbins)
    hist = hist.astype(xp.float64)
    return ops.to_host(((hist[:, 1:] - hist[:, :-1]) ** 2).sum(axis=1))


def _scores(ys: Any, xs: Any, angles: np.ndarray, ops: Any) -> np.ndarray:
    """Postl's score of each angle (degrees) for ink at (ys, xs), centred."""
    xp = ops.xp
    reach = _reach(ys, xs, ops)
    out = []
    for chunk in np.array_split(angles, max(1, len(angles) // 16)):
        rad = xp.asarray(np.radians(chunk), dtype=xp.float32)
        proj = ys[None, :] * xp.cos(rad)[:, None] + xs[None, :] * xp.sin(rad)[:, None]
        profile = xp.arange(len(chunk), dtype=xp.int64)[:, None]
        out.append(_profile_scores(proj, profile, len(chunk), reach, ops))
    return np.concatenate(out)


def _peak(scores: np.ndarray, grid: np.ndarray, step: float) -> float:
    """The angle of ``grid`` (``step`` apart) with the best score, moved to the peak of
    the parabola through it and its neighbours."""
    i = int(np.argmax(scores))
    angle = float(grid[i])
    if 0 < i < len(grid) - 1:
        a, b, c = scores[i - 1], scores[i], scores[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            angle += step * 0.5 * (a - c) / denom
    return angle


def _best_angle(ys: Any, xs: Any, coarse: np.ndarray, step: float, ops: Any,
                coarse_every: int = 1) -> float:
    """The angle of the sharpest profile: the best of ``coarse`` (scored on every
    ``coarse_every``-th point), then ``step`` apart on all points within a grid
    step and a fifth of it (see :func:`_peak`)."""
    spacing = float(coarse[1] - coarse[0]) if len(coarse) > 1 else step
    best = coarse[int(np.argmax(_scores(ys[::coarse_every], xs[::coarse_every], coarse, ops)))]
    reach = round(1.2 * spacing / step) * step
    fine = best + np.arange(-reach, reach + 1e-9, step)
    return _peak(_scores(ys, xs, fine, ops), fine, step)


def _band_scores(ys: Any, xs: Any, band: Any, angles: np.ndarray, ops: Any) -> np.ndarray:
    """Postl's score of each band's own angles, on profiles of ``BAND_BIN``-pixel bins:
    ``angles`` is ``(bands, k)`` degrees, ``band`` each point's band; all bands at
    once, in one ``bincount``."""
    xp = ops.xp
    count, k = angles.shape
    rad = np.radians(angles)
    cos, sin = (xp.asarray(f(rad) / BAND_BIN, dtype=xp.float32)[band] for f in (np.cos, np.sin))
    proj = ys[:, None] * cos + xs[:, None] * sin  # (points, k)
    profile = band[:, None] * k + xp.arange(k, dtype=xp.int64)[None, :]
    reach = _reach(ys, xs, ops) // BAND_BIN + 1
    return _profile_scores(proj, profile, count * k, reach, ops).reshape(count, k)


def _band_angles(ys: Any, xs: Any, angle: float, glyphs: float, ops: Any,
                 count: int) -> np.ndarray:
    """The lines' angle in up to ``count`` bands across them: ``(n, 4)`` rows of the
    band's middle ``(x, y)`` (in the points' centred pixels), its angle and its
    ink pixels. Bands are at least ``BAND_GLYPHS`` glyphs tall; none for fewer than 4."""
    xp = ops.xp
    rad = math.radians(angle)
    across = ys * math.cos(rad) + xs * math.sin(rad)  # constant along a line at ``angle``
    lo, hi = (float(v) for v in xp.percentile(across, xp.asarray([1.0, 99.0])))
    count = min(count, int((hi - lo) / (BAND_GLYPHS * glyphs)))
    if count < 4:
        return np.zeros((0, 4))
    band = xp.clip(((across - lo) * (count / (hi - lo))).astype(xp.int64), -1, count)
    rng = np.random.default_rng(0)
    picks, weights = [], []
    for i in range(count):
        where = xp.flatnonzero(band == i)
        if where.size < BAND_POINTS:
            continue
        weights.append(float(where.size))
        if where.size > BAND_SAMPLE:  # the points may come in rows: a random sample
            where = where[xp.asarray(rng.choice(where.size, BAND_SAMPLE, replace=False))]
        picks.append(where)
    if not picks:
        return np.zeros((0, 4))
    ids = xp.concatenate([xp.full(p.size, j, dtype=xp.int64) for j, p in enumerate(picks)])
    where = xp.concatenate(picks)
    by, bx = ys[where], xs[where]
    # a 0.5-degree grid, then 0.05 degree round each band's best (all points: a band's
    # third is too few for the grid)
    coarse = angle + np.arange(-BAND_RANGE, BAND_RANGE + 1e-9, 0.5)
    grid = np.broadcast_to(coarse, (len(picks), coarse.size))
    best = coarse[np.argmax(_band_scores(by, bx, ids, grid, ops), axis=1)]
    fine = best[:, None] + np.arange(-0.6, 0.6 + 1e-9, 0.05)[None, :]
    found = [_peak(s, f, 0.05) for s, f in zip(_band_scores(by, bx, ids, fine, ops), fine)]
    return np.array([(float(bx[ids == j].mean()), float(by[ids == j].mean()), a, w)
                     for j, (a, w) in enumerate(zip(found, weights))]).reshape(-1, 4)


@dataclass(frozen=True)
class Skew:
    """What :func:`survey` finds: the page's skew, where its ink lies, how tall its
    lines are, and (when asked) their angle place by place."""

    angle: float                #: degrees, > 0 when the text is turned counter-clockwise
    extent: Box | None          #: (top, left, bottom, right) round all the ink, with a margin
    line_height: float | None   #: pixels, across the lines at ``angle``
    bands: np.ndarray           #: (n, 4): a band's middle x, y (pixels), angle, weight


def _extent(ink: np.ndarray, factor: int, shape: tuple[int, int]) -> Box | None:
    """The box around all ink (text, pictures, marks) in full-size pixels, with a margin."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not rows.size:
        return None
    pad = factor + MARGIN * max(shape)
    return (max(0.0, rows[0] * factor - pad), max(0.0, cols[0] * factor - pad),
            min(shape[0] - 1.0, (rows[-1] + 1) * factor + pad),
            min(shape[1] - 1.0, (cols[-1] + 1) * factor + pad))


def _line_height(ys: np.ndarray, xs: np.ndarray, angle: float,
                 glyphs: float | None) -> float | None:
    """Height of the text lines of host ink points (ys, xs), from their projection
    across the lines at ``angle`` (see :func:`~bgocr_nb.filters.analysis.profile_lines`;
    one line is enough). Runs many ``glyphs`` tall are no lines (a picture; rows that
    cross a page turned sideways); None where the runs left are shorter than the
    glyphs, or none are left."""
    from .analysis import profile_lines

    rad = math.radians(angle)
    proj = np.floor(ys * math.cos(rad) + xs * math.sin(rad)).astype(np.int64)
    lines = profile_lines(np.bincount(proj - proj.min()), min_runs=1,
                          longest=TALL_LINES * glyphs if glyphs else None)
    return None if lines and glyphs and lines < SHORT_LINES * glyphs else lines


def estimate_angle(image: Any, *, max_angle: float = 16.0) -> float:
    """Estimate the skew of a dark-on-light page (see :func:`measure`)."""
    return measure(image, max_angle=max_angle)[0]


def measure(image: Any, *, max_angle: float = 16.0
            ) -> tuple[float, Box | None, float | None]:
    """Estimate the skew of a dark-on-light page, find where its ink lies, and how
    tall its text lines are.

    Parameters
    ----------
    image : 2-D float array
    max_angle : float
        Search range in degrees, +/- (up to 45).

    Returns
    -------
    angle : float
        Degrees, positive when the text is rotated counter-clockwise (the
        convention of ``cv2.getRotationMatrix2D``); ``rotate(image, -angle)``
        straightens the page. 0.0 when the page holds too little ink to tell.
    extent : tuple or None
        ``(top, left, bottom, right)`` around all the ink, with a margin, for
        :func:`rotate`'s ``keep``; None without ink.
    line_height : float or None
        Height in pixels of the text lines (weighted by their ink), measured across them at
        ``angle`` (the lines of the straightened page); None without ink, or
        where the runs across ``angle`` are no lines of text (a page turned
        sideways has none that way, and its ``angle`` means nothing).
    """
    skew = survey(image, max_angle=max_angle)
    return skew.angle, skew.extent, skew.line_height


def survey(image: Any, *, max_angle: float = 16.0, bands: int = 0) -> Skew:
    """:func:`measure`, and with ``bands``, the angle of the lines in up to that many
    bands across them (each ``BAND_GLYPHS`` glyphs tall at least, within
    ``BAND_RANGE`` degrees of the page's skew): on a page photographed at an angle
    the lines converge, and their angle changes from top to bottom. Bands are
    given in the page's own pixels; none where fewer than four fit."""
    from .analysis import ink_mask, shrink

    check_image(image)
    max_angle = check_number(max_angle, "max_angle", low=0.5, high=45)
    ops = ops_for(image)
    xp = ops.xp
    small, factor = shrink(image, 1600)
    ink = ops.to_host(ink_mask(small))
    extent = _extent(ink, factor, image.shape)
    *points, glyph_height = _text_points(ink)
    ys, xs = points
    if ys.size < 50:
        return Skew(0.0, extent, None, np.zeros((0, 4)))
    if ys.size > _MAX_POINTS:  # a random sample: a regular stride aliases with the glyph grid
        pick = np.random.default_rng(0).choice(ys.size, _MAX_POINTS, replace=False)
        ys, xs = ys[pick], xs[pick]
    centre = (ink.shape[0] // 2, ink.shape[1] // 2)
    ys = xp.asarray(ys, dtype=xp.float32) - centre[0]
    xs = xp.asarray(xs, dtype=xp.float32) - centre[1]

    # Coarse 0.5-degree grid on a third of the points, then 0.05 degree on all.
    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    angle = _best_angle(ys, xs, coarse, 0.05, ops, coarse_every=3)
    lines = _line_height(*points, angle, glyph_height)  # all the points, not the sample
    found = np.zeros((0, 4))
    if bands and lines and glyph_height:
        found = _band_angles(ys, xs, angle, glyph_height, ops, bands)
        found[:, 0] = (found[:, 0] + centre[1] + 0.5) * factor - 0.5  # the page's pixels
        found[:, 1] = (found[:, 1] + centre[0] + 0.5) * factor - 0.5
    return Skew(float(round(angle, 3)), extent, None if lines is None else lines * factor, found)


def rotate(image: Any, angle: float, *, fill: float = 255.0, keep: Box | None = None) -> Any:
    """Rotate counter-clockwise by ``angle`` degrees, new area ``fill``.

    The canvas grows to hold the whole rotated page; with ``keep`` (a box of the
    input, such as :func:`measure`'s ink extent) it keeps the page's size and
    grows only as far as that box reaches.
    """
    check_image(image)
    angle = check_number(angle, "angle", low=-360, high=360)
    if angle == 0:
        return image
    return ops_for(image).rotate(image, angle, fill=check_number(fill, "fill", low=0, high=255),
                                 keep=keep)


def deskew(image: Any, *, max_angle: float = 16.0, min_angle: float = 0.1,
           canvas: str = "ink") -> tuple[Any, float]:
    """Straighten a page; returns the image and the skew angle that was removed.

    ``canvas="ink"`` keeps the page's size, grown only as far as its ink reaches
    once rotated; ``"full"`` grows it to hold the whole rotated page.
    """
    if canvas not in ("ink", "full"):
        raise ArgumentError(f"canvas must be 'ink' or 'full', got {canvas!r}.")
    angle, extent, _ = measure(image, max_angle=max_angle)
    if abs(angle) < check_number(min_angle, "min_angle", low=0, high=45):
        return image, angle
    return rotate(image, -angle, keep=extent if canvas == "ink" else None), angle
