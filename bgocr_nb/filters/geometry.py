"""Geometry: scanner borders and text size."""

from __future__ import annotations

from typing import Any

from ..backend import ops_for
from ..errors import ArgumentError
from ._checks import check_image, check_number

MAX_PIXELS = 120_000_000  # an upscaled page may not exceed this


def border_mask(image: Any, *, darkness: float = 96.0) -> Any:
    """Pixels of dark bands that touch the image edge (scanner lid, book gutter).

    A pixel belongs to a border when every pixel between it and the edge, along its
    row or its column, is dark on average; text never touches the edge that way.
    Found on a copy about 600 pixels across, which is plenty for bands.
    """
    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    factor = max(1, max(image.shape) // 600)
    small = ops.downscale(image, factor)
    dark = (ops.box_mean(small, max(3, 9 // factor)) < darkness).astype(xp.uint8)
    left = xp.cumprod(dark, axis=1)
    right = xp.cumprod(dark[:, ::-1], axis=1)[:, ::-1]
    top = xp.cumprod(dark, axis=0)
    bottom = xp.cumprod(dark[::-1, :], axis=0)[::-1, :]
    mask = (left | right | top | bottom).astype(bool)
    if factor > 1:
        h, w = image.shape
        mask = xp.repeat(xp.repeat(mask, factor, axis=0), factor, axis=1)[:h, :w]
        mask = xp.pad(mask, ((0, h - mask.shape[0]), (0, w - mask.shape[1])), mode="edge")
    return mask


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
