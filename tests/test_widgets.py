"""The Studio and BatchProgress widgets, driven without a browser."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import cv2
import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from bgocr_nb.devices import devices
from bgocr_nb.errors import DeviceError, InputError
from bgocr_nb.filters import FILTERS
from bgocr_nb.batching import TqdmProgress
from bgocr_nb.widgets import BatchProgress, Studio

LINES = ["The quick brown fox jumps", "over the lazy dog 12345", "Background removal works"]


def make_page(path: Path, lines=LINES, gradient: bool = True) -> Path:
    """Black text on white, 900 px wide, under a strong left-to-right light fall-off."""
    page = np.full((420, 900), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(page, line, (30, 90 + 80 * i), cv2.FONT_HERSHEY_DUPLEX, 1.0, 0, 2,
                    cv2.LINE_AA)
    ramp = np.linspace(0.45 if gradient else 1.0, 1.0, page.shape[1], dtype=np.float32)[None, :]
    cv2.imwrite(str(path), (page * ramp).astype(np.uint8))
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return make_page(tmp_path_factory.mktemp("studio") / "page.png")


@pytest.fixture
def studio(page) -> Studio:
    return Studio(page, device="cpu")


# -- Studio -------------------------------------------------------------------------

def test_initial_state(studio):
    assert studio.spec == "auto"
    assert studio.auto.value and studio.toggles["background"].disabled
    assert bytes(studio.before.value).startswith(b"\x89PNG")
    assert bytes(studio.after.value).startswith(b"\x89PNG")
    assert "background" in studio.steps.value  # what auto decided
    assert studio.error.value == "" and studio.result is None
    assert list(studio.toggles) == list(FILTERS)  # one per filter, "auto" is the mode
    # the preview runs on a copy about 600 px wide
    assert Image.open(io.BytesIO(studio.after.value)).width <= 600


def test_controls_from_filter_signatures(studio):
    assert isinstance(studio.params["binarize"]["method"], widgets.Dropdown)
    assert studio.params["binarize"]["method"].options == ("sauvola", "otsu")
    assert isinstance(studio.params["denoise"]["size"], widgets.IntText)
    assert isinstance(studio.params["contrast"]["black"], widgets.FloatText)
    assert isinstance(studio.params["background"]["radius"], widgets.Text)  # None: auto
    assert isinstance(studio.params["auto"]["deskew"], widgets.Checkbox)


def test_device_menu(studio):
    ids = [value for _, value in studio.device.options]
    assert ids[:2] == ["auto", "cpu"]
    assert len(ids) == 2 + len(devices().gpus)
    if not devices().gpus:
        assert "No GPU" in studio.gpu_note.value


def test_toggling_a_filter_changes_the_preview(studio):
    studio.auto.value = False
    assert studio.spec == "none"
    raw = bytes(studio.after.value)
    assert not studio.toggles["background"].disabled
    assert studio.params["background"]["radius"].disabled  # until its filter is on
    studio.toggles["background"].value = True
    studio.refresh()
    assert studio.spec == "background"
    assert bytes(studio.after.value) != raw
    flattened = bytes(studio.after.value)
    studio.toggles["binarize"].value = True
    studio.params["binarize"]["method"].value = "otsu"
    studio.params["background"]["radius"].value = "30"
    assert studio.spec == "background(radius=30),binarize(method=otsu)"
    studio.refresh()
    assert bytes(studio.after.value) != flattened
    assert studio.error.value == ""


def test_auto_mode_parameters(studio):
    studio.params["auto"]["deskew"].value = False
    assert studio.spec == "auto(deskew=false)"
    studio.auto.value = False
    assert studio.params["auto"]["deskew"].disabled


def test_initial_spec_sets_the_controls(page):
    studio = Studio(page, device="cpu", filters="deskew, background(radius=40)")
    assert not studio.auto.value
    assert studio.toggles["deskew"].value and studio.toggles["background"].value
    assert studio.params["background"]["radius"].value == "40"
    assert studio.spec == "background(radius=40),deskew"  # pipeline order


def test_bad_parameter_shows_an_error(studio):
    studio.auto.value = False
    studio.toggles["background"].value = True
    studio.params["background"]["radius"].value = "-5"
    studio.refresh()
    assert "radius" in studio.error.value and "ArgumentError" in studio.error.value
    assert studio.last_error is not None
    studio.params["background"]["radius"].value = "abc"
    studio.refresh()
    assert "must be a number" in studio.error.value
    studio.params["background"]["radius"].value = ""
    studio.refresh()
    assert studio.error.value == ""


def test_run_ocr(studio):
    studio.run_button.click()
    assert studio.result is not None and studio.error.value == ""
    assert "quick" in studio.text.value and "fox" in studio.text.value
    assert "OCR" in studio.timings.value
    assert studio.result.filters == "auto" and studio.result.device == "cpu"
    # settings changed afterwards: the text is flagged as stale
    studio.auto.value = False
    assert "Run OCR again" in studio.status.value


def test_run_ocr_turns_an_upside_down_page():
    from bgocr_nb import synth

    page = synth.make_page("clean", seed=0)
    studio = Studio(np.ascontiguousarray(np.rot90(page.image, 2)), device="cpu")
    studio.rotate.value = True
    result = studio.run_ocr()
    assert result.rotation == 180 and result.text.startswith(page.text.split()[0])
    assert "rotate" in studio.steps.value


def test_run_ocr_error_is_shown(studio):
    studio.lang.value = "xyz"
    assert studio.run_ocr() is None
    assert "xyz" in studio.error.value
    assert not studio.run_button.disabled


def test_save_preprocessed(studio, tmp_path):
    target = tmp_path / "sub" / "clean.png"
    studio.save_path.value = str(target)
    studio.save_button.click()
    assert target.exists() and studio.error.value == ""
    saved = np.asarray(Image.open(target))
    assert saved.ndim == 2 and saved.shape[1] >= 900  # the full page, not the preview
    assert "saved" in studio.status.value
    studio.run_ocr()  # reuses the OCR'd page when the settings match
    assert np.array_equal(np.asarray(Image.open(studio.save(tmp_path / "b.png"))),
                          studio.result.image)


def test_save_errors_are_shown(studio, tmp_path):
    assert studio.save(tmp_path / "x.unknown") is None
    assert "Cannot save" in studio.error.value


def test_debounced_refresh_in_a_running_loop(studio):
    studio.auto.value = False
    before = bytes(studio.after.value)

    async def change_then_wait():
        studio.debounce = 0.05
        studio.toggles["background"].value = True
        studio.toggles["background"].value = False
        studio.toggles["background"].value = True  # three changes, one refresh
        pending_now = studio._pending is not None
        unchanged = bytes(studio.after.value) == before
        await asyncio.sleep(0.3)
        return pending_now, unchanged

    pending_now, unchanged = asyncio.run(change_then_wait())
    assert pending_now and unchanged
    assert bytes(studio.after.value) != before and studio._pending is None


def test_bad_inputs_fail_early(page, tmp_path):
    with pytest.raises(DeviceError):
        Studio(page, device="gpu:7")
    with pytest.raises(InputError):
        Studio(tmp_path / "missing.png")


def test_array_source():
    image = np.full((100, 200), 230, np.uint8)
    studio = Studio(image, device="cpu", filters="none")
    assert studio.source_name == "<array>" and studio.spec == "none"


# -- batch ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("batch")
    files = [str(make_page(root / f"p{i}.png", [f"Page number {i} here"], gradient=False))
             for i in range(3)]
    return files + [str(root / "missing.png")]


OPTIONS = dict(device="cpu", filters="none", workers=1)


def test_progress_protocol_members():
    for progress in (BatchProgress(), TqdmProgress(disable=True)):
        assert progress.cancelled is False
        assert all(callable(getattr(progress, m)) for m in ("start", "update", "finish"))


def test_batch_progress_reaches_the_page_count(batch_inputs):
    progress = BatchProgress()
    progress.run(batch_inputs, background=False, **OPTIONS)
    result = progress.result
    assert len(result) == 4 and len(result.failures) == 1
    assert progress.bar.value == progress.bar.max == 4
    assert progress.pages == 4 and progress.failed == 1
    assert "4/4 files" in progress.status.value and "pages/s" in progress.status.value
    assert progress.table.value.count("<tr") == 5  # header + 4 pages
    assert "failed" in progress.table.value and "Page number 2" in progress.table.value
    assert progress.bar.bar_style == "danger"  # a page failed
    assert progress.cancel_button.disabled


def test_cancel_stops_the_batch(batch_inputs):
    progress = BatchProgress()
    update = progress.update

    def update_then_cancel(item=None, *, advance=0):
        update(item, advance=advance)
        if progress.pages == 1:
            progress.cancel_button.click()

    progress.update = update_then_cancel
    progress.run(batch_inputs, background=False, chunk_size=1, **OPTIONS)
    assert len(progress.result) < 4 and progress.result.cancelled
    assert progress.cancelled and progress.bar.bar_style == "warning"
    assert "cancelled" in progress.status.value


def test_background_run(batch_inputs):
    progress = BatchProgress()
    progress.run(batch_inputs[:2], **OPTIONS)
    assert progress.thread is not None
    result = progress.wait(timeout=60)
    assert result is progress.result and len(result) == 2 and progress.error is None
    assert progress.bar.bar_style == "success"


def test_background_error_is_shown(tmp_path):
    progress = BatchProgress()
    progress.run([str(tmp_path)], device="gpu:9")
    progress.wait(timeout=30)
    assert progress.error is not None and "GPU 9" in progress.status.value


def test_progress_accepts_records():
    """Batch engines may report JSON records instead of result objects."""
    progress = BatchProgress()
    progress.start(2)
    progress.update({"source": "a.png", "page": 0, "text": "Hello there", "mean_confidence": 91.5,
                     "needs_review": False, "error": None}, advance=1)
    progress.update({"source": "b.pdf", "page": None, "text": "", "mean_confidence": None,
                     "error": "InputError: b.pdf: no such file."}, advance=1)
    progress.finish()
    assert progress.pages == 2 and progress.failed == 1 and progress.bar.value == 2
    assert "Hello there" in progress.table.value and "no such file" in progress.table.value
    tqdm_progress = TqdmProgress(disable=True)
    tqdm_progress.start(1)
    tqdm_progress.update({"error": "x"}, advance=1)
    tqdm_progress.finish()
    assert tqdm_progress.pages == 1 and tqdm_progress.failed == 1
