"""Notebook widgets: the interactive :class:`Studio` and the :class:`BatchProgress` panel.

Importing this package imports ipywidgets; the rest of bgocr_nb never does.
"""

from __future__ import annotations

from .batch import BatchProgress, Progress, run_batch
from .studio import Studio

__all__ = ["BatchProgress", "Progress", "Studio", "run_batch"]
