"""Geometry: photographed pages, scanner borders and text size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from ..errors import ArgumentError
from ._checks import check_image, check_number

MAX_PIXELS = 120_000_000  # an upscaled page may not exceed this


BAND_DEPTH = 0.25  # a band apart from the edge lies within this share of the page from it,
BAND_SPAN = 0.5    # ... runs along at least this share of the edge,
BAND_SOLID = 0.5   # ... and is this solid: its thinner places (20th percentile) at least
                   # this share of its thicker ones (80th); text reversed out of a bar is not
RIM = 0.1          # a band's soft rim: short of the paper by this share of the way to the band
# Punched holes, the scanner lid dark through them: 5-8 mm round on a page 210-300 mm
# long (1.2-4 % of its long side), their centres 10-15 mm from an edge (within 6 %).
HOLE_SIZE = (0.012, 0.04)
HOLE_REACH = 0.06
HOLE_ROUND = 0.15  # ... round: as tall as wide, and covering a disc's as wide and tall
                   # (intersection over union) to within this share


def _small_border_mask(image: Any, darkness: float) -> tuple[Any, int]:
    """The border mask of a copy about 600 pixels across, and that copy's shrink factor."""
    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    factor = max(1, max(image.shape) // 600)
    small = ops.downscale(image, factor)
    box = max(3, 9 // factor)
    mean = ops.box_mean(small, box)
    level = float(xp.median(small[::4, ::4]))  # the paper's
    halfway = (darkness + level) / 2  # lighter than this is paper
    dark, darkish, paper = mean < darkness, mean < halfway, small >= halfway
    h, w = dark.shape

    mask = xp.zeros((h, w), dtype=bool)
    # each edge's view of the page has its rows run from that edge; ``back`` undoes it
    views = ((lambda a: a, lambda m: m), (lambda a: a[:, ::-1], lambda m: m[:, ::-1]),
             (lambda a: a.T, lambda m: m.T), (lambda a: a[::-1].T, lambda m: m.T[::-1]))
    for view, back in views:
        seen = view(dark)
        ends, starts = _along(*_band_depths(seen, view(darkish), view(paper), box, ops), box)
        if ends.any():
            along = xp.arange(seen.shape[1])[None, :]
            band = (along >= xp.asarray(starts)[:, None]) & (along < xp.asarray(ends)[:, None])
            mask |= back(band)
    holes = _punch_holes(small < darkness, ops)  # not the box means: they fill letters in
    if holes is not None:
        mask |= holes
    if bool(mask.any()):  # and the soft rims: what is not yet paper a box from them
        near = ops.maximum(mask.astype(xp.float32), 2 * box + 1) > 0
        mask |= near & (small < level - RIM * (level - darkness))
    return mask, factor


def _punch_holes(dark: Any, ops: Any) -> Any | None:
    """Punched holes in a dark mask: dark discs of a hole's size (``HOLE_SIZE``, on
    the page's long side) with their centres near an edge (``HOLE_REACH``), alone
    (nothing else dark within a quarter of their width). Text forms no such disc: a
    letter that large is a ring, or has notches, and has letters beside it; a hole
    touching the text is no disc either, and stays. None when there are none."""
    import cv2

    mask = ops.to_host(dark).astype(np.uint8)
    rows, cols = mask.shape
    long = max(rows, cols)
    # only the bands along the edges where a hole and the room round it can lie
    band = math.ceil((HOLE_REACH + 1.25 * HOLE_SIZE[1] / 2) * long)
    if 2 * band < min(rows, cols):
        mask[band:-band, band:-band] = 0
    solid = max(3, int(0.6 * HOLE_SIZE[0] * long))  # a square the smallest hole holds
    if not cv2.erode(mask, np.ones((solid, solid), np.uint8)).any():
        return None  # (most pages: paper or thin strokes only)
    count, labels, stats, centres = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    x, y, width, height, _ = stats.T
    across = (width + height) / 2
    cx, cy = centres.T
    edge = np.minimum.reduce([cx + 0.5, cols - 0.5 - cx, cy + 0.5, rows - 0.5 - cy])
    holes = np.zeros(count, bool)
    candidates = ((across >= HOLE_SIZE[0] * long) & (across <= HOLE_SIZE[1] * long)
                  & (np.maximum(width, height) <= (1 + HOLE_ROUND) * np.minimum(width, height))
                  & (edge <= HOLE_REACH * long))
    candidates[0] = False  # the background
    for i in np.flatnonzero(candidates):
        w, h, pad = width[i], height[i], round(across[i] / 4)
        box = labels[max(0, y[i] - pad):y[i] + h + pad, max(0, x[i] - pad):x[i] + w + pad]
        if ((box != i) & (box > 0)).any():
            continue  # not alone
        yy, xx = np.mgrid[0:h, 0:w] + 0.5
        disc = ((2 * xx / w - 1) ** 2 + (2 * yy / h - 1) ** 2) <= 1
        blob = labels[y[i]:y[i] + h, x[i]:x[i] + w] == i
        holes[i] = (blob & disc).sum() >= (1 - HOLE_ROUND) * (blob | disc).sum()
    if not holes.any():
        return None
    return ops.xp.asarray(holes[labels])


def _band_depths(dark: Any, darkish: Any, paper: Any, box: int, ops: Any
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per row, from its start, its first dark run, if nothing but paper comes before
    it (give or take the ``box`` the darkness was averaged over) and, where it is
    apart from the start, it ends within ``BAND_DEPTH`` of the row: where the run
    ends (else 0); where it begins if more than a box from the start (else 0); and,
    whatever comes before it, where the row's first ``darkish`` pixel is (-1 if
    none; None if no run is apart from the start): where the dark ground the run
    belongs to begins, which the text reversed out of a bar leaves darkish."""
    xp = ops.xp
    n = dark.shape[1]

    def first(a: Any, none: int = n) -> Any:  # per row; ``none`` if it has none
        return xp.where(a.any(axis=1), a.argmax(axis=1), none)

    start = first(dark)
    depth, gap = xp.zeros_like(start), xp.zeros_like(start)
    lines = xp.flatnonzero(start < n)  # the others hold no band (most, on most pages)
    if lines.size:
        begins = start[lines]
        ends = first(~dark[lines] & (xp.arange(n)[None, :] > begins[:, None]))
        apart = begins > box
        found = ((first(~paper[lines]) >= begins - box)
                 & (~apart | (ends <= BAND_DEPTH * n)))
        depth[lines] = xp.where(found, ends, 0)
        gap[lines] = xp.where(apart & found, begins, 0)
    ground = first(darkish, -1) if bool(gap.any()) else None
    return ops.to_host(depth), ops.to_host(gap), None if ground is None else ops.to_host(ground)


def _along(depth: np.ndarray, gap: np.ndarray, ground: np.ndarray | None, box: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Keep the runs of a band (its ``gap`` from one edge and its ``depth``, per
    line) that stretch along the edge at least as far as they reach across it: a
    scanner band or a sliver of one does; the end of a dark bar across the page (a
    heading bar printed to the edge) reaches in further than it is tall. A band
    with paper between it and the edge (a photocopy's edge, a rotated scan's
    corners) must also run along half the edge and be solid all along the
    dark ground it belongs to (a bar's empty end is no band: the bar is ragged
    where text is reversed out of it)."""
    d, gap = depth.copy(), gap.copy()  # a few hundred numbers
    n = len(d)
    edges = np.diff(np.r_[0, (d > 0).astype(np.int8), 0])
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        thick = d[start:stop] - gap[start:stop]
        keep = stop - start >= thick.max()
        if keep and gap[start:stop].max() > 0:
            lo, hi = _dark_ground(ground, start, stop, box)
            cores = np.where(d[lo:hi] > 0, d[lo:hi] - gap[lo:hi], 0)  # 0: no band found
            keep = (stop - start >= BAND_SPAN * n
                    and np.percentile(cores, 20) >= BAND_SOLID * np.percentile(cores, 80))
        if not keep:
            d[start:stop] = gap[start:stop] = 0
    return d, gap


def _dark_ground(ground: np.ndarray, start: int, stop: int, box: int) -> tuple[int, int]:
    """The lines ``start:stop`` widened over the neighbours whose dark ground begins
    (``ground``, -1 where none) within ``box`` of the last line's: all of the dark
    ground a band belongs to."""
    def joins(i: int, j: int) -> bool:  # line i carries on line j's ground
        return ground[i] >= 0 and abs(int(ground[i]) - int(ground[j])) <= box

    lo, hi = start, stop
    while lo > 0 and joins(lo - 1, lo):
        lo -= 1
    while hi < len(ground) and joins(hi, hi - 1):
        hi += 1
    return lo, hi


def border_mask(image: Any, *, darkness: float = 96.0) -> Any:
    """Pixels of dark bands along the image edge (scanner lid, book gutter, the
    dark edge of a photocopied page).

    A pixel belongs to a border when every pixel between it and the edge, along its
    row or its column, is dark on average, or paper and then dark; text never
    touches the edge that way. A dark run that reaches in further than it runs
    along the edge is the end of a printed bar, no band; one with paper between it
    and the edge must lie in the outer quarter of the page, run along half the
    edge, and be solid (a bar with text reversed out of it is not). A band's
    soft rim (its shadow, a blurred edge: not yet paper, a few pixels from it) goes
    with it. So do punched holes, the lid dark through them: lone dark discs
    1.2-4 % of the page's long side across, near an edge. Found on a copy about 600
    pixels across, plenty for bands and holes.
    """
    mask, factor = _small_border_mask(image, darkness)
    if factor > 1:
        xp = ops_for(image).xp
        h, w = image.shape
        mask = xp.repeat(xp.repeat(mask, factor, axis=0), factor, axis=1)[:h, :w]
        mask = xp.pad(mask, ((0, h - mask.shape[0]), (0, w - mask.shape[1])), mode="edge")
    return mask


def border_area(image: Any, *, darkness: float = 96.0) -> float:
    """Fraction of the page that :func:`border_mask` marks (measured on the small copy)."""
    return float(_small_border_mask(image, darkness)[0].mean())


def remove_border(image: Any, *, darkness: float = 96.0, pad: int = 4) -> Any:
    """Paint dark edge bands and punched holes white (see :func:`border_mask`), ``pad``
    pixels wider."""
    darkness = check_number(darkness, "darkness", low=1, high=254)
    pad = int(check_number(pad, "pad", low=0, high=100))
    ops = ops_for(image)
    mask = border_mask(image, darkness=darkness)
    if pad:
        mask = ops.maximum(mask.astype(ops.xp.float32), 2 * pad + 1) > 0
    return ops.xp.where(mask, 255.0, image).astype(ops.xp.float32)


PAGE_AREA = (0.2, 0.97)  # of the frame: a photographed page covers this much of it
PAGE_FILL = 0.95         # ... and at least this much of its four-cornered outline
SURFACE = 0.7            # the surface round it is darker than this share of the paper
EDGE = 0.85              # ... and just beyond each edge, darker than this share of inside
SURFACE_LIGHT = 0.2      # of the surround, at most this much as light as the paper


def page_corners(image: Any) -> np.ndarray | None:
    """The corners of a page photographed whole on a darker surface (a desk).

    Found on a sample about 600 pixels across: the largest bright region (paper
    by Otsu's threshold, closed over its text), when its outline is four-cornered,
    it lies wholly inside the frame, and what lies round it is darker. Where light
    falls off across the page and its dim side drops below that threshold, lower
    thresholds, down towards the surface's level, are tried too.

    Returns
    -------
    numpy.ndarray or None
        (4, 2) float corners ``(x, y)`` at full resolution: top left, top right,
        bottom right, bottom left. None for a scan, or a photo the page fills or
        leaves the frame in.
    """
    import cv2

    check_image(image)
    ops = ops_for(image)
    factor = max(1, max(image.shape) // 600)  # every factor-th pixel: a page is no detail
    small = np.clip(ops.to_host(image[::factor, ::factor]), 0, 255).astype(np.uint8)
    if min(small.shape) < 32:
        return None
    otsu, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = small[small <= otsu]
    if not dark.size:  # one level throughout: a blank frame
        return None
    surface = float(np.median(dark))
    for level in otsu - (otsu - surface) * np.array([0.0, 0.25, 0.5]):
        quad, filled = _page_outline(small, level)
        if quad is not None:
            inward = quad.mean(axis=0) - quad  # a sample and a half in: no desk at the edge
            return quad * factor + (1.5 * factor * np.sqrt(2) * inward
                                    / np.linalg.norm(inward, axis=1)[:, None])
        if filled:  # a lower level's paper holds this one's: its region fills the frame too
            return None
    return None


def _page_outline(small: np.ndarray, level: float) -> tuple[np.ndarray | None, bool]:
    """The four corners of the page in a small uint8 sample, paper above ``level``
    (see :func:`page_corners`), clockwise from the top left (None if none), and
    whether the largest region of paper fills more of the frame than a page may."""
    import cv2

    h, w = small.shape
    paper = (small > level).astype(np.uint8)
    size = max(3, min(h, w) // 40) | 1  # wider than lines of text, narrower than a margin
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    # the areas counted here take a third of the time of OpenCV's component stats
    n, labels = cv2.connectedComponents(paper, connectivity=4)
    if n < 2:
        return None, False
    areas = np.bincount(labels.ravel(), minlength=n)
    page = 1 + int(np.argmax(areas[1:]))
    area = int(areas[page])
    if not PAGE_AREA[0] <= area / (h * w) <= PAGE_AREA[1]:
        return None, area / (h * w) > PAGE_AREA[1]
    region = (labels == page).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    quad = next((q for eps in (0.01, 0.02, 0.03, 0.05)
                 if len(q := cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)) == 4),
                None)
    if quad is None or not PAGE_FILL <= area / max(cv2.contourArea(quad), 1.0) <= 1 / PAGE_FILL:
        return None, False  # no four-cornered outline that the region fills
    quad = quad.reshape(4, 2).astype(np.float64)
    if quad.min() < 2 or (quad[:, 0] > w - 3).any() or (quad[:, 1] > h - 3).any():
        return None, False  # a corner on the frame's edge: the page is not seen whole
    centre = quad.mean(axis=0)  # clockwise in image coordinates, from the top left
    quad = quad[np.argsort(np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0]))]
    quad = np.roll(quad, -int(np.argmin(quad.sum(axis=1))), axis=0)
    # every edge is the paper's own: darker beyond it (a desk), not paper in dimmer light
    # cut off by the threshold, whose edge would be a straight line too
    reach = max(3.0, min(h, w) / 50)
    along = np.linspace(0.1, 0.9, 33)[:, None]
    for start, end in zip(quad, np.roll(quad, -1, axis=0)):
        points = start + along * (end - start)
        normal = np.array([end[1] - start[1], start[0] - end[0]])  # outward, clockwise order
        normal /= max(np.linalg.norm(normal), 1e-9)
        levels = []
        for side in (reach, -reach):
            x, y = np.round(points + side * normal).T.astype(int)
            levels.append(np.median(small[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)]))
        if levels[0] > EDGE * levels[1]:
            return None, False
    outside = small[region == 0]
    if np.median(outside) > SURFACE * np.median(small[region > 0]) or (
            (outside > level).mean() > SURFACE_LIGHT):
        return None, False  # not surrounded by a darker surface (a frame printed on a white sheet)
    return quad, False


def flatten_page(image: Any, corners: np.ndarray | None = None) -> Any:
    """Cut a photographed page out of its surroundings and square it.

    The page between ``corners`` (see :func:`page_corners`, which finds them when
    none are given) is mapped onto an upright rectangle as long as its longer
    edges. An image with no such page comes back as it is.
    """
    import cv2

    check_image(image)
    corners = page_corners(image) if corners is None else np.asarray(corners, np.float64)
    if corners is None:
        return image
    tl, tr, br, bl = corners
    width = round(max(np.hypot(*(tr - tl)), np.hypot(*(br - bl))))
    height = round(max(np.hypot(*(bl - tl)), np.hypot(*(br - tr))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return ops_for(image).warp(image, matrix, (height, width), fill=255.0)


KEYSTONE_SLANT = 2.0   # degrees: strokes leaning this much at the text's middle (type: < 1.7)
KEYSTONE_SPREAD = 2.5  # degrees: ... or leaning this much more at its sides (type: < 1.7)
KEYSTONE_FIT = 1.0     # degrees: the strips' leans stray at most this far from one vanishing point
KEYSTONE_ROUNDS = 3    # measurements of the straightened page that refine the correction
KEYSTONE_DONE = 0.2    # degrees: a refinement this small ends them
SLANT_STRIPS = 8       # vertical strips of the text, each measured on its own
SLANT_RANGE = 20.0     # degrees: leans measured up to this far from vertical
SLANT_GLYPH = 12.0     # pixels: leans are measured on a copy whose glyphs are about this tall
SLANT_PIXELS = 400_000  # ... on bands of its rows spread over the page: this many pixels at most
SLANT_GLANCE = 0.25    # a first look takes this share of them: a page leaning under half the
                       # thresholds there (as upright type does) is left without a closer one
SLANT_BAND = 48        # rows of the copy a band holds
LINE_BANDS = 6         # bands across the lines whose angle is measured (see deskew.survey)
LINES_SPREAD = 1.0     # degrees: lines turning this much more at the text's top or bottom
                       # than at its middle converge (parallel lines: 0.21 at most, in fits
                       # that hold, on the benchmark's 1,044 default pages)
LINES_FIT = 0.3        # degrees: the bands' angles stray at most this far from one vanishing point


@dataclass(frozen=True)
class Keystone:
    """Upright strokes that lean and converge: a page photographed at an angle
    (see :func:`find_keystone`)."""

    matrix: np.ndarray  #: 3x3 projective map of the page's (x, y) that stands them upright
    slant: float        #: degrees they lean at the page's middle (> 0: tops to the left)
    spread: float       #: degrees more they lean at its right edge than at its middle


def stroke_slants(image: Any, *, strips: int = SLANT_STRIPS,
                  text_height: float | None = None) -> np.ndarray:
    """The lean of the near-vertical strokes in each of ``strips`` vertical strips
    of the text of a dark-on-light page.

    Each pixel's edge direction comes from the structure tensor (the gradient's
    outer product, smoothed over about a stroke's width), on a copy whose
    glyphs are about ``SLANT_GLYPH`` pixels tall (smaller, strokes blur into
    their serifs and lean as they do) and, where that copy is large, on bands
    of its rows spread over the page (``SLANT_PIXELS`` at most). Straight edges
    within ``SLANT_RANGE`` degrees of vertical vote for their strip's lean,
    weighted by how straight they are, and the strip takes the mean of the
    votes near its most common lean. Curved strokes (bowls, hooks) overstate a
    lean by a fifth to a half, which :func:`find_keystone` works off by
    measuring again.

    Parameters
    ----------
    text_height : float, optional
        The glyphs' median height in pixels (see
        :func:`~bgocr_nb.filters.analysis.text_height`, which measures it when
        not given).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)``: each strip's middle x (full-resolution pixels), its strokes'
        lean dx/dy (> 0 when their tops lie to the left), and their weight;
        strips with few strokes are left out.
    """
    check_image(image)
    small, factor = _slant_copy(image, text_height)
    found = _slants(small, strips)
    found[:, 0] = (found[:, 0] + 0.5) * factor - 0.5
    return found


def _slant_copy(image: Any, text_height: float | None) -> tuple[Any, int]:
    """The copy of ``image`` that leans are measured on, and its shrink factor."""
    from .analysis import text_height as measure_height

    height = measure_height(image) if text_height is None else text_height
    factor = max(1, int((height or SLANT_GLYPH) / SLANT_GLYPH))
    factor = min(factor, max(1, min(image.shape) // 64))
    return ops_for(image).downscale(image, factor), factor


def _bands(small: Any, pixels: int) -> Any:
    """``small``, or where it holds more than ``pixels``, bands of its rows (at
    most ``SLANT_BAND`` each) spread evenly between its top and bottom, stacked."""
    h, w = small.shape
    rows = max(16, pixels // w)
    if h <= rows:
        return small
    count = max(2, rows // SLANT_BAND)
    band = rows // count
    starts = np.linspace(0, h - band, count + 2)[1:-1].astype(int)  # not in the margins
    return ops_for(small).xp.concatenate([small[y:y + band] for y in starts])


def _slants(small: Any, strips: int = SLANT_STRIPS, pixels: int = SLANT_PIXELS) -> np.ndarray:
    """:func:`stroke_slants` of ``small`` itself, in its own pixels, on at most
    ``pixels`` of it."""
    from .binarize import histogram, otsu_levels

    ops = ops_for(small)
    xp = ops.xp
    if min(small.shape) < 16:
        return np.zeros((0, 3))
    small = _bands(small, pixels)
    _, ink, paper = otsu_levels(histogram(small))
    if ink is None or paper is None:
        return np.zeros((0, 3))
    small = xp.asarray(small, dtype=xp.float32)
    gx = xp.zeros_like(small)
    gy = xp.zeros_like(small)
    gx[:, 1:-1] = small[:, 2:] - small[:, :-2]
    gy[1:-1, :] = small[2:, :] - small[:-2, :]
    jxx, jyy, jxy = (ops.gaussian(a, 1.5) for a in (gx * gx, gy * gy, gx * gy))
    across = jxx - jyy   # > 0 where the gradient runs more across than down: upright strokes
    energy = jxx + jyy
    # edges of strokes only (most of a page is paper): the rest works on those pixels
    ys, xs = xp.nonzero((across > 0) & (energy > 0.05 * (paper - ink) ** 2))
    across, energy, jxy = (ops.to_host(a[ys, xs]) for a in (across, energy, jxy))
    straight = across * across + 4 * jxy * jxy
    # the edge's direction is square to the gradient's, at 0.5 atan2(2 jxy, jxx - jyy)
    lean = -np.tan(0.5 * np.arctan2(2 * jxy, across))
    vote = (straight > (0.6 * energy) ** 2) & (np.abs(lean) < math.tan(math.radians(SLANT_RANGE)))
    xs, lean, weight = ops.to_host(xs)[vote], lean[vote], np.sqrt(straight[vote])
    least = max(50, 200 * pixels // SLANT_PIXELS)  # votes a strip needs
    if xs.size < least * strips:
        return np.zeros((0, 3))
    lo, hi = np.percentile(xs, [1, 99])
    strip = np.floor((xs - lo) * (strips / max(hi - lo, 1e-9))).astype(np.int64)
    inside = (strip >= 0) & (strip < strips)
    strip, xs, lean, weight = strip[inside], xs[inside], lean[inside], weight[inside]
    # each strip's votes by lean, in half-degree bins; its most common lean, smoothed
    bins = int(2 * SLANT_RANGE / 0.5)
    angle = np.clip(((np.degrees(np.arctan(lean)) + SLANT_RANGE) / 0.5).astype(np.int64),
                    0, bins - 1)
    votes = np.bincount(strip * bins + angle, weights=weight,
                        minlength=strips * bins).reshape(strips, bins)
    smooth = np.apply_along_axis(np.convolve, 1, votes, [1, 2, 3, 2, 1], "same")
    mode = np.tan(np.radians((np.argmax(smooth, axis=1) + 0.5) * 0.5 - SLANT_RANGE))
    near = np.abs(lean - mode[strip]) < 0.03
    count = np.bincount(strip, minlength=strips)

    def per_strip(values: np.ndarray) -> np.ndarray:  # summed over the votes near the mode
        return np.bincount(strip, weights=values * near, minlength=strips)

    mass = per_strip(weight)
    keep = (count >= least) & (mass > 0)
    middle = np.bincount(strip, weights=xs, minlength=strips) / np.maximum(count, 1)
    found = np.stack([middle, per_strip(weight * lean) / np.maximum(mass, 1e-12), mass], axis=1)
    return found[keep]


def _vanishing(strips: np.ndarray, row: float
               ) -> tuple[np.ndarray, float, float, float] | None:
    """Fit the strips' leans, measured about ``row``, by strokes converging on one
    vanishing point. Returns the 3x3 map that sends that point to infinity
    straight down (the strokes stand upright; the row and the middle strip stay
    put), the lean at the middle and its spread to the right edge in degrees, and
    how far the strips stray from the fit; None for too few strips."""
    if len(strips) < SLANT_STRIPS // 2:
        return None
    x, lean, weight = strips.T
    middle = float(np.average(x, weights=weight))
    design = np.stack([np.ones_like(x), x - middle], axis=1) * np.sqrt(weight)[:, None]
    (slant, convergence), *_ = np.linalg.lstsq(design, lean * np.sqrt(weight), rcond=None)
    fitted = np.degrees(np.arctan(slant + convergence * (x - middle)))
    stray = float(np.sqrt(np.average((np.degrees(np.arctan(lean)) - fitted) ** 2,
                                     weights=weight)))
    # strokes through (middle + u, row) lean by slant + convergence u: they meet at
    # v = -1 / convergence rows from the row, which this sends to infinity
    upright = np.array([[1.0, -slant, 0.0], [0.0, 1.0, 0.0], [0.0, convergence, 1.0]])
    there = np.array([[1.0, 0.0, middle], [0.0, 1.0, row], [0.0, 0.0, 1.0]])
    degrees = math.degrees(math.atan(slant))
    spread = math.degrees(math.atan(slant + convergence * (x.max() - middle))) - degrees
    return there @ upright @ np.linalg.inv(there), degrees, spread, stray


def _framed(matrix: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """``matrix`` shifted so the image of ``shape`` lands on a canvas from (0, 0),
    and that canvas's shape."""
    h, w = shape
    corners = matrix @ np.array([[0.0, w - 1.0, w - 1.0, 0.0], [0.0, 0.0, h - 1.0, h - 1.0],
                                 [1.0] * 4])
    corners = corners[:2] / corners[2]
    low, high = np.floor(corners.min(axis=1)), np.ceil(corners.max(axis=1))
    shift = np.array([[1.0, 0.0, -low[0]], [0.0, 1.0, -low[1]], [0.0, 0.0, 1.0]])
    return shift @ matrix, (int(high[1] - low[1]) + 1, int(high[0] - low[0]) + 1)


def _lean(matrix: np.ndarray, x: float, y: float) -> float:
    """Degrees a stroke at (x, y) leans that ``matrix`` stands upright."""
    p = matrix @ [x, y, 1.0]
    jacobian = (matrix[:2, :2] - np.outer(p[:2] / p[2], matrix[2, :2])) / p[2]
    dx, dy = np.linalg.solve(jacobian, [0.0, 1.0])  # what the map turns upright
    return math.degrees(math.atan2(dx, dy))


def find_keystone(image: Any, *, text_height: float | None = None) -> Keystone | None:
    """How the upright strokes of a page's text lean and converge, where a photo
    taken at an angle makes them (None for a page whose strokes stand upright).

    The leans of :func:`stroke_slants` are fitted by strokes converging on one
    vanishing point: their lean changes evenly from side to side. Type leans
    little and evenly (an italic page leans throughout: straightened too); a
    fit that strays, or leans within what upright type does, gives None.
    Curved strokes overstate a lean, so the page is straightened, measured
    again and the correction refined, up to ``KEYSTONE_ROUNDS`` times. A first
    look at a quarter of the pixels leaves most pages, upright, at that. The
    page's lines should be level (after ``deskew``): strokes turned with them
    lean too. ``text_height`` is as for :func:`stroke_slants`.
    """
    check_image(image)
    small, factor = _slant_copy(image, text_height)
    glance = _vanishing(_slants(small, pixels=int(SLANT_PIXELS * SLANT_GLANCE)),
                        small.shape[0] / 2)
    if glance is not None and glance[3] <= KEYSTONE_FIT and (
            abs(glance[1]) < KEYSTONE_SLANT / 2 and abs(glance[2]) < KEYSTONE_SPREAD / 2):
        return None  # upright at a glance
    fit = _vanishing(_slants(small), small.shape[0] / 2)
    if fit is None:
        return None
    total, slant, spread, stray = fit
    if stray > KEYSTONE_FIT or (abs(slant) < KEYSTONE_SLANT and abs(spread) < KEYSTONE_SPREAD):
        return None
    ops = ops_for(small)
    for _ in range(KEYSTONE_ROUNDS):
        total, shape = _framed(total, small.shape)
        if max(shape) > 2 * max(small.shape):  # the vanishing point lies near the page
            return None
        fit = _vanishing(_slants(ops.warp(small, total, shape)), shape[0] / 2)
        if fit is None or fit[3] > KEYSTONE_FIT:
            break
        total = fit[0] @ total
        if max(abs(fit[1]), abs(fit[2])) < KEYSTONE_DONE:
            break
    to_full = np.array([[factor, 0.0, (factor - 1) / 2], [0.0, factor, (factor - 1) / 2],
                        [0.0, 0.0, 1.0]])
    matrix = to_full @ total @ np.linalg.inv(to_full)
    h, w = image.shape
    middle, right = (_lean(matrix, x, h / 2) for x in (w / 2, w - 1.0))
    return Keystone(matrix, middle, right - middle)


@dataclass(frozen=True)
class Convergence:
    """Text lines converging on a vanishing point beside the page: a page
    photographed at an angle (see :func:`find_convergence`)."""

    matrix: np.ndarray  #: 3x3 projective map of the page's (x, y) that levels them
    angle: float        #: degrees they turn at the text's middle (> 0: counter-clockwise)
    spread: float       #: degrees more they turn at the text's bottom than at its middle


_SWAP = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # (x, y) <-> (y, x)


def find_convergence(bands: np.ndarray, matrix: np.ndarray | None = None
                     ) -> Convergence | None:
    """How a page's text lines converge, from their angle band by band (the
    ``bands`` of :func:`~bgocr_nb.filters.deskew.survey`); None for lines that
    stay parallel.

    The bands' angles are fitted by lines through one vanishing point, their
    angle changing evenly from top to bottom: :func:`find_keystone`'s fit with
    rows and columns swapped. The map sends that point to infinity, to the
    side. Lines that turn less than ``LINES_SPREAD`` degrees from the middle
    band to the last, or bands that stray from the fit, give None. ``matrix``
    (3x3) takes the bands' page to the page the map is for, such as the turn
    that levels its lines on average: their angles are turned with it.
    """
    if len(bands) < SLANT_STRIPS // 2:
        return None
    to_page = np.eye(3) if matrix is None else np.asarray(matrix, np.float64)
    x, y, angle, weight = np.asarray(bands, np.float64).T
    rad = np.radians(angle)  # counter-clockwise: a line rises to the right

    def mapped(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        p = to_page @ np.stack([px, py, np.ones_like(px)])
        return p[:2] / p[2]

    (mx, my), (ax, ay) = mapped(x, y), mapped(x + np.cos(rad), y - np.sin(rad))
    slope = (ay - my) / (ax - mx)  # rows per column along the band's lines
    middle = float(np.average(mx, weights=weight))
    at = my + slope * (middle - mx)  # where each band's lines cross the middle column
    # swapped, the lines are strokes and the bands strips across the page
    fit = _vanishing(np.stack([at, slope, weight], axis=1), middle)
    if fit is None:
        return None
    swapped, slant, spread, stray = fit
    if stray > LINES_FIT or abs(spread) < LINES_SPREAD:
        return None
    return Convergence(_SWAP @ swapped @ _SWAP, -slant, -spread)


def framed_by_surface(image: Any, *, paper: float) -> bool:
    """Whether most of the frame's edge (60 % of its outer 2 %) is darker than 0.8
    of the ``paper`` level: a page lying on a desk or a scanner lid, not one that
    fills the picture (shadows and vignetting darken at most 46 % of that edge
    on the benchmark's photos; desks whose page corners were not found, 77 % and
    more)."""
    check_image(image)
    h, w = image.shape
    depth = max(1, round(0.02 * min(h, w)))
    step = max(1, max(h, w) // 512)
    ring = [image[:depth:step, ::step], image[-depth::step, ::step],
            image[::step, :depth:step], image[::step, -depth::step]]
    dark = sum(float((r < 0.8 * paper).sum()) for r in ring)
    return dark > 0.6 * sum(r.size for r in ring)


def keystone_geometry(shape: tuple[int, int], found: Keystone | Convergence
                      ) -> tuple[np.ndarray, tuple[int, int]]:
    """The 3x3 projective matrix (input (x, y) to output) that stands the strokes of
    :func:`find_keystone` upright (or levels the lines of :func:`find_convergence`),
    and the output shape that holds the whole page."""
    return _framed(found.matrix, shape)


def rectify(source: Any, image: Any, to_image: np.ndarray, bands: np.ndarray, *,
            text_height: float | None = None, fill: float = 255.0
            ) -> tuple[Any, Convergence | None, Keystone | None]:
    """Level the converging lines (:func:`find_convergence`) and stand the leaning
    strokes (:func:`find_keystone`) of ``image``, the page ``source`` as the 3x3
    map ``to_image`` draws it (a turn, or the identity), in one warp of ``source``.
    ``bands`` are the lines' angles on ``source`` (:func:`~bgocr_nb.filters.deskew.survey`);
    the strokes are measured once the lines are level. Returns the page (``image``
    itself when neither is found), and what was found (None for each that was not)."""
    ops = ops_for(source)
    converging = find_convergence(bands, to_image)
    if converging is not None:
        matrix, shape = keystone_geometry(image.shape, converging)
        to_image = matrix @ to_image
        image = ops.warp(source, to_image, shape, fill=fill)
    found = find_keystone(image, text_height=text_height)
    if found is not None:
        matrix, shape = keystone_geometry(image.shape, found)
        image = ops.warp(source, matrix @ to_image, shape, fill=fill)
    return image, converging, found


def unkeystone(image: Any, found: Keystone | None = None) -> Any:
    """Level a photographed page's converging lines and stand its leaning, converging
    strokes upright, in one warp (see :func:`rectify`); with ``found``, only that map.
    A page whose lines are parallel and strokes upright comes back as it is. Best
    after ``deskew``."""
    from .deskew import survey

    check_image(image)
    if found is not None:
        matrix, shape = keystone_geometry(image.shape, found)
        return ops_for(image).warp(image, matrix, shape, fill=255.0)
    return rectify(image, image, np.eye(3), survey(image, bands=LINE_BANDS).bands)[0]


def upscale(image: Any, *, factor: float = 2.0) -> Any:
    """Enlarge by ``factor`` (1-4) with bilinear interpolation, for small text."""
    check_image(image)
    factor = check_number(factor, "factor", low=1, high=4)
    h, w = image.shape
    shape = (max(1, round(h * factor)), max(1, round(w * factor)))
    if shape[0] * shape[1] > MAX_PIXELS:
        raise ArgumentError(f"Upscaling {w}x{h} by {factor:g} would give {shape[1]}x{shape[0]} "
                            f"pixels, over the limit of {MAX_PIXELS:,}; use a smaller factor.")
    return ops_for(image).resize(image, shape) if shape != (h, w) else image


def downscale(image: Any, *, factor: float = 0.5) -> Any:
    """Shrink by ``factor`` (0.1-1), for text larger than Tesseract reads best.

    A Gaussian of sigma ``(1 / factor - 1) / 2`` first (as ``skimage.transform.rescale``
    does against aliasing), then bilinear sampling: one formulation on both backends.
    """
    check_image(image)
    factor = check_number(factor, "factor", low=0.1, high=1)
    h, w = image.shape
    shape = (max(1, round(h * factor)), max(1, round(w * factor)))
    if shape == (h, w):
        return image
    ops = ops_for(image)
    return ops.resize(ops.gaussian(image, (1.0 / factor - 1.0) / 2.0), shape)
