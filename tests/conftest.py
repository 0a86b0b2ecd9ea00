"""Shared fixtures: small synthetic pages with known text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

LINES = ["Invoice 2041 is due on 12 March 2026", "Payment terms are thirty days net",
         "The quick brown fox jumps over the dog", "Please quote the reference number"]


def text_page(lines=LINES, *, scale=1.1, width=1100, line_gap=62) -> np.ndarray:
    """Black Hershey text on white, uint8."""
    img = np.full((60 + line_gap * len(lines), width), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(img, line, (30, 55 + line_gap * i), cv2.FONT_HERSHEY_DUPLEX, scale, 0, 2,
                    cv2.LINE_AA)
    return img


def gpu_available() -> bool:
    from bgocr_nb.devices import devices

    return bool(devices().gpus)


@pytest.fixture
def page() -> np.ndarray:
    return text_page()


@pytest.fixture
def page_text() -> str:
    return "\n".join(LINES)


@pytest.fixture
def shaded_page(page) -> np.ndarray:
    """The page under light falling off from right to left, with a shadowed corner."""
    h, w = page.shape
    y, x = np.mgrid[0:h, 0:w]
    light = 0.45 + 0.55 * x / w
    light *= 1 - 0.3 * np.exp(-((y - h) ** 2 + x**2) / (0.2 * w * w))
    return (page * light).astype(np.uint8)


@pytest.fixture
def tesseract_engine(monkeypatch):
    """Choose the Tesseract engine for one test: ``tesseract_engine("cli")``."""
    from bgocr_nb import tesseract

    def choose(name: str) -> str:
        monkeypatch.setenv("BGOCR_TESSERACT", name)
        tesseract.reset()
        return tesseract.engine()

    yield choose
    monkeypatch.undo()
    tesseract.reset()
