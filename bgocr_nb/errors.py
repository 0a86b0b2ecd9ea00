"""Exceptions raised by bgocr_nb.

Every error a user can cause or fix derives from :class:`BgocrError` and carries
an ``exit_code`` that the command line returns, in the spirit of OCRmyPDF.
"""

from __future__ import annotations


class BgocrError(Exception):
    """Base class of all bgocr_nb errors."""

    exit_code = 1


class ArgumentError(BgocrError, ValueError):
    """A bad argument: unknown filter or parameter, invalid value, bad device."""

    exit_code = 2


class DeviceError(ArgumentError):
    """A requested device does not exist or cannot be used."""


class NoGpuError(DeviceError):
    """A GPU was requested where none can be used (no CuPy, CUDA driver or GPU):
    a missing dependency more than a bad argument."""

    exit_code = 4


class InputError(BgocrError):
    """An input cannot be read: missing file, corrupt image, unreachable URL."""

    exit_code = 3


class MissingDependencyError(BgocrError):
    """A program, language pack or optional package is not installed."""

    exit_code = 4


class OcrError(BgocrError):
    """Tesseract ran but failed on a page."""

    exit_code = 5
