"""Studio: tune the filters of one page live, then OCR it, in a notebook."""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import re
import traceback
from pathlib import Path
from typing import Any, Iterator

import cv2
import ipywidgets as widgets
import numpy as np

from ..devices import DeviceSpec, devices, select_device
from ..display import highlighted_text, png_bytes
from ..engine import Engine
from ..errors import ArgumentError, BgocrError
from ..filters import FILTERS, Filter
from ..io import MAX_PIXELS, Page, Source, describe, load_image
from ..pipeline import Pipeline, Step, parse_spec
from ..results import OcrResult

__all__ = ["Studio"]

# Parameters measured in pixels: scaled down with the preview so it matches the full page.
_PIXEL_PARAMS = {"radius", "window"}
_SMALL = {"description_width": "initial"}


def _choices(flt: Filter, name: str) -> tuple[str, ...] | None:
    """The choices of a string parameter, read from its numpydoc line ``name : {"a", "b"}``."""
    match = re.search(rf"^\s*{re.escape(name)}\s*:\s*\{{([^}}]*)\}}", inspect.getdoc(flt.func)
                      or "", re.M)
    if not match:
        return None
    return tuple(c.strip().strip("'\"") for c in match.group(1).split(",") if c.strip())


def _param_control(flt: Filter, name: str, default: Any) -> widgets.ValueWidget:
    """A control for one filter parameter, chosen from the type of its default."""
    common = dict(description=name, style=_SMALL, layout=widgets.Layout(width="150px"))
    if isinstance(default, bool):
        return widgets.Checkbox(value=default, indent=False, description=name,
                                layout=widgets.Layout(width="110px"))
    if isinstance(default, int):
        return widgets.IntText(value=default, **common)
    if isinstance(default, float):
        return widgets.FloatText(value=default, **common)
    if default is None:  # "automatic" unless a value is typed
        return widgets.Text(value="", placeholder="auto", **common)
    choices = _choices(flt, name)
    if choices and default in choices:
        return widgets.Dropdown(options=choices, value=default, **common)
    return widgets.Text(value=str(default), **common)


def _set_control(control: widgets.ValueWidget, value: Any) -> None:
    control.value = "" if value is None else str(value) if isinstance(control, widgets.Text) \
        else value


class Studio(widgets.VBox):
    """An interactive panel to tune preprocessing on one page and OCR it.

    A device menu, one checkbox per filter with its parameters, an ``auto``
    mode, before/after previews that update as you change things, and buttons
    to run OCR and save the preprocessed page. Errors appear in the panel.

    The live preview runs on a copy shrunk to ``preview_width`` pixels (pixel
    parameters such as ``radius`` are scaled with it; resizing is skipped);
    Run OCR and Save use the full page.

    Parameters
    ----------
    source : path, URL, bytes, numpy.ndarray or PIL.Image.Image
        The page (the first page of a multi-page file).
    device : {"auto", "cpu", "gpu", "gpu:N"} or int
    filters : str
        Initial filter spec; ``"auto"`` turns the auto mode on.
    lang : str
    psm : int
    variables : dict, optional
        Tesseract ``-c`` variables.
    dpi : float
        PDF rendering resolution.
    max_pixels : int
        Largest page accepted.
    preview_width : int
        Width in pixels of the previews (and of the copy the preview filters run on).
    debounce : float
        Seconds to wait after a change before refreshing the preview (in a
        running kernel; elsewhere the preview refreshes at once).

    Attributes
    ----------
    spec : str
        The filter spec the controls describe.
    result : OcrResult or None
        The last OCR result.
    image : numpy.ndarray
        The full-resolution page.

    Examples
    --------
    >>> from bgocr_nb.widgets import Studio                              # doctest: +SKIP
    >>> studio = Studio("scan.png", device="gpu:0"); studio             # doctest: +SKIP
    >>> studio.spec                                                      # doctest: +SKIP
    'auto'
    """

    def __init__(self, source: Source, *, device: DeviceSpec = "auto", filters: str = "auto",
                 lang: str = "eng", psm: int = 3, variables: dict[str, str] | None = None,
                 dpi: float = 300, max_pixels: int = MAX_PIXELS, preview_width: int = 600,
                 debounce: float = 0.3) -> None:
        self.source_name = describe(source)
        self.image = load_image(source, dpi=dpi, max_pixels=max_pixels)
        self.variables, self.dpi, self.max_pixels = variables, dpi, max_pixels
        self.preview_width, self.debounce = preview_width, debounce
        self.result: OcrResult | None = None
        self.last_error: BaseException | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._full_cache: tuple[tuple[str, str], np.ndarray] | None = None

        h, w = self.image.shape[:2]
        self._scale = max(1.0, w / preview_width)
        self._small = (cv2.resize(self.image, (preview_width, max(1, round(h / self._scale))),
                                  interpolation=cv2.INTER_AREA) if self._scale > 1 else self.image)

        # device, language
        self._devices = devices()
        initial = select_device(device, available=self._devices)  # fails early on a bad device
        options = [("auto: " + initial.device.describe() if str(device) == "auto" else "auto",
                    "auto")] + [(d.describe(), d.id) for d in self._devices]
        self.device = widgets.Dropdown(options=options, description="device", style=_SMALL,
                                       value="auto" if str(device) == "auto" else initial.device.id,
                                       layout=widgets.Layout(width="auto"))
        reason = self._devices.gpu_unavailable_reason
        self.gpu_note = widgets.HTML(
            f'<span style="color:#888" title="{html.escape(reason)}">No GPU: '
            f"{html.escape(reason[:90])}</span>" if reason and not self._devices.gpus else "")
        self.lang = widgets.Text(value=lang, description="lang", style=_SMALL,
                                 layout=widgets.Layout(width="160px"))
        self.psm = widgets.BoundedIntText(value=psm, min=0, max=13, description="psm",
                                          style=_SMALL, layout=widgets.Layout(width="110px"))
        self.rotate = widgets.Checkbox(value=False, description="rotate every page", indent=False,
                                       tooltip="turn a sideways or upside-down page upright "
                                               "before OCR (Tesseract's OSD, ~0.25 s); "
                                               "unticked, only a page read weakly is turned",
                                       layout=widgets.Layout(width="auto"))

        # filters: one checkbox each, with their parameters; "auto" first
        self.toggles: dict[str, widgets.Checkbox] = {}
        self.params: dict[str, dict[str, widgets.ValueWidget]] = {}
        rows = []
        for name, flt in FILTERS.items():
            label = "auto mode" if name == "auto" else name
            self.toggles[name] = widgets.Checkbox(value=False, description=label, indent=False,
                                                  tooltip=flt.summary,
                                                  layout=widgets.Layout(width="110px"))
            self.params[name] = {p: _param_control(flt, p, par.default)
                                 for p, par in flt.params.items()}
            note = widgets.HTML(f'<span style="color:#888">{html.escape(flt.summary)}</span>')
            rows.append(widgets.HBox([self.toggles[name], *self.params[name].values(), note]))
        self.auto = self.toggles["auto"]
        self._apply_spec(filters)

        # previews, text, actions
        self.before = widgets.Image(format="png", value=png_bytes(self._small, preview_width))
        self.after = widgets.Image(format="png")
        self.steps = widgets.HTML()
        self.run_button = widgets.Button(description="Run OCR", icon="play",
                                         button_style="primary")
        self.save_path = widgets.Text(value=f"{Path(self.source_name).stem or 'page'}"
                                            "-preprocessed.png",
                                      description="save to", style=_SMALL)
        self.save_button = widgets.Button(description="Save preprocessed", icon="save")
        self.timings = widgets.HTML()
        self.status = widgets.HTML()
        self.error = widgets.HTML()
        self.text = widgets.HTML(layout=widgets.Layout(border="1px solid #ddd", padding="4px",
                                                       max_height="320px", overflow="auto"))
        self.run_button.on_click(lambda _: self.run_ocr())
        self.save_button.on_click(lambda _: self.save())

        for control in [self.device, *self.toggles.values(),
                        *(c for ps in self.params.values() for c in ps.values())]:
            control.observe(self._changed, names="value")

        def column(title: str, image: widgets.Image) -> widgets.VBox:
            return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), image])

        super().__init__([
            widgets.HBox([self.device, self.lang, self.psm, self.rotate, self.gpu_note]),
            widgets.VBox(rows),
            widgets.HBox([column("before", self.before), column("after", self.after)]),
            self.steps,
            widgets.HBox([self.run_button, self.save_path, self.save_button]),
            widgets.HBox([self.timings, self.status]),
            self.error,
            self.text,
        ])
        self._sync_enabled()
        self.refresh()

    # -- the spec ---------------------------------------------------------------
    def _apply_spec(self, spec: str) -> None:
        """Set the toggles and parameters from a filter spec."""
        steps = parse_spec(spec)
        autos = [s for s in steps if s.filter.name == "auto"]
        for step in autos[:1] or steps:
            self.toggles[step.filter.name].value = True
            for key, value in step.params.items():
                _set_control(self.params[step.filter.name][key], value)

    def _step_params(self, name: str) -> dict[str, Any]:
        """The parameters of a filter that differ from their defaults."""
        out = {}
        for key, par in FILTERS[name].params.items():
            value = self.params[name][key].value
            if isinstance(self.params[name][key], widgets.Text):
                value = value.strip()
                if value == ("" if par.default is None else str(par.default)):
                    continue
            elif value == par.default:
                continue
            out[key] = value
        return out

    @property
    def spec(self) -> str:
        """The filter spec of the current settings (``"none"`` when nothing is on)."""
        names = ["auto"] if self.auto.value else [n for n in FILTERS if n != "auto"
                                                  and self.toggles[n].value]
        parts = [str(Step(FILTERS[n], self._step_params(n))) for n in names]
        return ",".join(parts) or "none"

    def _preview_pipeline(self) -> Pipeline:
        """The pipeline of :attr:`spec`, adapted to the shrunk preview copy."""
        pipeline = Pipeline(self.spec)
        if self._scale <= 1:
            return pipeline
        steps: list[Step] = []
        for step in pipeline.steps:
            if step.filter.name in ("upscale", "downscale"):
                continue
            params = dict(step.params)
            if step.filter.name == "auto":
                params["upscale"] = params["downscale"] = False
            for key in _PIXEL_PARAMS & params.keys():
                if isinstance(params[key], (int, float)) and params[key] > 0:
                    scaled = params[key] / self._scale
                    params[key] = max(3, round(scaled)) if isinstance(params[key], int) else scaled
            steps.append(Step(step.filter, params))
        return Pipeline.from_steps(steps)

    def _selection(self):
        return select_device(self.device.value, available=self._devices)

    # -- events -----------------------------------------------------------------
    def _sync_enabled(self) -> None:
        auto = self.auto.value
        for name, toggle in self.toggles.items():
            if name != "auto":
                toggle.disabled = auto
            for control in self.params[name].values():
                control.disabled = (not auto) if name == "auto" else (auto or not toggle.value)

    def _changed(self, change: dict | None = None) -> None:
        self._sync_enabled()
        if self.result is not None:
            self.status.value = ('<span style="color:#888">settings changed since the text '
                                 "below: Run OCR again</span>")
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            loop = asyncio.get_running_loop() if self.debounce > 0 else None
        except RuntimeError:  # no event loop (plain Python, tests): refresh now
            loop = None
        if loop is None:
            self.refresh()
        else:
            self._pending = loop.call_later(self.debounce, self.refresh)

    @contextlib.contextmanager
    def _report_errors(self) -> Iterator[None]:
        """Show any exception in the error area instead of losing it in a callback."""
        self.error.value = ""
        try:
            yield
        except BgocrError as exc:
            self.last_error = exc
            self.error.value = (f'<div style="color:#b00"><b>{type(exc).__name__}:</b> '
                                f"{html.escape(str(exc))}</div>")
        except Exception as exc:  # a bug: show it with its traceback
            self.last_error = exc
            tb = html.escape("".join(traceback.format_exception(exc)))
            self.error.value = (f'<div style="color:#b00"><b>{type(exc).__name__}:</b> '
                                f"{html.escape(str(exc))}<details><summary>traceback</summary>"
                                f"<pre>{tb}</pre></details></div>")

    @contextlib.contextmanager
    def _busy(self, message: str) -> Iterator[None]:
        self.run_button.disabled = self.save_button.disabled = True
        self.status.value = f"<i>{html.escape(message)}</i>"
        try:
            yield
        finally:
            self.run_button.disabled = self.save_button.disabled = False

    # -- actions ----------------------------------------------------------------
    def refresh(self) -> None:
        """Preprocess the preview copy with the current settings and show it (synchronous)."""
        self._pending = None
        with self._report_errors():
            pre = self._preview_pipeline().run(self._small, device=self._selection())
            self.after.value = png_bytes(pre.image, self.preview_width)
            self.steps.value = self._steps_html(pre.steps)
            h, w = self._small.shape[:2]
            self.timings.value = (f"preview {pre.seconds * 1000:.0f} ms on {pre.device.id} "
                                  f"({w}&times;{h} px) &middot; ")

    def run_ocr(self) -> OcrResult | None:
        """Preprocess the full page and OCR it; shows and returns the result."""
        with self._busy("running OCR ..."), self._report_errors():
            self.status.value = ""
            engine = Engine(device=self._selection(), filters=self.spec, lang=self.lang.value,
                            psm=self.psm.value, variables=self.variables, dpi=self.dpi,
                            max_pixels=self.max_pixels,
                            rotate_pages="always" if self.rotate.value else "weak")
            result = engine.recognize(Page(self.image, self.source_name, 0))
            self.result = result
            self._full_cache = ((result.filters, result.device), result.image)
            self.after.value = png_bytes(result.image, self.preview_width)
            self.steps.value = self._steps_html(result.steps)
            self.text.value = highlighted_text(result)
            conf = result.mean_confidence
            t = result.timings
            self.timings.value = (f"preprocess {t['preprocess']:.2f} s on {result.device}, "
                                  f"OCR {t['ocr']:.2f} s &middot; {result.word_count} words, "
                                  f"mean confidence {'n/a' if conf != conf else f'{conf:.0f}'}")
        return self.result

    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the full-resolution preprocessed page to ``path`` (default: the text box)."""
        with self._busy("saving ..."), self._report_errors():
            self.status.value = ""
            path = Path(str(path if path is not None else self.save_path.value).strip())
            if not path.name:
                raise ArgumentError("Type a file name to save to, e.g. page.png.")
            selection = self._selection()
            pipeline = Pipeline(self.spec)
            key = (pipeline.spec, selection.device.id)
            if self._full_cache is None or self._full_cache[0] != key:
                self._full_cache = (key, pipeline.run(self.image, device=selection).image)
            from PIL import Image

            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(self._full_cache[1]).save(path)
            except (ValueError, OSError) as exc:  # unknown suffix, unwritable folder
                raise ArgumentError(f"Cannot save to {str(path)!r}: {exc}") from None
            self.status.value = f"saved {html.escape(str(path))}"
            return path
        return None

    @staticmethod
    def _steps_html(steps: list) -> str:
        items = "".join(
            f'<li style="color:{"#000" if s.applied else "#888"}">{html.escape(str(s))}</li>'
            for s in steps) or "<li>no filter</li>"
        return f'<ul style="margin:0;font-size:90%">{items}</ul>'
