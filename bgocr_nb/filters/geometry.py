"""Geometry: scanner borders and text size."""

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
