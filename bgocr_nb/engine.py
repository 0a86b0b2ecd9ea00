"""The engine: settings resolved once (device, filters, language), reused for many pages."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Iterable, Iterator, Union

import numpy as np

from . import tesseract
from .devices import DeviceSpec, Selection, select_device
from .errors import ArgumentError, MissingDependencyError, OcrError
from .io import MAX_PIXELS, Page, Source, check_dpi, describe, load_pages
from .pipeline import Pipeline, Preprocessed, StepRecord
from .results import LOW_CONFIDENCE, OcrResult, PageFailure, ResultSet, as_page_error


OCR_RETRIES = 2  # extra attempts for a page whose Tesseract run failed
# Tesseract's orientation confidence a turn needs. On 32 preprocessed benchmark pages
# turned all four ways (150 dpi) OSD was never wrong, and right turns scored 0.1-20
# (median 13): OCRmyPDF's default of 14 would leave most of them sideways.
ROTATE_CONFIDENCE = 5.0
ROTATE_WHEN = ("weak", "always", "never")  # rotate_pages: when OSD looks at a page


class Engine:
    """Preprocess and recognise pages with fixed settings.

    Make one and reuse it over a folder: the device is probed, the filter spec
    parsed and the language packs checked once, up front, so a mistake fails
    before the first page.

    Parameters
    ----------
    device : {"auto", "cpu", "gpu", "gpu:N"} or int
    filters : str
        Filter spec, ``"auto"`` by default, ``"none"`` for the raw image.
    lang : str
        Tesseract languages, e.g. ``"eng"``, ``"chi_sim"``, ``"eng+chi_sim"``.
    psm : int
        Tesseract page segmentation mode.
    variables : dict, optional
        Extra Tesseract ``-c`` variables.
    dpi : float
        PDF rendering resolution.
    max_pixels : int
        Largest page accepted.
    keep_original : bool
        Keep each loaded page in its result (for before/after views).
    timeout : float
        Seconds allowed to Tesseract per page (0: no limit).
    rotate_pages : {"weak", "always", "never"} or bool
        When to turn a page upright, by a quarter, half or three-quarter turn, as
        Tesseract's orientation detection (OSD) finds it: for scans fed in sideways
        or upside down. ``"weak"`` (the default): only a page read with a mean
        confidence under ``LOW_CONFIDENCE`` (an upside-down page reads near 35) is
        looked at, turned and read again, and the better reading kept; pages read
        well cost nothing more, and without the ``osd`` data nothing is turned.
        ``"always"`` (True): every page is turned upright before it is read, about
        0.25 s a page more; needs the ``osd`` data. ``"never"`` (False).
    rotate_confidence : float
        The OSD confidence a turn needs.
    password : str, optional
        For encrypted PDFs.

    Raises
    ------
    ArgumentError
        For a bad setting (unknown filter, device or language, a ``variables``
        that is not a dict, a negative ``timeout`` ...).

    Examples
    --------
    >>> engine = Engine(device="cpu", filters="auto", lang="eng")
    >>> engine.device.id
    'cpu'
    """

    def __init__(self, *, device: DeviceSpec | Selection = "auto",
                 filters: Union[str, Iterable[str], None] = "auto", lang: str = "eng",
                 psm: int = 3, variables: dict[str, str] | None = None, dpi: float = 300,
                 max_pixels: int = MAX_PIXELS, keep_original: bool = True,
                 timeout: float = 0, rotate_pages: str | bool = "weak",
                 rotate_confidence: float = ROTATE_CONFIDENCE,
                 password: str | None = None) -> None:
        self.pipeline = Pipeline(filters)
        self.selection = device if isinstance(device, Selection) else select_device(device)
        self.lang = tesseract.check_lang(lang)
        self.psm = tesseract.check_psm(psm)
        self.variables = tesseract.check_variables(variables)
        self.dpi, self.max_pixels = check_dpi(dpi), max_pixels
        self.keep_original, self.timeout = keep_original, tesseract.check_timeout(timeout)
        self.password = check_password(password)
        self.rotate_pages = check_rotate(rotate_pages)
        if self.rotate_pages == "always":
            tesseract.check_osd()
        self.rotate_confidence = float(rotate_confidence)
        self._second_look = self.rotate_pages == "weak" and _has_osd()
        self._as_it_came = Pipeline("grayscale")

    @property
    def device(self):
        return self.selection.device

    def __repr__(self) -> str:
        return (f"Engine(device={self.device.id!r}, filters={self.pipeline.spec!r}, "
                f"lang={self.lang!r}, psm={self.psm})")

    def prepare(self) -> None:
        """Load the calling thread's Tesseract engine for these settings ahead of the
        first page (see :func:`bgocr_nb.tesseract.prepare`)."""
        tesseract.prepare(lang=self.lang, psm=self.psm, variables=self.variables)

    def preprocess(self, image: Any) -> Preprocessed:
        """Run the filters on one image (array-like)."""
        return self.pipeline.run(image, device=self.selection)

    def recognize(self, page: Page, *, load_seconds: float = 0.0,
                  preprocessed: Preprocessed | None = None,
                  renderers: tuple[str, ...] = (), words: bool = True) -> OcrResult:
        """Preprocess (unless ``preprocessed`` is given) and OCR one loaded page
        (its words with their boxes unless ``words=False``).

        A Tesseract run that fails (its process killed, say) is tried again up to
        ``OCR_RETRIES`` times before the error is raised.
        """
        start = time.perf_counter()
        pre = preprocessed if preprocessed is not None else self.preprocess(page.image)
        rotation = 0
        if self.rotate_pages == "always":
            pre, rotation = self._upright(page, pre)
        found, ocr_s = self._read(page, pre, renderers, words)
        if self._second_look and _mean(found) < LOW_CONFIDENCE:
            pre, rotation, found, again_s = self._turn_weak(page, pre, found, renderers, words)
            ocr_s += again_s
        if not found.text.strip() and self.pipeline.steps:
            pre, rotation, found, again_s = self._read_as_it_came(page, pre, rotation, found,
                                                                  renderers, words)
            ocr_s += again_s
        oriented = pre.steps and pre.steps[0].name == "rotate"  # OSD looked at the page
        return OcrResult(
            text=found.text, words=found.words or [], confidences=found.confidences,
            image=pre.image,
            original=page.image if self.keep_original else None, source=page.source,
            page=page.index, device=pre.device.id, lang=self.lang, filters=self.pipeline.spec,
            steps=pre.steps, angle=pre.angle, rotation=rotation, files=found.files,
            timings={"load": load_seconds, "preprocess": pre.seconds,
                     **({"orient": pre.steps[0].seconds} if oriented else {}),
                     "ocr": ocr_s,
                     "total": load_seconds + time.perf_counter() - start})

    def _read(self, page: Page, pre: Preprocessed, renderers: tuple[str, ...], words: bool
              ) -> tuple[tesseract.Recognition, float]:
        """Tesseract's reading of a preprocessed page, and its seconds (the last try's)."""
        for attempt in range(OCR_RETRIES + 1):
            t0 = time.perf_counter()
            try:
                found = tesseract.recognize(pre.image, lang=self.lang, psm=self.psm,
                                            variables=self.variables, timeout=self.timeout,
                                            renderers=renderers, dpi=_resolution(page, pre),
                                            words=words)
                return found, time.perf_counter() - t0
            except OcrError:
                if attempt == OCR_RETRIES:
                    raise
        raise AssertionError("unreachable")

    def _turn_weak(self, page: Page, pre: Preprocessed, found: tesseract.Recognition,
                   renderers: tuple[str, ...], words: bool
                   ) -> tuple[Preprocessed, int, tesseract.Recognition, float]:
        """A page read weakly, turned as OSD finds it and read again; the reading with
        the higher mean confidence is kept. Returns the page as kept (its first step
        the ``rotate`` record), its turn, its reading and the seconds of the second."""
        weak = f"read weakly (mean confidence {_mean(found):.0f} < {LOW_CONFIDENCE:.0f}): "
        turned, rotation = self._upright(page, pre)
        step, *rest = turned.steps
        turned = replace(turned, steps=[replace(step, reason=weak + step.reason), *rest])
        if not rotation:
            return turned, 0, found, 0.0
        again, seconds = self._read(page, turned, renderers, words)
        if _mean(again) > _mean(found):
            return turned, rotation, again, seconds
        kept = replace(step, applied=False, params={},
                       reason=f"{weak}{step.reason}; read turned at {_mean(again):.0f}, no "
                              "better: kept as it was")
        return replace(pre, steps=[kept, *pre.steps], seconds=turned.seconds), 0, found, seconds

    def _read_as_it_came(self, page: Page, pre: Preprocessed, rotation: int,
                         found: tesseract.Recognition, renderers: tuple[str, ...],
                         words: bool) -> tuple[Preprocessed, int, tesseract.Recognition, float]:
        """A preprocessed page that read as empty, read again as it came (gray): what
        preprocessing makes of a picture can upset Tesseract's layout analysis so that
        it finds no text on the whole page. That reading is kept where it is confident
        (mean confidence ``LOW_CONFIDENCE`` or more), so a blank page's specks of noise
        stay unread. Returns the page as kept, its turn, its reading and the seconds
        of the second reading."""
        plain = self._as_it_came.run(page.image, device=self.selection)
        again, seconds = self._read(page, plain, renderers, words)
        if not again.text.strip() or _mean(again) < LOW_CONFIDENCE:
            return pre, rotation, found, seconds
        step = StepRecord("unprocessed", True, "the preprocessed page read empty; as it came, "
                          f"{len(again.confidences)} words at mean confidence "
                          f"{_mean(again):.0f}", {}, plain.seconds)
        kept = replace(plain, steps=[step, *plain.steps], seconds=pre.seconds + plain.seconds)
        return kept, 0, again, seconds

    def _upright(self, page: Page, pre: Preprocessed) -> tuple[Preprocessed, int]:
        """Turn the page upright as Tesseract's OSD sees it on the preprocessed page
        (where it is confident enough), and preprocess it again that way up, so skew
        and text size are measured along upright lines. Returns the preprocessed
        page, its first step a ``rotate`` record, and the degrees turned."""
        t0 = time.perf_counter()
        found = tesseract.orientation(pre.image, dpi=_resolution(page, pre),
                                      timeout=self.timeout)
        turn = found.turn if found.confidence >= self.rotate_confidence else 0
        if not found.confidence:
            reason = "orientation unknown: too little text"
        elif not found.turn:
            reason = f"upright (Tesseract OSD, confidence {found.confidence:.1f})"
        else:
            reason = (f"Tesseract OSD: turned {found.degrees} deg, confidence "
                      f"{found.confidence:.1f}" + ("" if turn else
                                                   f" < {self.rotate_confidence:g}"))
        step = StepRecord("rotate", bool(turn), reason,
                          {"degrees": found.degrees} if turn else {}, time.perf_counter() - t0)
        if turn:
            again = self.preprocess(np.ascontiguousarray(np.rot90(page.image, turn)))
            pre = replace(again, seconds=pre.seconds + again.seconds)
        return replace(pre, steps=[step, *pre.steps]), found.degrees if turn else 0

    def pages(self, source: Source) -> Iterator[Page]:
        """The pages of one source, loaded with this engine's limits.

        Never raises for bad input: a source that cannot be read at all gives one
        Page with ``index`` None and ``error`` set; a corrupt page of a multi-page
        file gives a Page with ``error`` set, and the other pages follow. An
        unexpected error while reading (a bug) ends the source with a Page whose
        ``error`` says so (see :func:`~bgocr_nb.results.as_page_error`).
        """
        name, loaded = describe(source), 0
        try:
            for page in load_pages(source, dpi=self.dpi, max_pixels=self.max_pixels,
                                   password=self.password):
                loaded += 1
                yield page
        except Exception as exc:
            where = f"{name} (after page {loaded})" if loaded else name
            yield Page(None, name, None, as_page_error(exc, where, None))

    def iter_results(self, source: Source) -> Iterator[OcrResult | PageFailure]:
        """Recognise every page of ``source``; a failing page becomes a PageFailure."""
        for page, load_s in timed(self.pages(source)):
            if page.error is not None:
                yield PageFailure(page.source, page.index, page.error)
                continue
            try:
                yield self.recognize(page, load_seconds=load_s)
            except Exception as exc:  # a bug too fails this page only
                yield PageFailure(page.source, page.index,
                                  as_page_error(exc, page.source, page.index))

    def ocr(self, source: Source) -> OcrResult | ResultSet:
        """Recognise ``source``: an :class:`OcrResult` for one page, else a :class:`ResultSet`.

        Raises
        ------
        BgocrError
            When a single-page source fails (multi-page sources record the failing
            page in the result set and keep the others); an unexpected error (a bug)
            comes as a BgocrError that names it, the original as its ``__cause__``.
        """
        results = ResultSet()
        for item in self.iter_results(source):
            results.append(item)
        if len(results) == 1:
            only = results[0]
            if only.ok:
                return only
            raise only.exception
        return results


def check_rotate(rotate_pages: Any) -> str:
    """One of ``ROTATE_WHEN`` from a ``rotate_pages`` setting (True: "always", False: "never")."""
    if isinstance(rotate_pages, bool):
        return "always" if rotate_pages else "never"
    if rotate_pages not in ROTATE_WHEN:
        raise ArgumentError(f"`rotate_pages` must be one of {', '.join(map(repr, ROTATE_WHEN))} "
                            f"(or True / False), got {rotate_pages!r}.")
    return rotate_pages


def _has_osd() -> bool:
    """Whether Tesseract's orientation data is installed."""
    try:
        tesseract.check_osd()
    except MissingDependencyError:
        return False
    return True


def _mean(found: tesseract.Recognition) -> float:
    """A reading's mean word confidence; -1 for one without words."""
    return float(np.mean(found.confidences)) if found.confidences else -1.0


def check_password(password: Any) -> str | None:
    """Validate the password of encrypted PDFs: a string or None."""
    if password is not None and not isinstance(password, str):
        raise ArgumentError(f"`password` must be a string (the PDF's user password) or None, "
                            f"got {type(password).__name__}.")
    return password


def _resolution(page: Page, pre: Preprocessed) -> int | None:
    """The resolution Tesseract would read from the page's file, as preprocessed."""
    return round(page.dpi * pre.scale) if page.dpi else None


def timed(items: Iterator[Any]) -> Iterator[tuple[Any, float]]:
    """Each item of ``items`` with the seconds it took to produce."""
    while True:
        t0 = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        yield item, time.perf_counter() - t0


def ocr(source: Source, *, device: DeviceSpec = "auto", filters: str = "auto",
        lang: str = "eng", psm: int = 3, password: str | None = None,
        **options: Any) -> OcrResult | ResultSet:
    """Load, preprocess and recognise a page (or every page of a document).

    Parameters
    ----------
    source : path, URL, bytes, numpy.ndarray or PIL.Image.Image
    device : {"auto", "cpu", "gpu", "gpu:N"} or int
    filters : str
        Filter spec; ``"auto"`` measures each page and applies what it needs.
    lang : str
    psm : int
    password : str, optional
        For encrypted PDFs.
    **options
        Passed to :class:`Engine` (``variables``, ``dpi``, ``max_pixels`` ...).

    Returns
    -------
    OcrResult or ResultSet
        One result for a one-page source, a result set for more.
    """
    return Engine(device=device, filters=filters, lang=lang, psm=psm, password=password,
                  **options).ocr(source)


def preprocess(source: Source, *, device: DeviceSpec = "auto",
               filters: Union[str, Iterable[str], None] = "auto",
               password: str | None = None) -> Preprocessed:
    """Preprocess the first page of ``source`` (a path, URL, bytes, array or PIL image).

    Parameters
    ----------
    source : path, URL, bytes, numpy.ndarray or PIL.Image.Image
    device : {"auto", "cpu", "gpu", "gpu:N"} or int
    filters : str or list of str
    password : str, optional
        For encrypted PDFs.

    Returns
    -------
    Preprocessed
        The uint8 image, the steps applied and why, the deskew angle, the device.
    """
    from .io import load_image

    pipeline = Pipeline(filters)
    return pipeline.run(load_image(source, password=check_password(password)), device=device)
