"""Filter specs and the automatic pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import bgocr_nb
from bgocr_nb import synth
from bgocr_nb.errors import ArgumentError
from bgocr_nb.pipeline import Pipeline, filter_help, parse_spec


def test_parse_names_and_parameters():
    steps = parse_spec(" deskew , background(radius=40), binarize(method=sauvola, k=0.3)")
    assert [s.filter.name for s in steps] == ["deskew", "background", "binarize"]
    assert steps[1].params == {"radius": 40}
    assert steps[2].params == {"method": "sauvola", "k": 0.3}
    assert Pipeline("background(radius=40),auto(deskew=false)").spec == \
        "background(radius=40),auto(deskew=false)"


@pytest.mark.parametrize("spec", ["none", "", None, "raw", []])
def test_none_means_raw(spec, page):
    out = Pipeline(spec).run(page, device="cpu")
    assert out.steps == [] and np.array_equal(out.image, page)


@pytest.mark.parametrize("spec, message", [
    ("deskw", r"Unknown filter 'deskw'. Valid filters: auto, grayscale"),
    ("background(size=3)", r"Unknown parameter 'size=3' for filter 'background'. Valid parameters: radius"),
    ("background(radius=abc)", r"`radius` must be a number"),
    ("background(radius=nan)", r"`radius` must be finite"),
    ("auto(deskew=maybe)", r"`deskew` must be true or false"),
    ("deskew,,background", r"Cannot parse"),
    ("background(radius=4", r"Cannot parse"),
    ("auto,grayscale(method=max)", r"`grayscale` comes after another filter"),
    ("contrast(out=1)", r"Unknown parameter 'out=1' for filter 'contrast'"),
])
def test_spec_errors_list_valid_choices(spec, message):
    with pytest.raises(ArgumentError, match=message):
        parse_spec(spec)


def test_bad_values_fail_before_any_page():
    with pytest.raises(ArgumentError, match=r"'background\(radius=-3\)': .* `radius` must be in"):
        Pipeline("background(radius=-3)")


def test_colour_input_becomes_gray(page):
    rgb = np.dstack([page, page, page])
    assert Pipeline("none").run(rgb, device="cpu").image.ndim == 2


def test_a_leading_grayscale_step_chooses_the_conversion():
    rgb = np.full((40, 60, 3), 250, np.uint8)
    rgb[10:20, 5:25] = (210, 40, 40)  # a red stamp
    rgb[10:20, 35:55] = (20, 20, 20)  # black print
    luma = Pipeline("none").run(rgb, device="cpu")
    brightest = Pipeline("grayscale(method=max)").run(rgb, device="cpu")
    assert luma.image[15, 10] == 91 and brightest.image[15, 10] == 210
    assert luma.image[15, 40] == brightest.image[15, 40] == 20
    assert [s.name for s in brightest.steps] == ["grayscale"]
    # the steps after it work on its gray page
    after = Pipeline("grayscale(method=max),invert").run(rgb, device="cpu")
    assert after.image[15, 10] == 255 - 210


def test_clean_page_comes_through_unharmed(page):
    out = Pipeline("auto").run(page, device="cpu")
    applied = [s.name for s in out.steps if s.applied]
    assert applied == []
    assert np.array_equal(out.image, page)
    assert {s.name for s in out.steps} >= {"background", "deskew", "contrast", "denoise"}
    assert all(s.reason for s in out.steps)


@pytest.mark.parametrize("kind, expected", [
    ("shadow", {"background"}), ("inverted", {"invert"}), ("skew", {"deskew"}),
    ("noise", {"denoise"}), ("low_contrast", {"contrast"}),
])
def test_auto_applies_what_the_page_needs(kind, expected):
    page = synth.make_page(kind, seed=3)
    out = Pipeline("auto").run(page.image, device="cpu")
    applied = {s.name for s in out.steps if s.applied}
    assert expected <= applied, [str(s) for s in out.steps]
    if kind == "skew":
        assert out.angle == pytest.approx(page.angle, abs=0.2)


def test_auto_scales_the_denoising_blur_to_the_text():
    """The same grain gets a wider blur under larger text (wider strokes): the
    floor for small text, a share of the text height above it, capped."""
    from bgocr_nb.filters.auto import DENOISE_MAX, DENOISE_SIGMA

    sigmas = {}
    for dpi, em in [(150, 20), (150, 34), (300, 41), (300, 68)]:
        page = synth.make_page("noise", seed=3, dpi=dpi, width_px=1240 * dpi // 150,
                               font_size_pt=em * 72 / dpi)
        steps = Pipeline("auto").run(page.image, device="cpu").steps
        (step,) = [s for s in steps if s.name == "denoise"]
        assert step.applied and "px high" in step.reason
        sigmas[dpi, em] = step.params["sigma"]
    assert sigmas[150, 20] == DENOISE_SIGMA
    assert sigmas[150, 20] < sigmas[150, 34] < sigmas[300, 41] < sigmas[300, 68]
    assert sigmas[300, 68] == DENOISE_MAX


def test_auto_whitens_scanner_borders():
    page = synth.make_page("border", seed=3)
    gray = page.image if page.image.ndim == 2 else page.image.mean(axis=2)
    edges = np.r_[gray[:, :5].ravel(), gray[:, -5:].ravel(), gray[:5].ravel(), gray[-5:].ravel()]
    out = Pipeline("auto").run(page.image, device="cpu").image
    out_edges = np.r_[out[:, :5].ravel(), out[:, -5:].ravel(), out[:5].ravel(), out[-5:].ravel()]
    assert (edges < 100).mean() > 0.2 and (out_edges > 200).mean() > 0.97


def test_auto_whitens_a_sliver_of_a_band(page):
    """A dark wedge at the edge over a fraction of a percent of the page (what is left
    of a band on a tilted sheet) still goes: Tesseract reads it as junk characters."""
    framed = np.full((page.shape[0] + 200, page.shape[1] + 200), 255, np.uint8)
    framed[100:-100, 100:-100] = page
    h, w = framed.shape
    rows, cols = np.mgrid[0:h, 0:w]
    wedge = (rows < 40) & (cols > w // 2) & (cols < w // 2 + 3 * (40 - rows))
    assert 0.001 < wedge.mean() < 0.005
    framed[wedge] = 35
    out = Pipeline("auto").run(framed, device="cpu")
    assert "border" in {s.name for s in out.steps if s.applied}
    assert (out.image[wedge] == 255).mean() > 0.9  # all but the finest tip
    assert (out.image < 128).sum() == pytest.approx((page < 128).sum(), rel=0.02)


def test_auto_steps_can_be_turned_off():
    page = synth.make_page("skew", seed=3)
    out = Pipeline("auto(deskew=false)").run(page.image, device="cpu")
    assert "deskew" not in {s.name for s in out.steps} and out.angle == 0


def test_filter_help_lists_every_filter():
    text = filter_help()
    for name in ("auto", "background", "deskew", "contrast", "binarize", "upscale", "border"):
        assert name in text


def test_scale_reports_the_enlargement(page):
    assert Pipeline("none").run(page, device="cpu").scale == 1.0
    assert Pipeline("upscale(factor=2),deskew").run(page, device="cpu").scale == \
        pytest.approx(2.0, abs=0.01)
    small = synth.make_page("clean", seed=0, font_size_pt=5, dpi=150)
    pre = Pipeline("auto").run(small.image, device="cpu")
    (step,) = [s for s in pre.steps if s.name == "upscale"]
    assert step.applied and pre.scale == step.params["factor"] > 1
    assert Pipeline("downscale(factor=0.5)").run(page, device="cpu").scale == \
        pytest.approx(0.5, abs=0.01)


def test_auto_shrinks_large_text_to_the_size_tesseract_reads_best():
    """A page at 600 dpi: 12 pt lines are about 100 px, twice the size Tesseract
    reads best, so auto shrinks them to about 42 px; a page at 300 dpi keeps its size."""
    from bgocr_nb.filters.deskew import measure

    large = synth.make_page("clean", lang="chi_sim", seed=1, dpi=600, width_px=4960,
                            font_size_pt=12)
    pre = Pipeline("auto").run(large.image, device="cpu")
    (step,) = [s for s in pre.steps if s.name == "downscale"]
    assert step.applied and pre.scale == step.params["factor"] < 0.6
    assert measure(pre.image.astype(np.float32))[2] == pytest.approx(42, abs=6)  # line height
    assert bgocr_nb.cer(bgocr_nb.ocr(pre.image, lang="chi_sim", filters="none").text,
                        large.text) < 0.02
    usual = synth.make_page("clean", seed=1, dpi=300, width_px=2480, font_size_pt=11)
    pre = Pipeline("auto").run(usual.image, device="cpu")
    assert pre.scale == 1.0 and pre.image.shape == usual.image.shape[:2]


def test_auto_does_not_enlarge_a_sideways_page():
    """A photographed page turned a quarter, and a little more: its rows cross the
    text lines, and the short runs of inked rows they leave are no lines of small
    text (without the check, auto enlarged this page 3x). Tesseract reads the page
    sideways as it is; enlarging it only costs time and accuracy."""
    from bgocr_nb.backend import cpu_ops
    from bgocr_nb.filters import color

    page = synth.make_page("photo", seed=3, font_size_pt=8, dpi=300, width_px=2480)
    sideways = np.ascontiguousarray(np.rot90(color.grayscale(page.image)))
    pre = Pipeline("auto").run(cpu_ops().rotate(sideways, 2.5), device="cpu")
    (step,) = [s for s in pre.steps if s.name == "upscale"]
    assert not step.applied and "no text lines" in step.reason and pre.scale == 1.0
    # nor tilt it by the few degrees its column profile suggests: no lines run that way
    (step,) = [s for s in pre.steps if s.name == "deskew"]
    assert not step.applied and "sideways" in step.reason and pre.angle == 0.0


def test_auto_without_deskew_measures_lines_along_the_skew():
    """With deskew off, a skewed page's rows cross its lines: measured straight
    across, the block read as one line hundreds of pixels high and was shrunk 10x."""
    from bgocr_nb.io import load_image

    page = load_image(bgocr_nb.sample_path("notice_skewed.png"))
    pre = Pipeline("auto(deskew=false)").run(page, device="cpu")
    assert pre.scale == 1.0 and pre.image.shape == page.shape[:2]


def test_auto_enlarges_a_long_strip_only_as_far_as_tesseract_takes():
    """A strip of small text many pages long: its lines are measured on a copy that
    keeps its narrow side, and it is enlarged no further than Tesseract's 32767 px."""
    from bgocr_nb.filters.analysis import NARROW_SIDE, shrink
    from bgocr_nb.filters.auto import MAX_SIDE

    page = synth.make_page("clean", seed=2, width_px=620, font_size_pt=6.5).image
    strip = np.vstack([page] * (30000 // page.shape[0] + 1))
    assert min(shrink(strip.astype(np.float32))[0].shape) >= NARROW_SIDE
    pre = Pipeline("auto").run(strip, device="cpu")
    (step,) = [s for s in pre.steps if s.name == "upscale"]
    assert step.applied and "small text" in step.reason
    assert max(pre.image.shape) <= MAX_SIDE < 1.5 * max(strip.shape)


def test_auto_straightens_a_noisy_shadowed_page():
    """Specks of noise between the lines make short runs of inked rows; the line height
    is that of the runs holding the ink, so the lines are seen and the page deskewed."""
    page = synth.make_page("shadow+noise+skew", seed=1)
    pre = Pipeline("auto").run(page.image, device="cpu")
    assert abs(page.angle) > 10 and pre.angle == pytest.approx(page.angle, abs=0.2)


@pytest.mark.parametrize("kind, light", [("skew", 0.95), ("shadow+skew", 0.8),
                                         ("show_through+skew", 1.0)])
def test_auto_turns_the_page_last_with_paper_in_the_corners(kind, light):
    """The skew is removed after the contrast step, on the 8-bit page: the corners
    the turn brings in take the paper's level as the page ends up (white once the
    background is removed or the contrast stretched; a light gray paper left as it
    is keeps its gray), so no wedge is left for Tesseract to read as a shape."""
    page = synth.make_page(kind, seed=0, params={"skew": {"angle": 6.0}})
    pre = Pipeline("auto").run((page.image * light).astype(np.uint8), device="cpu")
    applied = [s.name for s in pre.steps if s.applied]
    assert "deskew" in applied and pre.angle == pytest.approx(page.angle, abs=0.2)
    paper = float(np.median(pre.image[pre.image > 128]))
    for corner in (pre.image[:4, :4], pre.image[:4, -4:], pre.image[-4:, :4], pre.image[-4:, -4:]):
        assert abs(float(corner.mean()) - paper) <= 3
