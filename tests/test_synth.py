"""Tests for the synthetic page generator and the bundled samples."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image, ImageSequence

from bgocr_nb import datasets, synth
from bgocr_nb.synth import DEGRADATIONS, HELD_OUT_KINDS, KINDS, SyntheticPage, make_page

WIDTH = 700  # small pages keep the tests fast


def _cer(hyp: str, ref: str) -> float:
    """Character error rate: Levenshtein distance / len(ref), whitespace-normalised."""
    a, b = " ".join(hyp.split()), " ".join(ref.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(1, len(b))


def test_cer_helper():
    assert _cer("abc", "abc") == 0
    assert _cer("abd", "abc") == pytest.approx(1 / 3)
    assert _cer("a  b\nc", "a b c") == 0


@pytest.mark.parametrize("kind", ["clean", "noise", "stain", "skew", "photo", "show_through+skew"])
def test_determinism(kind):
    a = make_page(kind, seed=3, width_px=WIDTH)
    b = make_page(kind, seed=3, width_px=WIDTH)
    assert np.array_equal(a.image, b.image)
    assert a.text == b.text and a.angle == b.angle
    c = make_page(kind, seed=4, width_px=WIDTH)
    assert c.text != a.text or not np.array_equal(c.image, a.image)


def test_text_depends_only_on_seed_and_lang():
    assert make_page("clean", seed=5, width_px=WIDTH).text == make_page("noise", seed=5, width_px=WIDTH).text


@pytest.mark.parametrize("lang", ["eng", "chi_sim"])
@pytest.mark.parametrize("kind", DEGRADATIONS)
def test_every_kind_valid_image(kind, lang):
    page = make_page(kind, lang=lang, seed=1, width_px=WIDTH)
    assert isinstance(page, SyntheticPage)
    img = page.image
    assert img.dtype == np.uint8
    assert img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)
    h, w = img.shape[:2]
    assert WIDTH <= w <= int(WIDTH * 1.4)
    assert 150 <= h <= 4000
    assert page.kind == kind and page.lang == lang
    assert page.text.strip() and page.text == page.text.strip()
    assert img.std() > 10  # not blank
    if kind != "skew":
        assert page.angle == 0.0


def test_held_out_kinds_stay_out_of_the_default_corpus():
    assert set(KINDS) | set(HELD_OUT_KINDS) == set(DEGRADATIONS)
    assert not set(KINDS) & set(HELD_OUT_KINDS)


def test_held_out_degradations_do_what_they_say():
    clean = make_page("clean", seed=2, width_px=WIDTH).image.astype(np.float32)
    ink = clean < 128
    bits = make_page("dither", seed=2, width_px=WIDTH).image
    assert set(np.unique(bits)) <= {0, 255} and 0.05 < (bits[~ink] == 0).mean() < 0.4
    faded = make_page("faded", seed=2, width_px=WIDTH).image.astype(np.float32)
    darkness = (255 - faded[ink]) / (255 - clean[ink])  # ink strength kept, per pixel
    assert darkness.max() > 0.95 and darkness.min() < 0.5 and faded[clean == 255].min() == 255
    marked = make_page("highlighter", seed=2, width_px=WIDTH).image
    paper = marked[~ink]
    assert 0.05 < (np.ptp(paper, axis=1) > 30).mean() < 0.5  # some paper is coloured, most not
    tilted = make_page("perspective", seed=2, width_px=WIDTH)
    assert tilted.angle == 0.0 and tilted.image.shape != clean.shape


def test_rgb_kinds():
    for kind in ("stain", "colored", "highlighter"):
        img = make_page(kind, seed=2, width_px=WIDTH).image
        assert img.ndim == 3
        assert np.ptp(img, axis=2).max() > 20  # really coloured


def test_unknown_kind():
    with pytest.raises(ValueError, match="valid kinds"):
        make_page("nope")
    with pytest.raises(ValueError):
        make_page("clean+nope")


def test_skew_records_angle():
    page = make_page("skew", seed=0, width_px=WIDTH)
    assert 2 <= abs(page.angle) <= 12
    flat = make_page("clean", seed=0, width_px=WIDTH)
    assert page.image.shape[1] > flat.image.shape[1] and page.image.shape[0] > flat.image.shape[0]
    fixed = make_page("skew", seed=0, width_px=WIDTH, params={"skew": {"angle": 7.0}})
    assert fixed.angle == 7.0


def test_skew_direction_counter_clockwise():
    # a horizontal bar rotated by +10 deg (ccw) rises to the right: its right end is higher (smaller y)
    img = np.full((200, 400), 255, np.uint8)
    img[95:105, 50:350] = 0
    out = synth.skew(img, np.random.default_rng(0), angle=10.0)
    ys, xs = np.nonzero(out < 128)
    left, right = ys[xs < np.percentile(xs, 10)].mean(), ys[xs > np.percentile(xs, 90)].mean()
    assert right < left - 20


def test_inverted_dark_median():
    page = make_page("inverted", seed=0, width_px=WIDTH)
    assert np.median(page.image) < 80
    assert np.percentile(page.image, 99.5) > 180  # light text


def test_reversed_bars_light_text_on_dark_lines_only():
    clean = make_page("clean", seed=1, width_px=WIDTH).image
    page = make_page("reversed", seed=1, width_px=WIDTH).image
    changed = np.flatnonzero((page != clean).any(axis=1))
    assert changed.size and changed.size < 0.4 * page.shape[0]
    bar = page[changed]
    assert np.median(bar) < 150 and np.percentile(bar, 99) > 200  # a dark ground, light text
    assert np.array_equal(page[: changed[0]], clean[: changed[0]])  # the page above: as it was


def test_gradient_background_range():
    page = make_page("gradient", seed=0, width_px=WIDTH)
    img = page.image
    bh, bw = img.shape[0] // 8, img.shape[1] // 8
    # paper brightness per block = a high percentile (ignores the ink)
    paper = [np.percentile(img[i:i + bh, j:j + bw], 95)
             for i in range(0, 8 * bh, bh) for j in range(0, 8 * bw, bw)]
    assert max(paper) > 200 and min(paper) < 150


def test_shadow_darkens_part_of_page():
    img = make_page("shadow", seed=0, width_px=WIDTH).image
    assert np.percentile(img, 99) > 230
    assert img.min() < 5  # ink still dark
    # some region of paper at <= ~55% brightness
    h, w = img.shape
    blocks = [np.percentile(img[i:i + h // 6, j:j + w // 6], 95) for i in range(0, h - h // 6, h // 6)
              for j in range(0, w - w // 6, w // 6)]
    assert min(blocks) < 140


def test_low_contrast_levels():
    img = make_page("low_contrast", seed=0, width_px=WIDTH).image
    assert 140 <= img.min() <= 175 and 205 <= img.max() <= 230


def test_render_page_wraps_and_fits():
    text = "word " * 200 + "\n\nsecond paragraph"
    img, truth = synth.render_page_with_text(text, width_px=600, dpi=150, font_size_pt=12)
    assert img.shape[1] == 600 and img.dtype == np.uint8
    lines = truth.split("\n")
    assert "" in lines and lines[-1] == "second paragraph"
    assert (img[:, :60] == 255).all() and (img[:, -60:] == 255).all()  # margins stay white
    zh, zh_truth = synth.render_page_with_text("甲方" * 80, lang="chi_sim", width_px=600)
    assert zh_truth.count("\n") >= 2 and zh_truth.replace("\n", "") == "甲方" * 80


def test_find_font():
    font = synth.find_font("eng", 30)
    assert font.getbbox("H")[3] > 15
    cjk = synth.find_font("chi_sim", 30)
    assert cjk.getlength("合同") > 40


def test_make_corpus():
    pages = synth.make_corpus(kinds=("clean", "blur"), langs=("eng",), seeds=(0, 1), width_px=WIDTH)
    assert len(pages) == 4 and {p.kind for p in pages} == {"clean", "blur"}


# --------------------------------------------------------------------- samples


def test_samples_exist_with_text():
    names = datasets.list_samples()
    assert len(names) >= 6 and "letter_clean.png" in names
    for name in names:
        path = datasets.sample_path(name)
        assert path.is_file() and path.stat().st_size < 400_000
        info = datasets.sample_info(name)
        with Image.open(path) as im:
            n_frames = sum(1 for _ in ImageSequence.Iterator(im))
        assert n_frames == info["n_pages"]
        for k, page in enumerate(info["pages"]):
            assert page["lang"] in ("eng", "chi_sim")
            assert len(datasets.sample_text(name, page=k)) > 50
    assert datasets.sample_info("pages_2.tif")["n_pages"] == 2
    assert datasets.sample_info("notice_skewed")["angle"] == pytest.approx(7.0)


def test_sample_errors():
    with pytest.raises(FileNotFoundError, match="letter_clean.png"):
        datasets.sample_path("does_not_exist.png")
    with pytest.raises(IndexError):
        datasets.sample_text("letter_clean.png", page=3)


def test_clean_sample_ocr_cer():
    import pytesseract

    with Image.open(datasets.sample_path("letter_clean.png")) as im:
        ocr = pytesseract.image_to_string(im, lang="eng")
    assert _cer(ocr, datasets.sample_text("letter_clean.png")) < 0.05
