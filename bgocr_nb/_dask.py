"""Running a batch on a Dask distributed cluster.

Each source becomes one task; a worker loads it, preprocesses every page on its
own device (``auto``: its GPU if it has one) and runs Tesseract, then returns the
records. The client writes them to the output folder as tasks complete, so the
output and resume rules are those of a local batch.
"""

from __future__ import annotations

from typing import Any


def ocr_source(source: str, options: dict, skip: frozenset, words: bool, threshold: float,
               renderers: tuple[str, ...], save_to: Any = None) -> list[tuple[dict, dict]]:
    """Recognise the pages of ``source`` not in ``skip`` (runs on a worker).

    Any error of one page, a bug's too, gives that page's failure record.
    """
    from .batching import _failure, _page_record
    from .engine import Engine, timed
    from .io import describe
    from .results import as_page_error, failure_record

    try:
        engine = Engine(keep_original=False, **options)
    except Exception as exc:  # the worker's device, say
        return [(failure_record(describe(source), None, as_page_error(exc, source, None)), {})]
    out = []
    for page, load_s in timed(engine.pages(source)):
        if page.error is not None:
            out.append((failure_record(page.source, page.index, page.error), {}))
        elif page.index not in skip:
            try:
                pre = engine.preprocess(page.image)
            except Exception as exc:
                out.append((_failure(page, exc), {}))
                continue
            out.append(_page_record(engine, page, pre, load_s, words, threshold, renderers,
                                    save_to))
    return out


def run_on_cluster(client: Any, sources: list[str], options: dict, folder: Any, result: Any,
                   progress: Any, *, words: bool, threshold: float,
                   renderers: tuple[str, ...], save_to: Any = None) -> None:
    """Submit one task per source to ``client`` and write records as they arrive.

    A task that fails (its worker lost, say) is recorded as its source's failure.
    """
    from dask.distributed import as_completed

    from .batching import _emit

    futures = {}
    for source in sources:
        skip = folder.done_pages(source) if folder is not None else frozenset()
        futures[client.submit(ocr_source, source, options, skip, words, threshold,
                              renderers, save_to, pure=False)] = source
    try:
        for fut in as_completed(futures):
            if progress is not None and progress.cancelled:
                result.cancelled = True
                break
            for record, extra in _task_records(fut, futures[fut]):
                _emit(record, extra, folder, result, progress)
            if progress is not None:
                progress.update(advance=1)
    finally:
        for fut in futures:
            fut.cancel()


def _task_records(fut: Any, source: str) -> list[tuple[dict, dict]]:
    """The records a finished task returned, or its source's failure if it raised."""
    from .results import as_page_error, failure_record

    try:
        return fut.result()
    except Exception as exc:
        return [(failure_record(source, None, as_page_error(exc, source, None)), {})]
