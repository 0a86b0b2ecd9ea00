"""The real GPU path with CuPy: runs only where a CUDA GPU is usable (skips elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest

from bgocr_nb import synth
from bgocr_nb.devices import devices
from bgocr_nb.pipeline import Pipeline

DEVICES = devices()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not DEVICES.gpus, reason=f"no usable GPU: {DEVICES.gpu_unavailable_reason}"),
]


@pytest.mark.parametrize("kind", ["clean", "shadow", "photo", "skew", "inverted", "reversed",
                                  "noise", "border", "border+skew", "low_contrast",
                                  "show_through+skew", "stamp", "colored_ink", "tabletop",
                                  "perspective+skew"])
@pytest.mark.parametrize("spec", ["auto", "background,deskew,contrast",
                                  "denoise,background(radius=30),binarize(method=sauvola)"])
def test_gpu_matches_cpu(kind, spec):
    page = synth.make_page(kind, seed=5)
    cpu = Pipeline(spec).run(page.image, device="cpu")
    gpu = Pipeline(spec).run(page.image, device="gpu:0")
    assert gpu.device.id == "gpu:0"
    assert [s.name for s in cpu.steps if s.applied] == [s.name for s in gpu.steps if s.applied]
    assert abs(cpu.angle - gpu.angle) < 0.1
    assert cpu.image.shape == gpu.image.shape
    diff = np.abs(cpu.image.astype(int) - gpu.image)
    assert diff.mean() < 2.0 and (diff > 64).mean() < 0.01


def test_gpu_measures_converging_lines_as_the_cpu():
    import cupy

    from bgocr_nb.filters import deskew, geometry
    from tests.test_filters import _converging

    page = _converging("eng")
    cpu = deskew.survey(page, bands=geometry.LINE_BANDS).bands
    gpu = deskew.survey(cupy.asarray(page), bands=geometry.LINE_BANDS).bands
    assert isinstance(gpu, np.ndarray) and cpu.shape == gpu.shape and len(cpu) >= 4
    np.testing.assert_allclose(cpu[:, :2], gpu[:, :2], atol=3.0)
    np.testing.assert_allclose(cpu[:, 2], gpu[:, 2], atol=0.1)


def test_gpu_polarity_of_a_page_on_a_dark_table():
    import cupy

    from bgocr_nb.filters import color

    page = color.grayscale(synth.make_page("clean", seed=5).image)
    h, w = page.shape
    table = np.full((2 * h, 2 * w), 35.0, np.float32)
    table[h // 2: h // 2 + h, w // 2: w // 2 + w] = page
    for image, light in ((table, False), (color.invert(page), True)):
        assert color.light_text(image) is light
        assert color.light_text(cupy.asarray(image)) is light


def test_gpu_ocr_end_to_end():
    import bgocr_nb

    r = bgocr_nb.ocr(bgocr_nb.sample_path("memo_shadow.png"), device="gpu")
    assert r.device.startswith("gpu:")
    assert bgocr_nb.cer(r.text, bgocr_nb.sample_text("memo_shadow.png")) < 0.05


def test_gpu_index_out_of_range():
    from bgocr_nb.errors import DeviceError

    with pytest.raises(DeviceError, match="does not exist"):
        Pipeline("auto").run(np.zeros((8, 8), np.uint8), device=len(DEVICES.gpus) + 3)


def test_batch_on_gpu(tmp_path):
    import bgocr_nb

    result = bgocr_nb.batch(bgocr_nb.sample_path("pages_2.tif"), device="gpu:0",
                            out=tmp_path, progress=False)
    assert result.summary()["ok"] == 2
    assert all(r["device"] == "gpu:0" for r in result.records)


def test_gpu_shrinks_large_text_as_the_cpu():
    page = synth.make_page("shadow", lang="chi_sim", seed=1, dpi=600, width_px=4960,
                           font_size_pt=12)
    cpu = Pipeline("auto").run(page.image, device="cpu")
    gpu = Pipeline("auto").run(page.image, device="gpu:0")
    assert "downscale" in [s.name for s in gpu.steps if s.applied]
    assert [s.name for s in cpu.steps if s.applied] == [s.name for s in gpu.steps if s.applied]
    assert cpu.image.shape == gpu.image.shape
    assert np.abs(cpu.image.astype(int) - gpu.image).mean() < 2.0


def test_gpu_unfades_as_the_cpu():
    import cupy

    from bgocr_nb.filters import color, contrast

    page = color.grayscale(synth.make_page("faded", seed=2).image)
    cpu = contrast.unfade(page)
    gpu = cupy.asnumpy(contrast.unfade(cupy.asarray(page)))
    assert abs(contrast.ink_spread(page) - contrast.ink_spread(cupy.asarray(page))) < 0.03
    diff = np.abs(cpu - gpu)
    assert diff.mean() < 2.0 and (diff > 64).mean() < 0.01


def test_gpu_paints_out_faint_lines_as_the_cpu():
    import cupy

    from bgocr_nb.filters import lines
    from tests.test_lines import _fold, _text_page

    page = _fold(_text_page(), 300, tilt=2.0)
    cpu, cpu_count = lines.remove_lines(page)
    gpu, gpu_count = lines.remove_lines(cupy.asarray(page))
    assert isinstance(gpu, cupy.ndarray) and cpu_count == gpu_count >= 1
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, atol=1.0)


def test_gpu_despeckles_as_the_cpu():
    import cupy

    from bgocr_nb.filters import color, denoise

    page = color.grayscale(synth.make_page("specks", seed=0).image)
    cpu, cpu_count = denoise.despeckle(page)
    gpu, gpu_count = denoise.despeckle(cupy.asarray(page))
    assert isinstance(gpu, cupy.ndarray) and cpu_count == gpu_count > 0
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, atol=1.0)
