"""The ``%bgocr`` and ``%%bgocr`` magics: parse, call the core, return the result.

Loading the extension imports only IPython, traitlets and the argument grammar;
NumPy-heavy code, OpenCV, CuPy, Tesseract, widgets and matplotlib load on the
first run of the magic.
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

try:  # IPython >= 8.10: `%bgocr scan.png;` displays nothing
    from IPython.core.magic import output_can_be_silenced
except ImportError:  # pragma: no cover
    def output_can_be_silenced(func: Callable) -> Callable:
        return func
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Int, Unicode

from .arguments import (ARGUMENTS, BATCH_ARGUMENTS, batch_flags, batch_options, engine_options,
                        scheduler_client)
from .errors import BgocrError

# Options of the magic only (the rest is shared with the ``bgocr`` command).
MAGIC_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("-o", "--output"), dict(metavar="NAME",
                              help="also store the result in the variable NAME")),
    (("--ui",), dict(action="store_true",
                     help="open the interactive Studio on the (first) image instead")),
]

_EPILOG = ("The cell form lists inputs in its body, one per line: files, globs (scans/*.tif), "
           "folders (searched recursively for images and PDFs) or URLs; # starts a comment. "
           "Defaults come from %config BgocrMagics.device / .filters / .lang / .psm. "
           "Filters: from bgocr_nb.pipeline import filter_help; print(filter_help()).")


def _shared_arguments(func: Callable) -> Callable:
    """Apply ``@argument`` for every shared and magic-only option, then ``@magic_arguments``."""
    for flags, kwargs in reversed(ARGUMENTS + BATCH_ARGUMENTS + MAGIC_ARGUMENTS):  # bottom-up
        func = argument(*flags, **kwargs)(func)
    func.argcmd_kwds = {"epilog": _EPILOG}
    return magic_arguments()(func)


def _unquote(value: Any) -> Any:
    """Strip one pair of surrounding quotes, which IPython's non-POSIX split keeps.

    IPython splits magic lines without POSIX escapes (so Windows paths keep their
    backslashes); ``"my scan.png"`` then arrives with its quotes.
    """
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@magics_class
class BgocrMagics(Magics):
    """OCR of document scans from a notebook: ``%bgocr scan.tif`` and ``%%bgocr``.

    Configurable defaults (``%config BgocrMagics.device = "gpu:0"``) apply when
    the corresponding option is not given.
    """

    device = Unicode("auto", help="Default device: auto, cpu, gpu or gpu:N.").tag(config=True)
    filters = Unicode("auto", help="Default filter spec ('auto', 'none', "
                                   "'deskew,background(radius=40)' ...).").tag(config=True)
    lang = Unicode("eng", help="Default Tesseract languages, e.g. eng+chi_sim.").tag(config=True)
    psm = Int(3, help="Default Tesseract page segmentation mode.").tag(config=True)

    @output_can_be_silenced
    @line_cell_magic
    @_shared_arguments
    def bgocr(self, line: str = "", cell: str | None = None) -> Any:
        """Remove the background, deskew, enhance and OCR document scans.

        Line form: ``r = %bgocr scan.tif --gpu 0`` returns an OcrResult (a
        ResultSet for a multi-page file). Several inputs, batch options such as
        ``--out`` (see ``bgocr batch --help``), or the cell form
        ``%%bgocr [options]`` with one input per line, run as a batch with a
        progress bar and return a BatchResult (``.to_dataframe()``); ``--out DIR``
        writes the results there as they finish, and resumes.
        ``%bgocr --devices`` lists the devices and prints the Tesseract in use. A
        trailing ``;`` hides the value (IPython then returns None: keep it with
        ``-o NAME``).
        """
        # IPython hides the value of a line ending in ";" (output_can_be_silenced)
        # but still passes the ";" on
        line = line.rstrip()
        line = line[:-1] if line.endswith(";") else line
        if line.split()[:1] in (["-h"], ["--help"]):  # as %bgocr? shows it
            print(self.bgocr.parser.format_help())
            return None
        try:
            args = parse_argstring(self.bgocr, line)
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"Cannot split the arguments: {exc}.") from None
        for key, value in vars(args).items():
            setattr(args, key, _unquote(value))
        if args.output and not args.output.isidentifier():
            raise UsageError(f"-o needs a Python variable name, got {args.output!r}.")
        try:
            result = self._run(args, cell)
        except BgocrError as exc:
            raise UsageError(_one_line(exc)) from None
        if args.output:
            self.shell.user_ns[args.output] = result
        return result

    def _defaults(self) -> dict[str, Any]:
        return {"device": self.device, "filters": self.filters, "lang": self.lang,
                "psm": self.psm}

    def _run(self, args: Any, cell: str | None) -> Any:
        if args.devices:
            from . import tesseract
            from .devices import devices

            print(f"OCR: {tesseract.status()}")
            return devices()
        from .inputs import expand_inputs, parse_lines

        entries = [e for e in list(args.sources) + (parse_lines(cell) if cell is not None else [])
                   if e.strip()]  # an empty '' names nothing
        if not entries:
            raise UsageError("Give an image, PDF, folder, glob or URL (or --devices); "
                             "see %bgocr?")
        sources = expand_inputs(entries)
        if not sources:
            raise UsageError(f"No image or PDF files found in {', '.join(entries)}.")
        options = engine_options(args, self._defaults())
        if args.ui:
            from .widgets import Studio

            return Studio(sources[0], **options)

        if cell is None and len(sources) == 1 and not batch_flags(args):
            from .engine import Engine

            result = Engine(**options).ocr(sources[0])  # raises for a single failing page
            if args.save_preprocessed:
                from pathlib import Path

                from .batching import page_filename

                for page in (result.pages if hasattr(result, "pages") else [result]):
                    page.save_preprocessed(Path(args.save_preprocessed) /
                                           page_filename(page.source, page.page, ".png"))
            if args.json:
                return result.to_records() if hasattr(result, "to_records") else [result.to_dict()]
            return result
        from .batching import batch

        result = batch(sources, **options, **batch_options(args), client=scheduler_client(args),
                       save_preprocessed=args.save_preprocessed)
        return result.records if args.json else result


__all__ = ["BgocrMagics"]
