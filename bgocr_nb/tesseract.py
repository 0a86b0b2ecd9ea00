"""The one module that runs Tesseract (through pytesseract).

Everything Tesseract needs is checked here: the binary, the language packs, the
options. Each page is recognised by a single Tesseract run that writes both the
plain text and the word table (TSV). Tesseract runs single-threaded
(``OMP_THREAD_LIMIT=1`` is set in this process's environment unless the user set
it): its OpenMP threads only slow a page down on small machines, and parallel
pages scale better than threads (as OCRmyPDF does).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ArgumentError, MissingDependencyError, OcrError

INSTALL_HINT = ("Install Tesseract: `sudo apt-get install tesseract-ocr` (Debian/Ubuntu), "
                "`brew install tesseract` (macOS) or `conda install -c conda-forge tesseract`.")

_LANG = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")
_VAR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VAR_VALUE = re.compile(r"^[A-Za-z0-9_.\-]*$")
# Variables that name files or write them are refused: they would read or write
# arbitrary paths on the machine.
_FILE_VARS = re.compile(r"(_file|_path|_dir|_prefix|write_images|tessedit_create_\w+)$")


@dataclass(frozen=True)
class Word:
    """One recognised word with its box (pixels of the preprocessed image)."""

    text: str
    confidence: float
    left: int
    top: int
    width: int
    height: int
    block: int
    line: int


def _set_command() -> str:
    import pytesseract

    cmd = os.environ.get("TESSERACT_CMD")
    if cmd:
        pytesseract.pytesseract.tesseract_cmd = cmd
    return pytesseract.pytesseract.tesseract_cmd


@lru_cache(maxsize=1)
def version() -> str:
    """Tesseract's version, or :class:`MissingDependencyError` if it is not installed."""
    import pytesseract

    _set_command()
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError:
        raise MissingDependencyError(f"The `tesseract` program was not found. {INSTALL_HINT}")\
            from None


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """Installed Tesseract language packs (``osd`` excluded)."""
    import pytesseract

    version()
    return tuple(sorted(l for l in pytesseract.get_languages() if l != "osd"))


def apt_package(lang: str) -> str:
    """The Debian package of a language pack: ``chi_sim`` is ``tesseract-ocr-chi-sim``."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def check_lang(lang: str) -> str:
    """Validate ``eng``, ``eng+chi_sim`` ... against the installed packs."""
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise ArgumentError(f"A language must look like 'eng' or 'eng+chi_sim', got {lang!r}.")
    installed = languages()
    missing = [l for l in lang.split("+") if l not in installed]
    if missing:
        pkgs = " ".join(apt_package(l) for l in missing)
        raise MissingDependencyError(
            f"Tesseract language pack {', '.join(missing)} is not installed "
            f"(installed: {', '.join(installed) or 'none'}). Install it with "
            f"`sudo apt-get install {pkgs}` or put {missing[0]}.traineddata in TESSDATA_PREFIX.")
    return lang


def check_psm(psm: int) -> int:
    if isinstance(psm, bool) or not isinstance(psm, int) or not 0 <= psm <= 13 or psm == 2:
        raise ArgumentError(f"The page segmentation mode must be 0, 1 or 3-13, got {psm!r} "
                            "(see `tesseract --help-psm`).")
    return psm


def check_variables(variables: dict[str, str] | None) -> dict[str, str]:
    """Validate Tesseract ``-c name=value`` variables.

    Names are lower-case identifiers; values are plain tokens (letters, digits,
    ``_.-``), so nothing can add command-line arguments. Variables that name or
    write files are refused.
    """
    out = {}
    for name, value in (variables or {}).items():
        value = str(value)
        if _FILE_VARS.search(str(name)):
            raise ArgumentError(f"The Tesseract variable {name!r} reads or writes files and is "
                                "not allowed.")
        if not _VAR_NAME.match(str(name)) or not _VAR_VALUE.match(value):
            raise ArgumentError(f"Bad Tesseract variable {name}={value!r}: names are lower-case "
                                "identifiers, values plain tokens of letters, digits and _.-")
        out[name] = value
    return out


def parse_variables(items: list[str] | None) -> dict[str, str]:
    """Parse ``["name=value", ...]`` (the ``--tess-var`` option) into a checked dict."""
    pairs = {}
    for item in items or []:
        name, eq, value = item.partition("=")
        if not eq:
            raise ArgumentError(f"A Tesseract variable is written name=value, got {item!r}.")
        pairs[name.strip()] = value.strip()
    return check_variables(pairs)


def _parse_tsv(tsv: str) -> list[Word]:
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            conf = float(row["conf"])
        except (KeyError, TypeError, ValueError):
            continue
        if row.get("level") != "5" or conf < 0 or not text:
            continue
        words.append(Word(text, conf, int(row["left"]), int(row["top"]), int(row["width"]),
                          int(row["height"]), int(row["block_num"]),
                          int(row["par_num"]) * 1000 + int(row["line_num"])))
    return words


@dataclass
class Recognition:
    """What one Tesseract run produced."""

    text: str
    words: list[Word]
    files: dict[str, bytes]  #: renderer outputs asked for: {"hocr": ..., "pdf": ...}


RENDERERS = ("hocr", "pdf")


def recognize(image: np.ndarray, *, lang: str = "eng", psm: int = 3,
              variables: dict[str, str] | None = None, dpi: int | None = None,
              timeout: float = 0, renderers: tuple[str, ...] = ()
              ) -> Recognition:
    """Recognise one uint8 page: its text, its words, and optional renderer outputs.

    Parameters
    ----------
    image : numpy.ndarray
        uint8, (H, W) gray or (H, W, 3) RGB.
    lang : str
        Tesseract languages, e.g. ``"eng"`` or ``"eng+chi_sim"``.
    psm : int
        Page segmentation mode.
    variables : dict, optional
        Extra ``-c`` variables (checked by :func:`check_variables`).
    dpi : int, optional
        Resolution to tell Tesseract (it guesses otherwise).
    timeout : float
        Seconds before the run is stopped (0: no limit).
    renderers : tuple of {"hocr", "pdf"}
        Tesseract's own hOCR and searchable-PDF outputs, from the same run.
    """
    import cv2
    import pytesseract

    check_lang(lang)
    check_psm(psm)
    bad = [r for r in renderers if r not in RENDERERS]
    if bad:
        raise ArgumentError(f"Unknown renderer {bad[0]!r}: use {' or '.join(RENDERERS)}.")
    config = [f"--psm {psm}", "-c tessedit_create_tsv=1"]
    config += [f"-c tessedit_create_{r}=1" for r in renderers]
    config += [f"-c {k}={v}" for k, v in check_variables(variables).items()]
    if dpi:
        config.append(f"--dpi {int(dpi)}")
    with tempfile.TemporaryDirectory(prefix="bgocr-") as tmp:
        # uncompressed BMP: the cheapest format to write and for Tesseract to read
        # (Leptonica's PNM reader costs about 0.1 s more a page, PNG decoding 0.03 s)
        src = Path(tmp) / "page.bmp"
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(src), image):
            raise OcrError(f"Could not write a {image.shape} {image.dtype} page for Tesseract.")
        base = Path(tmp) / "out"
        try:
            # pytesseract starts Tesseract with os.environ itself: set it once (never
            # unset it, which would race with other threads' runs); users may override
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            pytesseract.pytesseract.run_tesseract(str(src), str(base), "txt", lang,
                                                  config=" ".join(config), timeout=timeout)
        except pytesseract.TesseractNotFoundError:
            version.cache_clear()
            raise MissingDependencyError(f"The `tesseract` program was not found. "
                                         f"{INSTALL_HINT}") from None
        except RuntimeError as exc:  # pytesseract's timeout
            raise OcrError(f"Tesseract did not finish within {timeout} s.") from exc
        except pytesseract.TesseractError as exc:
            raise OcrError(f"Tesseract failed (status {exc.status}): {exc.message}") from exc
        text = base.with_suffix(".txt").read_text(encoding="utf-8")
        words = _parse_tsv(base.with_suffix(".tsv").read_text(encoding="utf-8"))
        files = {r: base.with_suffix(f".{r}").read_bytes() for r in renderers}
    return Recognition(text.strip("\f\n "), words, files)
