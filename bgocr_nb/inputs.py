"""Turn what a user lists (files, globs, folders, URLs) into a list of sources.

Used by the ``%%bgocr`` cell magic and the batch widget; no IPython needed.
Nothing here opens a file: a path that does not exist is kept as given, so the
batch records it as a failed page instead of silently dropping it.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Iterable, Union

__all__ = ["IMAGE_SUFFIXES", "expand_inputs", "parse_lines"]

#: Suffixes (lower case) picked up when a folder is expanded.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".jp2",
                            ".avif", ".heic", ".heif", ".pdf"})

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")


def parse_lines(text: str) -> list[str]:
    """The entries of a cell body: one per line, blank lines and ``#`` comments skipped.

    Surrounding quotes are removed, so ``"my scan.png"`` and ``my scan.png`` are
    the same entry. Only whole-line comments are recognised (``#`` may occur in
    file names).

    Examples
    --------
    >>> parse_lines('''
    ... # invoices
    ... scans/*.png
    ...   "two words.tif"
    ... ''')
    ['scans/*.png', 'two words.tif']
    """
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":
            line = line[1:-1]
        entries.append(line)
    return entries


def _folder_files(folder: Path, suffixes: frozenset[str]) -> list[str]:
    """Image and PDF files under ``folder``, recursively, sorted, hidden ones skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in suffixes:
                found.append(os.path.join(root, name))
    return found


def expand_inputs(entries: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]], *,
                  suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[str]:
    """Expand files, globs, folders and URLs into a flat list of sources.

    Parameters
    ----------
    entries : str, path or iterable of them
        A string with newlines is read as a cell body (see :func:`parse_lines`).
        Each entry is one of:

        - a URL (``https://...``, ``s3://...``): kept as is;
        - a folder: every file under it (recursively) whose suffix is in
          ``suffixes``, sorted by path;
        - a glob (``scans/*.tif``, ``**/*.pdf``): the matches, sorted; folders
          among them are expanded too;
        - anything else: kept as is, existing or not (a missing file then fails
          as a recorded page failure, not silently).

        ``~`` is expanded. Duplicates are dropped, first occurrence kept.
    suffixes : iterable of str
        File suffixes picked up in folders (case-insensitive).

    Returns
    -------
    list of str

    Examples
    --------
    >>> expand_inputs(["https://example.com/a.png", "missing.tif"])
    ['https://example.com/a.png', 'missing.tif']
    """
    if isinstance(entries, (str, os.PathLike)):
        text = os.fspath(entries)
        entries = parse_lines(text) if "\n" in text else [text]
    wanted = frozenset(s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes)
    out: list[str] = []
    for entry in entries:
        entry = os.fspath(entry).strip()
        if not entry:
            continue
        if _URL.match(entry):
            out.append(entry)
            continue
        path = os.path.expanduser(entry)
        if os.path.isdir(path):
            out += _folder_files(Path(path), wanted)
        elif not os.path.exists(path) and _GLOB.search(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                out.append(entry)  # fails later, visibly, as "not found"
            for match in matches:
                if os.path.isdir(match):
                    out += _folder_files(Path(match), wanted)
                else:
                    out.append(match)
        else:
            out.append(path)
    return list(dict.fromkeys(out))
