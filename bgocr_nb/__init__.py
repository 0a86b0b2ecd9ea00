"""bgocr_nb: background removal, deskew and OCR of document scans, on GPU or CPU, in Jupyter.

>>> import bgocr_nb
>>> result = bgocr_nb.ocr(bgocr_nb.sample_path("memo_shadow.png"))  # doctest: +SKIP
>>> print(result.text)                                               # doctest: +SKIP

Importing the package is light: NumPy, OpenCV, CuPy, tesserocr, pytesseract and
IPython load only when first used, so ``%load_ext bgocr_nb`` is instant.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use)
_LAZY = {
    "ocr": "engine", "preprocess": "engine", "Engine": "engine",
    "Pipeline": "pipeline", "parse_spec": "pipeline", "FILTERS": "filters",
    "OcrResult": "results", "ResultSet": "results", "PageFailure": "results",
    "load_pages": "io", "load_image": "io",
    "sample_path": "datasets", "list_samples": "datasets", "sample_text": "datasets",
    "cer": "metrics", "batch": "batching", "BatchResult": "batching",
    "Studio": "widgets", "BatchProgress": "widgets",
    "plot_result": "plots", "plot_steps": "plots", "plot_background": "plots",
    "BgocrError": "errors", "ArgumentError": "errors", "DeviceError": "errors",
    "NoGpuError": "errors", "InputError": "errors", "MissingDependencyError": "errors", "OcrError": "errors",
}

# Light (no NumPy, no CuPy until called), and bound now so that the function, not the
# submodule of the same name, is what `bgocr_nb.devices` means.
from .devices import Device, devices, select_device  # noqa: E402

__all__ = sorted(_LAZY) + ["Device", "devices", "select_device", "load_ipython_extension",
                           "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bgocr_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext bgocr_nb``: register the ``%bgocr`` and ``%%bgocr`` magics."""
    from .magics import BgocrMagics

    ipython.register_magics(BgocrMagics)
