"""Notebook widgets: the interactive :class:`Studio` and the :class:`BatchProgress` panel.

Importing this package imports ipywidgets; the rest of bgocr_nb never does.
"""

from __future__ import annotations

from .batch import BatchProgress
from .studio import Studio

__all__ = ["BatchProgress", "Studio"]
