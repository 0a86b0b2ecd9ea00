"""A notebook progress panel for batches: implements :class:`bgocr_nb.batching.Progress`."""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..display import RECORDS_HEAD, record_row

if TYPE_CHECKING:
    from ..batching import BatchResult

__all__ = ["BatchProgress"]


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
    >>> progress = BatchProgress()                               # doctest: +SKIP
    >>> progress                                                 # doctest: +SKIP
    >>> progress.run(["scans/"], out="results/", device="gpu:0")  # doctest: +SKIP

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
        self.result: "BatchResult | None" = None
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

    def update(self, item: Any = None, *, advance: int = 0) -> None:
        with self._lock:
            if item is not None:
                record = item if isinstance(item, dict) else item.to_dict()
                self.pages += 1
                self.failed += bool(record.get("error"))
                self._rows.append(record_row(record))
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
    def run(self, inputs: Any, *, background: bool = True, **options: Any) -> None:
        """Run :func:`bgocr_nb.batching.batch` on ``inputs`` with this panel as its progress.

        Parameters
        ----------
        inputs : files, globs, folders, URLs
        background : bool
            Run in a thread (default), so the notebook stays responsive and
            Cancel works; :attr:`result` is set at the end (see :meth:`wait`).
        **options
            Passed to :func:`~bgocr_nb.batching.batch` (device, filters, out, ...).
        """
        from ..batching import batch

        if self.thread is not None and self.thread.is_alive():
            raise RuntimeError("A batch is already running in this panel; cancel or wait.")
        self.result, self.error = None, None

        def work() -> None:
            try:
                self.result = batch(inputs, progress=self, **options)
            except BaseException as exc:  # shown in the panel, kept in .error
                self.error = exc
                self.status.value += (f' <span style="color:#b00">{html.escape(type(exc).__name__)}'
                                      f": {html.escape(str(exc))}</span>")
                if not background:
                    raise

        if not background:
            work()
            return
        self.thread = threading.Thread(target=work, name="bgocr-batch", daemon=True)
        self.thread.start()

    def wait(self, timeout: float | None = None) -> "BatchResult | None":
        """Block until a background run ends; returns its result."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.result

    # -- rendering --------------------------------------------------------------
    def _summary(self, state: str) -> str:
        elapsed = time.perf_counter() - self._t0
        rate = self.pages / elapsed if elapsed > 0 and self.pages else 0.0
        failed = f", <b>{self.failed}</b> failed" if self.failed else ""
        return (f"{state}: {self.done}/{self.total} files, <b>{self.pages}</b> pages{failed}, "
                f"{rate:.2f} pages/s, {elapsed:.1f} s")

    def _table(self) -> str:
        return (f'<div style="max-height:260px;overflow-y:auto"><table>'
                f"{RECORDS_HEAD}{''.join(self._rows)}</table></div>")
