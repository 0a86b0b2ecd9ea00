"""The one module that runs Tesseract.

Two engines run the same Tesseract work and return the same :class:`Recognition`:

* ``api``: Tesseract's C++ API in this process through tesserocr, one engine per
  thread, kept between pages. Measured on this project's benchmark pages it takes
  about 30 % less CPU a page than the ``tesseract`` program (no process start,
  no model reload, no image file, and tesserocr's newer Tesseract build).
  tesserocr releases the GIL, so threads run pages in parallel.
* ``cli``: the ``tesseract`` program through pytesseract, a process per page (a
  crash in Tesseract costs that page only).

``auto`` (the default) picks ``api`` when tesserocr is importable and language
data is found, else ``cli``; the ``BGOCR_TESSERACT`` environment variable
(``auto``, ``api`` or ``cli``) chooses. Either way Tesseract runs single-threaded
(``OMP_THREAD_LIMIT=1`` unless the user set it): its OpenMP threads only slow a
page down on small machines, and parallel pages scale better (as OCRmyPDF does).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import numbers
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from . import punctuation
from .errors import ArgumentError, BgocrError, MissingDependencyError, OcrError

INSTALL_HINT = ("Install Tesseract: `sudo apt-get install tesseract-ocr` (Debian/Ubuntu), "
                "`brew install tesseract` (macOS) or `conda install -c conda-forge tesseract`.")

_LANG = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")
_VAR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VAR_VALUE = re.compile(r"^[A-Za-z0-9_.\-]*$")
# Variables that name files or write them are refused: they would read or write
# arbitrary paths on the machine.
_FILE_VARS = re.compile(r"(_file|_path|_dir|_prefix|write_images|tessedit_create_\w+)$")
MAX_SIDE = 32767  # pixels: Tesseract refuses a page wider or taller than this


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


def _command() -> str:
    """The ``tesseract`` program: ``TESSERACT_CMD``, else pytesseract's setting if it
    is loaded, else the one on the PATH (pytesseract, and pandas with it, loads
    only for the ``cli`` engine)."""
    loaded = sys.modules.get("pytesseract")
    return (os.environ.get("TESSERACT_CMD")
            or (loaded.pytesseract.tesseract_cmd if loaded else "tesseract"))


def _set_command() -> str:
    """:func:`_command`, set as pytesseract's program (for the ``cli`` engine)."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = _command()
    return pytesseract.pytesseract.tesseract_cmd


ENGINES = ("auto", "api", "cli")
# Where Tesseract's language data usually lives, after TESSDATA_PREFIX and the
# folder the `tesseract` program reports.
_TESSDATA_DIRS = ("/usr/share/tessdata", "/usr/local/share/tessdata",
                  "/opt/homebrew/share/tessdata", "/opt/local/share/tessdata")


@lru_cache(maxsize=1)
def engine() -> str:
    """The engine that runs pages: ``"api"`` (tesserocr, in process) or ``"cli"``.

    Chosen by the ``BGOCR_TESSERACT`` environment variable (``auto``, ``api`` or
    ``cli``); ``auto`` takes ``api`` where tesserocr imports and language data is
    found, unless ``TESSERACT_CMD`` names a program to run. Cached: call
    :func:`reset` after changing the variables.
    """
    wanted = os.environ.get("BGOCR_TESSERACT", "").strip().lower() or "auto"
    if wanted not in ENGINES:
        raise ArgumentError(f"BGOCR_TESSERACT must be {', '.join(ENGINES)}, got {wanted!r}.")
    if wanted == "cli" or (wanted == "auto" and os.environ.get("TESSERACT_CMD")):
        return "cli"
    try:
        import tesserocr  # noqa: F401
    except ImportError as exc:
        if wanted == "api":
            raise MissingDependencyError(
                f"BGOCR_TESSERACT=api needs tesserocr, which does not import ({exc}). Install "
                "it with `pip install tesserocr`, or set BGOCR_TESSERACT=cli.") from None
        return "cli"
    if tessdata() is None:
        if wanted == "api":
            raise MissingDependencyError(
                "No Tesseract language data (*.traineddata) was found for tesserocr. Install "
                "a language pack (`sudo apt-get install tesseract-ocr-eng`) or point "
                "TESSDATA_PREFIX at the folder that holds the files.")
        return "cli"
    return "api"


def _cli_tessdata() -> list[Path]:
    """The language-data folder the ``tesseract`` program reports, if it runs."""
    try:
        out = subprocess.run([_command(), "--list-langs"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    found = re.search(r'languages in "([^"]+)"', out.stdout + out.stderr)
    return [Path(found.group(1))] if found else []


@lru_cache(maxsize=1)
def tessdata() -> Path | None:
    """The folder of ``*.traineddata`` files the in-process engine loads.

    ``TESSDATA_PREFIX`` (the folder, or its parent), else the folder the
    ``tesseract`` program reports, else the usual install locations.
    """
    folders = []
    if os.environ.get("TESSDATA_PREFIX"):
        prefix = Path(os.environ["TESSDATA_PREFIX"])
        folders += [prefix, prefix / "tessdata"]
    folders += _cli_tessdata()
    folders += sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)
    folders += [Path(p) for p in _TESSDATA_DIRS]
    for folder in folders:
        if folder.is_dir() and any(folder.glob("*.traineddata")):
            return folder
    return None


@lru_cache(maxsize=1)
def version() -> str:
    """The version of the Tesseract that runs pages (see :func:`engine`).

    Raises :class:`MissingDependencyError` when the ``cli`` engine has no program.
    """
    if engine() == "api":
        import tesserocr

        return tesserocr.tesseract_version().split()[1]
    import pytesseract

    _set_command()
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError:
        raise MissingDependencyError(f"The `tesseract` program was not found. {INSTALL_HINT}")\
            from None


def describe() -> str:
    """Which Tesseract runs pages, e.g. ``Tesseract 5.5.4 in process (tesserocr 2.13.0)``."""
    if engine() == "api":
        import tesserocr

        return f"Tesseract {version()} in process (tesserocr {tesserocr.__version__})"
    return f"Tesseract {version()} (the tesseract program, a process per page)"


def reset() -> None:
    """Forget the cached engine choice, language folder, version and languages (after
    changing ``BGOCR_TESSERACT``, ``TESSDATA_PREFIX`` or ``TESSERACT_CMD``)."""
    for cached in (engine, tessdata, version, _packs):
        cached.cache_clear()


def status() -> str:
    """:func:`describe`, or why no Tesseract can run (for device listings)."""
    try:
        return describe()
    except BgocrError as exc:
        return f"unavailable: {exc}"


@lru_cache(maxsize=1)
def _packs() -> tuple[str, ...]:
    """Installed Tesseract data packs, ``osd`` (orientation and script) included."""
    if engine() == "api":
        return tuple(sorted(p.stem for p in tessdata().glob("*.traineddata")))
    import pytesseract

    version()
    return tuple(sorted(pytesseract.get_languages()))


def languages() -> tuple[str, ...]:
    """Installed Tesseract recognition languages (``osd``, orientation data, excluded)."""
    return tuple(p for p in _packs() if p != "osd")


def apt_package(lang: str) -> str:
    """The Debian package of a language pack: ``chi_sim`` is ``tesseract-ocr-chi-sim``."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def check_lang(lang: str) -> str:
    """Validate ``eng``, ``eng+chi_sim`` ... against the installed packs."""
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise ArgumentError(f"A language must look like 'eng' or 'eng+chi_sim', got {lang!r}.")
    if "osd" in lang.split("+"):
        raise ArgumentError(f"'osd' is Tesseract's orientation and script detection data, not a "
                            f"language to read text in (got {lang!r}). Give a language such as "
                            "'eng'; to turn pages upright use rotate_pages=True (--rotate-pages).")
    installed = languages()
    missing = [code for code in lang.split("+") if code not in installed]
    if missing:
        pkgs = " ".join(apt_package(code) for code in missing)
        raise MissingDependencyError(
            f"Tesseract language pack {', '.join(missing)} is not installed "
            f"(installed: {', '.join(installed) or 'none'}). Install it with "
            f"`sudo apt-get install {pkgs}` or put {missing[0]}.traineddata in TESSDATA_PREFIX.")
    return lang


def check_psm(psm: int) -> int:
    """Validate a page segmentation mode that reads text: 1 or 3-13 (0 and 2 read none)."""
    if psm == 0 and not isinstance(psm, bool):
        raise ArgumentError("Page segmentation mode 0 only detects the orientation and script, "
                            "and reads no text: to turn pages upright first, use "
                            "rotate_pages=True (--rotate-pages) with a mode such as 3.")
    if isinstance(psm, bool) or not isinstance(psm, int) or not 1 <= psm <= 13 or psm == 2:
        raise ArgumentError(f"The page segmentation mode must be 1 or 3-13, got {psm!r} "
                            "(see `tesseract --help-psm`).")
    return psm


def check_timeout(timeout: float | None) -> float:
    """Validate a time limit in seconds: 0 or None is no limit; negative, non-finite or
    non-numbers are refused."""
    if timeout is None:
        return 0.0
    real = isinstance(timeout, numbers.Real) and not isinstance(timeout, bool)
    seconds = float(timeout) if real else math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ArgumentError(f"The timeout must be a finite number of seconds, 0 or more "
                            f"(0: no limit), got {timeout!r}.")
    return seconds


def check_size(image: np.ndarray) -> None:
    """Raise :class:`OcrError` for a page wider or taller than Tesseract takes."""
    height, width = image.shape[:2]
    if max(height, width) > MAX_SIDE:
        raise OcrError(f"The page is {width}x{height} pixels; Tesseract reads at most {MAX_SIDE} "
                       "pixels a side. Split the page into parts, or downscale it (the "
                       "`downscale` filter, or a lower dpi for PDFs).")


def check_variables(variables: dict[str, str] | None) -> dict[str, str]:
    """Validate Tesseract ``-c name=value`` variables.

    Names are lower-case identifiers; values are plain tokens (letters, digits,
    ``_.-``), so nothing can add command-line arguments. Variables that name or
    write files are refused.
    """
    if variables is not None and not isinstance(variables, Mapping):
        raise ArgumentError(f"`variables` must be a dict of Tesseract variables, e.g. "
                            f"{{'preserve_interword_spaces': '1'}}, got {variables!r}.")
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


# The TSV renderer's columns; the API's GetTSVText gives the rows without this header.
_TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left",
                "top", "width", "height", "conf", "text")


def _parse_tsv(tsv: str) -> list[Word]:
    words = []
    header = None if tsv.startswith("level\t") else _TSV_COLUMNS
    for row in csv.DictReader(io.StringIO(tsv), fieldnames=header, delimiter="\t",
                              quoting=csv.QUOTE_NONE):
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
    words: list[Word] | None  #: None when not asked for
    confidences: list[int]    #: every word's confidence, as Tesseract's MeanTextConf uses them
    files: dict[str, bytes]   #: renderer outputs asked for: {"hocr": ..., "pdf": ...}


RENDERERS = ("hocr", "pdf")


def recognize(image: np.ndarray, *, lang: str = "eng", psm: int = 3,
              variables: dict[str, str] | None = None, dpi: int | None = None,
              timeout: float = 0, renderers: tuple[str, ...] = (), words: bool = True
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
        Seconds before the run is stopped (0: no limit; the in-process engine counts
        whole milliseconds, at least 1).
    renderers : tuple of {"hocr", "pdf"}
        Tesseract's own hOCR and searchable-PDF outputs, from the same run.
    words : bool
        Also list the words with their boxes. Without them the in-process engine
        skips Tesseract's TSV output, about 2 % of a page's time; the word
        confidences come either way.

    For Chinese (``chi_sim``, ``chi_tra``), the ASCII marks Tesseract reads next to Han
    characters are given their full-width forms in the text and the words
    (:func:`~bgocr_nb.punctuation.full_width`); hOCR and PDF are Tesseract's own.
    """
    check_lang(lang)
    check_psm(psm)
    timeout = check_timeout(timeout)
    check_size(image)
    bad = [r for r in renderers if r not in RENDERERS]
    if bad:
        raise ArgumentError(f"Unknown renderer {bad[0]!r}: use {' or '.join(RENDERERS)}.")
    options = dict(lang=lang, psm=psm, variables=check_variables(variables),
                   dpi=int(dpi) if dpi else None, timeout=timeout, renderers=tuple(renderers),
                   words=words)
    found = (_recognize_api if engine() == "api" else _recognize_cli)(image, **options)
    return _full_width_marks(found) if punctuation.is_chinese(lang) else found


def _full_width_marks(found: Recognition) -> Recognition:
    """``found`` with :func:`punctuation.full_width` applied to its text and words; a
    word's marks are read after the last character of the word before it on its line."""
    words = found.words
    if words:
        fixed, before = [], None
        for word in words:
            same_line = before is not None and (before.block, before.line) == (word.block,
                                                                               word.line)
            tail = before.text[-1] if same_line else ""
            fixed.append(replace(word, text=punctuation.full_width(tail + word.text)[len(tail):]))
            before = word
        words = fixed
    return replace(found, text=punctuation.full_width(found.text), words=words)


def prepare(*, lang: str = "eng", psm: int = 3, variables: dict[str, str] | None = None
            ) -> None:
    """Load this thread's in-process engine for these settings now (a tenth of a
    second), so that the first page does not wait for it; nothing for the ``cli``
    engine, which starts a program per page. Raises what :func:`recognize` would
    for these settings (a missing language, say)."""
    check_lang(lang)
    check_psm(psm)
    variables = check_variables(variables)
    if engine() == "api":
        _api(lang, psm, variables)


def _write_bmp(image: np.ndarray, folder: str) -> Path:
    """The page as an uncompressed BMP: the cheapest format to write and for Tesseract
    to read (Leptonica's PNM reader costs about 0.1 s more a page, PNG decoding 0.03 s)."""
    import cv2

    path = Path(folder) / "page.bmp"
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), image):
        raise OcrError(f"Could not write a {image.shape} {image.dtype} page for Tesseract.")
    return path


def _read_outputs(base: Path, renderers: tuple[str, ...]) -> tuple[str, dict[str, bytes]]:
    text = base.with_suffix(".txt").read_text(encoding="utf-8")
    return text, {r: base.with_suffix(f".{r}").read_bytes() for r in renderers}


def whole_confidences(words: list[Word]) -> list[int]:
    """The words' whole-number confidences, as Tesseract's ``AllWordConfidences`` gives them."""
    return [int(w.confidence) for w in words]


@contextlib.contextmanager
def _program_errors(timeout: float) -> Iterator[None]:
    """Run the ``tesseract`` program through pytesseract, its errors made ours."""
    import pytesseract

    # pytesseract starts Tesseract with os.environ itself: set it once (never unset
    # it, which would race with other threads' runs); users may override it
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        yield
    except pytesseract.TesseractNotFoundError:
        version.cache_clear()
        raise MissingDependencyError(f"The `tesseract` program was not found. "
                                     f"{INSTALL_HINT}") from None
    except pytesseract.TesseractError as exc:  # a RuntimeError too: caught first
        raise OcrError(f"Tesseract failed (status {exc.status}): {exc.message}") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise OcrError(f"Tesseract did not finish within {timeout} s.") from exc


def _recognize_cli(image, *, lang, psm, variables, dpi, timeout, renderers,
                   words) -> Recognition:
    """One run of the ``tesseract`` program writing text, TSV and the renderers."""
    import pytesseract

    _set_command()
    config = [f"--psm {psm}", "-c tessedit_create_tsv=1"]
    config += [f"-c tessedit_create_{r}=1" for r in renderers]
    config += [f"-c {k}={v}" for k, v in variables.items()]
    if dpi:
        config.append(f"--dpi {dpi}")
    with tempfile.TemporaryDirectory(prefix="bgocr-") as tmp:
        src = _write_bmp(image, tmp)
        base = Path(tmp) / "out"
        with _program_errors(timeout):
            pytesseract.pytesseract.run_tesseract(str(src), str(base), "txt", lang,
                                                  config=" ".join(config), timeout=timeout)
        text, files = _read_outputs(base, renderers)
        found = _parse_tsv(base.with_suffix(".tsv").read_text(encoding="utf-8"))
    return Recognition(text.strip("\f\n "), found if words else None, whole_confidences(found),
                       files)


_thread = threading.local()
_init_lock = threading.Lock()
_APIS_PER_THREAD = 4  # settings kept loaded in one thread (each holds its models)


def _api(lang: str, psm: int, variables: dict[str, str]):
    """This thread's tesserocr engine for these settings, made once and reused."""
    import tesserocr

    apis = _thread.__dict__.setdefault("apis", {})
    key = (lang, psm, tuple(sorted(variables.items())))
    if key not in apis:
        if len(apis) >= _APIS_PER_THREAD:
            apis.pop(next(iter(apis))).End()
        try:
            with _init_lock:  # initialisation may set process-wide parameters
                apis[key] = tesserocr.PyTessBaseAPI(path=f"{tessdata()}{os.sep}", lang=lang,
                                                    psm=psm, variables=variables)
        except RuntimeError as exc:
            raise MissingDependencyError(f"Tesseract could not load {lang!r} from "
                                         f"{tessdata()}: {exc}") from None
    return apis[key]


def _recognize_api(image, *, lang, psm, variables, dpi, timeout, renderers,
                   words) -> Recognition:
    """Recognise with this thread's in-process engine; renderers go through
    Tesseract's own document renderers, as the program's would."""
    api = _api(lang, psm, variables)
    limit_ms = max(1, math.ceil(round(timeout * 1000, 6))) if timeout else 0  # 0 ms: no limit
    files: dict[str, bytes] = {}
    if renderers:
        settings = {f"tessedit_create_{r}": "1" for r in ("txt", *renderers)}
        settings["user_defined_dpi"] = str(dpi or 0)
        with tempfile.TemporaryDirectory(prefix="bgocr-") as tmp:
            src, base = _write_bmp(image, tmp), Path(tmp) / "out"
            try:
                for name, value in settings.items():
                    api.SetVariable(name, value)
                done = api.ProcessPages(str(base), str(src), None, limit_ms)
            finally:  # this engine serves the thread's next pages: back to defaults
                for name in settings:
                    api.SetVariable(name, "0")
            if done:
                text, files = _read_outputs(base, renderers)
    else:
        page = np.ascontiguousarray(image)
        height, width = page.shape[:2]
        depth = 1 if page.ndim == 2 else page.shape[2]
        api.SetImageBytes(page.tobytes(), width, height, depth, width * depth)
        if dpi:
            api.SetSourceResolution(dpi)
        done = api.Recognize(limit_ms)
        if done:
            text = api.GetUTF8Text()
    if not done:
        raise OcrError(f"Tesseract did not finish within {timeout} s." if timeout
                       else "Tesseract failed to recognise the page.")
    return Recognition(text.strip("\f\n "), _parse_tsv(api.GetTSVText(0)) if words else None,
                       list(api.AllWordConfidences()), files)


@dataclass(frozen=True)
class Orientation:
    """Tesseract's orientation and script detection (OSD) of one page."""

    turn: int                 #: quarter turns counter-clockwise that make the page upright
    confidence: float         #: Tesseract's orientation confidence (0 when it could not tell)
    script: str | None = None  #: the script it saw, e.g. ``Latin``, ``Han``
    script_confidence: float = 0.0

    @property
    def degrees(self) -> int:
        """The page's turn from upright, in degrees (0, 90, 180, 270)."""
        return 90 * self.turn


def check_osd() -> None:
    """Raise :class:`MissingDependencyError` unless Tesseract's ``osd`` data is installed."""
    if "osd" not in _packs():
        raise MissingDependencyError(
            "Finding a page's orientation needs Tesseract's orientation data (osd), which "
            "is not installed. Install it with `sudo apt-get install tesseract-ocr-osd` or "
            "put osd.traineddata in TESSDATA_PREFIX.")


def orientation(image: np.ndarray, *, dpi: int | None = None, timeout: float = 0
                ) -> Orientation:
    """Which way up a page is, by Tesseract's OSD (``--psm 0``).

    Parameters
    ----------
    image : numpy.ndarray
        uint8, gray or RGB; best a preprocessed page (dark text on white).
    dpi : int, optional
        Resolution to tell Tesseract.
    timeout : float
        Seconds allowed (0: no limit); the ``cli`` engine only.

    Returns
    -------
    Orientation
        ``numpy.rot90(image, result.turn)`` is upright. A page with too little
        text to tell gives turn 0 and confidence 0.
    """
    check_osd()
    timeout = check_timeout(timeout)
    check_size(image)
    if engine() == "api":
        api = _api("osd", 0, {})
        page = np.ascontiguousarray(image)
        depth = 1 if page.ndim == 2 else page.shape[2]
        api.SetImageBytes(page.tobytes(), page.shape[1], page.shape[0], depth,
                          page.shape[1] * depth)
        if dpi:
            api.SetSourceResolution(int(dpi))
        found = api.DetectOrientationScript()
        if not found:
            return Orientation(0, 0.0)
        return Orientation(int(found["orient_deg"]) // 90 % 4, float(found["orient_conf"]),
                           found["script_name"], float(found["script_conf"]))
    import pytesseract

    _set_command()
    config = "--psm 0" + (f" --dpi {int(dpi)}" if dpi else "")
    with tempfile.TemporaryDirectory(prefix="bgocr-") as tmp:
        src = _write_bmp(image, tmp)
        try:
            with _program_errors(timeout):
                out = pytesseract.image_to_osd(str(src), config=config, timeout=timeout)
        except OcrError as exc:
            if "Too few characters" in str(exc):
                return Orientation(0, 0.0)
            raise
    fields = dict(re.findall(r"^([A-Za-z ]+):\s*(.+)$", out, flags=re.M))
    return Orientation(int(fields["Orientation in degrees"]) // 90 % 4,
                       float(fields["Orientation confidence"]), fields.get("Script"),
                       float(fields.get("Script confidence", 0.0)))
