"""Array backends: one algorithm, two array modules.

Filters are written once against an :class:`Ops` object that bundles an array
module ``xp`` (NumPy or CuPy) with the few neighbourhood operations they need.
:class:`CvOps` runs them on the CPU with OpenCV (fast, and the reference);
:class:`NdiOps` runs them through ``scipy.ndimage``-style modules, which is how
the GPU path uses ``cupy`` + ``cupyx.scipy.ndimage``. Both follow the same
conventions (edge handling, half-pixel centres) so their results agree; the
tests check this with ``NdiOps(numpy, scipy.ndimage)`` on any machine.

Images inside the pipeline are 2-D ``float32`` arrays with values in [0, 255].
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from functools import lru_cache
from typing import Any

import numpy as np


class Ops:
    """Neighbourhood operations on 2-D float32 images for one array module."""

    name = "abstract"
    xp: Any = np

    def asarray(self, image: Any) -> Any:
        """Move ``image`` (host or device) into this backend, keeping its dtype."""
        return self.xp.asarray(image)

    def to_host(self, image: Any) -> np.ndarray:
        """Copy ``image`` back to a NumPy array."""
        return np.asarray(image)

    def quantize(self, image: Any) -> Any:
        """Round a [0, 255] float image to uint8, on its device (uint8 passes through)."""
        xp = self.xp
        if image.dtype == xp.uint8:
            return image
        return xp.clip(image + 0.5, 0, 255).astype(xp.uint8)

    def to_uint8(self, image: Any) -> np.ndarray:
        """:meth:`quantize` ``image`` and copy it to the host."""
        return self.to_host(self.quantize(image))

    def histogram(self, image: Any) -> np.ndarray:
        """Counts of the 256 gray levels [i, i + 1) as a float64 host array."""
        hist, _ = self.xp.histogram(image, bins=256, range=(0.0, 256.0))
        return self.to_host(hist).astype(np.float64)

    # Each of these takes and returns a float32 image of values in [0, 255].
    def stretch(self, image: Any, low: float, high: float, out: Any = None) -> Any:
        """Map ``low`` to 0 and ``high`` to 255 linearly, clipping outside, into ``out``
        (a new array by default; ``image`` itself works)."""
        xp = self.xp
        out = xp.subtract(image, low, out=out, dtype=xp.float32)
        xp.multiply(out, 255.0 / (high - low), out=out)
        return xp.clip(out, 0.0, 255.0, out=out)

    def divide_into(self, image: Any, field: Any) -> Any:
        """``255 * image / field``, at most 255, written into ``field`` (in place: each
        full-size temporary costs page faults). ``image >= 0`` and ``field >= 1``."""
        xp = self.xp
        xp.divide(image, field, out=field)
        xp.multiply(field, 255.0, out=field)
        return xp.minimum(field, 255.0, out=field)

    def resize(self, image: Any, shape: tuple[int, int]) -> Any:  # bilinear
        raise NotImplementedError

    def gaussian(self, image: Any, sigma: float) -> Any:
        raise NotImplementedError

    def median(self, image: Any, size: int) -> Any:
        raise NotImplementedError

    def maximum(self, image: Any, size: int) -> Any:
        raise NotImplementedError

    def minimum(self, image: Any, size: int) -> Any:
        raise NotImplementedError

    def box_mean(self, image: Any, size: int) -> Any:
        raise NotImplementedError

    def warp(self, image: Any, matrix: np.ndarray, shape: tuple[int, int],
             fill: float = 255.0) -> Any:
        """Map ``image`` through the 3x3 projective ``matrix`` (input (x, y) to
        output (x, y)) onto a canvas of ``shape``, bilinear, ``fill`` outside."""
        raise NotImplementedError

    def rotate(self, image: Any, angle: float, fill: float = 255.0,
               keep: tuple[float, float, float, float] | None = None) -> Any:
        """Rotate counter-clockwise by ``angle`` degrees onto the canvas of
        :func:`rotation_geometry` (``keep``: the box of the input that must stay)."""
        raise NotImplementedError

    # Shared by every backend.
    def downscale(self, image: Any, factor: int) -> Any:
        """Shrink by an integer ``factor`` with block means (area interpolation)."""
        if factor <= 1:
            return image
        h, w = image.shape
        h2, w2 = max(h // factor, 1), max(w // factor, 1)
        if h < factor or w < factor:
            return self.resize(image, (h2, w2))
        block = image[: h2 * factor, : w2 * factor]
        return block.reshape(h2, factor, w2, factor).mean(axis=(1, 3), dtype=self.xp.float32)


def rotation_geometry(shape: tuple[int, int], angle: float,
                      keep: tuple[float, float, float, float] | None = None
                      ) -> tuple[tuple[int, int], np.ndarray]:
    """Output shape and the 2x3 forward matrix (x, y) of a rotation about the centre.

    Without ``keep`` the canvas grows to hold the whole rotated image. With
    ``keep = (top, left, bottom, right)``, a box of the input that must stay (the
    ink), the canvas is the input's own size, centred, grown only as far as the
    rotated box reaches: the corners the rotation swings out hold no ink.
    """
    h, w = shape
    rad = math.radians(angle)
    c, s = abs(math.cos(rad)), abs(math.sin(rad))
    out_w = int(math.ceil(w * c + h * s - 1e-6))
    out_h = int(math.ceil(h * c + w * s - 1e-6))
    cos, sin = math.cos(rad), math.sin(rad)
    # Same matrix as cv2.getRotationMatrix2D(centre, angle, 1), shifted to the new centre.
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    m = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    m[0, 2] = (out_w - 1) / 2.0 - (cos * cx + sin * cy)
    m[1, 2] = (out_h - 1) / 2.0 - (-sin * cx + cos * cy)
    if keep is None:
        return (out_h, out_w), m
    top, left, bottom, right = keep
    corners = m @ np.array([[left, right, left, right], [top, top, bottom, bottom], [1.0] * 4])
    x0 = max(0, min(math.floor(corners[0].min()), (out_w - w) // 2))
    y0 = max(0, min(math.floor(corners[1].min()), (out_h - h) // 2))
    x1 = min(out_w, max(math.ceil(corners[0].max()) + 1, (out_w - w) // 2 + w))
    y1 = min(out_h, max(math.ceil(corners[1].max()) + 1, (out_h - h) // 2 + h))
    m[:, 2] -= (x0, y0)
    return (y1 - y0, x1 - x0), m


def _odd(size: int) -> int:
    size = max(int(size), 1)
    return size if size % 2 else size + 1


class CvOps(Ops):
    """CPU operations with NumPy and OpenCV."""

    name = "numpy"
    xp = np

    def __init__(self) -> None:
        import cv2

        self.cv2 = cv2

    def resize(self, image, shape):
        h, w = shape
        return self.cv2.resize(image, (w, h), interpolation=self.cv2.INTER_LINEAR)

    def gaussian(self, image, sigma):
        return self.cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma,
                                     borderType=self.cv2.BORDER_REFLECT)

    def median(self, image, size):
        size = _odd(size)
        if size <= 5:  # OpenCV takes float32 only up to 5x5
            return self.cv2.medianBlur(image, size)
        u8 = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        return self.cv2.medianBlur(u8, size).astype(np.float32)

    def maximum(self, image, size):
        kernel = self.cv2.getStructuringElement(self.cv2.MORPH_RECT, (_odd(size),) * 2)
        return self.cv2.dilate(image, kernel, borderType=self.cv2.BORDER_REPLICATE)

    def minimum(self, image, size):
        kernel = self.cv2.getStructuringElement(self.cv2.MORPH_RECT, (_odd(size),) * 2)
        return self.cv2.erode(image, kernel, borderType=self.cv2.BORDER_REPLICATE)

    def box_mean(self, image, size):
        return self.cv2.blur(image, (_odd(size),) * 2, borderType=self.cv2.BORDER_REFLECT)

    def divide_into(self, image, field):
        if image.dtype != field.dtype:  # a uint8 page: OpenCV divides like with like
            image = image.astype(field.dtype)
        self.cv2.divide(image, field, dst=field, scale=255.0)  # one parallel pass
        return self.cv2.min(field, 255.0, dst=field)

    def quantize(self, image):
        if image.dtype == np.uint8:
            return image
        return self.cv2.convertScaleAbs(image)  # rounds and saturates (inputs are >= 0)

    def histogram(self, image):
        # bin [i, i + 1) is floor(value): truncating to uint8 takes OpenCV's fast
        # integer path (float input is about 20x slower)
        levels = np.clip(image, 0, 255).astype(np.uint8)
        return self.cv2.calcHist([levels], [0], None, [256], [0, 256]).ravel().astype(np.float64)

    def downscale(self, image, factor):
        h, w = image.shape
        if factor <= 1 or h < factor or w < factor:
            return super().downscale(image, factor)
        if factor > 2 and factor & (factor - 1) == 0:  # halving takes OpenCV's fast path
            return self.downscale(self.downscale(image, 2), factor // 2)
        h2, w2 = h // factor, w // factor  # area interpolation = block means here
        return self.cv2.resize(image[: h2 * factor, : w2 * factor], (w2, h2),
                               interpolation=self.cv2.INTER_AREA)

    def warp(self, image, matrix, shape, fill=255.0):
        return self.cv2.warpPerspective(image, np.asarray(matrix, np.float64),
                                        (shape[1], shape[0]), flags=self.cv2.INTER_LINEAR,
                                        borderMode=self.cv2.BORDER_CONSTANT,
                                        borderValue=float(fill))

    def rotate(self, image, angle, fill=255.0, keep=None):
        (out_h, out_w), m = rotation_geometry(image.shape, angle, keep)
        return self.cv2.warpAffine(image, m, (out_w, out_h), flags=self.cv2.INTER_LINEAR,
                                   borderMode=self.cv2.BORDER_CONSTANT, borderValue=float(fill))


class NdiOps(Ops):
    """Operations through an ``ndimage`` module: CuPy on the GPU, SciPy in tests."""

    def __init__(self, xp: Any, ndi: Any, name: str | None = None) -> None:
        self.xp, self.ndi = xp, ndi
        self.name = name or xp.__name__

    def to_host(self, image):
        get = getattr(image, "get", None)
        return get() if callable(get) else np.asarray(image)

    def resize(self, image, shape):
        zoom = (shape[0] / image.shape[0], shape[1] / image.shape[1])
        return self.ndi.zoom(image, zoom, output=self.xp.float32, order=1, mode="nearest",
                             grid_mode=True)[: shape[0], : shape[1]]

    def gaussian(self, image, sigma):
        return self.ndi.gaussian_filter(image, sigma, mode="reflect", truncate=4.0)

    def median(self, image, size):
        return self.ndi.median_filter(image, size=_odd(size), mode="nearest")

    def maximum(self, image, size):
        return self.ndi.maximum_filter(image, size=_odd(size), mode="nearest")

    def minimum(self, image, size):
        return self.ndi.minimum_filter(image, size=_odd(size), mode="nearest")

    def box_mean(self, image, size):
        return self.ndi.uniform_filter(image, size=_odd(size), mode="reflect")

    def warp(self, image, matrix, shape, fill=255.0):
        xp = self.xp
        (a, b, c), (d, e, f), (g, h, i) = np.linalg.inv(np.asarray(matrix, np.float64)).tolist()
        rows = xp.arange(shape[0], dtype=xp.float32)[:, None]
        cols = xp.arange(shape[1], dtype=xp.float32)[None, :]
        w = g * cols + h * rows + i  # where each output pixel comes from, in projective form
        coords = xp.stack([(d * cols + e * rows + f) / w, (a * cols + b * rows + c) / w])
        return self.ndi.map_coordinates(image, coords, output=xp.float32, order=1,
                                        mode="constant", cval=float(fill))

    def rotate(self, image, angle, fill=255.0, keep=None):
        out_shape, m = rotation_geometry(image.shape, angle, keep)
        # Invert the forward (x, y) matrix, then express it in (row, col) order.
        a = np.vstack([m, [0.0, 0.0, 1.0]])
        inv = np.linalg.inv(a)
        rc = np.array([[inv[1, 1], inv[1, 0], inv[1, 2]],
                       [inv[0, 1], inv[0, 0], inv[0, 2]],
                       [0.0, 0.0, 1.0]])
        return self.ndi.affine_transform(image, self.xp.asarray(rc), output_shape=out_shape,
                                         output=self.xp.float32, order=1, mode="constant",
                                         cval=float(fill))


@lru_cache(maxsize=None)
def cpu_ops() -> CvOps:
    """The shared CPU backend."""
    return CvOps()


@lru_cache(maxsize=None)
def gpu_ops() -> NdiOps:
    """The shared CuPy backend (imports CuPy)."""
    import cupy
    import cupyx.scipy.ndimage

    return NdiOps(cupy, cupyx.scipy.ndimage, name="cupy")


_host_override: contextvars.ContextVar[Ops | None] = contextvars.ContextVar(
    "bgocr_host_ops", default=None)


@contextlib.contextmanager
def host_ops(ops: Ops):
    """Run NumPy images through ``ops`` instead of OpenCV (used to test the GPU code path)."""
    token = _host_override.set(ops)
    try:
        yield ops
    finally:
        _host_override.reset(token)


def ops_for(image: Any) -> Ops:
    """The backend that owns ``image``: CuPy arrays get the GPU ops, all else the CPU."""
    if type(image).__module__.startswith("cupy"):
        return gpu_ops()
    return _host_override.get() or cpu_ops()


@contextlib.contextmanager
def opencv_threads(n: int | None):
    """Run OpenCV with ``n`` threads inside the block (None: leave it as it is).

    A batch keeps every core busy with a Tesseract engine; OpenCV's own thread
    pool on top of that only adds switching, so the batch runs it on one thread.
    """
    import cv2

    old = cv2.getNumThreads()
    if n is not None:
        cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(old)
