"""The GPU code path (ndimage-style ops) agrees with the OpenCV CPU path.

On a machine without a GPU the ndimage ops run with NumPy + scipy.ndimage, the same
code CuPy + cupyx.scipy.ndimage runs on a GPU (see test_gpu.py for the real thing).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from bgocr_nb.backend import NdiOps, cpu_ops, host_ops, rotation_geometry
from bgocr_nb.pipeline import Pipeline

NDI = NdiOps(np, scipy.ndimage, name="scipy")


@pytest.fixture
def noisy(page):
    rng = np.random.default_rng(0)
    return np.clip(page + rng.normal(0, 20, page.shape), 0, 255).astype(np.float32)


@pytest.mark.parametrize("op, args", [
    ("gaussian", (2.0,)), ("median", (3,)), ("median", (5,)), ("maximum", (7,)),
    ("minimum", (7,)), ("box_mean", (9,)), ("downscale", (4,)), ("resize", ((300, 500),)),
    ("resize", ((900, 1500),)), ("rotate", (7.5,)), ("rotate", (-12.0,)),
    ("rotate", (7.5, 255.0, (40.0, 60.0, 250.0, 900.0))), ("stretch", (30.0, 200.0)),
])
def test_ndimage_ops_match_opencv(noisy, op, args):
    cv, nd = getattr(cpu_ops(), op)(noisy, *args), getattr(NDI, op)(noisy, *args)
    assert cv.shape == nd.shape
    inner = (slice(8, -8), slice(8, -8))  # edge conventions may differ by a pixel
    diff = np.abs(cv.astype(np.float64) - nd)[inner]
    assert diff.mean() < 0.5, diff.mean()
    assert np.quantile(diff, 0.999) < 8


def test_projective_warp_matches_opencv(noisy):
    import cv2

    h, w = noisy.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[30, 10], [w - 20, 40], [w - 5, h - 25], [12, h - 8]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    cv, nd = cpu_ops().warp(noisy, matrix, (h, w)), NDI.warp(noisy, matrix, (h, w))
    assert cv.shape == nd.shape == (h, w)
    diff = np.abs(cv.astype(np.float64) - nd)
    assert diff.mean() < 0.5 and (diff > 8).mean() < 0.005  # the source's edge may differ
    assert (cv[:3, :20] == 255).all() and (nd[:3, :20] == 255).all()  # outside it: the fill


def test_page_on_a_desk_cut_out_alike_on_both_backends():
    from bgocr_nb import synth

    page = synth.make_page("tabletop", lang="chi_sim", seed=1).image
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    assert [str(s) for s in cpu.steps] == [str(s) for s in nd.steps]
    assert [s.name for s in cpu.steps if s.applied][0] == "page"
    assert cpu.image.shape == nd.image.shape
    diff = np.abs(cpu.image.astype(int) - nd.image)
    assert diff.mean() < 2.0 and (diff > 64).mean() < 0.01


def test_keystone_stood_upright_alike_on_both_backends():
    """A skewed page photographed at an angle: turned and stood upright in one warp,
    with the leans measured on each backend's own arrays. The correction is fitted
    to measurements, so the canvases may differ by a few pixels: both pages come
    out level and upright, at the same size within 1 %."""
    from bgocr_nb import synth
    from bgocr_nb.filters import deskew, geometry

    page = synth.make_page("perspective+skew", lang="chi_sim", seed=5,
                           params={"perspective": {"amount": 0.05}}).image
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    assert [s.name for s in cpu.steps if s.applied][-1] == "keystone"
    assert [s.name for s in cpu.steps if s.applied] == [s.name for s in nd.steps if s.applied]
    slants = [[s.params[k] for s in run.steps if s.name == "keystone" for k in ("slant", "spread")]
              for run in (cpu, nd)]
    np.testing.assert_allclose(*slants, atol=0.5)  # the spread: extrapolated to the edge
    assert cpu.image.shape == pytest.approx(nd.image.shape, rel=0.01)
    for image in (cpu.image, nd.image):
        image = image.astype(np.float32)
        assert abs(deskew.estimate_angle(image)) < 0.3 and geometry.find_keystone(image) is None


def test_converging_lines_measured_alike_on_both_backends():
    """The lines' angle band by band, and the map that levels them, from each
    backend's own ink."""
    from bgocr_nb.filters import deskew, geometry
    from tests.test_filters import _converging

    page = _converging("eng")
    cpu = deskew.survey(page, bands=geometry.LINE_BANDS).bands
    with host_ops(NDI):
        nd = deskew.survey(page, bands=geometry.LINE_BANDS).bands
    assert cpu.shape == nd.shape and len(cpu) >= 4
    np.testing.assert_allclose(cpu[:, :2], nd[:, :2], atol=3.0)  # band middles, pixels
    np.testing.assert_allclose(cpu[:, 2], nd[:, 2], atol=0.1)    # angles, degrees
    found = [geometry.find_convergence(bands) for bands in (cpu, nd)]
    assert found[0].spread == pytest.approx(found[1].spread, abs=0.2)


def test_rotation_geometry_grows_canvas():
    (h, w), m = rotation_geometry((100, 200), 90)
    assert (h, w) == (200, 100)
    centre = m @ np.array([99.5, 49.5, 1.0])
    np.testing.assert_allclose(centre, [49.5, 99.5], atol=1e-9)


@pytest.mark.parametrize("spec", ["auto", "background,deskew,contrast",
                                  "denoise,background(radius=30),binarize(method=sauvola)"])
def test_pipeline_same_on_both_backends(shaded_page, spec):
    rotated = cpu_ops().rotate(shaded_page.astype(np.float32), 4.0, fill=float(shaded_page.max()))
    cpu = Pipeline(spec).run(rotated, device="cpu")
    with host_ops(NDI):
        nd = Pipeline(spec).run(rotated, device="cpu")
    assert [str(s) for s in cpu.steps] == [str(s) for s in nd.steps]
    assert abs(cpu.angle - nd.angle) < 0.05
    if cpu.image.shape == nd.image.shape:
        diff = np.abs(cpu.image.astype(int) - nd.image)
        assert diff.mean() < 2.0
        assert (diff > 64).mean() < 0.01


def test_divide_into_agrees(noisy):
    field = np.linspace(1.0, 300.0, noisy.size, dtype=np.float32).reshape(noisy.shape)
    cv, nd = cpu_ops().divide_into(noisy, field.copy()), NDI.divide_into(noisy, field.copy())
    np.testing.assert_allclose(cv, nd, rtol=1e-5, atol=1e-3)
    assert cv.max() <= 255.0 and cv.min() >= 0.0


def test_show_through_page_same_on_both_backends():
    from bgocr_nb import synth
    from bgocr_nb.filters import color

    page = color.grayscale(synth.make_page("show_through+skew", seed=0).image)
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    assert [s.name for s in cpu.steps if s.applied] == ["deskew", "contrast"]
    assert [str(s) for s in cpu.steps] == [str(s) for s in nd.steps]
    assert cpu.image.shape == nd.image.shape
    assert np.abs(cpu.image.astype(int) - nd.image).mean() < 2.0


def test_to_uint8_rounds_and_saturates_alike():
    values = np.array([[0.0, 0.4, 0.6, 127.4, 254.6, 255.0, 300.0]], np.float32)
    np.testing.assert_array_equal(cpu_ops().to_uint8(values), NDI.to_uint8(values))
    np.testing.assert_array_equal(cpu_ops().to_uint8(values), [[0, 0, 1, 127, 255, 255, 255]])
    levels = np.array([[0, 7, 255]], np.uint8)  # 8-bit pages pass through as they are
    assert cpu_ops().quantize(levels) is levels and NDI.quantize(levels) is levels


def test_histograms_agree(noisy):
    np.testing.assert_array_equal(cpu_ops().histogram(noisy), NDI.histogram(noisy))
    assert cpu_ops().histogram(noisy).sum() == noisy.size


def test_polarity_same_on_both_backends(page):
    from bgocr_nb.filters import color

    h, w = page.shape
    table = np.full((2 * h, 2 * w), 35.0, np.float32)  # a page on a dark table
    table[h // 2: h // 2 + h, w // 2: w // 2 + w] = page
    for image, light in ((table, False), (color.invert(page.astype(np.float32)), True)):
        assert color.light_text(image) is light
        with host_ops(NDI):
            assert color.light_text(image) is light


def test_table_turns_white_alike_on_both_backends(page):
    """The no-paper region (a table round the page) and its rim, found on either backend."""
    from bgocr_nb.filters import background

    h, w = page.shape
    table = np.full((2 * h, 2 * w), 40.0, np.float32)
    table[h // 2: h // 2 + h, w // 2: w // 2 + w] = page
    table = cpu_ops().gaussian(table, 2.0)  # a soft page edge
    cpu = background.remove(table)
    with host_ops(NDI):
        nd = background.remove(table)
    assert (cpu[: h // 3] == 255).all() and (nd[: h // 3] == 255).all()
    assert ((cpu == 255) == (nd == 255)).mean() > 0.99
    assert np.abs(cpu - nd).mean() < 2.0


def test_reversed_regions_alike_on_both_backends(page):
    """A wide dark heading bar with light text: found the same way on either backend."""
    from bgocr_nb.filters import color

    bar = np.where(page[:60] < 128, 245.0, 60.0)
    ground = np.full((60, page.shape[1]), 60.0)
    image = np.vstack([ground, bar, ground, np.full((40, page.shape[1]), 255.0),
                       page[60:]]).astype(np.float32)
    cpu = color.reversed_regions(image)
    with host_ops(NDI):
        nd = color.reversed_regions(image)
    assert cpu is not None and nd is not None
    assert (cpu == nd).mean() > 0.99 and cpu[:180].mean() > 0.95


@pytest.mark.parametrize("kind", ["shadow", "shadow+skew"])
def test_large_text_shrinks_alike_on_both_backends(kind):
    """A 600 dpi page: auto shrinks its text on either backend, to the same size
    (a skewed one after turning it at 8 bits)."""
    from bgocr_nb import synth
    from bgocr_nb.filters import color

    page = color.grayscale(synth.make_page(kind, lang="chi_sim", seed=1, dpi=600,
                                           width_px=4960, font_size_pt=12).image)
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    applied = [s.name for s in cpu.steps if s.applied]
    assert "downscale" in applied and ("deskew" in applied) == ("skew" in kind)
    assert [(s.name, s.applied) for s in cpu.steps] == [(s.name, s.applied) for s in nd.steps]
    assert abs(cpu.angle - nd.angle) < 0.05
    assert cpu.scale == nd.scale < 0.6 and cpu.image.shape == nd.image.shape
    assert np.abs(cpu.image.astype(int) - nd.image).mean() < 2.0


def test_noisy_page_smoothed_alike_on_both_backends():
    """auto sizes its denoising blur to the text the same way on either backend
    (a 300 dpi page: a blur over twice the floor) and smooths the page alike."""
    from bgocr_nb import synth
    from bgocr_nb.filters.auto import DENOISE_SIGMA

    page = synth.make_page("noise", lang="chi_sim", seed=1, dpi=300, width_px=2480,
                           font_size_pt=41 * 72 / 300).image
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    assert [str(s) for s in cpu.steps] == [str(s) for s in nd.steps]
    (step,) = [s for s in cpu.steps if s.name == "denoise"]
    assert step.applied and step.params["sigma"] > 2 * DENOISE_SIGMA
    diff = np.abs(cpu.image.astype(int) - nd.image)
    assert diff.mean() < 1.0 and (diff > 32).mean() < 0.001


def test_fading_ink_unfades_alike_on_both_backends(page):
    from bgocr_nb.filters import contrast

    wide = np.hstack([page[:, :700]] * 2).astype(np.float32)
    faded = 255.0 - (255.0 - wide) * np.linspace(1.0, 0.35, wide.shape[1],
                                                 dtype=np.float32)[None, :]
    cpu, spread = contrast.unfade(faded), contrast.ink_spread(faded)
    with host_ops(NDI):
        nd, nd_spread = contrast.unfade(faded), contrast.ink_spread(faded)
    assert spread > 0.3 and abs(spread - nd_spread) < 0.03
    diff = np.abs(cpu - nd)
    assert diff.mean() < 2.0 and (diff > 64).mean() < 0.01


@pytest.mark.parametrize("kind", ["stamp", "colored_ink"])
def test_colour_marks_alike_on_both_backends(kind):
    from bgocr_nb import synth

    page = synth.make_page(kind, lang="chi_sim", seed=1).image
    cpu = Pipeline("auto").run(page, device="cpu")
    with host_ops(NDI):
        nd = Pipeline("auto").run(page, device="cpu")
    assert [str(s) for s in cpu.steps] == [str(s) for s in nd.steps]
    assert np.abs(cpu.image.astype(int) - nd.image).mean() < 2.0
