"""Noise estimation and removal."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import ops_for
from ._checks import check_choice, check_image, check_number


def noise_sigma(image: Any) -> float:
    """Estimate the standard deviation of additive noise (Immerkaer, 1996).

    The image is filtered with a Laplacian-difference mask that cancels smooth
    content; the median absolute response (robust to text edges) gives sigma.
    """
    check_image(image)
    if min(image.shape) < 3:
        return 0.0
    xp = ops_for(image).xp
    # A few hundred thousand 3x3 neighbourhoods suffice: take every k-th row triple.
    k = max(1, int(image.size // 400_000) // 3 * 3 or 1)
    rows = xp.arange(1, image.shape[0] - 1, k)
    up, mid, down = image[rows - 1], image[rows], image[rows + 1]
    # Mask [[1,-2,1],[-2,4,-2],[1,-2,1]] as shifted sums; response std is 6 sigma.
    resp = (up[:, :-2] + up[:, 2:] + down[:, :-2] + down[:, 2:]
            - 2 * (up[:, 1:-1] + down[:, 1:-1] + mid[:, :-2] + mid[:, 2:])
            + 4 * mid[:, 1:-1])
    mad = float(xp.median(xp.abs(resp)))
    return mad / (0.6745 * 6.0)


def denoise(image: Any, *, method: str = "median", size: int = 3, sigma: float = 1.0) -> Any:
    """Smooth noise away.

    Parameters
    ----------
    method : {"median", "gaussian"}
        ``median`` removes speckle and keeps edges; ``gaussian`` suits fine grain.
    size : int
        Median window (odd, 3-9).
    sigma : float
        Gaussian standard deviation in pixels (0.3-5).
    """
    check_image(image)
    check_choice(method, "method", ("median", "gaussian"))
    ops = ops_for(image)
    if method == "gaussian":
        return ops.gaussian(image, check_number(sigma, "sigma", low=0.3, high=5))
    size = int(check_number(size, "size", low=3, high=9))
    return ops.median(image, size | 1)


SPECK_SHARE = 1 / 30  # a speck holds at most this share of a typical glyph's pixels ...
SPECK_FAR = 0.6       # ... and lies this many glyph sizes, at least, from any larger ink


def speck_limit(areas: np.ndarray, share: float = SPECK_SHARE) -> tuple[float, float]:
    """The largest speck's area, and the typical glyph's, for the ink blobs of
    ``areas``: the typical glyph holds the page's median ink pixel (dust and
    noise, many but small, hardly move it); a speck holds ``share`` of that, or
    2 pixels, at most."""
    order = np.sort(np.asarray(areas, np.float64))
    if order.size == 0:
        return 2.0, 0.0
    total = np.cumsum(order)
    typical = float(order[np.searchsorted(total, 0.5 * total[-1])])
    return max(2.0, share * typical), typical


def despeckle(image: Any, *, share: float = SPECK_SHARE,
              far: float = SPECK_FAR) -> tuple[Any, int]:
    """Paint lone specks with the paper: dust on the scanner's glass, the pepper
    of salt-and-pepper noise, toner spatter.

    A speck is a blob of ink (darker than Otsu's threshold) of ``share`` of a
    typical glyph's pixels or less (:func:`speck_limit`) that lies more than
    ``far`` glyph sizes (the square root of a typical glyph's area) from any
    larger ink. A full stop, a comma, the dot of an i, a colon lie close to
    their words, and are larger than that besides; specks among the letters,
    which nothing tells from punctuation, stay. Each goes with its soft rim.
    Returns the page and how many specks were painted.

    Examples
    --------
    >>> page = np.full((120, 200), 250, np.float32)
    >>> for x in range(20, 180, 16):
    ...     page[40:60, x:x + 10] = 0       # ten "glyphs", 200 pixels each
    >>> page[100, 30] = page[10, 150] = 0   # two lone specks
    >>> page[62, 25] = 0                    # one under a glyph, where a full stop would be
    >>> out, count = despeckle(page)
    >>> count, float(out[100, 30]), float(out[62, 25])
    (2, 250.0, 0.0)
    """
    import cv2

    from .binarize import histogram, otsu_levels

    check_image(image)
    share = check_number(share, "share", low=0.0, high=0.5)
    far = check_number(far, "far", low=0.0, high=10.0)
    ops = ops_for(image)
    threshold, ink, paper = otsu_levels(histogram(image))
    if ink is None or paper is None:
        return image, 0
    mask = np.ascontiguousarray(ops.to_host(image < threshold)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size < 10:  # too little ink to know its glyphs by
        return image, 0
    limit, typical = speck_limit(areas, share)
    tiny = np.r_[False, areas <= limit]
    if not tiny.any():
        return image, 0
    small = tiny[labels]
    larger = (mask > 0) & ~small
    reach = cv2.distanceTransform((~larger).astype(np.uint8), cv2.DIST_L2, 3)
    nearest = np.full(count, np.inf, np.float32)  # each speck's distance to larger ink
    np.minimum.at(nearest, labels[small], reach[small])
    lone = tiny & (nearest > far * math.sqrt(typical))
    if not lone.any():
        return image, 0
    painted = cv2.dilate(lone[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    xp = ops.xp
    return xp.where(xp.asarray(painted), xp.maximum(image, xp.float32(paper)), image), \
        int(lone.sum())
