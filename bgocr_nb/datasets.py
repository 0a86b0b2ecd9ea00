"""Bundled sample scans with ground-truth text.

The samples live in ``bgocr_nb/data`` and are described by
``manifest.json`` (made by ``python -m bgocr_nb.synth --write-samples``).

Examples
--------
>>> from bgocr_nb.datasets import list_samples, sample_path, sample_text
>>> "letter_clean.png" in list_samples()
True
>>> sample_text("letter_clean.png").splitlines()[0][:4]
'Dear'
"""

from __future__ import annotations

import atexit
import json
from contextlib import ExitStack
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["list_samples", "sample_path", "sample_text", "sample_info"]

_MANIFEST = "manifest.json"
_files = ExitStack()  # keeps files extracted from a zipped install alive
atexit.register(_files.close)


def _data():
    return resources.files("bgocr_nb").joinpath("data")


@lru_cache(maxsize=1)
def _manifest() -> dict:
    return json.loads(_data().joinpath(_MANIFEST).read_text(encoding="utf-8"))


def _resolve(name: str) -> str:
    """Map a file name (or a unique stem, e.g. "letter_clean") to a manifest key."""
    man = _manifest()
    if name in man:
        return name
    stems = [k for k in man if Path(k).stem == name]
    if len(stems) == 1:
        return stems[0]
    raise FileNotFoundError(f"no bundled sample {name!r}; available: {', '.join(sorted(man))}")


def _pages(name: str) -> list[dict]:
    entry = _manifest()[_resolve(name)]
    return list(entry) if isinstance(entry, list) else [entry]


def _as_path(res) -> Path:
    if isinstance(res, Path):
        return res
    return Path(_files.enter_context(resources.as_file(res)))


def list_samples() -> list[str]:
    """Return the file names of the bundled sample images, sorted.

    Returns
    -------
    list of str
    """
    return sorted(_manifest())


def sample_path(name: str) -> Path:
    """Return the filesystem path of a bundled sample image.

    Parameters
    ----------
    name : str
        File name from :func:`list_samples` (the stem alone also works).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If there is no such sample; the message lists the available ones.
    """
    return _as_path(_data().joinpath(_resolve(name)))


def sample_text(name: str, page: int = 0) -> str:
    """Return the ground-truth text of a sample (wrapped lines, "\\n"-joined).

    Parameters
    ----------
    name : str
        Sample file name (or stem).
    page : int, optional
        Page index for multi-page TIFFs.

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        Unknown sample.
    IndexError
        ``page`` out of range.
    """
    pages = _pages(name)
    if not -len(pages) <= page < len(pages):
        raise IndexError(f"sample {name!r} has {len(pages)} page(s); page={page} is out of range")
    return _data().joinpath(pages[page]["text"]).read_text(encoding="utf-8").rstrip("\n")


def sample_info(name: str) -> dict:
    """Return the manifest information of a sample.

    Parameters
    ----------
    name : str
        Sample file name (or stem).

    Returns
    -------
    dict
        The first page's entry (``text``, ``lang``, ``kind``, ``angle``,
        ``dpi``, ``width``, ``height``, ``seed``) plus ``file`` (the file name),
        ``n_pages`` and ``pages`` (the list of per-page entries).

    Raises
    ------
    FileNotFoundError
        Unknown sample.
    """
    key = _resolve(name)
    pages = [dict(p) for p in _pages(key)]
    return {**pages[0], "file": key, "n_pages": len(pages), "pages": pages}
