"""Clear errors from the Tesseract wrapper: page size, the osd data, time limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bgocr_nb import tesseract
from bgocr_nb.errors import ArgumentError, OcrError


@pytest.mark.parametrize("engine", ["api", "cli"])
@pytest.mark.parametrize("shape", [(10, 32768), (32768, 10)])
def test_a_page_over_tesseracts_size_limit(tesseract_engine, engine, shape):
    if tesseract_engine(engine) != engine:
        pytest.skip(f"the {engine} engine is not available")
    height, width = shape
    message = f"{width}x{height} pixels.*at most 32767 .*Split.*downscale"
    with pytest.raises(OcrError, match=message):
        tesseract.recognize(np.full(shape, 255, np.uint8))
    with pytest.raises(OcrError, match="at most 32767"):
        tesseract.orientation(np.full(shape, 255, np.uint8))


def test_the_largest_page_tesseract_takes_still_runs():
    assert tesseract.recognize(np.full((10, tesseract.MAX_SIDE), 255, np.uint8)).text == ""


@pytest.mark.parametrize("lang", ["osd", "eng+osd"])
def test_osd_is_no_language_to_read(lang):
    assert "osd" in tesseract._packs()  # installed, yet refused as a language
    with pytest.raises(ArgumentError, match="orientation and script detection.*not a language"):
        tesseract.check_lang(lang)
    assert "osd" not in tesseract.languages() and "eng" in tesseract.languages()


@pytest.mark.parametrize("timeout", [-1, -1e-9, math.nan, math.inf, "10", True])
def test_bad_timeouts_are_refused(page, timeout):
    with pytest.raises(ArgumentError, match="timeout must be a finite number of seconds"):
        tesseract.check_timeout(timeout)
    with pytest.raises(ArgumentError, match="timeout"):
        tesseract.recognize(page, timeout=timeout)


class _RecordingApi:
    """Stands in for tesserocr's engine: records the time limit it is given."""

    def __init__(self):
        self.limits = []

    def SetImageBytes(self, *args):
        pass

    def Recognize(self, limit_ms):
        self.limits.append(limit_ms)
        return True

    def GetUTF8Text(self):
        return ""

    def AllWordConfidences(self):
        return []


def test_a_tiny_timeout_is_at_least_a_millisecond(monkeypatch, tesseract_engine, page):
    if tesseract_engine("api") != "api":
        pytest.skip("the api engine is not available")
    api = _RecordingApi()
    monkeypatch.setattr(tesseract, "_api", lambda *args: api)
    for timeout in (0, 1e-6, 0.0015, 2):
        tesseract.recognize(page, timeout=timeout, words=False)
    tesseract.recognize(page, timeout=None, words=False)
    assert api.limits == [0, 1, 2, 2000, 0]  # 0 (or None) is no limit; the rest round up


def test_a_tiny_timeout_stops_the_run(tesseract_engine, page):
    if tesseract_engine("api") != "api":
        pytest.skip("the api engine is not available")
    with pytest.raises(OcrError, match="did not finish within 1e-06 s"):
        tesseract.recognize(page, timeout=1e-6)


def test_psm_0_reads_no_text():
    from bgocr_nb.tesseract import check_psm

    with pytest.raises(ArgumentError, match="reads no text.*--rotate-pages"):
        check_psm(0)
    assert check_psm(3) == 3
