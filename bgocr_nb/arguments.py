"""The argument grammar shared by the ``bgocr`` command and the ``%bgocr`` magic."""

from __future__ import annotations

import argparse
from typing import Any

from .errors import ArgumentError

DEFAULTS = {"device": "auto", "filters": "auto", "lang": "eng", "psm": 3, "dpi": 300.0}
SCHEDULER_TIMEOUT = 10  # seconds to reach a Dask scheduler

# (flags, argparse keywords): applied to an ArgumentParser by the CLI and turned
# into @argument decorators by the magic.
ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("sources",), dict(nargs="*", metavar="IMAGE",
                        help="image, PDF or URL (multi-page files give every page)")),
    (("--gpu",), dict(type=int, metavar="N", help="run the filters on GPU N")),
    (("--cpu",), dict(action="store_true", help="run the filters on the CPU")),
    (("--device",), dict(metavar="D", help="auto (default), cpu, gpu or gpu:N")),
    (("-f", "--filters"), dict(metavar="SPEC",
                               help="filter spec, e.g. 'deskew,background(radius=40)'; "
                                    "'auto' (default) picks per page, 'none' skips them")),
    (("-l", "--lang"), dict(metavar="L", help="Tesseract languages, e.g. eng, chi_sim, "
                                              "eng+chi_sim (default eng)")),
    (("--psm",), dict(type=int, metavar="N", help="Tesseract page segmentation mode (default 3)")),
    (("--tess-var",), dict(action="append", metavar="NAME=VALUE",
                           help="a Tesseract variable (-c); repeatable")),
    (("--dpi",), dict(type=float, metavar="DPI", help="PDF rendering resolution (default 300)")),
    (("--password",), dict(metavar="P", help="password of encrypted PDFs")),
    (("--rotate-pages",), dict(action=argparse.BooleanOptionalAction,
                               help="turn every page upright first (Tesseract's orientation "
                                    "detection, ~0.25 s a page); by default only a page read "
                                    "with low confidence is turned, and read again")),
    (("--max-pixels",), dict(type=int, metavar="N",
                             help="largest page accepted, in pixels (decompression-bomb guard)")),
    (("--save-preprocessed",), dict(metavar="DIR", help="write each preprocessed page here")),
    (("--json",), dict(action="store_true", help="print JSON records instead of the text")),
    (("--devices",), dict(action="store_true",
                          help="list the devices and the Tesseract in use, and exit")),
]


# Options of batches: `bgocr batch` and the `%%bgocr` cell magic.
BATCH_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--out",), dict(metavar="DIR", help="write results.jsonl, summary.csv and text/ here")),
    (("--no-resume",), dict(action="store_true",
                            help="redo pages already finished in --out (default: skip them)")),
    (("--workers",), dict(type=int, metavar="N", help="parallel Tesseract engines "
                                                      "(default: one per core)")),
    (("--chunk-size",), dict(type=int, metavar="N",
                             help="pages preprocessed ahead of OCR (default: from free memory)")),
    (("--words",), dict(action="store_true", help="keep every word and box in the records")),
    (("--hocr",), dict(action="store_true", help="also write Tesseract's hOCR per page")),
    (("--pdf",), dict(action="store_true", help="also write a searchable PDF per page")),
    (("--review-below",), dict(type=float, metavar="CONF",
                               help="flag pages under this mean confidence (default 70)")),
    (("--scheduler",), dict(metavar="ADDRESS",
                            help="run on this Dask scheduler (tcp://host:8786)")),
]


def add_arguments(parser: argparse.ArgumentParser,
                  arguments: list[tuple[tuple[str, ...], dict[str, Any]]] = ARGUMENTS
                  ) -> argparse.ArgumentParser:
    for flags, kwargs in arguments:
        parser.add_argument(*flags, **kwargs)
    return parser


def batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`~bgocr_nb.batching.batch` from the batch options."""
    for name in ("workers", "chunk_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ArgumentError(f"--{name.replace('_', '-')} must be at least 1, got {value}.")
    options: dict[str, Any] = {
        "out": args.out, "resume": not args.no_resume, "workers": args.workers,
        "chunk_size": args.chunk_size, "words": args.words,
        "renderers": tuple(r for r in ("hocr", "pdf") if getattr(args, r))}
    if args.review_below is not None:
        options["review_threshold"] = args.review_below
    return options


def batch_flags(args: argparse.Namespace) -> list[str]:
    """The batch options given (for a single input, they ask for a batch)."""
    given = [(flags[0], getattr(args, flags[0].lstrip("-").replace("-", "_"), None))
             for flags, _ in BATCH_ARGUMENTS]
    return [flag for flag, value in given if value is not None and value is not False]


def scheduler_client(args: argparse.Namespace) -> Any:
    """A ``dask.distributed.Client`` of ``--scheduler``, or None without one."""
    if not getattr(args, "scheduler", None):
        return None
    from .errors import MissingDependencyError

    try:
        from dask.distributed import Client
    except ImportError:
        raise MissingDependencyError("--scheduler needs Dask: pip install "
                                     "'bgocr-nb[dask]'.") from None
    try:
        return Client(args.scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ArgumentError(f"Cannot reach the Dask scheduler at {args.scheduler!r} ({exc}): "
                            "check the address (tcp://host:8786) and that the scheduler is "
                            "running.") from None


def device_of(args: argparse.Namespace, default: str = "auto") -> str:
    """The device named by ``--gpu``, ``--cpu`` or ``--device`` (at most one)."""
    given = [f for f, v in (("--gpu", args.gpu), ("--cpu", args.cpu or None),
                            ("--device", args.device)) if v is not None]
    if len(given) > 1:
        raise ArgumentError(f"Give only one of --gpu, --cpu and --device "
                            f"(got {' and '.join(given)}).")
    if args.gpu is not None:
        return f"gpu:{args.gpu}"
    if args.cpu:
        return "cpu"
    return args.device or default


def engine_options(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> dict:
    """Keyword arguments for :class:`~bgocr_nb.engine.Engine` from parsed arguments."""
    from .tesseract import parse_variables  # not at import: %load_ext stays light

    d = {**DEFAULTS, **(defaults or {})}
    options = {"device": device_of(args, d["device"]),
               "filters": args.filters if args.filters is not None else d["filters"],
               "lang": args.lang if args.lang is not None else d["lang"],
               "psm": args.psm if args.psm is not None else d["psm"],
               "dpi": args.dpi if args.dpi is not None else d["dpi"],
               "variables": parse_variables(args.tess_var)}
    if args.max_pixels is not None:
        if args.max_pixels < 1:
            raise ArgumentError(f"--max-pixels must be at least 1, got {args.max_pixels}.")
        options["max_pixels"] = args.max_pixels
    if args.rotate_pages is not None:  # the flag, or --no-rotate-pages; else "weak"
        options["rotate_pages"] = args.rotate_pages
    if getattr(args, "password", None) is not None:
        options["password"] = args.password
    return options
