"""Colour handling: grayscale conversion and polarity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import ops_for
from ._checks import check_choice, check_image

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV and Pillow use


CHANNELS = ("red", "green", "blue")


def grayscale(image: Any, *, method: str = "luma") -> Any:
    """Convert an RGB(A) or gray image to a 2-D float32 gray image in [0, 255].

    Parameters
    ----------
    image : array, shape (H, W), (H, W, 3) or (H, W, 4)
        RGB order; an alpha channel is ignored (composite it beforehand).
    method : {"luma", "min", "max", "red", "green", "blue"}
        ``luma`` weighs the channels as the eye does; ``min`` keeps the darkest
        channel (coloured ink turns dark); ``max`` the brightest (every colour fades
        into the paper); one channel drops out marks of that colour, as a form
        scanner's coloured lamp does: ``red`` fades red seals and keeps black and
        blue ink.
    """
    check_choice(method, "method", ("luma", "min", "max", *CHANNELS))
    xp = ops_for(image).xp
    image = xp.asarray(image)
    if image.ndim == 2:
        return image.astype(xp.float32, copy=False)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"The parameter `image` must be (H, W) or (H, W, 3|4), got {image.shape}.")
    if method in CHANNELS:
        return image[..., CHANNELS.index(method)].astype(xp.float32)
    r, g, b = (image[..., c].astype(xp.float32) for c in range(3))
    if method in ("min", "max"):  # channel by channel: a reduction over axis 2 is slow
        pick = xp.minimum if method == "min" else xp.maximum
        return pick(pick(r, g, out=r), b, out=r)
    wr, wg, wb = _LUMA
    return r * wr + g * wg + b * wb


MARK_CHROMA = 80.0     # channels this far apart: strongly coloured ink (a red seal's ~170)
NEUTRAL_CHROMA = 40.0  # at most this far apart: black or gray print (bluish-black ink ~15)


@dataclass(frozen=True)
class ColourMarks:
    """The strongly coloured ink of a colour page (seals, pen, highlighter, coloured
    text), as :func:`colour_marks` measures it."""

    area: float      #: share of the page it covers
    crossing: float  #: share of it lying on or against the black or gray print
    channel: str     #: the channel it is lightest in, which drops it out


def colour_marks(image: Any, *, side: int = 640) -> ColourMarks | None:
    """Measure the strongly coloured ink of an RGB page; None for gray input or none.

    Ink is what is darker than Otsu's threshold of the luma; strongly coloured
    ink has channels more than :data:`MARK_CHROMA` apart. Seals and pen strokes
    stamped or written over the print lie against it; coloured headings and
    words sit beside it. Measured on a regular sample about ``side`` pixels across.

    Examples
    --------
    >>> page = np.full((60, 60, 3), 250, np.uint8)
    >>> page[20:40, 10:50] = 20                         # black print
    >>> page[10:50, 28:32] = (210, 40, 50)              # a red stroke across it
    >>> marks = colour_marks(page)
    >>> marks.channel, round(marks.crossing, 1)  # its pixels next to the print
    ('red', 0.3)
    """
    from .binarize import histogram, otsu_from_histogram

    if image.ndim != 3:
        return None
    ops = ops_for(image)
    xp = ops.xp
    # a grid the same size on paper at any resolution: the distances below are
    # fractions of the page, not pixels
    step = max(image.shape[:2]) / side
    rows, cols = (xp.arange(0, n, step).astype(xp.int64) if step > 1 else slice(None)
                  for n in image.shape[:2])
    sample = xp.asarray(image[rows][:, cols, :3], dtype=xp.float32)
    chroma = grayscale(sample, method="max") - grayscale(sample, method="min")
    luma = grayscale(sample)
    ink = luma < otsu_from_histogram(histogram(luma))
    coloured = ink & (chroma > MARK_CHROMA)
    count = int(coloured.sum())
    if not count:
        return None
    print_ = ops.maximum((ink & (chroma < NEUTRAL_CHROMA)).astype(xp.float32), 3) > 0
    crossing = int((coloured & print_).sum()) / count
    colour = [float(xp.median(sample[..., c][coloured])) for c in range(3)]
    return ColourMarks(count / coloured.size, crossing, CHANNELS[int(np.argmax(colour))])


def invert(image: Any) -> Any:
    """Swap dark and light: ``255 - image``."""
    check_image(image)
    return 255.0 - image


DARK = 110.0  # a dominant level below this is a dark ground


def paper_level(image: Any) -> float:
    """The page's dominant brightness: the median of a regular sample of its pixels
    (a grid about 512 points across)."""
    check_image(image)
    step = max(1, max(image.shape) // 512)
    return float(ops_for(image).xp.median(image[::step, ::step]))


def light_text(image: Any, *, window: int = 9) -> bool:
    """Whether the page's text is lighter than the ground it stands on.

    Looks only where the image is busy (the local standard deviation over
    ``window`` pixels of a copy about 1000 pixels across exceeds a quarter of the
    page's range): there text and its ground mix, and the ground covers most of
    it, so the median is the ground's side. Plain areas, such as a dark table
    around a photographed page, do not count, unlike in :func:`paper_level`.
    """
    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    small = ops.downscale(image, max(1, max(image.shape) // 1000))
    mean = ops.box_mean(small, window)
    spread = xp.sqrt(xp.maximum(ops.box_mean(small * small, window) - mean * mean, 0))
    lo, hi = (float(v) for v in xp.percentile(small, xp.asarray([2.0, 98.0])))
    busy = small[spread > 0.25 * (hi - lo)]
    if busy.size < 0.001 * small.size:  # no text to tell by
        return paper_level(image) < DARK
    return float(xp.median(busy)) < 0.5 * (lo + hi)


def is_inverted(image: Any) -> bool:
    """Whether the page is light text on a dark ground: its dominant level is
    dark and its text is light."""
    return paper_level(image) < DARK and light_text(image)


BRIGHTER = 1.15  # light text stands this far above the paper level estimated round it
FLAT = 0.4       # a printed ground's interquartile spread, at most, as a share of its contrast
NARROW = 4       # a narrow ground's narrow side, at most, in paper-estimate windows
RIM = 3          # pixels round a narrow ground where its soft edge is looked for
SOLID = 1 / 80   # of the page's short side: a ground is solid this far across (3 mm on A4)
GROUND = 0.6     # ... and that solid core is this dark, at most, as a share of the paper


def _grounds(dark: np.ndarray, small: np.ndarray, light: float, mask: np.ndarray,
             min_glyphs: int, widest: float = math.inf) -> bool:
    """Add to ``mask`` the blobs of a host ``dark`` mask that are grounds of light
    text, with all they enclose: at least two glyphs wide and twenty glyphs' area
    large, at most ``widest`` pixels across their narrow side, covering most of
    what they enclose, taller than the light glyph-shaped
    holes in them on average, of which they hold ``min_glyphs``, and flat: one ink,
    whose values in ``small`` spread little next to their distance to the ``light``
    text's level (an engraving's hatching or a photo's shading does not), and not
    reaching all four edges of the frame (a desk round a photographed page). Returns
    whether any blob was large enough to be one."""
    import cv2

    from .analysis import glyphs

    ground, stats, _, text = glyphs(dark)
    x, y, width, height, area = stats.T
    size = text or 4.0  # a ground is wider than two glyphs, and larger than a few words' worth
    # ... and solid in places (a stroke is all edge): a quick test before the holes are labelled
    interior = np.bincount(ground[cv2.erode(dark, np.ones((3, 3), np.uint8)) > 0],
                           minlength=len(stats) + 1)[1:]
    # a dark blob that reaches all four edges of the frame surrounds the page (the desk
    # under a photographed sheet): no printed ground
    rows, cols = dark.shape
    surround = (x == 0) & (y == 0) & (x + width == cols) & (y + height == rows)
    wide = np.r_[False, (width >= 2 * size) & (area >= 20 * size * size) & ~surround
                 & (interior >= 0.05 * area) & (np.minimum(width, height) <= widest)]
    if not wide.any():
        return False
    _, holes, keep, _ = glyphs(1 - dark)  # light blobs, with the ground above and below
    x, y, w, h, a = holes.T
    above = ground[np.maximum(y - 1, 0), x + w // 2]
    below = ground[np.minimum(y + h, dark.shape[0] - 1), x + w // 2]
    enclosed = (above == below) & wide[above]
    n = len(wide)
    # mostly solid: the ground covers most of what it encloses (a ruled table does not)
    held = np.bincount(above[enclosed], weights=a[enclosed], minlength=n)
    solid = wide & (np.r_[0, area] >= 0.6 * (np.r_[0, area] + held))
    # letters, not specks in a noisy dark surface: at least half the dark text's height
    inside = enclosed & keep & solid[above] & (h >= max(4.0, 0.5 * (text or 0)))
    on = above[inside]
    count = np.bincount(on, minlength=n)
    mean_h = np.bincount(on, weights=h[inside], minlength=n) / np.maximum(count, 1)
    chosen = np.flatnonzero((count >= min_glyphs) & (np.r_[0, height] >= 1.2 * mean_h))
    for g in chosen:  # the ground and everything it encloses (letters, their counters)
        gx, gy, gw, gh = stats[g - 1, :4]
        crop = np.pad((ground[gy:gy + gh, gx:gx + gw] == g).astype(np.uint8), 1)
        core = cv2.erode(crop, np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0  # off the soft edges
        values = small[gy:gy + gh, gx:gx + gw][core]
        if values.size:
            q25, q50, q75 = np.percentile(values, [25.0, 50.0, 75.0])
            if q75 - q25 > FLAT * (light - q50):
                continue
        outside = crop.copy()
        cv2.floodFill(outside, None, (0, 0), 1)
        mask[gy:gy + gh, gx:gx + gw] |= ((1 - outside) | crop)[1:-1, 1:-1]
    return True


def reversed_regions(image: Any, *, min_glyphs: int = 3) -> Any | None:
    """Where a dark-on-light page holds light text on a dark ground: a heading
    bar, a panel, a table header, a label.

    A ground is a solid dark blob at least two glyphs wide holding at least
    ``min_glyphs`` light glyph-shaped holes (twice as many in a narrow one), and
    taller than they are on average (see :func:`_grounds`). Two kinds are
    looked for, on a copy about 1500 pixels across:

    - grounds wider than the paper estimate's window: the estimate takes them
      for paper, so background removal would whiten them, text and all; their
      text gives them away, standing above the estimate;
    - narrower ones, such as a bar behind a line or two or a label, whose text
      does not stand above the estimate: they are found on the page flattened
      by a wider estimate, which evens out shadows and keeps them dark
      (:func:`_narrow_grounds`). Raw Tesseract loses such lines.

    Returns a boolean mask of the grounds with all they enclose, shaped and
    placed like ``image``; None when there are none.
    """
    import cv2

    from . import background

    check_image(image)
    if min(image.shape) < 32:  # no room for a line of text on a ground
        return None
    ops, shape = ops_for(image), image.shape
    factor = max(1, math.ceil(max(shape) / 1500))
    if factor > 1:  # bilinear: cheaper than block means, and the blur below smooths
        image = ops.resize(image, (image.shape[0] // factor, image.shape[1] // factor))
    # a light blur: dithered and noisy grays read as gray, not as dots and specks
    small = ops.gaussian(image, 1.0)
    field = np.maximum(ops.to_host(background.estimate(small)), 1.0)
    small = ops.to_host(small)
    mask = np.zeros(small.shape, np.uint8)
    _wide_grounds(small, field, mask, min_glyphs)
    _narrow_grounds(small, mask, min_glyphs)
    if not mask.any():
        return None
    mask = cv2.resize(mask.astype(np.float32), None, fx=factor, fy=factor,
                      interpolation=cv2.INTER_LINEAR)
    full = np.zeros(shape, bool)
    rows, cols = min(mask.shape[0], shape[0]), min(mask.shape[1], shape[1])
    full[:rows, :cols] = mask[:rows, :cols] > 0.5
    return ops.xp.asarray(full)


def _wide_grounds(small: np.ndarray, field: np.ndarray, mask: np.ndarray,
                  min_glyphs: int) -> None:
    """Add to ``mask`` the grounds the paper estimate ``field`` takes for paper:
    their light text stands above it."""
    from .analysis import glyphs

    over = small > BRIGHTER * field
    if over.sum() < 6 * min_glyphs:  # nothing brighter than its paper: the usual page
        return
    _, letters, keep, _ = glyphs(over)
    if keep.sum() < min_glyphs:
        return
    x, y, w, h = letters[keep, :4].T
    level = float(np.median(field[y + h // 2, x + w // 2]))
    light = float(np.median(small[over]))
    dark = small < 0.5 * (level + light)  # the ground: below halfway
    _grounds(dark.astype(np.uint8), small, light, mask, min_glyphs)


def _narrow_grounds(small: np.ndarray, mask: np.ndarray, min_glyphs: int) -> None:
    """Add to ``mask`` the grounds narrower than ``NARROW`` paper-estimate windows,
    whose text does not stand above the estimate (it does not take them for
    paper, or only in part): bars behind a line or two, labels. They are found on
    the page flattened by an estimate ``NARROW`` times wider, which evens out
    shadows and uneven light but keeps them dark: dark by Otsu's threshold there,
    with a core of ink (under ``GROUND`` of the paper) ``SOLID`` of the page
    thick, at most ``NARROW`` windows across, and holding twice ``min_glyphs``
    letters."""
    import cv2

    from .background import default_radius, estimate
    from .binarize import histogram, otsu_levels

    reach = NARROW * default_radius(small.shape)
    field = np.maximum(estimate(small, radius=reach), 1.0)
    flat = np.minimum(small / field * 255.0, 255.0)  # even light: one threshold fits all
    threshold, _, paper = otsu_levels(histogram(flat))
    if paper is None:
        return
    solid = max(5, round(min(small.shape) * SOLID))
    ink = (flat < GROUND * paper).astype(np.uint8)  # printed: a shadow's edge is lighter
    core = cv2.erode(ink, np.ones((solid, solid), np.uint8)) > 0
    if not core.any():
        return  # the usual page: no area of ink that thick, only strokes
    found = np.zeros_like(mask)
    # dark by the page's threshold, or, as small light letters (thin, blurred) may be
    # darker than it, by the point halfway from the solid ink to it; that only splits
    # the blobs found first, so it is looked at only where some were large enough
    for level in (threshold, 0.5 * (float(np.median(flat[core])) + threshold)):
        # twice the letters: merged strokes of small dense print hold a few light gaps too
        if not _grounds((flat < level).astype(np.uint8), flat, paper, found, 2 * min_glyphs,
                        widest=2 * reach + 1):
            break
    if not found.any():
        return
    count, regions, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    rows, cols = small.shape
    for i in range(1, count):
        x, y, w, h = stats[i, :4]
        # the whole bar: where it has no text, or meets the page's edge, the estimate
        # may take it for paper, and its soft rim looks light when flattened; along
        # the bar, what is darker than halfway from its ink to its letters joins it
        if w >= h:
            y0, y1, x0, x1 = max(0, y - RIM), min(rows, y + h + RIM), 0, cols
        else:
            y0, y1, x0, x1 = 0, rows, max(0, x - RIM), min(cols, x + w + RIM)
        band = small[y0:y1, x0:x1]
        region = (regions[y0:y1, x0:x1] == i).astype(np.uint8)
        level, letters = np.percentile(band[region > 0], [10.0, 95.0])
        darker = (band < 0.5 * (level + letters)).astype(np.uint8) | region
        _, parts = cv2.connectedComponents(darker, connectivity=8)
        joined = np.unique(parts[region > 0])
        mask[y0:y1, x0:x1] |= np.isin(parts, joined[joined > 0]).astype(np.uint8)


def invert_regions(image: Any, mask: Any) -> Any:
    """Turn the light-on-dark parts of a page under ``mask`` (see
    :func:`reversed_regions`) into dark text on white: their ground maps to
    white and their text to black, so they join the page as plain paper."""
    from .binarize import histogram, otsu_levels

    check_image(image)
    ops = ops_for(image)
    xp = ops.xp
    _, ground, text = otsu_levels(histogram(image[mask][None, :]))
    ground, text = ground or 0.0, 255.0 if text is None else text
    flipped = xp.clip((text - image) * (255.0 / max(text - ground, 1.0)), 0.0, 255.0)
    # the ground's soft edge, a pixel or two either side of the mask's (found on a
    # copy about 1500 pixels across), turns paper: half dark, it would turn half
    # dark when flipped, and left as it is, it would stay; either way a thin line
    edge = 2 * (math.ceil(max(image.shape) / 1500) + 1) + 1
    region = mask.astype(xp.float32)
    rim = (ops.maximum(region, edge) > 0) & ~(ops.minimum(region, edge) > 0)
    out = xp.where(mask, flipped, image)
    return xp.where(rim, xp.maximum(out, text), out).astype(xp.float32)
