"""Matplotlib views: before/after with histograms, each filter step, the background field.

Every function returns a :class:`matplotlib.figure.Figure`. The figures are
closed in pyplot before they are returned, so a notebook shows each once (as the
cell's value) and scripts can ``fig.savefig(...)`` them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from .devices import DeviceSpec
from .pipeline import Pipeline, Step, StepRecord, parse_spec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .results import OcrResult

__all__ = ["plot_background", "plot_result", "plot_steps"]

MAX_SIZE = 1600  # longest side drawn, in pixels; larger images are shrunk for speed


def _subplots(nrows: int, ncols: int, figsize: tuple[float, float], **kwargs: Any):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False,
                             layout="constrained", **kwargs)
    plt.close(fig)  # returned, not auto-shown: one display in notebooks
    return fig, axes


def _shrink(image: np.ndarray, max_size: int | None) -> np.ndarray:
    """``image`` shrunk so its longest side is at most ``max_size`` (area averaging)."""
    if not max_size or max(image.shape[:2]) <= max_size:
        return image
    import cv2

    h, w = image.shape[:2]
    f = max_size / max(h, w)
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=cv2.INTER_AREA)


def _gray(image: np.ndarray) -> np.ndarray:
    from .filters.color import grayscale

    return grayscale(np.asarray(image))


def _show(ax: "Axes", image: np.ndarray, title: str, max_size: int | None, **kwargs: Any):
    image = _shrink(np.asarray(image), max_size)
    if image.ndim == 2:
        kwargs = {"cmap": "gray", "vmin": 0, "vmax": 255, **kwargs}
    im = ax.imshow(image, interpolation="antialiased", **kwargs)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return im


def _histogram(ax: "Axes", image: np.ndarray, title: str, bins: int) -> None:
    counts, edges = np.histogram(_gray(image), bins=bins, range=(0.0, 256.0))
    ax.stairs(counts, edges, fill=True, color="#4a6fa5")
    ax.set_yscale("symlog", linthresh=max(1.0, counts.max() / 1000))
    ax.set_xlim(0, 256)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("intensity", fontsize=8)
    ax.tick_params(labelsize=7)


def plot_result(result: "OcrResult", *, axes: Sequence["Axes"] | None = None,
                figsize: tuple[float, float] | None = None, bins: int = 64,
                max_size: int | None = MAX_SIZE) -> "Figure":
    """The page before and after preprocessing, with their intensity histograms.

    Parameters
    ----------
    result : OcrResult
        Without ``result.original`` (e.g. from a batch run) only the "after"
        column is drawn.
    axes : sequence of Axes, optional
        Where to draw: 4 axes (before image, after image, before histogram,
        after histogram), or 2 when there is no original. Default: a new figure.
    figsize : (float, float), optional
    bins : int
        Histogram bins over 0-255.
    max_size : int or None
        Longest side drawn, in pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = result.plot()                       # doctest: +SKIP
    >>> fig.savefig("before_after.png")           # doctest: +SKIP
    """
    panels = [("after", result.image)]
    if result.original is not None:
        panels.insert(0, ("before", result.original))
    n = len(panels)
    if axes is None:
        h, w = result.image.shape[:2]
        aspect = h / max(w, 1)
        fig, grid = _subplots(2, n, figsize or (5.0 * n, 5.0 * min(aspect, 1.6) + 2.2),
                              height_ratios=[3, 1])
        axes = [*grid[0], *grid[1]]
    else:
        axes = list(np.ravel(axes))
        if len(axes) != 2 * n:
            raise ValueError(f"`axes` must hold {2 * n} axes for this result, got {len(axes)}.")
        fig = axes[0].figure
    for i, (label, image) in enumerate(panels):
        h, w = image.shape[:2]
        title = f"{label} ({w}\u00d7{h})"
        if label == "after":
            title += f": {result.filters}"
        _show(axes[i], image, title, max_size)
        _histogram(axes[n + i], image, f"{label}: intensities", bins)
    conf = result.mean_confidence
    fig.suptitle(f"{result.source} p{result.page + 1} \u00b7 {result.device} \u00b7 "
                 f"confidence {'n/a' if math.isnan(conf) else f'{conf:.1f}'} \u00b7 "
                 f"deskew {result.angle:+.2f}\u00b0", fontsize=10)
    return fig


# -- plot_steps -----------------------------------------------------------------

def _auto_stages(step: Step, records: list[StepRecord]) -> list[tuple[str, Step]]:
    """One auto step per decision it applied: ``auto`` with every later candidate off.

    Auto decides in a fixed order, each decision seeing only the image so far,
    so turning the later candidates off reproduces the page after each decision.
    """
    order = list(step.filter.params)
    stages = []
    for rec in records:
        if not rec.applied or rec.name not in order:
            continue
        later = {name: False for name in order[order.index(rec.name) + 1:]}
        stages.append((str(rec), Step(step.filter, {**step.params, **later})))
    return stages


def _trailing_auto(step: Step, records: list[StepRecord]) -> list[StepRecord]:
    """The records the last step, an auto step, left: one per candidate it considered,
    in its order, after those of the steps before it."""
    order, mine = list(step.filter.params), []
    for rec in reversed(records):
        if rec.name not in order or (mine and order.index(rec.name) >= order.index(mine[-1].name)):
            break
        mine.append(rec)
    return mine[::-1]


def plot_steps(image: Any, filters: Union[str, Iterable[str], None] = "auto", *,
               device: DeviceSpec = "cpu", ncols: int = 3, figsize: tuple[float, float]
               | None = None, max_size: int | None = MAX_SIZE) -> "Figure":
    """The page after each step of a pipeline, cumulatively.

    Parameters
    ----------
    image : path, URL, bytes, numpy.ndarray or PIL.Image.Image
        The page (its first page for multi-page files).
    filters : str
        A filter spec. For ``auto`` (alone or in a spec) one panel per step it
        decided to apply, titled with its reason.
    device : {"cpu", "auto", "gpu", "gpu:N"} or int
    ncols : int
        Panels per row.
    figsize : (float, float), optional
    max_size : int or None
        Longest side drawn, in pixels.

    Returns
    -------
    matplotlib.figure.Figure
        The original first, then one panel per step.
    """
    from .devices import select_device
    from .io import load_image

    page = load_image(image)
    selection = select_device(device)
    stages: list[tuple[str, list[Step]]] = []
    done: list[Step] = []
    for step in parse_spec(filters):
        if step.filter.name == "auto":
            records = Pipeline.from_steps([*done, step]).run(page, device=selection).steps
            for title, partial in _auto_stages(step, _trailing_auto(step, records)):
                stages.append((title, [*done, partial]))
        else:
            stages.append((str(step), [*done, step]))
        done.append(step)

    panels = [("original", page)]
    for title, steps in stages:
        out = Pipeline.from_steps(steps).run(page, device=selection)
        panels.append((f"{len(panels)}. {title}", out.image))
    if len(panels) == 1:
        panels[0] = ("original (no filter applied)", page)

    ncols = max(1, min(ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    h, w = page.shape[:2]
    cell = 4.0
    fig, grid = _subplots(nrows, ncols, figsize or (cell * ncols,
                                                   cell * min(h / max(w, 1), 1.6) * nrows + 0.4))
    flat = list(grid.ravel())
    for ax, (title, img) in zip(flat, panels):
        _show(ax, img, _wrap(title), max_size)
    for ax in flat[len(panels):]:
        fig.delaxes(ax)
    fig.suptitle(f"{Pipeline(filters).spec} on {selection.device.id}", fontsize=10)
    return fig


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])


# -- plot_background -------------------------------------------------------------

def plot_background(image: Any, radius: float | None = None, *,
                    figsize: tuple[float, float] | None = None,
                    max_size: int | None = MAX_SIZE) -> "Figure":
    """The page, its estimated background field, and the page divided by it.

    Parameters
    ----------
    image : path, URL, bytes, numpy.ndarray or PIL.Image.Image
    radius : float, optional
        Window half-width of :func:`bgocr_nb.filters.background.estimate`
        (default: 2% of the short side).
    figsize : (float, float), optional
    max_size : int or None
        Longest side drawn, in pixels.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels; the field has a colour bar.
    """
    from .filters import background
    from .io import load_image

    page = load_image(image)
    gray = _gray(page)
    field = background.estimate(gray, radius=radius)
    flat = background.remove(gray, radius=radius)
    h, w = gray.shape
    shown = background.default_radius(gray.shape) if radius is None else radius
    fig, grid = _subplots(1, 3, figsize or (13.0, 4.3 * min(h / max(w, 1), 1.6) + 0.6))
    ax_page, ax_field, ax_flat = grid[0]
    _show(ax_page, page, f"original ({w}\u00d7{h})", max_size)
    im = _show(ax_field, field, f"background field (radius {shown:g})", max_size,
               cmap="magma", vmin=float(field.min()), vmax=float(field.max()))
    fig.colorbar(im, ax=ax_field, shrink=0.8)
    _show(ax_flat, flat, "original / field", max_size)
    return fig
