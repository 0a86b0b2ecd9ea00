"""The ``bgocr`` command: text of each page on stdout, errors on stderr.

Exit codes: 0 success, 2 bad arguments, 3 unreadable input, 4 missing
dependency (Tesseract, a language pack, CuPy or a GPU), 5 OCR failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .arguments import add_arguments, engine_options, output_name
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
                     epilog="filters:\n" + filter_help() + "\n\nexit codes: 0 ok, 2 bad "
                            "arguments, 3 bad input, 4 missing dependency, 5 OCR failure")
    return add_arguments(parser)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BgocrError as exc:
        print(f"bgocr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bgocr: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from .devices import devices
    from .engine import Engine

    if args.devices:
        print(repr(devices()))
        return 0
    if not args.sources:
        print("bgocr: error: give at least one IMAGE (or --devices)", file=sys.stderr)
        return 2
    engine = Engine(keep_original=False, **engine_options(args))
    out_dir = Path(args.save_preprocessed) if args.save_preprocessed else None
    used: set[str] = set()
    records, status, first = [], 0, True
    for source in args.sources:
        for item in engine.iter_results(source):
            if not item.ok:
                print(f"bgocr: error: {item.error}", file=sys.stderr)
                status = status or item.exit_code
            elif out_dir is not None:
                item.save_preprocessed(out_dir / output_name(item.source, item.page, used))
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
