"""Random and mutated bytes into the loader and the pipeline: only our documented errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bgocr_nb.errors import BgocrError
from bgocr_nb.io import load_pages
from bgocr_nb.pipeline import Pipeline
from tests.conftest import text_page


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(text_page(["Fuzz me"], width=200, line_gap=40))
    if fmt == "PDF":
        img.save(buf, format="PDF", resolution=72)
    else:
        img.save(buf, format=fmt)
    return buf.getvalue()


SEEDS = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "PDF")}


def _run(data: bytes) -> None:
    try:
        for page in load_pages(data, dpi=72, max_pixels=4_000_000):
            if page.error is not None:
                assert isinstance(page.error, BgocrError) and page.image is None
                continue
            assert page.image.dtype == np.uint8 and page.image.size > 0
            Pipeline("auto").run(page.image, device="cpu")
    except BgocrError:
        pass  # a documented, explained failure


# Pillow warns about the broken tags it skips; the test is that only BgocrErrors come out
@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_mutated_files(fmt, data):
    raw = bytearray(SEEDS[fmt])
    n = data.draw(st.integers(1, 12))
    for _ in range(n):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos: pos + data.draw(st.integers(1, 64))]
        elif raw:
            raw[pos:pos] = raw[pos: pos + data.draw(st.integers(1, 64))]
        if not raw:
            break
    _run(bytes(raw))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _run(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 48), st.integers(1, 2500), st.booleans(),
       st.sampled_from(["uint8", "uint16", "float32"]), st.integers(0, 2**32 - 1))
def test_random_arrays_through_auto(h, w, tall, dtype, seed):
    """Any size, from 1x1 to extreme strips either way."""
    rng = np.random.default_rng(seed)
    shape = (w, h) if tall else (h, w)
    arr = (rng.random(shape) * (255 if dtype != "float32" else 1)).astype(dtype)
    out = Pipeline("auto,unfade").run(next(load_pages(arr)).image, device="cpu")
    assert out.image.dtype == np.uint8 and out.image.ndim == 2


def test_a_tall_noise_strip_shrinks_at_most_tenfold():
    """Found by the test above in CI: a tall strip of noise is one 'line' over 1800 px
    high, which asked the downscale filter for a factor under its 0.1 limit."""
    strip = (np.random.default_rng(41).random((2386, 32)) * 255).astype(np.uint8)
    out = Pipeline("auto").run(strip, device="cpu")
    (step,) = [s for s in out.steps if s.name == "downscale"]
    assert out.scale >= 0.1 and out.image.dtype == np.uint8
    assert not step.applied or step.params["factor"] >= 0.1


@settings(max_examples=80, deadline=None)
@given(st.integers(40, 700), st.integers(40, 700), st.integers(3, 6),
       st.integers(0, 2**32 - 1))
def test_bright_polygons_on_dark_through_page(h, w, corners, seed):
    """Light shapes on a dark ground, thin slivers and triangles among them: the
    page finder takes a four-cornered one or none, and the cut-out is a page."""
    import cv2

    from bgocr_nb.filters import geometry

    rng = np.random.default_rng(seed)
    image = np.full((h, w), float(rng.integers(0, 120)), np.float32)
    points = (rng.random((corners, 2)) * [w, h]).astype(np.int32)
    cv2.fillPoly(image, [cv2.convexHull(points)], float(rng.integers(130, 256)))
    found = geometry.page_corners(image)
    assert found is None or found.shape == (4, 2)
    out = geometry.flatten_page(image)
    assert out.ndim == 2 and min(out.shape) >= 1 and np.isfinite(out).all()
