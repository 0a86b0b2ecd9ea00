"""Each filter alone: known inputs, measured outputs."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import bgocr_nb
from bgocr_nb import synth
from bgocr_nb.backend import cpu_ops
from bgocr_nb.errors import ArgumentError
from bgocr_nb.filters import background, binarize, color, contrast, denoise, deskew, geometry
from bgocr_nb.filters.analysis import measure, text_height
from bgocr_nb.pipeline import Pipeline


@pytest.mark.parametrize("angle", [-15.0, -7.3, -2.0, 0.6, 4.0, 11.5, 15.0])
def test_deskew_recovers_known_angles(page, angle):
    tilted = cpu_ops().rotate(page.astype(np.float32), angle)
    assert deskew.estimate_angle(tilted) == pytest.approx(angle, abs=0.2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deskew_on_synthetic_skewed_pages(seed):
    p = synth.make_page("skew", seed=seed)
    assert p.angle != 0
    estimated = deskew.estimate_angle(color.grayscale(p.image))
    assert estimated == pytest.approx(p.angle, abs=0.2)


def test_deskew_straightens_and_reports(page):
    tilted = cpu_ops().rotate(page.astype(np.float32), 6.0)
    straight, angle = deskew.deskew(tilted)
    assert angle == pytest.approx(6.0, abs=0.2)
    assert abs(deskew.estimate_angle(straight)) < 0.2


def test_deskew_canvas_keeps_the_page_size_unless_ink_reaches_further(page):
    """The corners a rotation swings out are dropped only where they hold no ink."""
    frame = np.full((900, 1400), 255, np.float32)
    frame[300:300 + page.shape[0], 150:150 + page.shape[1]] = page
    tilted = cpu_ops().rotate(frame, 8.0, fill=255.0)
    angle, extent, _ = deskew.measure(tilted)
    assert angle == pytest.approx(8.0, abs=0.2)
    full = deskew.rotate(tilted, -angle)
    kept = deskew.rotate(tilted, -angle, keep=extent)
    assert kept.shape == tilted.shape and kept.size < 0.8 * full.size
    assert (kept < 128).sum() == pytest.approx((full < 128).sum(), rel=0.01)  # all the ink
    assert deskew.deskew(tilted)[0].shape == kept.shape
    assert deskew.deskew(tilted, canvas="full")[0].shape == full.shape
    corner = tilted.copy()
    corner[4:34, 4:204] = page[30:60, 25:225]  # text in a corner the rotation swings out
    angle, extent, _ = deskew.measure(corner)
    kept = deskew.rotate(corner, -angle, keep=extent)
    full = deskew.rotate(corner, -angle)
    assert kept.shape != corner.shape and kept.size <= full.size
    assert (kept < 128).sum() == pytest.approx((full < 128).sum(), rel=0.01)
    with pytest.raises(ArgumentError, match="canvas must be"):
        deskew.deskew(tilted, canvas="crop")


def test_deskew_blank_page_is_zero():
    assert deskew.estimate_angle(np.full((200, 300), 255, np.float32)) == 0.0


def test_background_flattens_known_illumination(page):
    h, w = page.shape
    y, x = np.mgrid[0:h, 0:w]
    light = 0.3 + 0.7 * (x / w) * (0.6 + 0.4 * y / h)  # 30 % .. 100 %
    lit = page.astype(np.float32) * light
    paper = page == 255
    flat = background.remove(lit)
    assert np.ptp(lit[paper]) > 150                      # before: paper from ~75 to 255
    assert np.percentile(flat[paper], 5) > 225           # after: paper is white ...
    ink = page < 60
    assert np.median(flat[ink]) < 90                     # ... and ink is still dark


def test_background_whitens_a_dark_table_to_the_page_edge(page):
    """A page photographed on a dark table: the table turns white right up to the
    page's edge, with no gray rim for Tesseract to read as characters."""
    h, w = page.shape
    frame = np.full((h + 240, w + 240), 255.0, np.float32)
    frame[120:120 + h, 120:120 + w] = page
    tilted = cpu_ops().rotate(frame, 5.0, fill=255.0)
    paper = cpu_ops().rotate(np.zeros_like(frame), 5.0, fill=255.0) < 128  # the sheet
    photo = np.where(paper, tilted * 0.94, 40.0)  # a dark table around the sheet
    photo = cv2.GaussianBlur(photo, (0, 0), 2.0)
    photo += np.random.default_rng(0).normal(0, 4, photo.shape).astype(np.float32)
    # border takes the dark wedges at the image's edges, too narrow to tell from text here
    flat = Pipeline("background,border").run(np.clip(photo, 0, 255), device="cpu").image
    table = ~cv2.dilate(paper.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (flat[table] >= 250).mean() > 0.9999  # the table: white (was 0.993 with gray rims)
    inside = cv2.erode(paper.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    ink = inside & (tilted < 60)
    assert np.median(flat[ink]) < 90 and np.percentile(flat[inside & (tilted > 250)], 5) > 225


def test_background_keeps_text_in_a_deep_shadow_beside_a_table(page):
    """Paper that a shadow darkens below half, beside a table: only the table's rim
    turns white; the shadowed text stays."""
    h, w = page.shape
    photo = np.full((h, w + 150), 30.0, np.float32)  # the table, left of the sheet
    light = 0.3 + 0.7 * np.linspace(0.0, 1.0, w, dtype=np.float32)  # under half up to 29 %
    photo[:, 150:] = page * light[None, :]
    flat = background.remove(photo)
    assert (flat[:, :100] == 255).all()
    ink = np.zeros_like(page, bool)
    ink[:, 60:280] = page[:, 60:280] < 60  # text from 60 px into the sheet, under half lit
    assert ink.sum() > 1000 and np.median(flat[:, 150:][ink]) < 100


def _with_picture(page: np.ndarray, seed: int = 0, halftone: bool = False) -> np.ndarray:
    """The page with a photograph printed below its text (synth's ``picture`` kind)."""
    return synth.picture(page, np.random.default_rng(seed), halftone=halftone).astype(np.float32)


def test_background_whitens_pictures(page):
    """A photograph on the page is no paper: divided by a field that follows its light
    and dark places it would turn into blobs read as characters; it turns white,
    and the text stays as the page alone would give it. A halftone's field is the
    paper between its dots: it comes through as it was."""
    h = page.shape[0]
    alone = background.remove(page.astype(np.float32))[:h - 40]
    photo = _with_picture(page)
    assert (photo[h:] < 200).mean() > 0.3
    flat = background.remove(photo)
    assert (flat[h:] >= 250).mean() > 0.99
    np.testing.assert_allclose(flat[:h - 40], alone, atol=2)
    screened = _with_picture(page, halftone=True)
    flat = background.remove(screened)
    assert (np.abs(flat[h:] - screened[h:]) < 8).mean() > 0.99
    np.testing.assert_allclose(flat[:h - 40], alone, atol=2)


def test_a_light_thing_in_a_picture_does_not_split_it(page):
    """A light band down the middle of a photograph (a light thing in it, paper-bright)
    leaves two dim places apart: they are one picture, and all of it turns white."""
    h = page.shape[0]
    photo = _with_picture(page)
    cols = np.flatnonzero((photo[h:] < 250).any(axis=0))
    middle = slice((cols[0] + cols[-1]) // 2 - 25, (cols[0] + cols[-1]) // 2 + 25)
    photo[h:, middle] = np.where(photo[h:, middle] < 250, 245.0, 255.0)
    flat = background.remove(photo)
    assert (flat[h:] >= 250).mean() > 0.99


def test_pictures_round_a_corner_of_the_text_leave_it(page):
    """A picture in two parts, beside the text and below it: the hull round them would
    take in a corner of the text, so only the parts themselves turn white."""
    h, w = page.shape  # text in x 31-675, rows 31-246
    scene = synth.picture(np.full((400, 1100), 255, np.uint8), np.random.default_rng(2),
                          halftone=False).astype(np.float32)[400:]  # the photograph alone
    scene = 90.0 + 0.6 * cv2.resize(scene, (700, 300))  # no part of it black: no lid
    layout = np.full((h + 220, w), 255.0, np.float32)
    layout[:h] = page
    layout[20:280, 720:1080] = scene[:260, :360]  # beside the text
    layout[300:480, 400:1080] = scene[100:280, :680]  # below it and the first part
    ink = np.zeros(layout.shape, bool)
    ink[:h] = page < 60
    flat = background.remove(layout)
    assert (flat[20:280, 740:1060] >= 250).mean() > 0.95  # the parts: white
    corner = np.zeros_like(ink)
    corner[205:h, 590:700] = True  # the corner of the text between them
    assert np.median(flat[ink & corner]) < 90 and np.median(flat[ink]) < 90


def test_a_picture_with_lines_of_text_over_it_is_paper(page):
    """Text printed over a photograph (or a shadow with a sharp, busy edge over the
    text) keeps the place from being taken for a picture: the text is flattened,
    not whitened."""
    h, w = page.shape
    photo = _with_picture(page)
    over = photo.copy()
    top = h + (photo.shape[0] - h - page.shape[0]) // 2
    rows = slice(max(h, top), max(h, top) + page.shape[0])
    over[rows] = np.minimum(over[rows], page[: over[rows].shape[0]].astype(np.float32))
    ink = np.zeros(over.shape, bool)
    ink[rows] = page[: over[rows].shape[0]] < 60
    assert ink.sum() > 2000
    flat = background.remove(over)
    assert np.median(flat[ink]) < 120  # the text over the picture is still there


def test_auto_reads_around_a_picture():
    """On a page with a photograph, auto whitens it: Tesseract reads the text and
    no junk from the picture."""
    from bgocr_nb.metrics import cer
    from bgocr_nb.tesseract import recognize

    made = synth.make_page("picture", seed=1, width_px=900)
    pre = Pipeline("auto").run(made.image, device="cpu")
    assert _applied(pre, "background").applied
    assert cer(recognize(pre.image, lang="eng").text, made.text) < 0.01


def test_background_flattens_a_gray_panel_and_a_shadow_behind_text(page, shaded_page):
    """Dim places behind text, whether sharp-edged (a gray panel) or soft (a shadow),
    are paper: their text comes out dark on white; so does a label of one short word
    on a panel of its own (too short for a line of text, but the panel's field
    changes at its edge only)."""
    paneled = page.astype(np.float32).copy()
    paneled[20:260, 20:700] *= 0.55  # a panel at 55 % round the text
    ink = page < 60
    for dim in (paneled, shaded_page.astype(np.float32)):
        flat = background.remove(dim)
        assert np.median(flat[ink]) < 90 and np.percentile(flat[page == 255], 5) > 225
    label = np.full((page.shape[0] + 300, 1100), 255.0, np.float32)
    label[: page.shape[0]] = page  # text above, on white
    word = page[26:66, 31:91].astype(np.float32)  # the first four letters
    label[-250:-50, 300:700] = 140.0  # the panel below it
    label[-170:-130, 450:510] = np.minimum(140.0, word * 140.0 / 255.0)
    ink = np.zeros(label.shape, bool)
    ink[-170:-130, 450:510] = word < 60
    assert ink.sum() > 300
    assert np.median(background.remove(label)[ink]) < 90


def test_background_estimate_tracks_the_field(page):
    h, w = page.shape
    field = np.linspace(90, 250, w, dtype=np.float32)[None, :].repeat(h, 0)
    est = background.estimate(page / 255.0 * field, radius=40)
    err = np.abs(est - field)[40:-40, 40:-40]
    assert np.median(err) < 6


def test_contrast_makes_faint_text_dark():
    faint = np.full((60, 200), 222, np.float32)
    faint[20:40, 20:180] = 168
    out = contrast.enhance(faint)
    assert out[30, 100] < 10 and out[5, 5] == 255


def test_contrast_keeps_a_sparse_page_white(page):
    """A big page with one line of text: its ink covers under 1 % of it, so the 1st
    percentile is paper. The black point stays on the ink: no stretch that turns
    the paper black (seen on a real 9000 x 9000 page, which came out all black)."""
    sparse = np.full((2000, 2000), 255.0, np.float32)
    sparse[100:100 + 60, 100:100 + page.shape[1]] = page[:60]
    assert (sparse < 128).mean() < 0.005
    black, white = contrast.levels(sparse)
    assert black < 60 and white > black
    assert (contrast.enhance(sparse) == 255).mean() > 0.99
    steps = {s.name: s for s in Pipeline("auto").run(sparse, device="cpu").steps}
    assert not steps["contrast"].applied


def test_contrast_whitens_marks_away_from_the_ink_only(page):
    """Show-through away from the strokes goes; the strokes' soft edges stay."""
    soft = cv2.GaussianBlur(page.astype(np.float32), (0, 0), 1.2)  # strokes with soft edges
    marked = soft.copy()
    marked[5:25, 300:700] = np.minimum(marked[5:25, 300:700], 215)  # faint marks, no ink near
    edges = (soft > 120) & (soft < 200)
    gentle = contrast.enhance(marked)
    hard = contrast.enhance(marked, white=0.5)
    marks = contrast.enhance(marked, marks=0.5)
    assert gentle[15, 500] < 250 and marks[15, 500] == 255          # the marks: whitened
    assert np.array_equal(marks[edges], gentle[edges])             # stroke edges: as gentle
    assert (hard[edges] > gentle[edges] + 1).mean() > 0.5          # (a low white thins them)


def test_binarize_methods(shaded_page):
    flat = background.remove(shaded_page.astype(np.float32))
    for method in ("otsu", "sauvola"):
        out = binarize.binarize(flat, method=method)
        assert set(np.unique(out)) <= {0.0, 255.0}
        ink = (out == 0).mean()
        assert 0.01 < ink < 0.2, (method, ink)


def test_otsu_threshold_separates_two_levels():
    img = np.r_[np.full(500, 40.0), np.full(1500, 210.0)].reshape(40, 50).astype(np.float32)
    assert 40 < binarize.otsu_threshold(img) <= 210


def _with_heading_bar(page: np.ndarray, level: float) -> tuple[np.ndarray, slice]:
    """The page under a wide dark bar holding its first line of text, reversed out."""
    bar = np.where(page[:60] < 128, 245.0, level).astype(np.float32)
    top = np.full((60, page.shape[1]), level, np.float32)
    image = np.vstack([top, bar, top, np.full((40, page.shape[1]), 255.0), page[60:]])
    return image.astype(np.float32), slice(0, 180)


@pytest.mark.parametrize("level", [30.0, 110.0])
def test_reversed_regions_find_a_heading_bar(page, level):
    image, rows = _with_heading_bar(page, level)
    mask = color.reversed_regions(image)
    assert mask is not None and mask[rows].mean() > 0.95 and mask[rows.stop + 20:].mean() == 0
    out = Pipeline("auto").run(image, device="cpu")
    assert any(s.name == "invert" and s.applied for s in out.steps)
    assert (out.image[60:120] < 128).sum() > 0.5 * (page[:60] < 128).sum()  # the text, dark now
    erased = Pipeline("auto(invert=false)").run(image, device="cpu").image[60:120]
    assert (erased < 128).sum() < 0.1 * (page[:60] < 128).sum()  # without: whitened away


def test_a_narrow_bar_is_inverted_too(page):
    """A label tight round its line is no paper to the background estimate, so its
    text does not stand above it: it is found by its dark ground instead, and
    inverted (raw Tesseract misses such lines: 0.13 CER on a benchmark page)."""
    image = page.astype(np.float32).copy()
    rows, cols = np.nonzero(page[:60] < 128)
    top, bottom, left, right = rows.min() - 3, rows.max() + 4, cols.min() - 3, cols.max() + 4
    label = image[top:bottom, left:right]
    image[top:bottom, left:right] = np.where(label < 128, 240.0, 40.0)
    mask = color.reversed_regions(image)
    assert mask is not None and mask[top:bottom, left:right].mean() > 0.9
    assert mask[bottom + 10:].sum() == 0
    out = Pipeline("auto").run(image, device="cpu").image[top:bottom, left:right]
    assert np.median(out) > 200 and (out < 128).sum() > 0.5 * (page[:60] < 128).sum()


@pytest.mark.parametrize("dpi", [150, 300])
def test_small_chinese_reversed_out_of_bars_is_read(dpi):
    """Small light Chinese on dark bars: its thin strokes, blurred, are darker than
    the page's ink/paper threshold, so the bars are told from their letters halfway
    between the bars' ink and that threshold. Inverted, the lines are read; left as
    they were (as before), raw Tesseract and the background step lose them."""
    from bgocr_nb.metrics import cer

    page = synth.make_page("reversed", lang="chi_sim", seed=1, dpi=dpi,
                           width_px=1240 * dpi // 150, font_size_pt=20 * 72 / 150)
    found = color.reversed_regions(color.grayscale(page.image))
    assert found is not None and 0.1 < float(found.mean()) < 0.6
    read = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=dpi, device="cpu")
    kept = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=dpi, device="cpu",
                        filters="auto(invert=false)")
    assert cer(read.text, page.text) < 0.05 < 0.1 < cer(kept.text, page.text)


def test_a_full_width_bar_turns_paper_edge_to_edge(page):
    """A bar across the page behind a shorter line: where it holds no text, and at
    its soft rims, it turns paper too; no dark stub or line is left for Tesseract
    to take for a rule or a letter."""
    image = page.astype(np.float32).copy()
    rows = np.flatnonzero((page[:60] < 128).any(axis=1))
    top, bottom = rows.min() - 4, rows.max() + 5
    bar = image[top:bottom]
    image[top:bottom] = np.where(bar < 128, 240.0, 40.0)
    image[top - 1], image[bottom] = 150.0, 150.0  # its edges, half dark as a scan's are
    out = Pipeline("auto").run(image, device="cpu").image
    dark_share = (out[top - 3:bottom + 3] < 128).mean(axis=1)
    assert dark_share.max() < 0.5  # text rows only: no row dark from edge to edge
    assert (out[top:bottom] < 128).sum() > 0.5 * (page[:60] < 128).sum()  # the text, dark


def test_no_reversed_regions_on_ordinary_pages(page, shaded_page):
    for kind in ("clean", "shadow", "border", "photo", "stain", "noise"):
        assert color.reversed_regions(color.grayscale(synth.make_page(kind, seed=2).image)) is None
    # a deep shadow is a dark blob with light specks in it, but it flattens away
    assert color.reversed_regions(color.grayscale(synth.make_page("photo", seed=1).image)) is None
    assert color.reversed_regions(page.astype(np.float32)) is None
    assert color.reversed_regions(shaded_page.astype(np.float32)) is None


def _hatched_picture(seed: int, period: int = 8) -> np.ndarray:
    """A clean page with a picture drawn as an engraving: diagonal strokes, shaded by
    their width (nearly touching where it is dark, thin where it is light), and
    unhatched highlights, light blobs on a dark ground as letters are."""
    import cv2

    page = color.grayscale(synth.make_page("clean", seed=seed).image).copy()
    h, w = page.shape
    top, left, bh, bw = h // 4, w // 10, h // 2, w // 3
    y, x = np.mgrid[0:bh, 0:bw]
    rng = np.random.default_rng(seed)
    shade = cv2.GaussianBlur(rng.random((bh, bw)).astype(np.float32), (0, 0), 40)
    shade = (shade - shade.min()) / (np.ptp(shade) + 1e-6)  # 0 light ... 1 dark
    strokes = ((x + y) % period) < 1 + shade * (period - 2)
    highlights = np.zeros((bh, bw), np.uint8)
    for _ in range(40):
        cv2.ellipse(highlights, (int(rng.integers(0, bw)), int(rng.integers(0, bh))),
                    (int(rng.integers(4, 20)), int(rng.integers(6, 20))),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
    page[top:top + bh, left:left + bw] = np.where(strokes & (highlights == 0), 30.0, 255.0)
    return page


def test_no_reversed_regions_in_a_hatched_picture():
    """An engraving's dark areas hold light blobs too, but its ground is strokes and
    paper, not one flat ink: it is no heading bar (seen on a real scanned book page)."""
    for seed in (0, 4):
        assert color.reversed_regions(_hatched_picture(seed, period=5)) is None
    assert color.reversed_regions(_hatched_picture(0, period=8)) is None


def test_invert_and_polarity(page):
    dark = color.invert(page.astype(np.float32))
    assert color.is_inverted(dark) and not color.is_inverted(page.astype(np.float32))


def test_a_page_on_a_dark_table_is_not_light_text(page):
    """A dark-on-light page filling under half of a dark frame: the frame's median is
    dark, but its text is not light, so it is not inverted (a light-on-dark one is)."""
    h, w = page.shape
    frame = np.full((2 * h, 2 * w), 35.0, np.float32)
    frame[h // 2: h // 2 + h, w // 2: w // 2 + w] = page
    assert color.paper_level(frame) < color.DARK
    assert not color.light_text(frame) and not color.is_inverted(frame)
    assert "invert" not in {s.name for s in Pipeline("auto").run(frame, device="cpu").steps
                            if s.applied}
    flipped = color.invert(frame)
    flipped[flipped > 200] = 20  # the same text, light, on a dark page filling the frame
    assert color.light_text(flipped) and color.is_inverted(flipped)


def test_grayscale_methods():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 200
    assert color.grayscale(rgb)[0, 0] == pytest.approx(0.299 * 200, abs=0.01)
    assert color.grayscale(rgb, method="max")[0, 0] == 200
    assert color.grayscale(rgb, method="min")[0, 0] == 0
    assert color.grayscale(rgb, method="red")[0, 0] == 200
    assert color.grayscale(rgb, method="blue")[0, 0] == 0
    with pytest.raises(ArgumentError, match="method"):
        color.grayscale(rgb, method="hsv")


def _applied(pre, name):
    (step,) = [s for s in pre.steps if s.name == name]
    return step


@pytest.mark.parametrize("lang, seed", [("eng", 2), ("chi_sim", 1)])
def test_auto_drops_out_a_red_seal_over_the_print(lang, seed):
    """A seal stamped across the text reads as dark ink in luma; its red channel
    is as light as the paper, and the text under it stays black."""
    page = synth.make_page("stamp", lang=lang, seed=seed)
    pre = Pipeline("auto").run(page.image, device="cpu")
    step = _applied(pre, "grayscale")
    assert step.applied and step.params == {"method": "red"} and "over the print" in step.reason
    luma = Pipeline("grayscale,auto").run(page.image, device="cpu")
    read, read_luma = (bgocr_nb.cer(bgocr_nb.ocr(p.image, lang=lang, filters="none", dpi=150)
                                    .text, page.text) for p in (pre, luma))
    assert read < 0.01 < 0.03 < read_luma


def test_auto_reads_coloured_words_in_luma():
    """Coloured headings and words sit beside the black print: the red channel would
    make red words paper-white, so they stay in luma."""
    page = synth.make_page("colored_ink", seed=0)
    step = _applied(Pipeline("auto").run(page.image, device="cpu"), "grayscale")
    assert not step.applied and "beside the print" in step.reason


def test_auto_reads_a_colour_map_in_luma(page):
    """Large coloured fills under black labels (a map, a chart) are no marks."""
    rgb = np.repeat(page[..., None], 3, axis=2).astype(np.float32)
    h, w = page.shape
    rgb[: h // 2, : w // 2] *= np.float32([0.9, 0.35, 0.3])  # a red region under the text
    rgb[h // 2:, w // 2:] *= np.float32([0.3, 0.5, 0.95])   # a blue one
    pre = Pipeline("auto").run(rgb.astype(np.uint8), device="cpu")
    step = _applied(pre, "grayscale")
    assert not step.applied and "fills, not marks" in step.reason


def test_colour_marks_of_gray_and_plain_pages(page):
    assert color.colour_marks(page) is None  # gray
    assert color.colour_marks(np.repeat(page[..., None], 3, axis=2)) is None  # no colour


def test_border_removal_keeps_text(page):
    framed = page.astype(np.float32).copy()
    framed[:, :18] = 20   # the text starts 30 pixels in
    framed[:12, :] = 10
    out = geometry.remove_border(framed)
    assert out[:, :18].min() == 255 and out[:12].min() == 255
    np.testing.assert_array_equal(out[20:, 28:], framed[20:, 28:])


def test_a_bar_printed_to_the_edge_is_no_border(page):
    """A dark bar across the page, its text reversed out, reaches in from the edges
    further than it is tall: no scanner band, left as it is."""
    barred = page.astype(np.float32).copy()
    rows = np.flatnonzero((page < 128).any(axis=1))
    top, bottom = rows[0] - 4, rows[rows < rows[0] + 40].max() + 5  # round the first line
    barred[top:bottom] = np.where(page[top:bottom] < 128, 240.0, 30.0)
    assert geometry.border_area(barred) == 0
    framed = barred.copy()
    framed[:, :18] = 20  # a real band down the left edge is still one
    out = geometry.remove_border(framed)
    assert out[bottom:, :18].min() == 255 and out[top:bottom, 40:].max() > 200
    assert (out[top:bottom, 40:] < 60).mean() > 0.5  # the bar itself: still dark


def _copied_edge(page: np.ndarray) -> tuple[np.ndarray, slice]:
    """The page with a photocopy's dark edge: a band across the bottom, paper below it."""
    copied = np.pad(page.astype(np.float32), ((0, 40), (0, 0)), constant_values=255.0)
    band = slice(page.shape[0] + 10, page.shape[0] + 26)
    copied[band] = 25.0
    return copied, band


def test_a_band_apart_from_the_edge_is_a_border(page):
    """A photocopy's dark edge, with the copy's paper between it and the image edge."""
    copied, band = _copied_edge(page)
    out = geometry.remove_border(copied)
    assert out[band].min() == 255
    np.testing.assert_array_equal(out[: page.shape[0]], copied[: page.shape[0]])


def test_a_bands_soft_rim_goes_with_it(page):
    """The gray fringe where a band meets the paper (its shadow, a blurred edge) would
    turn into a line under a contrast stretch: it is painted white with the band."""
    copied, band = _copied_edge(page)
    rim = slice(band.start - 10, band.start)
    copied[rim] = np.linspace(240, 140, 10, dtype=np.float32)[:, None]  # lighter away from it
    out = geometry.remove_border(copied)
    assert out[rim].min() == 255 and out[band].min() == 255
    np.testing.assert_array_equal(out[: rim.start - 12], copied[: rim.start - 12])


def test_a_band_turned_with_its_page_is_a_border(page):
    """Turned after the band was there (a rotated scan): white corners lie between
    the band and the image edge, and the band runs aslant; it goes all the same."""
    copied, band = _copied_edge(page)
    plain = copied.copy()
    plain[band] = 255.0  # the page alone
    turned, text = (synth.skew(p, np.random.default_rng(0), angle=3.0, fill=255).astype(np.float32)
                    for p in (copied, plain))
    band = (turned < 60) & (text > 200)
    assert band.sum() > 10_000 and not band[-1].any()  # apart from the bottom edge
    out = geometry.remove_border(turned)
    assert out[band].min() == 255
    np.testing.assert_array_equal(out[text < 128], turned[text < 128])  # the text stays


def test_a_short_or_broken_band_apart_from_the_edge_stays(page):
    """Apart from the edge, only a long solid band is a border: a dark stretch along
    a tenth or a third of the edge stays (a bar, a logo), and so does one thin and
    thick by turns (as a bar is where text is reversed out of it)."""
    copied, band = _copied_edge(page)
    short = copied.copy()
    short[band, 100:] = 255.0
    assert geometry.border_area(short) == 0
    ragged = copied.copy()
    for x in range(0, ragged.shape[1], 60):
        ragged[band.start + 7: band.stop, x: x + 30] = 255.0  # half of it 7 rows thick, not 16
    assert geometry.border_area(ragged) == 0
    block = copied.copy()
    block[band, : copied.shape[1] // 3] = 255.0  # a solid bar, a black logo: a third of the edge
    block[band, 2 * copied.shape[1] // 3:] = 255.0
    assert geometry.border_area(block) == 0


def _punched(page: np.ndarray, x: int, diameter: float, ring: bool = False) -> np.ndarray:
    """The page with three black discs (the scanner lid through punched holes) down
    column ``x``; with ``ring``, rings instead."""
    punched = page.astype(np.float32).copy()
    for y in (60, 154, 248):
        cv2.circle(punched, (x, y), round(diameter / 2), 15.0, 3 if ring else -1, cv2.LINE_AA)
    return punched


def test_punched_holes_are_a_border(page):
    """Holes punched near the page's edge show the dark lid through them: painted
    white, the text left as it is."""
    h, w = page.shape  # 1100 across: holes 27 pixels wide, 35 from the right edge
    punched = _punched(page, w - 35, 0.025 * w)
    holes = (punched < 200) & (page > 200)
    assert holes.sum() > 1500
    out = geometry.remove_border(punched)
    assert out[holes].min() == 255
    np.testing.assert_array_equal(out[:, : w - 80], punched[:, : w - 80])
    pre = Pipeline("auto").run(punched.astype(np.uint8), device="cpu")
    assert _applied(pre, "border").applied and pre.image[holes].min() >= 250


def test_discs_that_are_no_holes_stay(page):
    """A disc away from the edges (a logo, a figure), a ring of a hole's size (a
    letter O), discs a little smaller or larger than holes (a bullet, a seal) and a
    hole-sized disc with a word beside it (a large bullet) stay."""
    h, w = page.shape
    middle = page.astype(np.float32).copy()
    cv2.circle(middle, (w - 250, h // 2), round(0.0125 * w), 15.0, -1, cv2.LINE_AA)
    bullet = _punched(page, w - 70, 0.025 * w)
    rows = np.flatnonzero((page < 128).any(axis=1))
    word = page[rows[0] - 4: rows[0] + 30, 31:81]  # the first line's first word
    for y in (60, 154, 248):
        bullet[y - 17: y + 17, w - 50:] = word
    wide = np.pad(page, ((0, 0), (0, w)), constant_values=255)  # 2200 across: a dot 24 wide
    for disc in (middle, bullet, _punched(page, w - 35, 0.025 * w, ring=True),
                 _punched(wide, 2 * w - 35, 0.011 * 2 * w), _punched(page, w - 50, 0.05 * w)):
        assert geometry.border_area(disc) == 0
    assert geometry.border_area(_punched(page, w - 70, 0.025 * w)) > 0  # without the words


def test_noise_estimate_and_denoise(page):
    rng = np.random.default_rng(1)
    gray = 30 + page * 0.7  # paper at 208: the noise is not clipped
    noisy = np.clip(gray + rng.normal(0, 20, page.shape), 0, 255).astype(np.float32)
    assert denoise.noise_sigma(gray.astype(np.float32)) < 2
    assert denoise.noise_sigma(noisy) == pytest.approx(20, rel=0.3)
    assert denoise.noise_sigma(denoise.denoise(noisy)) < 12


def test_upscale_and_text_height(page):
    h = text_height(page.astype(np.float32))
    assert 15 < h < 35
    big = geometry.upscale(page.astype(np.float32), factor=2)
    assert big.shape == (page.shape[0] * 2, page.shape[1] * 2)
    assert text_height(big) == pytest.approx(2 * h, rel=0.15)
    small = geometry.downscale(big, factor=0.5)
    assert small.shape == page.shape and text_height(small) == pytest.approx(h, rel=0.15)
    assert float(np.abs(small - page).mean()) < 6  # the same page back, edges a little soft


def test_profile_lines_weighs_runs_by_their_ink():
    from bgocr_nb.filters.analysis import profile_lines

    profile = np.zeros(300)
    for top in range(10, 290, 40):
        profile[top:top + 12] = 500.0       # lines 12 rows high
        profile[top + 20:top + 22] = 30.0   # a speck of noise between each two
    assert profile_lines(profile) == 12     # the median run would be 2
    assert profile_lines(profile[:30], min_runs=2) is None
    assert profile_lines(profile[:30], min_runs=1) == 12
    picture = profile.copy()
    picture[0:200] = 2000.0                 # rows crossing a tall picture: one long run
    assert profile_lines(picture) > 100 and profile_lines(picture, longest=60) == 12


def test_measure_sees_uneven_background(page, shaded_page):
    assert measure(page.astype(np.float32)).unevenness < 0.05
    assert measure(shaded_page.astype(np.float32)).unevenness > 0.3


@pytest.mark.parametrize("call", [
    lambda img: background.remove(img, radius=-5),
    lambda img: background.remove(img, radius=float("nan")),
    lambda img: geometry.upscale(img, factor=0.5),
    lambda img: geometry.downscale(img, factor=2),
    lambda img: denoise.denoise(img, size=99),
    lambda img: binarize.binarize(img, k=0),
    lambda img: contrast.enhance(img, white=2),
    lambda img: deskew.estimate_angle(img, max_angle=90),
])
def test_bad_parameters_name_the_parameter(page, call):
    with pytest.raises(ArgumentError, match="`"):
        call(page.astype(np.float32))


def test_filters_reject_non_2d():
    with pytest.raises(ArgumentError, match="2-dimensional"):
        background.remove(np.zeros((4, 4, 3), np.float32))


@pytest.mark.parametrize("kind, lang, seed", [
    ("border+skew", "eng", 3),   # a slanted dark scanner band beside the text
    ("blur", "chi_sim", 2),      # a regular CJK glyph grid, no skew at all
    ("texture+blur", "chi_sim", 2),
])
def test_deskew_is_not_fooled(kind, lang, seed):
    p = synth.make_page(kind, lang=lang, seed=seed)
    assert deskew.estimate_angle(color.grayscale(p.image)) == pytest.approx(p.angle, abs=0.2)


@pytest.fixture
def wide(page):
    """Two columns of the text page side by side: ink all across."""
    return np.hstack([page[:, :700], page[:, :700]])


def _fading(page: np.ndarray, weakest: float = 0.35) -> np.ndarray:
    """The page with its ink fading from full strength on the left to ``weakest`` of it
    on the right: toner running low."""
    strength = np.linspace(1.0, weakest, page.shape[1], dtype=np.float32)[None, :]
    return 255.0 - (255.0 - page.astype(np.float32)) * strength


def test_unfade_evens_out_ink_that_fades(wide):
    faded = _fading(wide)
    ink, third = wide < 100, wide.shape[1] // 3
    left, right = (slice(None), slice(None, third)), (slice(None), slice(-third, None))
    assert faded[right][ink[right]].mean() > 120  # light gray strokes on the right
    out = contrast.unfade(faded)
    dark_left, dark_right = out[left][ink[left]].mean(), out[right][ink[right]].mean()
    assert dark_right < 40 and abs(dark_left - dark_right) < 25
    assert (out[wide == 255] > 245).mean() > 0.99  # the paper stays white
    # one stretch for the whole page cannot do it: what is black on the left
    # stays gray on the right
    assert contrast.enhance(faded)[right][ink[right]].mean() > 100


def test_ink_spread_tells_fading_ink_from_faint_ink(wide):
    faint = 255.0 - (255.0 - wide.astype(np.float32)) * 0.4  # evenly faint: one stretch does
    assert contrast.ink_spread(_fading(wide)) > 0.3
    for even in (wide.astype(np.float32), faint):
        assert contrast.ink_spread(even) < 0.1


def test_ink_spread_leaves_out_dark_grounds(page):
    """A label reversed out of a bar is no faded ink: its ground and the ground's rim
    are left out."""
    image = page.astype(np.float32).copy()
    rows, cols = np.nonzero(page[:60] < 128)
    top, bottom, left, right = rows.min() - 3, rows.max() + 4, cols.min() - 3, cols.max() + 4
    image[top:bottom, left:right] = np.where(image[top:bottom, left:right] < 128, 240.0, 110.0)
    assert contrast.ink_spread(image) < 0.1
    change = np.abs(contrast.unfade(image) - image)[top:bottom, left:right]
    assert np.median(change) < 1 and change.mean() < 10  # the bar stays, but for its edges


def test_unfade_after_auto(wide):
    """``auto`` leaves fading ink to the page's one stretch (on maps and charts, whose
    colours turn into many grays, unfading blackens lines and fills); a spec adds it."""
    faded = _fading(wide)
    third = wide.shape[1] // 3
    right = wide[:, -third:] < 100
    plain = Pipeline("auto").run(faded, device="cpu")
    assert plain.image[:, -third:][right].mean() > 60
    out = Pipeline("auto,unfade").run(faded, device="cpu")
    assert out.steps[-1].name == "unfade"
    assert out.image[:, -third:][right].mean() < 40


def _on_desk(seed: int, lang: str = "eng", **params) -> synth.SyntheticPage:
    return synth.make_page("tabletop", lang=lang, seed=seed, font_size_pt=20 * 72 / 150,
                           params={"tabletop": params} if params else None)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_page_photographed_on_a_desk_is_cut_out_and_squared(seed):
    """The page's four corners are found on the desk; mapped to a rectangle, its
    lines run level, no desk is left at its edges, and it keeps its size."""
    page = _on_desk(seed)
    gray = color.grayscale(page.image)
    corners = geometry.page_corners(gray)
    assert corners is not None
    flat = geometry.flatten_page(gray, corners)
    edges = np.r_[flat[:3].ravel(), flat[-3:].ravel(), flat[:, :3].ravel(), flat[:, -3:].ravel()]
    assert np.median(edges) > 200 and (edges < 128).mean() < 0.01
    assert abs(deskew.estimate_angle(flat)) < 0.3
    original = synth.make_page("clean", seed=seed, font_size_pt=20 * 72 / 150).image.shape
    assert flat.shape == pytest.approx(original, rel=0.1)


def test_only_a_whole_page_on_a_darker_surround_is_cut_out(page):
    """Scans are left as they are: a clean page, one inside scanner bands, light
    text on a dark page, a photo whose page runs out of the frame."""
    assert geometry.page_corners(page.astype(np.float32)) is None
    for kind in ("border", "inverted", "photo", "border+skew"):
        image = color.grayscale(synth.make_page(kind, seed=4).image)
        assert geometry.page_corners(image) is None, kind
    cut = _on_desk(1, amount=0.12, margin=0.05)  # corners leave the frame
    assert geometry.page_corners(color.grayscale(cut.image)) is None
    assert geometry.flatten_page(page) is page


def test_a_frame_printed_on_a_white_sheet_is_no_desk():
    """A certificate: a thick dark frame printed round the text, a white margin
    and a footer line outside it. The frame is no desk (white paper lies beyond
    it), so the sheet is not cut down to what the frame holds."""
    import cv2

    from tests.conftest import text_page

    sheet = np.full((900, 700), 250, np.float32)
    cv2.rectangle(sheet, (50, 50), (650, 760), 20, thickness=70)
    body = text_page(["Certificate of completion"]).astype(np.float32)[:, :460]
    sheet[300:300 + body.shape[0], 120:120 + body.shape[1]] = body
    foot = text_page(["Registered office: 27 Harbour Street"]).astype(np.float32)[:80, :660]
    sheet[810:810 + foot.shape[0], 20:20 + foot.shape[1]] = foot
    assert geometry.page_corners(sheet) is None


def test_a_page_in_falling_light_is_never_cut_short():
    """Light falling off across the page: a threshold that leaves its dim side out
    draws a straight edge across the paper. That is no page edge (it is no darker
    beyond it), so the page is found whole or not at all, never cut short."""
    import cv2

    frame = np.full((700, 1000), 60.0, np.float32)
    corners = np.array([[120, 80], [880, 110], [860, 620], [140, 600]], np.float32)
    page = np.zeros_like(frame, np.uint8)
    cv2.fillPoly(page, [corners.astype(np.int32)], 1)
    light = np.linspace(70.0, 245.0, frame.shape[1], dtype=np.float32)[None, :]
    frame = np.where(page > 0, light, frame)
    found = geometry.page_corners(frame)  # at a lower threshold, past the cut
    assert found is not None
    assert cv2.contourArea(found.astype(np.float32)) > 0.9 * cv2.contourArea(corners)


def test_the_desk_round_a_photographed_page_is_no_ground_of_light_text():
    """A dim page photographed on a dark desk, a corner lost in shadow (so the page
    step leaves it): the desk reaches all four edges of the frame, round the page;
    it is no bar or panel behind light text. Before, the page was inverted whole
    and read as nothing. Its strokes lean 9 degrees, but no keystone is taken
    out: stood level with the lines, the page's shadowed edges read as lines of
    junk (CER 0.063)."""
    from bgocr_nb.metrics import cer

    page = synth.make_page("photo+tabletop", seed=0)
    gray = color.grayscale(page.image)
    assert geometry.page_corners(gray) is None
    assert color.reversed_regions(gray) is None
    read = bgocr_nb.ocr(page.image, dpi=150, device="cpu")
    assert cer(read.text, page.text) < 0.02
    (step,) = [s for s in read.steps if s.name == "keystone"]
    assert not step.applied and "darker surface" in step.reason
    assert geometry.framed_by_surface(gray, paper=color.paper_level(gray))
    flat = color.grayscale(synth.make_page("perspective+photo", seed=0).image)
    assert not geometry.framed_by_surface(flat, paper=color.paper_level(flat))


def test_small_chinese_photographed_on_a_desk_is_read():
    """auto cuts the page out first (its record gives the corners); left on the
    desk, the page's converging lines cost Tesseract small Chinese characters."""
    from bgocr_nb.metrics import cer

    page = _on_desk(1, lang="chi_sim")
    read = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=150, device="cpu")
    (step,) = [s for s in read.steps if s.name == "page"]
    assert step.applied and len(step.params["corners"]) == 4
    left = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=150, device="cpu",
                        filters="auto(page=false)")
    assert cer(read.text, page.text) < 0.02 < 0.05 < cer(left.text, page.text)


def _at_an_angle(seed: int, lang: str = "eng", extra: str = "") -> synth.SyntheticPage:
    """A page photographed at an angle, its corners moved by 5 % (small text)."""
    return synth.make_page("perspective" + extra, lang=lang, seed=seed,
                           font_size_pt=20 * 72 / 150, params={"perspective": {"amount": 0.05}})


def _leans(image) -> np.ndarray:
    return np.degrees(np.arctan(geometry.stroke_slants(image)[:, 1]))


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_strokes_of_a_page_photographed_at_an_angle_are_stood_upright(seed):
    """Seen at an angle, a page's upright strokes lean and converge on a vanishing
    point; the keystone found from them stands them upright, strip by strip."""
    page = _at_an_angle(seed).image
    level = Pipeline("auto(keystone=false)").run(page, device="cpu").image.astype(np.float32)
    before = _leans(level)
    found = geometry.find_keystone(level)
    assert found is not None and np.abs(before).max() > 2.0
    upright = geometry.unkeystone(level, found)
    after = _leans(upright)
    assert len(after) == geometry.SLANT_STRIPS and geometry.find_keystone(upright) is None
    assert np.abs(after).mean() < 0.1 * np.abs(before).mean()


def test_the_keystone_map_stands_the_fitted_leans_upright():
    """Strokes leaning 3 degrees at the middle, more to the right: the fitted map
    turns each strip's lean upright at the row it was measured about (the map's
    own derivative there), and leaves that row and the middle in place."""
    from bgocr_nb.filters.geometry import _lean, _vanishing

    x = np.linspace(100.0, 900.0, 8)
    lean = math.tan(math.radians(3.0)) + 2e-4 * (x - 500.0)
    matrix, slant, spread, stray = _vanishing(np.stack([x, lean, np.ones(8)], axis=1), 300.0)
    assert stray < 1e-6 and slant == pytest.approx(3.0)
    assert spread == pytest.approx(math.degrees(math.atan(lean[-1])) - 3.0)
    for xi, li in zip(x, lean):
        assert _lean(matrix, xi, 300.0) == pytest.approx(math.degrees(math.atan(li)), abs=1e-6)
    middle = matrix @ [500.0, 300.0, 1.0]
    np.testing.assert_allclose(middle[:2] / middle[2], [500.0, 300.0], atol=1e-9)


def test_upright_type_is_left_standing(page):
    """Sans and serif, Latin and Chinese: type leans less than the thresholds, and
    the filter returns such a page as it is. Strokes turned with the lines lean
    too: the keystone is for level lines."""
    for lang in ("eng", "chi_sim"):
        for serif in (False, True):
            image = color.grayscale(synth.make_page("clean", lang=lang, seed=2, serif=serif,
                                                    font_size_pt=20 * 72 / 150).image)
            assert geometry.find_keystone(image) is None, (lang, serif)
            bands = deskew.survey(image, bands=geometry.LINE_BANDS).bands
            assert len(bands) >= 4 and geometry.find_convergence(bands) is None, (lang, serif)
    assert geometry.unkeystone(page) is page
    turned = cpu_ops().rotate(page.astype(np.float32), 3.0, fill=255.0)
    assert geometry.find_keystone(turned).slant == pytest.approx(3.0, abs=0.5)


def test_a_skewed_photographed_page_is_turned_and_stood_upright():
    """auto measures the strokes on the turned page (then warps the unturned one
    once, turn and keystone together): lines level, strokes upright; its record
    gives the lean."""
    read = Pipeline("auto").run(_at_an_angle(5, extra="+skew").image, device="cpu")
    (turn,) = [s for s in read.steps if s.name == "deskew"]
    (step,) = [s for s in read.steps if s.name == "keystone"]
    assert turn.applied and step.applied and set(step.params) == {"slant", "spread"}
    image = read.image.astype(np.float32)
    assert abs(deskew.estimate_angle(image)) < 0.3 and geometry.find_keystone(image) is None
    assert np.abs(_leans(image)).mean() < 1.0


def test_small_chinese_photographed_at_an_angle_is_read():
    """Small Chinese characters whose strokes lean and converge lose detail to
    Tesseract; stood upright, they read."""
    from bgocr_nb.metrics import cer

    page = _at_an_angle(0, lang="chi_sim")
    read = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=150, device="cpu")
    left = bgocr_nb.ocr(page.image, lang="chi_sim", dpi=150, device="cpu",
                        filters="auto(keystone=false)")
    assert cer(read.text, page.text) < 0.015 < 0.03 < cer(left.text, page.text)


def _converging(lang: str = "eng", spread: float = 3.0) -> np.ndarray:
    """A gray page whose lines converge on a point beside it: they turn ``spread``
    degrees from the middle to the bottom (and the other way at the top), while its
    upright strokes stay upright (a map that moves only the lines' vanishing point)."""
    text = "\n".join(synth.builtin_paragraphs(lang))  # lines enough for six bands
    image = color.grayscale(synth.make_page("clean", lang=lang, text=text,
                                            font_size_pt=20 * 72 / 150).image)
    h, w = image.shape
    g = math.tan(math.radians(spread)) / (h / 2)  # slope -g y at the middle column
    centre = np.array([[1.0, 0.0, -w / 2], [0.0, 1.0, -h / 2], [0.0, 0.0, 1.0]])
    converge = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [g, 0.0, 1.0]])
    matrix, shape = geometry._framed(np.linalg.inv(centre) @ converge @ centre, (h, w))
    return cpu_ops().warp(image, matrix, shape, fill=255.0)


def _band_angles(image) -> np.ndarray:
    return deskew.survey(image, bands=geometry.LINE_BANDS).bands[:, 2]


@pytest.mark.parametrize("lang", ["eng", "chi_sim"])
def test_converging_lines_are_levelled(lang):
    """Lines that converge on a point beside the page turn from band to band
    (3 to 4 degrees from top to bottom here); levelled, every band lies within
    a few tenths of a degree of the others, and the strokes still stand upright."""
    page = _converging(lang)
    before = _band_angles(page)
    assert len(before) >= 4 and np.ptp(before) > 2.5
    assert geometry.find_keystone(page) is None  # the strokes stand upright
    found = geometry.find_convergence(deskew.survey(page, bands=geometry.LINE_BANDS).bands)
    assert found is not None and found.spread > geometry.LINES_SPREAD
    level = geometry.unkeystone(page)
    after = _band_angles(level)
    assert len(after) >= 4 and np.ptp(after) < 0.4 and np.abs(after).max() < 0.3
    assert geometry.find_convergence(deskew.survey(level, bands=geometry.LINE_BANDS).bands) \
        is None


def test_the_convergence_map_levels_the_fitted_lines():
    """Bands whose lines meet at one point to the right of the page, on a page
    turned 5 degrees: the map (for the turned page) sends the lines of each band,
    turned, to the horizontal at the band's middle."""
    from bgocr_nb.backend import rotation_geometry

    vanishing = np.array([3000.0, 350.0])  # on the unturned page
    y = np.linspace(100.0, 900.0, 6)
    x = np.full(6, 500.0)
    # counter-clockwise angle of the line from (x, y) to the vanishing point
    angle = np.degrees(np.arctan2(-(vanishing[1] - y), vanishing[0] - x))
    bands = np.stack([x, y, angle, np.ones(6)], axis=1)
    turn = np.vstack([rotation_geometry((1000, 1000), -5.0)[1], [0.0, 0.0, 1.0]])
    found = geometry.find_convergence(bands, turn)
    assert found is not None
    for xi, yi, ai in bands[:, :3]:
        rad = math.radians(ai)
        ends = found.matrix @ turn @ np.array([[xi, xi + math.cos(rad)],
                                               [yi, yi - math.sin(rad)], [1.0, 1.0]])
        ends = ends[:2] / ends[2]
        assert ends[1, 1] - ends[1, 0] == pytest.approx(0.0, abs=1e-6)
    assert geometry.find_convergence(bands[:3], turn) is None  # too few bands


def test_auto_levels_converging_lines_in_the_turn():
    """auto takes the lines' angles from the skew measurement, band by band, and
    levels them in the one warp with the turn; its record gives their angle."""
    tilted = cpu_ops().rotate(_converging(), 4.0, fill=255.0)
    read = Pipeline("auto").run(tilted, device="cpu")
    (turn,) = [s for s in read.steps if s.name == "deskew"]
    (step,) = [s for s in read.steps if s.name == "keystone"]
    assert turn.applied and step.applied and {"line_angle", "line_spread"} <= set(step.params)
    assert "lines turn" in step.reason
    after = _band_angles(read.image.astype(np.float32))
    assert len(after) >= 4 and np.ptp(after) < 0.4 and np.abs(after).max() < 0.3
    assert np.abs(_leans(read.image.astype(np.float32))).max() < 1.0


def test_analysis_takes_an_8_bit_page(page):
    """A uint8 page (as a pipeline's output comes) is measured as its float copy is:
    OpenCV would not divide a uint8 page by a float paper field."""
    shaded = np.clip(page.astype(np.float32) * np.linspace(0.6, 1.0, page.shape[1]), 0, 255)
    eight = shaded.astype(np.uint8)
    flat = background.remove(eight)
    assert np.abs(flat - background.remove(eight.astype(np.float32))).max() < 3
    assert deskew.estimate_angle(eight) == pytest.approx(deskew.estimate_angle(shaded), abs=0.1)
