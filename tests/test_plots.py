"""Matplotlib views (Agg backend, no display)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bgocr_nb.plots import plot_background, plot_result, plot_steps  # noqa: E402
from bgocr_nb.results import OcrResult  # noqa: E402


def make_page(skew: float = 0.0) -> np.ndarray:
    """Text under a left-to-right light fall-off, optionally rotated by ``skew`` degrees."""
    page = np.full((360, 800), 255, np.uint8)
    for i, line in enumerate(["The quick brown fox jumps", "over the lazy dog 12345",
                              "Background removal works"]):
        cv2.putText(page, line, (30, 80 + 70 * i), cv2.FONT_HERSHEY_DUPLEX, 1.0, 0, 2,
                    cv2.LINE_AA)
    ramp = np.linspace(0.5, 1.0, page.shape[1], dtype=np.float32)[None, :]
    page = (page * ramp).astype(np.uint8)
    if skew:
        m = cv2.getRotationMatrix2D((400, 180), skew, 1.0)
        page = cv2.warpAffine(page, m, (800, 360), borderValue=200)
    return page


def images_per_axes(fig) -> list[int]:
    return [len(ax.images) for ax in fig.axes]


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "plots must close their figures in pyplot"


def test_plot_result_before_after_with_histograms():
    page = make_page()
    result = OcrResult(text="x", words=[], image=255 - page, original=page, source="p.png")
    fig = plot_result(result)
    assert len(fig.axes) == 4
    assert images_per_axes(fig) == [1, 1, 0, 0]
    assert all(ax.patches for ax in fig.axes[2:])  # the histograms
    assert "before" in fig.axes[0].get_title() and "after" in fig.axes[1].get_title()
    fig.savefig(io.BytesIO(), format="png")  # renders
    assert len(result.plot().axes) == 4  # OcrResult.plot delegates here


def test_plot_result_without_original_and_on_given_axes():
    page = make_page()
    result = OcrResult(text="", words=[], image=page)
    assert images_per_axes(plot_result(result)) == [1, 0]
    fig, axes = plt.subplots(2, 2)
    plt.close(fig)
    full = OcrResult(text="", words=[], image=page, original=page)
    assert plot_result(full, axes=axes) is fig
    with pytest.raises(ValueError, match="4 axes"):
        plot_result(full, axes=axes[0])


def test_plot_steps_explicit_spec():
    fig = plot_steps(make_page(skew=3), "background(radius=20),deskew,binarize(method=otsu)")
    assert images_per_axes(fig) == [1, 1, 1, 1]
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "original"
    assert titles[1:] == ["1. background(radius=20)", "2. deskew", "3. binarize(method=otsu)"]
    last = fig.axes[-1].images[0].get_array()
    assert set(np.unique(last)) <= {0, 255}  # binarized


def test_plot_steps_auto_shows_the_steps_it_applied():
    fig = plot_steps(make_page(skew=3), "auto")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "original"
    assert len(titles) >= 3  # at least background and deskew on this page
    assert all(t.split(". ", 1)[1].startswith("+ ") for t in titles[1:])
    assert any("background" in t for t in titles) and any("deskew" in t for t in titles)
    # the final panel equals the full auto pipeline's output
    from bgocr_nb.pipeline import Pipeline

    full = Pipeline("auto").run(make_page(skew=3), device="cpu").image
    assert np.array_equal(fig.axes[-1].images[0].get_array(), full)


def test_plot_steps_none():
    fig = plot_steps(make_page(), "none")
    assert images_per_axes(fig) == [1]


def test_plot_background_field():
    page = make_page()
    fig = plot_background(page, radius=25)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 3 and len(fig.axes) == 4  # + the field's colour bar
    field = image_axes[1].images[0].get_array()
    assert field.shape == page.shape
    # the field follows the light fall-off, not the text
    assert field[180, 750] - field[180, 50] > 80
    assert "radius 25" in image_axes[1].get_title()
    flat = image_axes[2].images[0].get_array()
    assert abs(float(flat[300, 50]) - float(flat[300, 750])) < 10


def test_large_images_are_shrunk_for_drawing():
    page = cv2.resize(make_page(), (3200, 1440))
    fig = plot_background(page, max_size=800)
    assert max(fig.axes[0].images[0].get_array().shape) == 800
