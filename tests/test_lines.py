"""Faint straight lines (folds, ruled paper, streaks) found and painted out; print kept."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from bgocr_nb import ocr, synth
from bgocr_nb.filters import color, lines
from bgocr_nb.metrics import cer
from bgocr_nb.pipeline import Pipeline


def _text_page(lang: str = "eng", seed: int = 0) -> np.ndarray:
    return color.grayscale(synth.make_page("clean", lang=lang, seed=seed).image)


def _draw(page: np.ndarray, start, end, level: float, width: int = 2) -> np.ndarray:
    """A line of gray ``level`` drawn under the print (the darker of the two shows)."""
    mark = np.full(page.shape, 255, np.uint8)
    cv2.line(mark, start, end, int(level), width, cv2.LINE_AA)
    return np.minimum(page, mark.astype(np.float32))


def _fold(page: np.ndarray, x: int, tilt: float = 0.0) -> np.ndarray:
    h = page.shape[0]
    dx = round(h * math.tan(math.radians(tilt)))
    return _draw(page, (x, 0), (x + dx, h - 1), 150)


def test_a_fold_through_the_text_is_painted_out_and_the_print_kept():
    page = _text_page()
    h, w = page.shape
    folded = _fold(page, w // 2, tilt=2.0)
    out, count = lines.remove_lines(folded)
    assert count >= 1
    drawn = folded < page - 40  # where the line shows, off the print
    assert drawn.sum() > 0.5 * h
    assert np.percentile(out[drawn], 10) > 240  # gone, all but a few pixels
    ink = page < 100
    assert (out[ink] < 128).mean() > 0.99  # the letters it crossed keep their strokes


def test_ruled_lines_across_the_page_are_painted_out():
    page = _text_page(seed=1)
    h, w = page.shape
    ruled = page
    for y in range(17, h, 31):  # notebook rules, not lined up with the text
        ruled = _draw(ruled, (0, y), (w - 1, y), 185)
    ruled = _draw(ruled, (int(0.06 * w), 0), (int(0.06 * w), h - 1), 140)  # the margin
    out, count = lines.remove_lines(ruled)
    assert count >= (h // 31) // 2
    drawn = ruled < page - 30
    assert np.mean(out[drawn] > 230) > 0.8
    assert (out[page < 100] < 128).mean() > 0.98


@pytest.mark.parametrize("kind", ["clean", "shadow", "show_through", "texture", "reversed"])
def test_no_lines_on_pages_without_them(kind):
    page = color.grayscale(synth.make_page(kind, seed=3).image)
    assert lines.faint_lines(page) == []
    out, count = lines.remove_lines(page)
    assert count == 0 and out is page


def test_print_as_dark_as_the_text_stays():
    """Table rules and underlines are the print's own: Tesseract uses them."""
    page = _text_page(seed=2)
    h, w = page.shape
    ruled = _draw(page, (0, h // 3), (w - 1, h // 3), 10)
    ruled = _draw(ruled, (w // 3, 0), (w // 3, h - 1), 10)
    assert lines.faint_lines(ruled) == []


def test_no_line_along_a_row_of_dense_chinese():
    """Print all along a row, with thin soft edges between strokes, is no line."""
    page = synth.make_page("clean", lang="chi_sim", seed=3, dpi=150, width_px=1240,
                           font_size_pt=34 * 72.0 / 150)
    assert lines.faint_lines(color.grayscale(page.image)) == []


@pytest.mark.parametrize("lang,seed,serif", [("chi_sim", 0, True), ("eng", 0, True),
                                             ("chi_sim", 1, True)])
def test_no_lines_in_dithered_small_print(lang, seed, serif):
    """Rows of dither dots and small print: of no one level, or bare only in short gaps."""
    page = synth.make_page("gradient+dither", lang=lang, seed=seed, dpi=150, width_px=1240,
                           font_size_pt=20 * 72.0 / 150, serif=serif)
    ran = Pipeline("auto(lines=true)").run(page.image, device="cpu")
    assert next(s for s in ran.steps if s.name == "lines").params["count"] == 0


def test_dither_worms_taken_for_lines_leave_the_print():
    """Error diffusion leaves worms that can line up over a page's height: painted out,
    they take none of the print with them."""
    page = synth.make_page("gradient+dither", lang="chi_sim", seed=1, dpi=150, width_px=1240,
                           font_size_pt=20 * 72.0 / 150)
    plain = Pipeline("auto").run(page.image, device="cpu").image
    ran = Pipeline("auto(lines=true)").run(page.image, device="cpu")
    assert next(s for s in ran.steps if s.name == "lines").params["count"] >= 1
    ink = plain < 100
    assert (ran.image[ink] < 128).mean() > 0.995


def test_gray_text_and_short_or_steep_lines_stay():
    page = _text_page(seed=4)
    h, w = page.shape
    gray = 255.0 - 0.45 * (255.0 - page)  # all the print light gray: no line, however faint
    assert lines.faint_lines(gray) == []
    short = _draw(page, (w // 2, h // 4), (w // 2, h // 4 + int(0.1 * h)), 150)
    assert lines.faint_lines(short) == []
    steep = _fold(page, w // 4, tilt=25.0)  # no fold of a sheet folded square
    assert lines.faint_lines(steep) == []


def test_lines_is_a_filter_and_an_auto_step_off_by_default():
    clean = _text_page()
    page = _fold(clean, 300)
    ran = Pipeline("lines").run(page, device="cpu")
    assert [s.name for s in ran.steps] == ["lines"]
    drawn = page < clean - 40
    assert np.percentile(ran.image[drawn], 10) > 240
    default = Pipeline("auto").run(page, device="cpu")
    assert "lines" not in [s.name for s in default.steps]
    asked = Pipeline("auto(lines=true)").run(page, device="cpu")
    step = next(s for s in asked.steps if s.name == "lines")
    assert step.applied and step.params["count"] >= 1


def test_a_folded_chinese_page_reads_better_with_lines():
    page = synth.make_page("clean", lang="chi_sim", seed=2, font_size_pt=16)
    image = color.grayscale(page.image)
    folded = _fold(image, image.shape[1] // 2 + 7, tilt=1.5)
    plain = cer(ocr(folded, lang="chi_sim", device="cpu").text, page.text)
    cleaned = cer(ocr(folded, lang="chi_sim", device="cpu", filters="auto(lines=true)").text,
                  page.text)
    assert cleaned <= plain and cleaned < 0.02
