"""OCR end to end with Tesseract: quality on the bundled samples, results, errors."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from dataclasses import replace

import numpy as np
import pytest

import bgocr_nb
from bgocr_nb import tesseract
from bgocr_nb.datasets import list_samples, sample_info, sample_path, sample_text
from bgocr_nb.errors import ArgumentError, InputError, MissingDependencyError, OcrError
from bgocr_nb.metrics import cer
from bgocr_nb.results import OcrResult, ResultSet


def sample_pages():
    for name in list_samples():
        info = sample_info(name)
        for i in range(info["n_pages"]):
            yield name, i, info["pages"][i]["lang"]


@pytest.mark.parametrize("name, index, lang", list(sample_pages()))
def test_bundled_samples_reach_cer_bound(name, index, lang):
    result = bgocr_nb.ocr(sample_path(name), lang=lang, device="cpu")
    page = result if isinstance(result, OcrResult) else result[index]
    raw = bgocr_nb.ocr(sample_path(name), lang=lang, device="cpu", filters="none")
    raw_page = raw if isinstance(raw, OcrResult) else raw[index]
    truth = sample_text(name, index)
    ours, base = cer(page.text, truth), cer(raw_page.text, truth)
    assert ours < 0.06, (name, ours, [str(s) for s in page.steps])
    assert ours <= base + 0.005, (name, ours, base)


def test_result_fields(tmp_path, shaded_page, page_text):
    r = bgocr_nb.ocr(shaded_page, device="cpu")
    assert cer(r.text, page_text) < 0.05
    assert r.words and all(0 <= w.confidence <= 100 for w in r.words)
    assert 80 < r.mean_confidence <= 100 and not r.needs_review()
    assert r.device == "cpu" and r.lang == "eng" and r.filters == "auto"
    assert set(r.timings) == {"load", "preprocess", "ocr", "total"}
    assert any(s.name == "background" and s.applied for s in r.steps)
    assert r.image.dtype == np.uint8 and r.original.shape == shaded_page.shape
    first = r.words[0]
    assert first.text == "Invoice" and 20 < first.left < 60
    out = r.save_preprocessed(tmp_path / "sub" / "pre.png")
    assert bgocr_nb.load_image(out).shape == r.image.shape
    record = r.to_dict(words=True)
    assert record["text"] == r.text and record["words"][0]["text"] == "Invoice"
    assert "Invoice" in r._repr_html_() and "OcrResult" in repr(r)
    assert list(r.words_dataframe().columns)[:2] == ["text", "confidence"]


def test_html_keeps_the_paragraphs():
    r = bgocr_nb.ocr(sample_path("memo_shadow.png"), device="cpu")
    paragraphs = [p for p in r.text.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2
    html = r._repr_html_()
    assert html.count("<br/><br/>") == len(paragraphs) - 1
    first_words = paragraphs[1].split()[:2]
    assert f"<br/><br/>{first_words[0]} {first_words[1]}" in html


def test_chinese_sample():
    r = bgocr_nb.ocr(sample_path("contract_zh.tif"), lang="chi_sim", device="cpu")
    assert "甲方" in r.text.replace(" ", "")
    assert cer(r.text, sample_text("contract_zh.tif")) < 0.05


@pytest.mark.parametrize("engine", ["api", "cli"])
def test_chinese_marks_come_full_width(tesseract_engine, engine):
    """Tesseract reads the contract's '：' and '；' as ': ' and '; '; the text and
    the words get them back, from either engine."""
    from bgocr_nb.punctuation import HAN

    tesseract_engine(engine)
    r = bgocr_nb.ocr(sample_path("contract_zh.tif"), lang="chi_sim", device="cpu")
    truth = sample_text("contract_zh.tif")
    assert r.text.count("：") == truth.count("：") and r.text.count("；") == truth.count("；")
    assert not re.search(f"[{HAN}] ?[:;,()]", r.text)
    assert [w.text for w in r.words if w.text in "：；"] == [c for c in truth if c in "：；"]
    assert cer(r.text, truth) < 0.03


def test_marks_outside_chinese_text_stay():
    from bgocr_nb.punctuation import full_width, is_chinese

    assert full_width("合同标的: 甲方 (见附件一) ，金额125,000.00元; 9:00") == (
        "合同标的：甲方（见附件一），金额125,000.00元；9:00")
    assert full_width("Present: A. Rossi (chair), 5 June.") == "Present: A. Rossi (chair), 5 June."
    assert is_chinese("eng+chi_sim") and is_chinese("chi_tra_vert")
    assert not is_chinese("eng") and not is_chinese("kor+jpn")


def test_multipage_gives_result_set():
    rs = bgocr_nb.ocr(sample_path("pages_2.tif"), device="cpu")
    assert isinstance(rs, ResultSet) and len(rs) == 2 and not rs.failures
    assert [r.page for r in rs] == [0, 1]
    assert "\f" in rs.text
    df = rs.to_dataframe()
    assert list(df["page"]) == [0, 1] and df["error"].isna().all()
    assert rs.summary() == {"pages": 2, "ok": 2, "failed": 0, "needs_review": 0}


def test_blank_page_has_no_text_and_is_flagged():
    r = bgocr_nb.ocr(np.full((300, 400), 255, np.uint8), device="cpu")
    assert r.text == "" and math.isnan(r.mean_confidence) and r.needs_review()


def test_engine_reuse_and_preprocess(shaded_page):
    engine = bgocr_nb.Engine(device="cpu", filters="background,contrast")
    a = engine.ocr(shaded_page)
    b = engine.ocr(shaded_page)
    assert a.text == b.text and a.filters == "background,contrast"
    pre = bgocr_nb.preprocess(shaded_page, filters="background", device="cpu")
    assert pre.image.shape == shaded_page.shape and pre.steps[0].name == "background"


def test_missing_language_pack_says_how_to_install():
    with pytest.raises(MissingDependencyError,
                       match=r"language pack xyz is not installed \(installed: .*eng.*\).*"
                             r"apt-get install tesseract-ocr-xyz"):
        bgocr_nb.Engine(lang="eng+xyz")


def test_missing_tesseract(monkeypatch, tesseract_engine, page):
    import pytesseract

    monkeypatch.setenv("TESSERACT_CMD", "/nonexistent/tesseract")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "tesseract")
    tesseract_engine("cli")
    with pytest.raises(MissingDependencyError, match="`tesseract` program was not found.*"
                                                     "apt-get install tesseract-ocr"):
        bgocr_nb.ocr(page, device="cpu")


def test_engine_choice_errors(monkeypatch, tesseract_engine):
    with pytest.raises(ArgumentError, match="BGOCR_TESSERACT must be auto, api, cli"):
        tesseract_engine("fast")
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match="pip install tesserocr.*BGOCR_TESSERACT=cli"):
        tesseract_engine("api")
    assert tesseract_engine("auto") == "cli"  # auto falls back to the program
    monkeypatch.delitem(sys.modules, "tesserocr")
    if importlib.util.find_spec("tesserocr") is not None:
        assert tesseract_engine("auto") == "api"
        monkeypatch.setenv("TESSERACT_CMD", "tesseract")  # a program named: the program
        assert tesseract_engine("auto") == "cli"


@pytest.mark.skipif(importlib.util.find_spec("tesserocr") is None, reason="tesserocr not installed")
def test_both_engines_read_the_same_page(tesseract_engine, page, page_text):
    """The in-process API and the program give the same text, words and boxes."""
    found = {}
    for name in ("api", "cli"):
        assert tesseract_engine(name) == name
        found[name] = tesseract.recognize(page, dpi=150)
    api, cli = found["api"], found["cli"]
    assert api.text == cli.text and cer(api.text, page_text) < 0.02
    assert [(w.text, w.left, w.top, w.width, w.height) for w in api.words] == \
        [(w.text, w.left, w.top, w.width, w.height) for w in cli.words]
    assert all(abs(a.confidence - c.confidence) < 5 for a, c in zip(api.words, cli.words))


def test_words_are_optional_and_the_confidences_come_either_way(tesseract_engine, page):
    """Without words the API skips the TSV; the page's confidences are the same."""
    for name in ("api", "cli"):
        tesseract_engine(name)
        full = tesseract.recognize(page, dpi=150)
        bare = tesseract.recognize(page, dpi=150, words=False)
        assert bare.words is None and bare.text == full.text
        assert bare.confidences == full.confidences == tesseract.whole_confidences(full.words)
        result = bgocr_nb.OcrResult(text=bare.text, words=[], image=page,
                                    confidences=bare.confidences)
        assert result.word_count == len(full.words) > 10
        assert result.mean_confidence == pytest.approx(
            np.mean(tesseract.whole_confidences(full.words)))


@pytest.mark.parametrize("variables, message", [
    ({"user_words_file": "/etc/passwd"}, "reads or writes files"),
    ({"tessedit_write_images": "1"}, "reads or writes files"),
    ({"load_system_dawg": "0 --oem 0"}, "plain tokens"),
    ({"Bad-Name": "1"}, "lower-case identifiers"),
])
def test_tesseract_variables_cannot_inject(variables, message):
    with pytest.raises(ArgumentError, match=message):
        bgocr_nb.Engine(variables=variables)


def test_allowed_variable_takes_effect(page):
    r = bgocr_nb.ocr(page, device="cpu", filters="none",
                     variables={"tessedit_char_whitelist": "0123456789"})
    assert set(r.text.replace("\n", "").replace(" ", "")) <= set("0123456789")


@pytest.mark.parametrize("psm", [2, 14, -1, "3"])
def test_bad_psm(psm):
    with pytest.raises(ArgumentError, match="segmentation mode"):
        bgocr_nb.Engine(psm=psm)


def test_missing_file_raises_and_corrupt_page_is_recorded(tmp_path, page):
    with pytest.raises(InputError, match="no such file"):
        bgocr_nb.ocr(tmp_path / "nope.png")
    from PIL import Image

    frames = [Image.fromarray(page)] * 2
    frames[0].save(tmp_path / "two.tif", save_all=True, append_images=frames[1:])
    data = (tmp_path / "two.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: int(len(data) * 0.75)])
    rs = bgocr_nb.ocr(tmp_path / "cut.tif", device="cpu")
    assert isinstance(rs, ResultSet) and rs[0].ok and not rs[-1].ok
    assert "Invoice" in rs[0].text and "corrupt" in rs[-1].error


@pytest.mark.parametrize("engine", ["cli", "api"])
def test_temporary_files_are_private_and_removed(tmp_path, monkeypatch, tesseract_engine,
                                               engine, page):
    """The program reads a private temporary BMP; the API needs none unless a
    renderer is asked for. Either way a page over its time limit fails cleanly."""
    import os
    import tempfile

    from bgocr_nb.errors import OcrError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    real = tesseract.tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        tmp = real(*args, **kwargs)
        seen.append(os.stat(tmp.name).st_mode & 0o777)
        return tmp

    if engine == "api" and importlib.util.find_spec("tesserocr") is None:
        pytest.skip("tesserocr not installed")
    tesseract_engine(engine)
    monkeypatch.setattr(tesseract.tempfile, "TemporaryDirectory", spy)
    tesseract.recognize(page)
    found = tesseract.recognize(page, renderers=("hocr",))
    assert found.files["hocr"].startswith(b"<?xml") and b"Invoice" in found.files["hocr"]
    with pytest.raises(OcrError, match="did not finish"):
        tesseract.recognize(np.tile(page, (4, 2)), timeout=0.01)
    assert seen == ([0o700] * 3 if engine == "cli" else [0o700])
    assert list(tmp_path.iterdir()) == []


def test_tesseract_is_told_the_files_resolution(tmp_path, monkeypatch, page):
    """As when it reads the file itself; enlarged pages get a proportionally higher one."""
    from PIL import Image

    seen = []
    real = tesseract.recognize

    def spy(image, **kwargs):
        seen.append(kwargs.get("dpi"))
        return real(image, **kwargs)

    monkeypatch.setattr(tesseract, "recognize", spy)
    Image.fromarray(page).save(tmp_path / "p.png", dpi=(150, 150))
    assert "quick" in bgocr_nb.ocr(tmp_path / "p.png", filters="none", device="cpu").text
    bgocr_nb.ocr(tmp_path / "p.png", filters="upscale(factor=2)", device="cpu")
    bgocr_nb.ocr(page, filters="none", device="cpu")  # an array: Tesseract estimates it
    assert seen == [150, 300, None]


@pytest.fixture(scope="module")
def upright_page():
    from bgocr_nb import synth
    from bgocr_nb.filters.color import grayscale

    page = synth.make_page("clean", seed=0)
    return np.clip(grayscale(page.image) + 0.5, 0, 255).astype(np.uint8), page.text


@pytest.mark.parametrize("engine", ["api", "cli"])
def test_rotate_pages_turns_pages_upright(upright_page, engine, tesseract_engine):
    if tesseract_engine(engine) != engine:
        pytest.skip(f"the {engine} engine is not available")
    image, truth = upright_page
    for quarter in (1, 2, 3):  # the page as scanned: turned by a quarter, half, three quarters
        turned = np.ascontiguousarray(np.rot90(image, quarter))
        assert (tesseract.orientation(turned, dpi=150).turn + quarter) % 4 == 0
        result = bgocr_nb.ocr(turned, device="cpu", rotate_pages=True)
        assert result.rotation == 90 * ((4 - quarter) % 4)
        assert result.image.shape == image.shape and cer(result.text, truth) < 0.02
        (step,) = [s for s in result.steps if s.name == "rotate"]
        assert step.applied and "OSD" in step.reason and "orient" in result.timings
        assert result.to_dict()["rotation"] == result.rotation
    upside_down = np.ascontiguousarray(np.rot90(image, 2))
    never = bgocr_nb.ocr(upside_down, device="cpu", rotate_pages=False)
    assert never.rotation == 0 and cer(never.text, truth) > 0.5  # without it


def test_a_page_read_weakly_is_turned_by_default(upright_page):
    image, truth = upright_page
    for quarter in (1, 2, 3):
        result = bgocr_nb.ocr(np.ascontiguousarray(np.rot90(image, quarter)), device="cpu")
        assert cer(result.text, truth) < 0.02, quarter
        if result.rotation:  # Tesseract reads a page turned a quarter clockwise itself
            (step,) = [s for s in result.steps if s.name == "rotate"]
            assert step.applied and step.reason.startswith("read weakly (mean confidence")
            assert "orient" in result.timings
    upright = bgocr_nb.ocr(image, device="cpu")  # read well: OSD is not asked
    assert upright.rotation == 0 and not [s for s in upright.steps if s.name == "rotate"]
    assert "orient" not in upright.timings


def test_a_turn_that_reads_worse_is_not_kept(upright_page, monkeypatch):
    from bgocr_nb import engine

    image, truth = upright_page
    monkeypatch.setattr(engine, "LOW_CONFIDENCE", 101.0)  # every page counts as weak
    monkeypatch.setattr(tesseract, "orientation",  # and OSD wrongly calls it upside down
                        lambda *a, **k: tesseract.Orientation(2, 20.0))
    result = bgocr_nb.ocr(image, device="cpu")
    (step,) = [s for s in result.steps if s.name == "rotate"]
    assert result.rotation == 0 and not step.applied and "kept as it was" in step.reason
    assert cer(result.text, truth) < 0.02 and result.image.shape == image.shape


def _preprocessed_blank(monkeypatch):
    """Make every page preprocess to white paper (as if preprocessing had lost its text)."""
    from bgocr_nb.engine import Engine

    run = Engine.preprocess

    def blank(self, image):
        pre = run(self, image)
        return replace(pre, image=np.full_like(pre.image, 255))

    monkeypatch.setattr(Engine, "preprocess", blank)


def test_a_page_preprocessed_to_nothing_is_read_as_it_came(upright_page, monkeypatch):
    """Where the preprocessed page reads empty (a picture's remains can upset
    Tesseract's layout analysis so it finds no text on the whole page), the page is
    read again as it came, and that reading kept."""
    image, truth = upright_page
    _preprocessed_blank(monkeypatch)
    result = bgocr_nb.ocr(image, device="cpu")
    step = result.steps[0]
    assert step.name == "unprocessed" and step.applied and "read empty" in step.reason
    assert cer(result.text, truth) < 0.02 and np.array_equal(result.image, image)
    assert tesseract.recognize(image, lang="eng").text == result.text


def test_an_empty_reading_is_not_swapped_for_junk(monkeypatch):
    """A page that reads empty stays empty where the page as it came reads only
    junk (scribbles: a word or two at a low confidence)."""
    import cv2

    rng = np.random.default_rng(0)
    scribbles = np.full((400, 900), 255, np.uint8)
    for _ in range(60):
        x, y = int(rng.uniform(20, 880)), int(rng.uniform(20, 380))
        cv2.line(scribbles, (x, y), (x + int(rng.uniform(-15, 15)),
                                     y + int(rng.uniform(-15, 15))), 0, 2)
    junk = tesseract.recognize(scribbles, lang="eng")
    assert junk.text.strip() and max(junk.confidences) < 50  # what it would have read
    _preprocessed_blank(monkeypatch)
    result = bgocr_nb.ocr(scribbles, device="cpu")
    assert result.text == "" and "unprocessed" not in [s.name for s in result.steps]


def test_without_the_osd_data_weak_pages_stay_as_they_are(upright_page, monkeypatch):
    monkeypatch.setattr(tesseract, "_packs", lambda: ("eng",))
    image, _ = upright_page
    result = bgocr_nb.ocr(np.ascontiguousarray(np.rot90(image, 2)), device="cpu")
    assert result.rotation == 0 and not [s for s in result.steps if s.name == "rotate"]


def test_rotate_pages_on_a_page_without_text(upright_page):
    blank = np.full((300, 400), 255, np.uint8)
    assert tesseract.orientation(blank).confidence == 0
    result = bgocr_nb.ocr(blank, device="cpu", rotate_pages=True)
    (step,) = [s for s in result.steps if s.name == "rotate"]
    assert result.rotation == 0 and not step.applied and "too little text" in step.reason


def test_rotate_pages_needs_the_osd_data(monkeypatch):
    from bgocr_nb.engine import Engine

    monkeypatch.setattr(tesseract, "_packs", lambda: ("eng",))
    with pytest.raises(MissingDependencyError, match="apt-get install tesseract-ocr-osd"):
        Engine(device="cpu", rotate_pages=True)
    Engine(device="cpu")  # only asked for when every page is to be turned
    with pytest.raises(ArgumentError, match="`rotate_pages` must be one of 'weak'"):
        Engine(device="cpu", rotate_pages="sometimes")


def test_a_tesseract_failure_is_no_timeout(monkeypatch, tesseract_engine, page):
    """pytesseract's TesseractError is a RuntimeError, as its timeout is: the message
    must say that Tesseract failed, not that it ran out of time."""
    import pytesseract

    tesseract_engine("cli")

    def fail(*args, **kwargs):
        raise pytesseract.TesseractError(1, "Error during processing.")

    monkeypatch.setattr(pytesseract.pytesseract, "run_tesseract", fail)
    with pytest.raises(OcrError, match=r"Tesseract failed \(status 1\)"):
        tesseract.recognize(page)
    with pytest.raises(OcrError, match=r"Tesseract failed \(status 1\)"):
        tesseract.orientation(page)


def test_a_fax_with_oblong_pixels_reads(tmp_path):
    # a fax at standard resolution, 204 x 98 dpi: stored as it is, its rows are twice
    # as coarse and the text half as tall; Chinese read that way is mostly lost
    import cv2
    from PIL import Image

    from bgocr_nb.synth import make_page

    page = make_page("clean", lang="chi_sim", seed=0, dpi=200, width_px=1700, font_size_pt=10)
    height, width = page.image.shape[:2]
    squashed = cv2.resize(page.image, (width, height * 98 // 204), interpolation=cv2.INTER_AREA)
    path = tmp_path / "fax.tif"
    Image.fromarray(squashed > 160).save(path, compression="group4", dpi=(204, 98))
    result = bgocr_nb.ocr(path, lang="chi_sim", device="cpu")
    assert result.image.shape[0] == pytest.approx(page.image.shape[0], abs=3)
    assert cer(result.text, page.text) < 0.05
