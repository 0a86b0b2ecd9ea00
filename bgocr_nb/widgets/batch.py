"""Batch runs with progress: a minimal progress protocol, a loop, and a notebook widget.

The protocol (what a batch loop calls) is four members, so any front end can
implement it: the :class:`BatchProgress` widget here, the ``tqdm`` bar of the
``%%bgocr`` magic, or nothing at all.

``start(total)``
    The run begins with ``total`` inputs (files, URLs).
``update(item=None, *, advance=0)``
    ``item``: one finished page, if any: an OcrResult or PageFailure, or its
    ``to_dict()`` record; ``advance``: how many inputs were completed.
``finish()``
    The run ended (done, cancelled or interrupted).
``cancelled``
    True once the user asked to stop; the loop checks it between pages.
"""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Union, runtime_checkable

import ipywidgets as widgets

if TYPE_CHECKING:
    from ..engine import Engine
    from ..results import OcrResult, PageFailure, ResultSet

    Item = Union[OcrResult, PageFailure]

__all__ = ["BatchProgress", "Progress", "run_batch"]


@runtime_checkable
class Progress(Protocol):
    """What a batch loop reports to (see the module docstring)."""

    @property
    def cancelled(self) -> bool: ...

    def start(self, total: int) -> None: ...

    def update(self, item: "Item | dict | None" = None, *, advance: int = 0) -> None: ...

    def finish(self) -> None: ...


def run_batch(inputs: Iterable[Any], engine: "Engine", progress: Progress | None = None, *,
              results: "ResultSet | None" = None) -> "ResultSet":
    """Recognise every page of every input, in order, reporting to ``progress``.

    A page or input that fails becomes a :class:`~bgocr_nb.results.PageFailure`
    in the results; the run goes on. The loop stops between pages once
    ``progress.cancelled`` is true.

    Parameters
    ----------
    inputs : iterable of sources
        Paths, URLs, arrays ... (see :func:`bgocr_nb.inputs.expand_inputs`).
    engine : Engine
    progress : Progress, optional
    results : ResultSet, optional
        Filled in place (so a caller keeps the pages done if the loop is
        interrupted); a new one by default.

    Returns
    -------
    ResultSet
    """
    from ..results import ResultSet

    inputs = list(inputs)
    results = ResultSet() if results is None else results
    if progress is not None:
        progress.start(len(inputs))
    try:
        for source in inputs:
            if progress is not None and progress.cancelled:
                break
            pages = engine.iter_results(source)
            try:
                for item in pages:
                    results.append(item)
                    if progress is not None:
                        progress.update(item)
                        if progress.cancelled:
                            break
            finally:
                getattr(pages, "close", lambda: None)()  # stop loading a cancelled document
            if progress is not None:
                progress.update(advance=1)
    finally:
        if progress is not None:
            progress.finish()
    return results


_STATUS_COLOR = {"ok": "", "review": "#fbe3a8", "failed": "#f8c4c4"}
LOW_CONFIDENCE = 70.0  # as bgocr_nb.results (not imported: keeps this module light)


def _record(item: "Item | dict") -> dict:
    """A page as a JSON-ready record (batch engines may report records directly)."""
    return item if isinstance(item, dict) else item.to_dict()


class BatchProgress(widgets.VBox):
    """A notebook progress panel for batch OCR, implementing :class:`Progress`.

    Shows a bar over the inputs, the running page count and rate, a table of
    the last ``max_rows`` pages (status, confidence, first words or the error)
    and a Cancel button.

    Parameters
    ----------
    max_rows : int
        Table rows kept (the newest); the counts cover every page.

    Examples
    --------
    >>> from bgocr_nb.engine import Engine                       # doctest: +SKIP
    >>> progress = BatchProgress()                               # doctest: +SKIP
    >>> progress                                                 # doctest: +SKIP
    >>> results = progress.run(["scans/"], Engine())             # doctest: +SKIP

    Cancel works while a batch runs because :meth:`run` works in a thread by
    default (a busy kernel cannot receive the button's click).
    """

    def __init__(self, *, max_rows: int = 200) -> None:
        self.max_rows = max_rows
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="files",
                                       bar_style="info")
        self.status = widgets.HTML("idle")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop",
                                            button_style="warning", disabled=True)
        self.cancel_button.on_click(lambda _: self.cancel())
        self.table = widgets.HTML()
        self.results: "ResultSet | None" = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._rows: list[str] = []
        self._lock = threading.Lock()
        self._reset(0)
        super().__init__([widgets.HBox([self.bar, self.cancel_button, self.status]),
                          self.table])

    def _reset(self, total: int) -> None:
        self.total, self.pages, self.failed, self.done = total, 0, 0, 0
        self._cancelled = False
        self._t0 = time.perf_counter()
        self._rows = []

    # -- the Progress protocol ------------------------------------------------
    @property
    def cancelled(self) -> bool:
        """Whether Cancel was clicked (the batch stops before its next page)."""
        return self._cancelled

    def cancel(self) -> None:
        """Ask the running batch to stop."""
        self._cancelled = True
        self.cancel_button.disabled = True
        self.status.value = self._summary("cancelling")

    def start(self, total: int) -> None:
        with self._lock:
            self._reset(total)
            self.bar.max = max(total, 1)
            self.bar.value = 0
            self.bar.bar_style = "info"
            self.cancel_button.disabled = False
            self.table.value = ""
            self.status.value = self._summary("running")

    def update(self, item: "Item | dict | None" = None, *, advance: int = 0) -> None:
        with self._lock:
            if item is not None:
                record = _record(item)
                self.pages += 1
                self.failed += record.get("error") is not None
                self._rows.append(self._row(record))
                del self._rows[:-self.max_rows]
                self.table.value = self._table()
            if advance:
                self.done += advance
                self.bar.value = min(self.done, self.bar.max)
            self.status.value = self._summary("cancelling" if self._cancelled else "running")

    def finish(self) -> None:
        with self._lock:
            self.cancel_button.disabled = True
            if self._cancelled:
                self.bar.bar_style, state = "warning", "cancelled"
            elif self.done < self.total:
                self.bar.bar_style, state = "danger", "stopped"
            else:
                self.bar.bar_style = "danger" if self.failed else "success"
                state = "done"
            self.status.value = self._summary(state)

    # -- running --------------------------------------------------------------
    def run(self, inputs: Iterable[Any], engine: "Engine", *,
            background: bool = True) -> "ResultSet":
        """Run :func:`run_batch` on ``inputs`` with this panel as its progress.

        Parameters
        ----------
        inputs : iterable of sources
        engine : Engine
        background : bool
            Run in a thread (default), so the notebook stays responsive and
            Cancel works; :attr:`results` fills in as pages finish, and
            :meth:`wait` blocks until the end.

        Returns
        -------
        ResultSet
            The results (still filling while a background run goes on).
        """
        from ..results import ResultSet

        if self.thread is not None and self.thread.is_alive():
            raise RuntimeError("A batch is already running in this panel; cancel or wait.")
        self.results, self.error = ResultSet(), None
        inputs = list(inputs)
        if not background:
            return run_batch(inputs, engine, self, results=self.results)

        def work() -> None:
            try:
                run_batch(inputs, engine, self, results=self.results)
            except BaseException as exc:  # shown in the panel, kept in .error
                self.error = exc
                self.status.value += (f' <span style="color:#b00">{html.escape(type(exc).__name__)}'
                                      f": {html.escape(str(exc))}</span>")

        self.thread = threading.Thread(target=work, name="bgocr-batch", daemon=True)
        self.thread.start()
        return self.results

    def wait(self, timeout: float | None = None) -> "ResultSet | None":
        """Block until a background run ends; returns the results."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.results

    # -- rendering --------------------------------------------------------------
    def _summary(self, state: str) -> str:
        elapsed = time.perf_counter() - self._t0
        rate = self.pages / elapsed if elapsed > 0 and self.pages else 0.0
        failed = f", <b>{self.failed}</b> failed" if self.failed else ""
        return (f"{state}: {self.done}/{self.total} files, <b>{self.pages}</b> pages{failed}, "
                f"{rate:.2f} pages/s, {elapsed:.1f} s")

    @staticmethod
    def _row(record: dict) -> str:
        page = "" if record.get("page") is None else record["page"] + 1
        conf = record.get("mean_confidence")
        if record.get("error") is not None:
            status, detail = "failed", html.escape(str(record["error"]))
        else:
            review = record.get("needs_review")
            if review is None:
                review = conf is None or conf < LOW_CONFIDENCE
            status = "review" if review else "ok"
            text = (record.get("text") or "").strip()
            detail = html.escape(text.splitlines()[0][:80] if text else "")
        return (f'<tr style="background:{_STATUS_COLOR[status]}">'
                f"<td>{html.escape(str(record.get('source', '')))}</td><td>{page}</td>"
                f"<td>{'' if conf is None else f'{conf:.0f}'}</td><td>{status}</td>"
                f"<td>{detail}</td></tr>")

    def _table(self) -> str:
        head = "".join(f"<th>{h}</th>"
                       for h in ("source", "page", "conf.", "status", "text / error"))
        return (f'<div style="max-height:260px;overflow-y:auto"><table>'
                f"<tr>{head}</tr>{''.join(self._rows)}</table></div>")
