"""Geometry: photographed pages, scanner borders and text size."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import ops_for
from ..errors import ArgumentError
from ._checks import check_image, check_number

MAX_PIXELS = 120_000_000  # an upscaled page may not exceed this


def _small_border_mask(image: Any, darkness: float) -> tuple[Any, int]:
    """The border mask of a copy about 600 pixels across, and that copy's shrink factor."""
    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    factor = max(1, max(image.shape) // 600)
    small = ops.downscale(image, factor)
    light = ops.box_mean(small, max(3, 9 // factor)) >= darkness
    h, w = light.shape

    def first_light(a: Any, axis: int) -> Any:  # per line; the line's length if none
        return xp.where(a.any(axis=axis), a.argmax(axis=axis), a.shape[axis])

    left = _along(first_light(light, 1), ops)
    right = w - _along(first_light(light[:, ::-1], 1), ops)
    top = _along(first_light(light, 0), ops)
    bottom = h - _along(first_light(light[::-1, :], 0), ops)
    cols, rows = xp.arange(w)[None, :], xp.arange(h)[:, None]
    return ((cols < left[:, None]) | (cols >= right[:, None])
            | (rows < top[None, :]) | (rows >= bottom[None, :])), factor


def _along(depth: Any, ops: Any) -> Any:
    """Keep the runs of a band's depth (per line, from one edge) that stretch along
    the edge at least as far as they reach into the page: a scanner band or a
    sliver of one does; the end of a dark bar across the page (a heading bar
    printed to the edge) reaches in further than it is tall."""
    d = ops.to_host(depth).copy()  # a few hundred numbers
    edges = np.diff(np.r_[0, (d > 0).astype(np.int8), 0])
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if stop - start < d[start:stop].max():
            d[start:stop] = 0
    return ops.xp.asarray(d)


def border_mask(image: Any, *, darkness: float = 96.0) -> Any:
    """Pixels of dark bands that touch the image edge (scanner lid, book gutter).

    A pixel belongs to a border when every pixel between it and the edge, along its
    row or its column, is dark on average; text never touches the edge that way.
    Found on a copy about 600 pixels across, which is plenty for bands.
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
    """Paint dark edge bands white (see :func:`border_mask`), ``pad`` pixels wider."""
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
        quad = _page_outline(small, level)
        if quad is not None:
            inward = quad.mean(axis=0) - quad  # a sample and a half in: no desk at the edge
            return quad * factor + (1.5 * factor * np.sqrt(2) * inward
                                    / np.linalg.norm(inward, axis=1)[:, None])
    return None


def _page_outline(small: np.ndarray, level: float) -> np.ndarray | None:
    """The four corners of the page in a small uint8 sample, paper above ``level``
    (see :func:`page_corners`), clockwise from the top left; None if none."""
    import cv2

    h, w = small.shape
    paper = (small > level).astype(np.uint8)
    size = max(3, min(h, w) // 40) | 1  # wider than lines of text, narrower than a margin
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    if n < 2:
        return None
    page = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = int(stats[page, cv2.CC_STAT_AREA])
    if not PAGE_AREA[0] <= area / (h * w) <= PAGE_AREA[1]:
        return None
    region = (labels == page).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    quad = next((q for eps in (0.01, 0.02, 0.03, 0.05)
                 if len(q := cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)) == 4),
                None)
    if quad is None or not PAGE_FILL <= area / max(cv2.contourArea(quad), 1.0) <= 1 / PAGE_FILL:
        return None  # no four-cornered outline that the region fills
    quad = quad.reshape(4, 2).astype(np.float64)
    if quad.min() < 2 or (quad[:, 0] > w - 3).any() or (quad[:, 1] > h - 3).any():
        return None  # a corner on the frame's edge: the page is not seen whole
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
            return None
    outside = small[region == 0]
    if np.median(outside) > SURFACE * np.median(small[region > 0]) or (
            (outside > level).mean() > SURFACE_LIGHT):
        return None  # not surrounded by a darker surface (a frame printed on a white sheet)
    return quad


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
