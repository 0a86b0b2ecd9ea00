"""Result types: one recognised page, and a set of pages (with failures)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import ArgumentError, BgocrError
from .pipeline import StepRecord
from .tesseract import Word, whole_confidences

LOW_CONFIDENCE = 70.0  # words under this are highlighted; pages under it flagged


@dataclass(repr=False)
class OcrResult:
    """The text of one page, how it was found, and the image Tesseract read.

    Attributes
    ----------
    text : str
    words : list of Word
        With boxes in the preprocessed image's pixels and confidence 0-100 (empty
        when a batch was not asked for words).
    image : numpy.ndarray
        The preprocessed uint8 page.
    original : numpy.ndarray or None
        The page as loaded (for before/after views).
    source : str
    page : int
        0-based page number within the source.
    device : str
        ``"cpu"`` or ``"gpu:N"``.
    lang, filters : str
        The Tesseract languages and the filter spec that ran.
    steps : list of StepRecord
        Each filter applied or skipped, and why.
    angle : float
        Deskew angle removed, degrees counter-clockwise.
    rotation : int
        Degrees the page was turned counter-clockwise to stand upright (0, 90, 180,
        270), with ``rotate_pages``; the words' boxes are on the turned page.
    timings : dict
        Seconds per stage: ``load``, ``preprocess``, ``ocr``, ``total``.
    files : dict
        Tesseract renderer outputs asked for (``"hocr"``, ``"pdf"``), as bytes.
    confidences : list of int, optional
        Every word's whole-number confidence, as Tesseract's ``MeanTextConf``
        averages them; taken from ``words`` when not given.
    """

    text: str
    words: list[Word]
    image: np.ndarray
    original: np.ndarray | None = None
    source: str = "<array>"
    page: int = 0
    device: str = "cpu"
    lang: str = "eng"
    filters: str = "auto"
    steps: list[StepRecord] = field(default_factory=list)
    angle: float = 0.0
    rotation: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    confidences: list[int] | None = None

    def __post_init__(self) -> None:
        if self.confidences is None:
            self.confidences = whole_confidences(self.words)

    @property
    def word_count(self) -> int:
        return len(self.confidences)

    @property
    def mean_confidence(self) -> float:
        """Mean of the words' whole-number confidences, 0-100, as Tesseract's
        ``MeanTextConf`` but not rounded (NaN when no word was found)."""
        if not self.confidences:
            return math.nan
        return float(np.mean(self.confidences))

    @property
    def ok(self) -> bool:
        return True

    def needs_review(self, threshold: float = LOW_CONFIDENCE) -> bool:
        """Whether the page's mean confidence is under ``threshold`` (or no text was found)."""
        conf = self.mean_confidence
        return math.isnan(conf) or conf < threshold

    def save_preprocessed(self, path: str | Path) -> Path:
        """Write the preprocessed image (format from the suffix: .png, .tif, .jpg ...).

        Raises
        ------
        ArgumentError
            When ``path`` cannot be written (see :func:`save_image`).
        """
        return save_image(self.image, path)

    def words_dataframe(self):
        """The words as a :class:`pandas.DataFrame`."""
        import pandas as pd

        cols = ["text", "confidence", "left", "top", "width", "height", "block", "line"]
        return pd.DataFrame([w.__dict__ for w in self.words], columns=cols)

    def to_dict(self, *, words: bool = False,
                review_threshold: float = LOW_CONFIDENCE) -> dict[str, Any]:
        """A JSON-ready record of the page."""
        conf = self.mean_confidence
        record = {"source": self.source, "page": self.page, "text": self.text,
                  "mean_confidence": None if math.isnan(conf) else round(conf, 2),
                  "needs_review": self.needs_review(review_threshold),
                  "word_count": self.word_count,
                  "device": self.device, "lang": self.lang, "filters": self.filters,
                  "angle": round(self.angle, 3), "rotation": self.rotation,
                  "steps": [str(s) for s in self.steps if s.applied],
                  "timings": {k: round(v, 4) for k, v in self.timings.items()},
                  "error": None}
        if words:
            record["words"] = [w.__dict__ for w in self.words]
        return record

    def plot(self, **kwargs: Any):
        """Before/after with intensity histograms (see :func:`bgocr_nb.plots.plot_result`)."""
        from .plots import plot_result

        return plot_result(self, **kwargs)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        conf = self.mean_confidence
        first = self.text.strip().splitlines()[0][:60] if self.text.strip() else ""
        return (f"<OcrResult {self.source} p{self.page + 1}: {self.word_count} words, "
                f"confidence {conf:.1f}, {self.device}, angle {self.angle:+.2f}, "
                f"{self.timings.get('total', 0):.2f} s: {first!r}>")

    def _repr_html_(self) -> str:
        from .display import result_html

        return result_html(self)


@dataclass(repr=False)
class PageFailure:
    """A page (or a whole source) that could not be read or recognised."""

    source: str
    page: int | None
    exception: BgocrError

    ok = False
    text = ""
    mean_confidence = math.nan

    @property
    def error(self) -> str:
        return str(self.exception)

    @property
    def kind(self) -> str:
        return type(self.exception).__name__

    @property
    def exit_code(self) -> int:
        return self.exception.exit_code

    def to_dict(self, **_: Any) -> dict[str, Any]:
        return failure_record(self.source, self.page, self.exception)

    def __repr__(self) -> str:
        where = self.source if self.page is None else f"{self.source} p{self.page + 1}"
        return f"<PageFailure {where}: {self.kind}: {self.error}>"


def failure_record(source: str, page: int | None, exc: BaseException) -> dict[str, Any]:
    """The record of a page (or source, ``page`` None) that failed."""
    return {"source": source, "page": page, "text": "", "mean_confidence": None,
            "needs_review": None, "word_count": 0, "error": f"{type(exc).__name__}: {exc}"}


def as_page_error(exc: Exception, source: str, page: int | None) -> BgocrError:
    """``exc`` as the error of one page (or source, ``page`` None).

    A :class:`BgocrError` is returned as it is. Anything else (a bug here or in a
    library, or memory running out) becomes a BgocrError that names the page, the
    exception's type and message, and what to do; ``exc`` is its ``__cause__``.
    """
    if isinstance(exc, BgocrError):
        return exc
    where = source if page is None else f"{source} page {page + 1}"
    kind = type(exc).__qualname__
    if type(exc).__module__ != "builtins":
        kind = f"{type(exc).__module__}.{kind}"
    detail = " ".join(str(exc).split()) or "no message"
    if isinstance(exc, MemoryError):
        hint = "The page needs more memory than is free: lower dpi= or max_pixels=, or free memory."
    else:
        hint = ("This is a bug in bgocr_nb or a library it uses: please report it, with this "
                "message and the input if you can share it.")
    error = BgocrError(f"{where}: unexpected {kind} ({detail}). {hint}")
    error.__cause__ = exc
    return error


def writable_folder(path: Any, name: str) -> Path:
    """The folder ``path`` (given as parameter ``name``), made if missing.

    Raises
    ------
    ArgumentError
        When ``path`` is not a path, is an existing file, or cannot be made.
    """
    try:
        folder = Path(path)
    except TypeError:
        raise ArgumentError(f"`{name}` must be a folder path, got {path!r}.") from None
    if folder.exists() and not folder.is_dir():
        raise ArgumentError(f"{name}={str(folder)!r} is a file, not a folder: give a folder "
                            "(it is made if missing).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise ArgumentError(f"{name}={str(folder)!r}: cannot make the folder ({os_reason(exc)}); "
                            "give a folder you can write to.") from None
    return folder


def os_reason(exc: BaseException) -> str:
    """An OSError's reason and file, e.g. ``Not a directory: 'a/b'``."""
    reason = getattr(exc, "strerror", None) or str(exc)
    filename = getattr(exc, "filename", None)
    return f"{reason}: {filename!r}" if filename else reason


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 page to ``path`` (format from the suffix), making its folder.

    Raises
    ------
    ArgumentError
        When the suffix names no image format, or the file or its folder cannot
        be written (a file in the way, no permission, a read-only file system).
    """
    from PIL import Image

    try:
        path = Path(path)
    except TypeError:
        raise ArgumentError(f"The image path must be a path, got {path!r}.") from None
    writable_folder(path.parent, "folder")
    if path.is_dir():
        raise ArgumentError(f"{path} is a folder: give a file name, e.g. {path / 'page.png'}.")
    try:
        Image.fromarray(image).save(path)
    except (KeyError, ValueError) as exc:  # PIL: an unknown or missing suffix
        raise ArgumentError(f"{path}: cannot tell the image format from the suffix ({exc}); "
                            "use .png, .tif or .jpg.") from None
    except OSError as exc:
        raise ArgumentError(f"{path}: cannot write the image ({exc.strerror or exc}); give a "
                            "path in a folder you can write to.") from None
    return path


class ResultSet:
    """Results of several pages, in order, failures included.

    Behaves as a list of :class:`OcrResult` and :class:`PageFailure`.
    """

    def __init__(self, items: list[OcrResult | PageFailure] | None = None) -> None:
        self.items: list[OcrResult | PageFailure] = list(items or [])

    def append(self, item: OcrResult | PageFailure) -> None:
        self.items.append(item)

    def __iter__(self) -> Iterator[OcrResult | PageFailure]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    @property
    def pages(self) -> list[OcrResult]:
        return [r for r in self.items if r.ok]

    @property
    def failures(self) -> list[PageFailure]:
        return [r for r in self.items if not r.ok]

    @property
    def text(self) -> str:
        """All recognised text, pages separated by form feeds (as Tesseract does)."""
        return "\n\f".join(r.text for r in self.pages)

    def needs_review(self, threshold: float = LOW_CONFIDENCE) -> list[OcrResult]:
        return [r for r in self.pages if r.needs_review(threshold)]

    def to_records(self, *, words: bool = False) -> list[dict[str, Any]]:
        return [r.to_dict(words=words) for r in self.items]

    def to_dataframe(self):
        """One row per page: source, page, confidence, angle, device, timings, error, text."""
        import pandas as pd

        rows = []
        for rec in self.to_records():
            timings = rec.pop("timings", {}) or {}
            rec.pop("steps", None)
            rec.update({f"{k}_s": v for k, v in timings.items()})
            rows.append(rec)
        frame = pd.DataFrame(rows)
        if "page" in frame:  # failed sources have no page: keep the column integer
            frame["page"] = frame["page"].astype("Int64")
        return frame

    def summary(self) -> dict[str, int]:
        return {"pages": len(self.items), "ok": len(self.pages),
                "failed": len(self.failures), "needs_review": len(self.needs_review())}

    def __repr__(self) -> str:
        s = self.summary()
        lines = [f"<ResultSet {s['pages']} pages: {s['ok']} ok, {s['failed']} failed, "
                 f"{s['needs_review']} to review>"]
        lines += [f"  {r!r}" for r in self.items[:20]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .display import results_html

        return results_html(self)
