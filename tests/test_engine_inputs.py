"""Engine inputs: encrypted PDFs, unexpected errors on one page, argument checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bgocr_nb
from bgocr_nb import tesseract
from bgocr_nb.engine import Engine
from bgocr_nb.errors import ArgumentError, BgocrError, InputError
from bgocr_nb.io import Page
from bgocr_nb.results import OcrResult, PageFailure, ResultSet
from tests.conftest import text_page

BAD_WIDTH = 1000  # pages this wide make the patched Tesseract raise


@pytest.fixture
def encrypted_pdf(tmp_path) -> Path:
    pikepdf = pytest.importorskip("pikepdf", reason="pikepdf writes the encrypted test PDF")
    plain = tmp_path / "plain.pdf"
    Image.fromarray(text_page(["Secret invoice 2041"])).convert("RGB").save(plain, resolution=100)
    with pikepdf.open(plain) as pdf:
        pdf.save(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(owner="o", user="secret"))
    return tmp_path / "enc.pdf"


def test_password_opens_encrypted_pdf(encrypted_pdf):
    with pytest.raises(InputError, match="password"):
        bgocr_nb.ocr(encrypted_pdf, device="cpu", dpi=100)
    result = bgocr_nb.ocr(encrypted_pdf, device="cpu", dpi=100, password="secret")
    assert isinstance(result, OcrResult) and "Secret invoice 2041" in result.text
    engine = Engine(device="cpu", dpi=100, password="secret")
    assert engine.ocr(str(encrypted_pdf)).text == result.text
    pre = bgocr_nb.preprocess(encrypted_pdf, device="cpu", filters="none", password="secret")
    assert pre.image.ndim in (2, 3) and pre.image.shape[0] > 50


def test_password_in_a_batch(encrypted_pdf):
    locked = bgocr_nb.batch(encrypted_pdf, device="cpu", dpi=100, progress=False)
    assert "password" in locked.records[0]["error"]
    opened = bgocr_nb.batch(encrypted_pdf, device="cpu", dpi=100, progress=False,
                            password="secret")
    assert not opened.failures and "Secret invoice" in opened.records[0]["text"]


def test_password_must_be_a_string():
    with pytest.raises(ArgumentError, match="`password` must be a string"):
        Engine(device="cpu", password=1234)


@pytest.fixture
def flaky_tesseract(monkeypatch):
    """Tesseract raising a plain ValueError (a stand-in for any bug) on BAD_WIDTH pages."""
    real = tesseract.recognize

    def recognize(image, **kwargs):
        if image.shape[1] == BAD_WIDTH:
            raise ValueError("simulated library failure")
        return real(image, **kwargs)

    monkeypatch.setattr(tesseract, "recognize", recognize)


def test_unexpected_error_fails_one_page_of_many(tmp_path, flaky_tesseract):
    frames = [Image.fromarray(text_page([f"Tiff page {w}"], width=width))
              for w, width in (("alpha", 1100), ("bravo", BAD_WIDTH), ("delta", 1100))]
    frames[0].save(tmp_path / "multi.tif", save_all=True, append_images=frames[1:])
    results = Engine(device="cpu", filters="none").ocr(tmp_path / "multi.tif")
    assert isinstance(results, ResultSet) and len(results) == 3
    assert [r.text for r in results.pages] == ["Tiff page alpha", "Tiff page delta"]
    (failure,) = results.failures
    assert isinstance(failure, PageFailure) and failure.page == 1
    assert "ValueError (simulated library failure)" in failure.error
    assert "page 2" in failure.error and "bug" in failure.error
    assert isinstance(failure.exception.__cause__, ValueError)


def test_unexpected_error_on_a_single_page_is_a_bgocr_error(flaky_tesseract):
    with pytest.raises(BgocrError, match="unexpected ValueError") as info:
        bgocr_nb.ocr(text_page(["One page"], width=BAD_WIDTH), device="cpu", filters="none")
    assert isinstance(info.value.__cause__, ValueError)


def test_unexpected_error_while_loading_keeps_earlier_pages(monkeypatch):
    import bgocr_nb.engine as engine_module

    def load_pages(source, **kwargs):
        yield Page(text_page(["First page"]), "doc.tif", 0)
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(engine_module, "load_pages", load_pages)
    results = Engine(device="cpu", filters="none").ocr("doc.tif")
    assert results[0].ok and results[0].text == "First page"
    assert not results[1].ok and results[1].page is None
    assert "after page 1" in results[1].error
    assert "RuntimeError (decoder exploded)" in results[1].error


@pytest.mark.parametrize("options, match", [
    (dict(variables=["tessedit_char_whitelist=0123"]), "`variables` must be a dict"),
    (dict(filters=5), "A filter spec is a string"),
    (dict(filters=["deskew", 3]), "A filter spec is a string"),
    (dict(timeout=-1), "timeout"),
    (dict(dpi=0), r"`dpi` \(PDF rendering\) must be a number from 10"),
    (dict(dpi=float("nan")), r"`dpi` \(PDF rendering\)"),
])
def test_engine_settings_checked_up_front(options, match):
    with pytest.raises(ArgumentError, match=match):
        Engine(device="cpu", **options)
    with pytest.raises(ArgumentError, match=match):
        bgocr_nb.ocr(np.full((40, 40), 255, np.uint8), device="cpu", **options)


def test_preprocess_checks_filters():
    with pytest.raises(ArgumentError, match="A filter spec is a string"):
        bgocr_nb.preprocess(np.full((40, 40), 255, np.uint8), device="cpu", filters=5)


def test_save_preprocessed_bad_path(tmp_path):
    result = OcrResult(text="", words=[], image=np.full((8, 8), 255, np.uint8))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ArgumentError, match="afile.* is a file, not a folder"):
        result.save_preprocessed(tmp_path / "afile" / "pre.png")
    with pytest.raises(ArgumentError, match="is a folder: give a file name"):
        result.save_preprocessed(tmp_path)
    with pytest.raises(ArgumentError, match="image format"):
        result.save_preprocessed(tmp_path / "pre.nosuchformat")
    assert result.save_preprocessed(tmp_path / "sub" / "pre.png").exists()
