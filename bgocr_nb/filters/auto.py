"""The automatic pipeline: measure the page, apply only what it needs.

A clean white page passes through untouched; a dark, noisy, shadowed photo gets
the full treatment. Each decision is recorded with the measurement behind it.
Scanner borders are looked for after background removal, where a shadowed
margin has turned white and only true dark bands remain.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..backend import ops_for, rotation_geometry
from . import background as _background
from . import contrast as _contrast
from . import deskew as _deskew
from . import geometry
from . import lines as _lines
from .analysis import faint_marks, measure
from .color import (DARK, colour_marks, grayscale as _grayscale, invert as _invert,
                    invert_regions, light_text, paper_level, reversed_regions)
from .denoise import denoise as _denoise, despeckle as _despeckle

# Decision thresholds, in the units of analysis.PageStats and color.ColourMarks.
MARKS_CROSSING = 0.04   # coloured ink this much against the print is marks over it (seals, pen)
MARKS_AREA = 0.02       # ... where it covers at most this much (more: a map's or chart's fills)
DARK_PAPER = DARK       # below: a dark ground (light text, or a page on a dark table)
BORDER_DARKNESS = 64.0  # scanner borders are near black
BORDER_AREA = 0.001     # fraction of the page: even a sliver of a band reads as junk
NOISE_SIGMA = 8.0       # gray levels; smoothing helps above this
DENOISE_SIGMA = 0.85    # pixels, at least: smooths grain, keeps strokes
DENOISE_PER_HEIGHT = 1 / 14  # ... or this share of the text height: larger text, wider strokes
DENOISE_MAX = 2.5       # pixels, at most
SPECKS = 30             # ink blobs of a speck's size: lone ones are looked for from this many
UNEVEN = 0.10           # paper field varies by more than 10 %
DIM_PAPER = 235.0       # paper darker than this (gray, coloured) is normalised
FAINT_MARKS = 0.03      # show-through: faint marks away from the ink cover this much
MARKS_WHITE = 0.5       # ... and are whitened from halfway to the paper level, away from ink
MIN_SKEW = 0.3          # degrees; Tesseract copes with less
SMALL_LINES = 15.0      # text line height (about the em) in pixels below which Tesseract misreads
TARGET_LINES = 21.0     # line height small text is enlarged to
LARGE_LINES = 60.0      # line height above which Tesseract misreads (capitals 40+ px)
TARGET_LARGE = 42.0     # line height large text is shrunk to (capitals about 30 px)
MAX_SIDE = 32767        # pixels: Tesseract's limit on either side of a page (tesseract.MAX_SIDE)


def auto(image: Any, *, grayscale: bool = True, page: bool = True, invert: bool = True,
         denoise: bool = True, background: bool = True, border: bool = True,
         specks: bool = True, lines: bool = False, deskew: bool = True,
         contrast: bool = True, keystone: bool = True, upscale: bool = True,
         downscale: bool = True) -> tuple[Any, dict]:
    """Inspect a page and apply only the filters it needs.

    A colour page is made gray first: by luma, or, where coloured marks such as
    seals lie over the print, by the channel that drops them out. A page
    photographed whole on a desk is cut out and squared next. The candidates
    run in the order of the keywords, each decided on the page as the earlier ones
    left it; each keyword turns one candidate off, but for ``lines``, which is off
    unless turned on: faint straight lines (a fold, ruled paper, a scanner streak;
    see :mod:`.lines`) cost Tesseract much where a page has them, but looking
    for them costs a few milliseconds on every page. A skew is measured in its turn
    but removed after the contrast step, on the 8-bit page; the lean of upright
    strokes (a page photographed at an angle) is measured on the turned page and
    taken out in the same warp. Returns the image and
    ``{"steps": [...], "angle": float, "scale": float}``, where each step record
    is a dict with ``name``, ``applied``, ``reason`` and ``params``, and ``scale``
    is the resizing applied to small or large text (1.0 for none).
    """
    steps: list[dict] = []
    clock = [time.perf_counter()]
    original = image

    def note(name: str, applied: bool, reason: str, **params: Any) -> None:
        now = time.perf_counter()  # each record carries the time since the last one
        steps.append({"name": name, "applied": applied, "reason": reason, "params": params,
                      "seconds": now - clock[0]})
        clock[0] = now

    marks = colour_marks(image) if grayscale else None  # None for gray input too
    if marks and marks.crossing > MARKS_CROSSING and marks.area <= MARKS_AREA:
        image = _grayscale(image, method=marks.channel)
        note("grayscale", True, f"coloured marks over the print ({marks.crossing:.0%} of them "
             f"against it, {marks.area:.2%} of the page): the {marks.channel} channel drops "
             "them out", method=marks.channel)
    else:
        if grayscale and image.ndim == 3:
            note("grayscale", False, "luma: " + (
                "no strongly coloured ink" if marks is None else
                f"coloured ink lies beside the print ({marks.crossing:.0%} against it)"
                if marks.crossing <= MARKS_CROSSING else
                f"coloured ink covers {marks.area:.1%} of the page (fills, not marks)"))
        image = _grayscale(image)

    corners = geometry.page_corners(image) if page else None
    if corners is not None:
        image = geometry.flatten_page(image, corners)
        note("page", True, "a page photographed whole on a darker surface: cut out by its "
             "four corners and squared", corners=[[round(float(v)) for v in c] for c in corners])
    elif page:
        note("page", False, "no whole page with four corners on a darker surround")

    level = paper_level(image)
    # a page on a desk whose corners were not found: its edges would be stood level
    # with its lines by a keystone, and read as lines of junk
    on_desk = (keystone and deskew and corners is None
               and geometry.framed_by_surface(image, paper=level))
    if invert and level < DARK_PAPER and light_text(image):
        image = _invert(image)
        note("invert", True, f"dark page: paper level {level:.0f} < {DARK_PAPER:.0f}, "
             "light text")
    elif invert and level < DARK_PAPER:
        note("invert", False, f"dark ground (level {level:.0f}) but dark text: "
             "a page on a dark surface")
    elif invert and (regions := reversed_regions(image)) is not None:
        image = invert_regions(image, regions)
        note("invert", True, f"light text on dark ground over {float(regions.mean()):.1%} "
             "of the page (heading bars, panels): those parts inverted", regions=True)
    elif invert:
        note("invert", False, f"dark text on light: paper level {level:.0f}")

    stats = measure(image)
    if denoise:
        if stats.noise_sigma > NOISE_SIGMA:
            # a blur scaled to the strokes: a median filter breaks the thin strokes of
            # small CJK text
            sigma = round(min(DENOISE_MAX, max(DENOISE_SIGMA, DENOISE_PER_HEIGHT
                                               * (stats.text_height or 0.0))), 2)
            image = _denoise(image, method="gaussian", sigma=sigma)
            note("denoise", True, f"noise sigma {stats.noise_sigma:.1f} > {NOISE_SIGMA:.0f}: "
                 f"a {sigma:g} px blur for " + (f"text {stats.text_height:.0f} px high"
                                                if stats.text_height else "unmeasured text"),
                 method="gaussian", sigma=sigma)
        else:
            note("denoise", False, f"noise sigma {stats.noise_sigma:.1f}")

    normalised = False
    if background:
        radius = stats.radius
        why = (f"paper varies by {stats.unevenness:.0%}, brightest {stats.paper_brightness:.0f}")
        if stats.unevenness > UNEVEN or stats.paper_brightness < DIM_PAPER:
            image = _background.remove(image, radius=radius)
            normalised = True
            note("background", True, why, radius=None if radius is None else round(radius, 1))
        else:
            note("background", False, why + ": already even and white")

    if border:
        area = geometry.border_area(image, darkness=BORDER_DARKNESS)
        if area > BORDER_AREA:
            image = geometry.remove_border(image, darkness=BORDER_DARKNESS)
            note("border", True, f"dark edge bands or punched holes cover {area:.2%} of the page",
                 darkness=BORDER_DARKNESS)
        else:
            note("border", False, f"no dark edge bands or punched holes ({area:.2%})")

    if specks and stats.specks >= SPECKS:
        image, count = _despeckle(image)
        note("specks", bool(count), f"{count} lone specks (dust, pepper noise) painted with the "
             f"paper, of {stats.specks} speck-sized blobs" if count else
             f"{stats.specks} speck-sized blobs, none alone: kept", count=count)
    elif specks:
        note("specks", False, f"{stats.specks} speck-sized blobs (under {SPECKS})")

    if lines:
        image, count = _lines.remove_lines(image)
        note("lines", bool(count), f"{count} faint straight lines (folds, ruled paper, streaks) "
             "painted with the paper beside them" if count else "no faint straight lines",
             count=count)

    angle, turn, extent, line_height, bands = 0.0, 0.0, None, None, None
    if deskew:  # the skew, the height of the lines across them (used below), their angle
        skew = _deskew.survey(image, bands=geometry.LINE_BANDS if keystone else 0)
        angle, extent, line_height, bands = skew.angle, skew.extent, skew.line_height, skew.bands
        if abs(angle) >= MIN_SKEW and not line_height:
            note("deskew", False, f"skew {angle:+.2f} deg, but no text lines run that way "
                 "(a page turned sideways?)", angle=angle)
            angle = 0.0
        elif abs(angle) >= MIN_SKEW:  # the page is turned below, once its levels are final
            note("deskew", True, f"skew {angle:+.2f} deg", angle=angle)
            turn, turned = -angle, steps[-1]  # its record takes the time of the turn too
        else:
            note("deskew", False, f"skew {angle:+.2f} deg is below {MIN_SKEW} deg", angle=angle)

    stretched = False
    if contrast:
        marks = faint_marks(image)
        # an intermediate made here is overwritten in place (a full-size array less)
        out = None if ops_for(image).xp.may_share_memory(image, original) else image
        if marks > FAINT_MARKS:
            image, stretched = _contrast.enhance(image, marks=MARKS_WHITE, out=out), True
            note("contrast", True, f"faint marks away from the text cover {marks:.1%} "
                 "(show-through, stains): whitened", marks=MARKS_WHITE)
        elif normalised:
            image, stretched = _contrast.enhance(image, out=out), True
            note("contrast", True, "stretch the ink to black after background removal")
        else:  # a stretch would change nothing Tesseract sees but what it clips
            black, _ = _contrast.levels(image)
            note("contrast", False, f"even white paper, darkest ink {black:.0f}: Tesseract "
                 "adapts to the ink's contrast itself")

    fill = 255.0 if normalised or stretched else min(stats.paper_brightness, 255.0)
    if turn:  # turned last, at 8 bits: half the cost of turning the float page
        start = time.perf_counter()
        unturned = ops_for(image).quantize(image)
        image = _deskew.rotate(unturned, turn, fill=fill, keep=extent)
        turned["seconds"] += time.perf_counter() - start
        clock[0] = time.perf_counter()

    # Lines that converge, and strokes that lean or converge once the lines are level:
    # a page photographed at an angle. Levelled and stood upright in one warp with the
    # turn, from the unturned page.
    if keystone and deskew and not on_desk:
        source = unturned if turn else image
        so_far = (np.vstack([rotation_geometry(source.shape, turn, extent)[1], [0.0, 0.0, 1.0]])
                  if turn else np.eye(3))
        image, converging, found = geometry.rectify(source, image, so_far, bands,
                                                    text_height=stats.text_height, fill=fill)
        if converging is None and found is None:
            note("keystone", False, "lines run parallel and upright strokes stand upright")
        else:
            params, why = {}, []
            if converging is not None:
                params.update(line_angle=round(converging.angle, 2),
                              line_spread=round(converging.spread, 2))
                why.append(f"lines turn {converging.angle:+.1f} deg at the text's middle and "
                           f"{converging.spread:+.1f} deg more at its bottom")
            if found is not None:
                params.update(slant=round(found.slant, 2), spread=round(found.spread, 2))
                why.append(f"upright strokes lean {found.slant:+.1f} deg at the page's "
                           f"middle and {found.spread:+.1f} deg more at its right edge")
            note("keystone", True, "; ".join(why) + ": a page photographed at an angle",
                 **params)
    elif keystone and deskew:
        note("keystone", False, "a page on a darker surface, its corners not found: its "
             "edges would read as lines")

    # Text size: Tesseract reads lines of about 20 to 60 pixels best (capitals near 30 px).
    if (upscale or downscale) and not deskew:  # measured along the lines, however skewed
        line_height = _deskew.measure(image)[2]
    measured = f"lines {line_height:.0f} px high" if line_height else "no text lines measured"
    scale = 1.0
    room = math.floor(100 * MAX_SIDE / max(image.shape)) / 100  # the largest factor that fits
    if upscale and line_height and line_height < SMALL_LINES and room > 1.0:
        scale = round(min(3.0, TARGET_LINES / line_height, room), 2)
        image = geometry.upscale(image, factor=scale)
        note("upscale", True, f"small text: {measured}", factor=scale)
    elif upscale:
        note("upscale", False, measured + (f", but the page is {max(image.shape)} px long: "
                                           f"Tesseract takes {MAX_SIDE} at most"
                                           if line_height and line_height < SMALL_LINES else ""))
    if downscale and line_height and line_height > LARGE_LINES:
        scale = round(max(0.1, TARGET_LARGE / line_height), 2)  # the filter shrinks 10x at most
        image = geometry.downscale(image, factor=scale)
        note("downscale", True, f"large text: {measured}", factor=scale)
    elif downscale:
        note("downscale", False, measured)

    return image, {"steps": steps, "angle": angle, "scale": scale}
