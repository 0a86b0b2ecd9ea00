"""Preprocessing filters: small pure functions on 2-D float32 images in [0, 255].

Every filter runs on NumPy (CPU) or CuPy (GPU) arrays alike; the registry below
names them for pipeline specs such as ``"deskew,background(radius=40)"``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from . import background, binarize, color, contrast, denoise, deskew, geometry, lines
from .auto import auto


@dataclass(frozen=True)
class Filter:
    """A named filter: ``func(image, **params)`` returns an image, or an
    ``(image, extra)`` pair whose ``extra`` is reported under ``returns``."""

    name: str
    func: Callable[..., Any]
    summary: str
    returns: str | None = None
    colour: bool = False  #: takes colour input as it is (the others get it gray)

    @property
    def params(self) -> dict[str, inspect.Parameter]:
        """The keyword parameters a spec may set, with their defaults."""
        sig = inspect.signature(self.func)  # ``out``, where to write, is for callers
        return {n: p for n, p in sig.parameters.items()
                if p.kind is p.KEYWORD_ONLY and n != "out"}

    def apply(self, image: Any, **params: Any) -> tuple[Any, dict]:
        out = self.func(image, **params)
        if not isinstance(out, tuple):
            return out, {}
        image, extra = out
        return image, (extra if isinstance(extra, dict) else {self.returns: extra})


FILTERS: dict[str, Filter] = {f.name: f for f in (
    Filter("auto", auto, "inspect the page and apply only what it needs (default)",
           colour=True),
    Filter("grayscale", color.grayscale, "colour to gray (luma, min, max or one channel)",
           colour=True),
    Filter("page", geometry.flatten_page, "cut a page photographed on a desk out, squared"),
    Filter("invert", color.invert, "swap light text on dark to dark on light"),
    Filter("border", geometry.remove_border, "paint dark scanner borders and punched holes white"),
    Filter("lines", lines.remove_lines,
           "paint faint straight lines (folds, ruled paper, streaks) with the paper",
           returns="lines"),
    Filter("denoise", denoise.denoise, "median or Gaussian smoothing of noise"),
    Filter("despeckle", denoise.despeckle,
           "paint lone specks (dust, pepper noise) with the paper", returns="specks"),
    Filter("background", background.remove, "flatten uneven light, shadows, stains, paper colour"),
    Filter("deskew", deskew.deskew, "estimate the skew angle and straighten", returns="angle"),
    Filter("keystone", geometry.unkeystone,
           "level converging lines, stand up leaning strokes (a page photographed at an angle)"),
    Filter("contrast", contrast.enhance, "stretch faint ink to black, light marks to white"),
    Filter("unfade", contrast.unfade, "stretch ink that fades across the page, place by place"),
    Filter("binarize", binarize.binarize, "threshold to black and white (Sauvola or Otsu)"),
    Filter("upscale", geometry.upscale, "enlarge small text"),
    Filter("downscale", geometry.downscale, "shrink large text"),
)}

__all__ = ["FILTERS", "Filter", "auto", "background", "binarize", "color", "contrast",
           "denoise", "deskew", "geometry", "lines"]
