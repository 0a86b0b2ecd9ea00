"""Lone specks (dust, pepper noise) painted out; punctuation and small marks kept."""

from __future__ import annotations

import numpy as np
import pytest

from bgocr_nb import ocr, synth
from bgocr_nb.filters import color, denoise
from bgocr_nb.metrics import cer
from bgocr_nb.pipeline import Pipeline


@pytest.mark.parametrize("lang", ["eng", "chi_sim"])
@pytest.mark.parametrize("em,serif", [(34, False), (20, False), (20, True)])
def test_clean_pages_keep_every_mark(lang, em, serif):
    """Full stops, commas, i-dots, colons, Chinese dots: none is a lone speck."""
    page = synth.make_page("clean", lang=lang, seed=4, dpi=150, width_px=1240,
                           font_size_pt=em * 72.0 / 150, serif=serif)
    gray = color.grayscale(page.image)
    out, count = denoise.despeckle(gray)
    assert count == 0 and out is gray


def test_pepper_away_from_the_text_goes_and_the_text_stays():
    page = color.grayscale(synth.make_page("clean", seed=2).image)
    peppered = color.grayscale(synth.specks(page.astype(np.uint8), np.random.default_rng(1),
                                            dust=False, density=0.02))
    out, count = denoise.despeckle(peppered)
    ink = page < 100
    away = ~(np.lib.stride_tricks.sliding_window_view(  # 12 px from any of the text's ink
        np.pad(ink, 12), (25, 25)).any(axis=(2, 3)))
    pepper = away & (peppered < 50)
    assert count > 0.5 * pepper.sum()
    assert (out[pepper] > 200).mean() > 0.95
    dark = ink & (peppered < 128)  # the text, but where salt fell on it
    assert (out[dark] < 128).mean() > 0.999


def test_dust_goes_with_its_soft_rim():
    """Dust blobs of a speck's size, away from the text, go whole: their dark core
    and the lighter rim round it."""
    import cv2

    page = color.grayscale(synth.make_page("clean", seed=5).image)
    dusty = color.grayscale(synth.specks(page.astype(np.uint8), np.random.default_rng(2),
                                         dust=True, density=0.03))
    out, count = denoise.despeckle(dusty)
    ink = page < 100
    away = ~(np.lib.stride_tricks.sliding_window_view(
        np.pad(ink, 12), (25, 25)).any(axis=(2, 3)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats((dusty < 128).astype(np.uint8))
    limit, _ = denoise.speck_limit(stats[1:, cv2.CC_STAT_AREA])
    small = np.r_[False, stats[1:, cv2.CC_STAT_AREA] <= limit][labels]
    around = cv2.dilate(small.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    dust = around & away & (dusty < page - 20)  # the specks and their rims
    assert count > 50 and (dust & ~small).sum() > 100
    assert (out[dust] > 240).mean() > 0.98
    assert (out[ink & (dusty < 128)] < 128).mean() > 0.999


def test_specks_outnumbering_the_glyphs_are_still_specks():
    """A typical glyph is the blob that holds the median ink pixel, not the median
    blob: a page with more specks than letters keeps its measure of a letter."""
    page = color.grayscale(synth.make_page("clean", seed=6).image).copy()
    rng = np.random.default_rng(3)
    text = np.flatnonzero((page < 128).any(axis=1))
    rows = [y for y in range(3, page.shape[0] - 3) if abs(y - text).min() > 15]
    for _ in range(1200):
        y, x = rng.choice(rows), rng.integers(3, page.shape[1] - 4)
        page[y:y + 2, x:x + 2] = 0  # 4 pixels: 656 letters here, a typical one of 159
    out, count = denoise.despeckle(page)
    assert count > 800


def test_a_lone_small_mark_larger_than_a_speck_stays():
    """A dash or a bullet on a line of its own is small, but no speck."""
    page = color.grayscale(synth.make_page("clean", seed=3).image).copy()
    h, w = page.shape
    rows = np.flatnonzero((page < 128).any(axis=1))
    y = rows[-1] + 40
    assert y + 4 < h
    page[y:y + 3, w // 2:w // 2 + 8] = 0  # a dash: 24 pixels, far from the text
    page[10, 10] = 0                       # and a speck
    out, count = denoise.despeckle(page)
    assert count == 1 and out[10, 10] > 200
    assert (out[y:y + 3, w // 2:w // 2 + 8] == 0).all()


def test_auto_despeckles_a_dusty_page_and_reads_it_better():
    page = synth.make_page("specks", lang="eng", seed=0)
    ran = Pipeline("auto").run(page.image, device="cpu")
    step = next(s for s in ran.steps if s.name == "specks")
    assert step.applied and step.params["count"] > 20
    raw = cer(ocr(page.image, filters="none", device="cpu").text, page.text)
    ours = cer(ocr(page.image, device="cpu").text, page.text)
    assert ours < raw and ours < 0.01


def test_auto_leaves_pages_without_specks_alone():
    clean = synth.make_page("clean", seed=1)
    step = next(s for s in Pipeline("auto").run(clean.image, device="cpu").steps
                if s.name == "specks")
    assert not step.applied and "under" in step.reason
    off = Pipeline("auto(specks=false)").run(synth.make_page("specks", seed=0).image,
                                               device="cpu")
    assert "specks" not in [s.name for s in off.steps]
