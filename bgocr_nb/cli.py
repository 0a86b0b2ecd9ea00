"""The ``bgocr`` command: text of each page on stdout, errors on stderr.

Exit codes: 0 success, 2 bad arguments, 3 unreadable input, 4 missing
dependency (Tesseract, a language pack, CuPy or a GPU), 5 OCR failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .arguments import (BATCH_ARGUMENTS, add_arguments, batch_options, engine_options,
                        scheduler_client)
from .errors import BgocrError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too; keep its usage line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .pipeline import filter_help

    parser = _Parser(prog="bgocr", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Remove the background of document scans, deskew, enhance "
                                 "and OCR them with Tesseract, on a GPU or the CPU.",
                     epilog="filters:\n" + filter_help() + "\n\nmany files, with output "
                            "written as pages finish and resume: bgocr batch --help\n\nexit "
                            "codes: 0 ok, 2 bad arguments, 3 bad input, 4 missing dependency, "
                            "5 OCR failure")
    return add_arguments(parser)


def build_batch_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bgocr batch",
                     description="OCR many pages: files, globs, folders, multi-page TIFFs, "
                                 "PDFs, URLs. Results are written as they finish; run the same "
                                 "command again to resume an interrupted batch.")
    return add_arguments(add_arguments(parser), BATCH_ARGUMENTS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    is_batch = bool(argv) and argv[0] == "batch"
    args = (build_batch_parser().parse_args(argv[1:]) if is_batch
            else build_parser().parse_args(argv))
    try:
        return _run_batch(args) if is_batch else _run(args)
    except BgocrError as exc:
        print(f"bgocr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bgocr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`bgocr ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a program killed by SIGPIPE


def _run_batch(args: argparse.Namespace) -> int:
    from .batching import batch

    if not args.sources:
        print("bgocr batch: error: give at least one input", file=sys.stderr)
        return 2
    if not (args.out or args.json):
        print("bgocr batch: error: give --out DIR for the results (or --json to print "
              "them)", file=sys.stderr)
        return 2
    result = batch(args.sources, **engine_options(args), **batch_options(args),
                   client=scheduler_client(args),
                   progress=not args.json, save_preprocessed=args.save_preprocessed)
    if args.json:
        for record in result.records:
            print(json.dumps(record, ensure_ascii=False))
    summary = result.summary()
    print(f"bgocr batch: {summary['pages']} pages, {summary['ok']} ok, {summary['failed']} "
          f"failed, {summary['needs_review']} to review; {result.pages_per_minute:.1f} pages/min"
          + (f"; output in {result.out}" if result.out else ""), file=sys.stderr)
    for record in result.failures:
        print(f"bgocr batch: failed: {record['error']}", file=sys.stderr)
    if not summary["pages"]:
        print("bgocr batch: error: no image or PDF files found in the inputs", file=sys.stderr)
    return 3 if result.failures or not summary["pages"] else 0


def _run(args: argparse.Namespace) -> int:
    from .batching import page_filename
    from . import tesseract
    from .devices import devices
    from .engine import Engine

    if args.devices:
        print(repr(devices()))
        print(f"OCR: {tesseract.status()}")
        return 0
    if not args.sources:
        print("bgocr: error: give at least one IMAGE (or --devices)", file=sys.stderr)
        return 2
    engine = Engine(keep_original=False, **engine_options(args))
    out_dir = Path(args.save_preprocessed) if args.save_preprocessed else None
    records, status, first = [], 0, True
    for source in args.sources:
        for item in engine.iter_results(source):
            if not item.ok:
                print(f"bgocr: error: {item.error}", file=sys.stderr)
                status = status or item.exit_code
            elif out_dir is not None:
                item.save_preprocessed(out_dir / page_filename(item.source, item.page, ".png"))
            if args.json:
                records.append(item.to_dict())
            elif item.ok:
                sys.stdout.write(("" if first else "\f") + item.text + "\n")
                sys.stdout.flush()
                first = False
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
