"""Batch extraction: many pages, streamed, resumable, on one machine or a Dask cluster.

Pages flow through three stages that overlap:

1. a loader thread reads each source and preprocesses its pages on the chosen
   device, at most ``chunk_size`` pages ahead of OCR (this bounds memory; on a
   GPU the memory pool is released after every chunk);
2. ``workers`` OCR threads, each with its own single-threaded Tesseract engine
   kept between pages (see :mod:`bgocr_nb.tesseract`: in process through
   tesserocr, which releases the GIL, or a ``tesseract`` process per page);
3. the writer appends one JSON line per page (flushed and fsynced), writes its
   ``.txt`` atomically, and at the end a CSV summary.

Every finished page is on disk before the next is reported, so an interrupted
batch (Ctrl-C, a kernel restart, ``kill -9``) loses nothing; run it again with
``resume=True`` and it skips the finished pages, each page appearing once.

Keeping one engine per worker saves Tesseract's start-up and model load on every
page: with the in-process engine a batch reads about a third more pages a minute
than with a process per page (benchmarks/RESULTS.md, ``ours`` against ``ours_cli``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import hashlib
import json
import math
import numbers
import os
import queue
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from .backend import opencv_threads
from .devices import CPU, Selection
from .engine import Engine, timed
from .errors import ArgumentError
from .inputs import expand_inputs
from .io import MAX_PIXELS, Page
from .pipeline import Preprocessed
from .results import (LOW_CONFIDENCE, as_page_error, failure_record, os_reason, save_image,
                      writable_folder)
from .tesseract import RENDERERS

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.csv"
TEXT_DIR = "text"
SUMMARY_FIELDS = ["source", "page", "mean_confidence", "needs_review", "word_count", "angle",
                  "rotation", "device", "filters", "steps", "load_s", "preprocess_s", "ocr_s",
                  "error", "text_file"]


class Progress(Protocol):
    """What a batch reports to: the tqdm bar, the notebook widget, or anything alike."""

    @property
    def cancelled(self) -> bool: ...

    def start(self, total: int) -> None:
        """The batch begins with ``total`` sources."""

    def update(self, record: dict | None = None, *, advance: int = 0) -> None:
        """One page finished (its ``record``), and/or ``advance`` sources done."""

    def finish(self) -> None:
        """The batch ended: done, cancelled or failed."""


class TqdmProgress:
    """Progress on a tqdm bar over the sources (a widget in notebooks, text in a terminal),
    with the running page count, failures and pages/s."""

    cancelled = False

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self.kwargs = {"desc": "bgocr", "unit": "file", **tqdm_kwargs}
        self.bar: Any = None
        self.pages = self.failed = 0

    def start(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, **self.kwargs)
        self.t0 = time.perf_counter()

    def update(self, record: dict | None = None, *, advance: int = 0) -> None:
        if record is not None:
            self.pages += 1
            self.failed += bool(record.get("error"))
            rate = self.pages / max(time.perf_counter() - self.t0, 1e-9)
            postfix = {"pages": self.pages, "pages/s": f"{rate:.2f}"}
            if self.failed:
                postfix["failed"] = self.failed
            self.bar.set_postfix(postfix, refresh=False)
        if advance:
            self.bar.update(advance)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()


def page_filename(source: str, page: int, suffix: str) -> str:
    """A stable, safe file name for one page's output: ``<stem>-<hash>-p<N><suffix>``.

    The name never leaves its folder (no separators, no leading dots) and two
    sources with the same stem still get different names.
    """
    stem = re.sub(r"[^\w.-]+", "_", Path(source.rstrip("/")).stem).lstrip(".-_")[:60] or "page"
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem}-{digest}-p{page + 1}{suffix}"


def source_key(source: str) -> str:
    """What resume compares sources by: a local path as its absolute real path (so
    ``a.png``, ``./a.png`` and ``/scans/a.png`` are one file), a URL as it is.

    Examples
    --------
    >>> source_key("https://example.com/a.png")
    'https://example.com/a.png'
    >>> source_key("scans/a.png") == source_key("./scans//a.png")
    True
    """
    if "://" in source:
        return source
    try:
        return os.path.realpath(os.path.expanduser(source))
    except (OSError, ValueError):  # a name the OS refuses (a NUL byte): fails when read
        return os.path.abspath(source)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_record(rec: Any) -> bool:
    """Whether a line of ``results.jsonl`` holds a page record resume can use."""
    if not isinstance(rec, dict) or not isinstance(rec.get("source"), str):
        return False
    if rec.get("error"):
        return rec.get("page") is None or _is_index(rec.get("page"))
    return _is_index(rec.get("page")) and isinstance(rec.get("text"), str)


def read_records(jsonl: Path) -> dict[tuple[str, int | None], dict]:
    """The finished pages in ``jsonl``, by (:func:`source_key`, page).

    Failed pages are left out (they run again), and so is a last line cut short
    by a crash; other lines that hold no page record (broken JSON, no ``source``)
    are skipped with a warning. A page recorded twice keeps its last record.
    """
    data = jsonl.read_bytes()
    lines = data.splitlines()
    cut_short = bool(lines) and not data.endswith((b"\n", b"\r"))
    records: dict[tuple[str, int | None], dict] = {}
    skipped = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            rec = None
        if not _is_record(rec):
            skipped += not (cut_short and i == len(lines) - 1)
        elif not rec.get("error"):
            records[(source_key(rec["source"]), rec["page"])] = rec
    if skipped:
        warnings.warn(f"{jsonl}: skipped {skipped} line{'s' * (skipped > 1)} that hold no page "
                      "record (broken JSON, or no `source`, `page` or `text`); those pages run "
                      "again.", RuntimeWarning, stacklevel=3)
    return records


def _fsync_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file, fsync, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class OutputFolder:
    """The batch's folder: ``results.jsonl``, ``text/*.txt``, ``summary.csv``.

    On opening with ``resume``, records already there are read back (see
    :func:`read_records`: lines cut short by a crash, malformed lines and records
    of failed pages are dropped, the failed pages run again), and the file is
    rewritten atomically, so that each page ends up exactly once. Pages are
    matched by :func:`source_key`, so ``a.png`` and ``./a.png`` are one page;
    records keep their ``source`` as it was given.

    Raises
    ------
    ArgumentError
        When ``path`` is a file, or the folder or its files cannot be written.
    """

    def __init__(self, path: str | os.PathLike, *, resume: bool = True,
                 renderers: Iterable[str] = ()) -> None:
        self.path = writable_folder(path, "out")
        self.renderers = tuple(renderers)
        self.jsonl = self.path / RESULTS_FILE
        self.records: dict[tuple[str, int | None], dict] = {}
        try:
            (self.path / TEXT_DIR).mkdir(exist_ok=True)
            if resume and self.jsonl.exists():
                self.records = read_records(self.jsonl)
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n"
                           for r in self.records.values())
            _fsync_write(self.jsonl, body.encode("utf-8"))
            self._fh = open(self.jsonl, "ab")
        except OSError as exc:
            raise ArgumentError(f"out={str(self.path)!r}: cannot write the results there "
                                f"({os_reason(exc)}); give a folder you can write to.") from None
        self._lock = threading.Lock()

    def done(self, source: str, page: int) -> bool:
        """Whether page ``page`` of ``source`` (however the path is spelt) is finished."""
        return (source_key(source), page) in self.records

    def done_pages(self, source: str) -> frozenset[int | None]:
        """The finished pages of ``source``."""
        key = source_key(source)
        return frozenset(p for (k, p) in self.records if k == key)

    def write(self, record: dict, extra: dict[str, bytes] | None = None) -> None:
        """Store one page: its text file first, then its JSON line (the commit point)."""
        if not record.get("error"):
            name = page_filename(record["source"], record["page"], ".txt")
            _fsync_write(self.path / TEXT_DIR / name, record["text"].encode("utf-8"))
            record["text_file"] = f"{TEXT_DIR}/{name}"
            for ext, data in (extra or {}).items():
                _fsync_write(self.path / TEXT_DIR / page_filename(record["source"],
                                                                   record["page"], f".{ext}"),
                             data)
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.records[(source_key(record["source"]), record["page"])] = record

    def close(self) -> None:
        """Write the CSV summary of every record (this run's and earlier ones)."""
        self._fh.close()
        rows = []
        for rec in self.records.values():
            timings = rec.get("timings") or {}
            rows.append({**{k: rec.get(k) for k in SUMMARY_FIELDS},
                         "steps": "; ".join(rec.get("steps") or []),
                         "load_s": timings.get("load"), "preprocess_s": timings.get("preprocess"),
                         "ocr_s": timings.get("ocr")})
        import io as _io

        buf = _io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        _fsync_write(self.path / SUMMARY_FILE, buf.getvalue().encode("utf-8"))


@dataclass
class BatchResult:
    """Records of every page of a batch (those resumed from disk included).

    Attributes
    ----------
    records : list of dict
        One per page, as written to ``results.jsonl``.
    out : Path or None
    seconds : float
        Wall time of this run.
    pages_run : int
        Pages recognised in this run (not resumed).
    cancelled : bool
    """

    records: list[dict] = field(default_factory=list)
    out: Path | None = None
    seconds: float = 0.0
    pages_run: int = 0
    cancelled: bool = False
    review_threshold: float = LOW_CONFIDENCE

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records)

    def __getitem__(self, i: int) -> dict:
        return self.records[i]

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.records if r.get("error")]

    @property
    def pages_per_minute(self) -> float:
        return 60.0 * self.pages_run / self.seconds if self.seconds else math.nan

    def needs_review(self) -> list[dict]:
        return [r for r in self.records if not r.get("error") and r.get("needs_review")]

    @property
    def text(self) -> str:
        return "\n\f".join(r["text"] for r in self.records if not r.get("error"))

    def summary(self) -> dict[str, Any]:
        return {"pages": len(self.records), "ok": len(self.records) - len(self.failures),
                "failed": len(self.failures), "needs_review": len(self.needs_review())}

    def to_dataframe(self):
        """One row per page (pandas), by source and page (``records`` are in the
        order the pages finished); ``page`` counts from 0, as in the records."""
        import pandas as pd

        rows = []
        for rec in self.records:
            row = {k: v for k, v in rec.items() if k not in ("timings", "words", "steps")}
            row.update({f"{k}_s": v for k, v in (rec.get("timings") or {}).items()})
            rows.append(row)
        frame = pd.DataFrame(rows)
        if "page" in frame:  # failed sources have no page: keep the column integer
            frame["page"] = frame["page"].astype("Int64")
            frame = frame.sort_values(["source", "page"], kind="stable", na_position="first",
                                      ignore_index=True)
        return frame

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<BatchResult {s['pages']} pages: {s['ok']} ok, {s['failed']} failed, "
                f"{s['needs_review']} to review; {self.pages_run} run in {self.seconds:.1f} s"
                f" ({self.pages_per_minute:.1f} pages/min){', cancelled' if self.cancelled else ''}"
                f"{f', in {self.out}' if self.out else ''}>")

    def _repr_html_(self) -> str:
        from .display import records_html

        head = (f"{self.pages_run} pages run in {self.seconds:.1f} s "
                f"({self.pages_per_minute:.1f} pages/min)"
                + (f", output in <code>{self.out}</code>" if self.out else ""))
        return records_html(self.records, self.summary(), head)


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def _free_gpu_memory() -> None:
    try:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()
    except Exception:  # no CuPy: nothing to free
        pass


def default_chunk_size(selection: Selection, workers: int) -> int:
    """Pages preprocessed ahead of OCR.

    On a GPU, as many A4 pages as a quarter of its free memory holds at the
    pipeline's peak (about 12 float32 copies of a 300-dpi page), within 50-100;
    on the CPU a few per worker, which keeps every worker busy.
    """
    device = selection.device
    if device.is_gpu and device.free_memory:
        per_page = 12 * 4 * 2480 * 3508
        return int(min(100, max(50, device.free_memory // 4 // per_page)))
    return max(2, 2 * workers)


class _Preprocessor:
    """Preprocess pages on the engine's device; on GPU memory exhaustion free the
    pool and retry, then fall back to the CPU for the rest of the batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.selection = engine.selection

    def __call__(self, image: Any) -> Preprocessed:
        for _ in range(2):
            try:
                return self.engine.pipeline.run(image, device=self.selection)
            except Exception as exc:
                if not (self.selection.device.is_gpu and _is_out_of_memory(exc)):
                    raise
                _free_gpu_memory()
        warnings.warn(f"{self.selection.device.id} ran out of memory twice; the rest of the "
                      "batch runs on the CPU.", RuntimeWarning, stacklevel=2)
        self.selection = Selection(CPU, "GPU out of memory: fell back to the CPU")
        return self.engine.pipeline.run(image, device=self.selection)


def _failure(page: Page, exc: Exception) -> dict:
    """The failure record of ``page`` for ``exc``, whatever it is (see
    :func:`~bgocr_nb.results.as_page_error`)."""
    return failure_record(page.source, page.index, as_page_error(exc, page.source, page.index))


def _page_record(engine: Engine, page: Page, pre: Preprocessed, load_s: float,
                 words: bool, threshold: float, renderers: tuple[str, ...],
                 save_to: Path | None = None) -> tuple[dict, dict[str, bytes]]:
    """OCR one preprocessed page into its record and renderer files; any error, a
    bug's too, gives the page's failure record."""
    try:
        if save_to is not None:
            save_image(pre.image, save_to / page_filename(page.source, page.index, ".png"))
        result = engine.recognize(page, load_seconds=load_s, preprocessed=pre,
                                  renderers=renderers, words=words)
    except Exception as exc:
        return _failure(page, exc), {}
    record = result.to_dict(words=words, review_threshold=threshold)
    record["timings"].pop("total", None)
    return record, result.files


def _check_count(value: Any, name: str) -> int | None:
    """A whole number, at least 1, or None (the default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ArgumentError(f"`{name}` must be a whole number, at least 1 (or None for the "
                            f"default), got {value!r}.")
    return int(value)


def _check_renderers(renderers: Any, out: Any) -> tuple[str, ...]:
    """Renderer names as a tuple: one name or an iterable of them, each in RENDERERS."""
    valid = " and ".join(repr(r) for r in RENDERERS)
    if isinstance(renderers, str):
        renderers = (renderers,)
    try:
        names = tuple(dict.fromkeys(renderers))
    except TypeError:
        raise ArgumentError(f"`renderers` must be a name or a list of names among {valid}, "
                            f"got {renderers!r}.") from None
    for name in names:
        if name not in RENDERERS:
            raise ArgumentError(f"Unknown renderer {name!r}: the renderers are {valid}.")
    if names and out is None:
        raise ArgumentError("hOCR and PDF output are written to files: pass out= (a folder), "
                            "or no renderers.")
    return names


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 100:
        raise ArgumentError(f"`review_threshold` must be a mean confidence from 0 to 100, "
                            f"got {value!r}.")
    return float(value)


def _check_progress(progress: Any) -> Progress | None:
    """The Progress to report to: a tqdm bar for None or True, none for False."""
    if progress is None or progress is True:
        return TqdmProgress(desc="bgocr")
    if progress is False:
        return None
    methods = ("start", "update", "finish")
    if not all(callable(getattr(progress, m, None)) for m in methods) \
            or not hasattr(progress, "cancelled"):
        raise ArgumentError(f"`progress` must be True (a progress bar), False (none), or an "
                            f"object with start(), update(), finish() and `cancelled` (see "
                            f"bgocr_nb.batching.Progress), got {progress!r}.")
    return progress


def _sources(inputs: Any) -> list[str]:
    """The sources of ``inputs``, each file once however its path is spelt."""
    try:
        sources = expand_inputs(inputs)
    except TypeError:
        raise ArgumentError(f"`inputs` must be a path, URL, glob or folder, or a list of them, "
                            f"got {inputs!r}.") from None
    unique: dict[str, str] = {}
    for source in sources:
        unique.setdefault(source_key(source), source)
    return list(unique.values())


def batch(inputs: Any, *, device: Any = "auto", filters: str = "auto", lang: str = "eng",
          psm: int = 3, variables: dict[str, str] | None = None, dpi: float = 300,
          max_pixels: int = MAX_PIXELS, out: str | os.PathLike | None = None,
          resume: bool = True, workers: int | None = None, chunk_size: int | None = None,
          words: bool = False, renderers: str | Iterable[str] = (),
          review_threshold: float = LOW_CONFIDENCE, progress: Progress | None | bool = None,
          client: Any = None, timeout: float = 0,
          save_preprocessed: str | os.PathLike | None = None,
          rotate_pages: str | bool = "weak", password: str | None = None) -> BatchResult:
    """Recognise every page of many inputs.

    A page that fails, for whatever reason, is recorded with its error and the
    batch goes on; an interrupt (Ctrl-C) stops it once the pages being
    recognised are written.

    Parameters
    ----------
    inputs : str, path or list of them
        Files, globs, folders (searched recursively), multi-page TIFFs, PDFs and
        URLs; a string with newlines is read one entry per line (``#`` comments).
        A file named twice (``a.png``, ``./a.png``) runs once.
    device, filters, lang, psm, variables, dpi, max_pixels, rotate_pages, password :
        As for :class:`~bgocr_nb.engine.Engine`.
    out : path, optional
        Folder for ``results.jsonl``, ``summary.csv`` and ``text/``; without it
        the records are only returned.
    resume : bool
        Skip pages already finished in ``out`` (failed ones run again).
    workers : int, optional
        Parallel Tesseract engines, one thread each (default: one per core).
    chunk_size : int, optional
        Pages preprocessed ahead of OCR (see :func:`default_chunk_size`).
    words : bool
        Keep every word with its box and confidence in the records.
    renderers : {"hocr", "pdf"} or an iterable of them
        Also write Tesseract's hOCR and/or searchable PDF per page into ``out``.
    review_threshold : float
        Pages whose mean confidence (0-100) is lower are flagged ``needs_review``.
    progress : Progress, True, False or None
        Where progress goes; None or True: a tqdm bar; False: nowhere.
    client : dask.distributed.Client, optional
        Run the pages on a Dask cluster instead of this machine.
    timeout : float
        Seconds Tesseract may spend on one page (0: no limit).
    save_preprocessed : path, optional
        Also write each preprocessed page as a PNG into this folder.

    Returns
    -------
    BatchResult

    Raises
    ------
    ArgumentError
        For a bad argument, checked before the first page: an unknown renderer,
        ``workers`` under 1, ``out`` naming a file or a folder that cannot be made ...
    """
    renderers = _check_renderers(renderers, out)
    workers = _check_count(workers, "workers")
    chunk_size = _check_count(chunk_size, "chunk_size")
    review_threshold = _check_threshold(review_threshold)
    progress = _check_progress(progress)
    sources = _sources(inputs)
    options = dict(filters=filters, lang=lang, psm=psm, variables=variables, dpi=dpi,
                   max_pixels=max_pixels, timeout=timeout, rotate_pages=rotate_pages,
                   password=password)
    options["device"] = device
    # Settings are checked here, up front (on a cluster, the workers check the device).
    engine = Engine(keep_original=False, **{**options, "device": "cpu" if client else device})
    save_to = (writable_folder(save_preprocessed, "save_preprocessed")
               if save_preprocessed is not None else None)
    folder = OutputFolder(out, resume=resume, renderers=renderers) if out is not None else None
    result = BatchResult(out=folder.path if folder else None, review_threshold=review_threshold)
    start = time.perf_counter()
    if progress is not None:
        progress.start(len(sources))
    try:
        if client is not None:
            from ._dask import run_on_cluster

            run_on_cluster(client, sources, options, folder, result, progress,
                           words=words, threshold=review_threshold, renderers=renderers,
                           save_to=save_to)
        else:
            workers = workers or os.cpu_count() or 1
            with opencv_threads(1):  # the cores belong to the Tesseract workers
                _run_local(engine, sources, folder, result, progress, words=words,
                           threshold=review_threshold, renderers=renderers, save_to=save_to,
                           workers=workers, chunk_size=chunk_size or default_chunk_size(
                               engine.selection, workers))
    finally:
        result.seconds = time.perf_counter() - start
        if folder is not None:
            folder.close()
            result.records = list(folder.records.values())
        if progress is not None:
            progress.finish()
    return result


def _emit(record: dict, extra: dict, folder: OutputFolder | None, result: BatchResult,
          progress: Progress | None) -> None:
    if folder is not None:
        folder.write(record, extra)
    result.records.append(record)
    if not record.get("error"):
        result.pages_run += 1
    if progress is not None:
        progress.update(record)


_DONE = object()


def _put(ready: queue.Queue, stop: threading.Event, item: Any) -> bool:
    """Queue ``item`` unless the batch stops first."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _load(engine: Engine, sources: list[str], folder: OutputFolder | None,
          ready: queue.Queue, stop: threading.Event, chunk_size: int) -> None:
    """The loader thread: load and preprocess each page not done yet, and queue it.

    A page that fails to load or preprocess, whatever the error, is queued as a
    failure; only an error outside any page ("crash") stops the batch.
    """
    preprocess = _Preprocessor(engine)
    try:
        done_in_chunk = 0
        for source in sources:
            for page, load_s in timed(engine.pages(source)):
                if stop.is_set():
                    return
                if page.error is not None:
                    _put(ready, stop, ("failed", failure_record(page.source, page.index,
                                                                page.error)))
                    continue
                if folder is not None and folder.done(page.source, page.index):
                    continue
                try:
                    pre = preprocess(page.image)
                except Exception as exc:  # a bug too fails this page only
                    _put(ready, stop, ("failed", _failure(page, exc)))
                    continue
                if not _put(ready, stop, ("page", page, pre, load_s)):
                    return
                done_in_chunk += 1
                if done_in_chunk >= chunk_size and preprocess.selection.device.is_gpu:
                    _free_gpu_memory()
                    done_in_chunk = 0
            _put(ready, stop, ("source-done",))
    except BaseException as exc:  # surfaced in the main thread
        _put(ready, stop, ("crash", exc))
    finally:
        _put(ready, stop, _DONE)


def _outcome(fut: cf.Future, page: Page) -> tuple[dict, dict]:
    """The record and files of a finished OCR future (a failure record if it raised)."""
    try:
        return fut.result()
    except Exception as exc:
        return _failure(page, exc), {}


def _finished(pending: dict[cf.Future, Page]) -> Iterator[tuple[dict, dict]]:
    """The outcomes of the futures that finished (not cancelled, not interrupted)."""
    for fut, page in list(pending.items()):
        if fut.done() and not fut.cancelled() and isinstance(fut.exception(), (Exception,
                                                                                type(None))):
            yield _outcome(fut, page)


def _run_local(engine: Engine, sources: list[str], folder: OutputFolder | None,
               result: BatchResult, progress: Progress | None, *, words: bool,
               threshold: float, renderers: tuple[str, ...], save_to: Path | None,
               workers: int, chunk_size: int) -> None:
    """Loader thread -> bounded queue -> Tesseract pool -> writer (this thread).

    A freed engine gets its next page before the pages it finished are written.
    If the batch stops on an exception (Ctrl-C, a crash), the pages being
    recognised finish and are written before it goes on.
    """
    ready: queue.Queue = queue.Queue(maxsize=chunk_size)
    stop = threading.Event()
    loader = threading.Thread(target=_load, args=(engine, sources, folder, ready, stop,
                                                  chunk_size),
                              name="bgocr-loader", daemon=True)
    loader.start()
    pending: dict[cf.Future, Page] = {}
    pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bgocr-ocr")
    # each thread loads its engine while the loader reads the first pages; should that
    # fail, the first page it recognises fails the same way, and is recorded
    for _ in range(workers):
        pool.submit(engine.prepare)

    unwritten: list[tuple[dict, dict]] = []  # finished pages, not yet written

    def collect(block: bool) -> None:
        done, _ = cf.wait(pending, timeout=None if block else 0,
                          return_when=cf.FIRST_COMPLETED)
        unwritten.extend(_outcome(fut, pending.pop(fut)) for fut in done)

    def write() -> None:
        while unwritten:
            _emit(*unwritten[0], folder, result, progress)
            del unwritten[0]

    def ocr(page: Page, pre: Preprocessed, load_s: float) -> tuple[dict, dict]:
        return _page_record(engine, page, pre, load_s, words, threshold, renderers, save_to)

    try:
        while True:
            if progress is not None and progress.cancelled:
                result.cancelled = True
                break
            try:
                item = ready.get(timeout=0.05)
            except queue.Empty:
                if pending:
                    collect(block=False)
                    write()
                continue
            if item is _DONE:
                break
            kind = item[0]
            if kind == "crash":
                raise item[1]
            if kind == "failed":
                _emit(item[1], {}, folder, result, progress)
            elif kind == "source-done":
                if progress is not None:
                    progress.update(advance=1)
            else:
                while len(pending) >= workers:
                    collect(block=True)
                pending[pool.submit(ocr, *item[1:])] = item[1]
                write()  # once the next page is on its way: no engine waits on the disk
        while pending:
            collect(block=True)
            write()
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)  # the pages being recognised finish
        with contextlib.suppress(Exception):  # the first error is the one to raise
            for record, extra in [*unwritten, *_finished(pending)]:
                _emit(record, extra, folder, result, progress)
        raise
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        loader.join(timeout=5)
