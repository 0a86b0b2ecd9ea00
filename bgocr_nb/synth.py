"""Synthetic degraded document pages with known ground-truth text.

Pages are rendered with PIL (white paper, black antialiased text), then
degraded by small pure functions ``f(image, rng, **params) -> ndarray`` that
imitate common scanning / photographing problems (uneven light, shadows,
stains, coloured paper, skew, noise, ...).  Everything is deterministic for
a given seed.

Examples
--------
>>> from bgocr_nb.synth import make_page
>>> page = make_page("shadow", seed=3)
>>> page.image.dtype, page.kind, page.lang
(dtype('uint8'), 'shadow', 'eng')

Run ``python -m bgocr_nb.synth --write-samples bgocr_nb/data`` to rebuild the
bundled sample scans.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "SyntheticPage",
    "KINDS",
    "HELD_OUT_KINDS",
    "DEGRADATIONS",
    "find_font",
    "render_page",
    "render_page_with_text",
    "make_page",
    "make_corpus",
    "write_samples",
    "builtin_paragraphs",
]

# ---------------------------------------------------------------------------
# Built-in texts (original prose written for this project; no copyright).
# ---------------------------------------------------------------------------

_ENG_PARAGRAPHS: tuple[str, ...] = (
    "Dear Ms. Thompson, thank you for your letter of 14 March 2023 regarding "
    "the delayed shipment of order no. 48217. We have reviewed the matter with "
    "our logistics partner and confirmed that the goods left our warehouse on "
    "2 March, six days later than planned. To compensate for the inconvenience, "
    "we will credit 12.5% of the invoice total, or $1,186.40, to your account "
    "before the end of the month.",
    "The quarterly report shows that revenue rose to $4.7 million in the third "
    "quarter, an increase of 8.3% compared with the same period last year. "
    "Operating costs remained stable at $3.1 million, while spending on "
    "research grew by 15%. The board expects growth to slow slightly during "
    "the winter months, but the order book for 2024 is already 20% larger than "
    "it was twelve months ago.",
    "Please note that the office at 27 Harbour Street will be closed from "
    "Monday, 18 December, until Tuesday, 2 January, for maintenance of the "
    "heating system. During this period, urgent requests should be sent by "
    "e-mail to the service desk or by phone to 0161 555 0192. Deliveries will "
    "be accepted at the rear entrance between 9:00 and 11:30 on weekdays only.",
    "Minutes of the planning meeting held on 5 June 2023. Present: A. Rossi "
    "(chair), K. Lindqvist, P. Okafor and M. Chen. The committee approved the "
    "revised budget of $286,500 for the new storage building. Construction is "
    "scheduled to begin in September and should be completed within 34 weeks. "
    "Mr. Okafor will circulate the updated drawings to all members before the "
    "next meeting on 3 July.",
    "Our records indicate that invoice 2023-0719, dated 19 July 2023, for the "
    "amount of $2,354.90 remains unpaid. Payment was due within 30 days of the "
    "invoice date. If you have already settled this account, please disregard "
    "this reminder. Otherwise, we kindly ask you to transfer the outstanding "
    "balance within 10 working days, quoting the invoice number as the payment "
    "reference.",
    "Following the inspection on 11 October, the technical team recommends "
    "replacing three of the five pumps in the cooling circuit. The remaining "
    "two units are in good condition and can stay in service until 2026. The "
    "estimated cost of the work is $58,200, including labour and parts. The "
    "replacement can be carried out during the planned shutdown in the first "
    "week of February.",
    "We are pleased to confirm your booking for the training course on data "
    "protection, which will take place on 8 and 9 May 2024 in Room 4B of the "
    "conference centre. Sessions start at 9:30 each morning and finish at "
    "16:45. Lunch and refreshments are included in the fee of $640 per "
    "participant. Please bring a photo ID to collect your badge at the "
    "reception desk.",
    "The survey was sent to 1,250 customers in April, and 418 of them replied, "
    "giving a response rate of 33.4%. Most respondents rated the delivery "
    "service as good or very good, while 12% said that the tracking "
    "information was unclear. Based on these results, the customer care team "
    "will redesign the notification letters and repeat the survey in the "
    "autumn.",
)

_ZH_PARAGRAPHS: tuple[str, ...] = (
    "第一条 合同标的：甲方同意向乙方采购办公设备一批，具体型号、数量及单价详见"
    "本合同附件一。合同总金额为人民币125,000.00元（大写：壹拾贰万伍仟元整），"
    "该金额已包含运输费、安装费及相关税费。",
    "第二条 付款方式：合同签订后七个工作日内，甲方向乙方支付合同总金额的30%作为"
    "预付款；设备验收合格后十五日内，甲方支付剩余70%的款项。乙方应在每次收款前"
    "向甲方开具合法有效的增值税专用发票。",
    "第三条 交货期限：乙方应于2024年6月30日前将全部设备运抵甲方指定地点，并负责"
    "完成安装与调试。如因不可抗力导致交货延误，乙方应在事件发生后三日内书面通知"
    "甲方，并提供相关证明材料。",
    "第四条 违约责任：乙方未按约定时间交货的，每逾期一日，应按合同总金额的0.5%"
    "向甲方支付违约金，但违约金总额不超过合同总金额的10%。甲方逾期付款的，亦应"
    "按上述标准向乙方支付违约金。",
    "第五条 质量保证：乙方保证所供设备为全新原厂产品，质量符合国家相关标准。自"
    "验收合格之日起，乙方提供为期两年的免费保修服务，保修期内设备出现非人为故障"
    "的，乙方应在接到通知后四十八小时内派员维修。",
    "第六条 争议解决：本合同在履行过程中发生争议的，双方应友好协商解决；协商不成"
    "的，任何一方均可向甲方所在地人民法院提起诉讼。本合同一式两份，甲乙双方各执"
    "一份，自双方签字盖章之日起生效。",
)

_BUILTIN: dict[str, tuple[str, ...]] = {"eng": _ENG_PARAGRAPHS, "chi_sim": _ZH_PARAGRAPHS}


def builtin_paragraphs(lang: str = "eng") -> tuple[str, ...]:
    """Return the built-in paragraphs for ``lang`` ("eng" or "chi_sim").

    Raises
    ------
    ValueError
        If there is no built-in text for ``lang``.
    """
    try:
        return _BUILTIN[lang]
    except KeyError:
        raise ValueError(
            f"no built-in text for lang={lang!r}; available: {sorted(_BUILTIN)} "
            "(pass text=... for other languages)"
        ) from None


# ---------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------

_DEJAVU_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
)
_CJK_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/noto-cjk",
    "/usr/share/fonts/google-noto-cjk",
    "/usr/share/fonts/opentype/noto-cjk",
)
# ttc face index of each CJK region inside Noto *CJK-Regular.ttc, and the tag
# that appears in the family name.
_CJK_REGION = {"chi_sim": (2, "SC"), "chi_tra": (3, "TC"), "jpn": (0, "JP"), "kor": (1, "KR")}
_CJK_FALLBACKS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def _load(path: str, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index, layout_engine=ImageFont.Layout.BASIC)


def _load_cjk_ttc(path: str, size: int, index: int, tag: str) -> ImageFont.FreeTypeFont:
    """Load a CJK collection face, checking that the family has the wanted tag."""
    font = _load(path, size, index)
    if not path.lower().endswith(".ttc") or tag in font.getname()[0]:
        return font
    for i in range(12):  # collection laid out differently: search the faces
        try:
            cand = _load(path, size, i)
        except OSError:
            break
        if tag in cand.getname()[0]:
            return cand
    return font


def find_font(lang: str, size: int, *, serif: bool = False) -> ImageFont.FreeTypeFont:
    """Find a TrueType/OpenType font able to render ``lang``.

    Parameters
    ----------
    lang : str
        Tesseract language code. "chi_sim" (also "chi_tra", "jpn", "kor")
        selects a CJK font; anything else a Latin font.
    size : int
        Font size in pixels (em size).
    serif : bool, optional
        Prefer a serif face.

    Returns
    -------
    PIL.ImageFont.FreeTypeFont

    Raises
    ------
    FileNotFoundError
        For a CJK language when no CJK font is installed.
    """
    size = max(1, int(round(size)))
    if lang in _CJK_REGION:
        index, tag = _CJK_REGION[lang]
        styles = ("Serif", "Sans") if serif else ("Sans", "Serif")
        candidates = []
        for d in _CJK_DIRS:
            for st in styles:
                candidates.append((f"{d}/Noto{st}CJK-Regular.ttc", index))
                candidates.append((f"{d}/Noto{st}CJK{tag.lower()}-Regular.otf", 0))
        candidates += [(p, 0) for p in _CJK_FALLBACKS]
        for path, idx in candidates:
            if os.path.exists(path):
                return _load_cjk_ttc(path, size, idx, tag)
        found = _fc_match_cjk(lang)
        if found:
            return _load(found, size)
        raise FileNotFoundError(
            f"no CJK font found for lang={lang!r}; install the Debian package "
            "'fonts-noto-cjk' (apt-get install fonts-noto-cjk) or 'fonts-wqy-microhei'"
        )
    names = ("DejaVuSerif.ttf", "DejaVuSans.ttf") if serif else ("DejaVuSans.ttf", "DejaVuSerif.ttf")
    for name in names:
        for d in _DEJAVU_DIRS:
            path = os.path.join(d, name)
            if os.path.exists(path):
                return _load(path, size)
    try:  # PIL may find it on its own font path
        return _load(names[0], size)
    except OSError:
        return ImageFont.load_default(size=size)


def _fc_match_cjk(lang: str) -> str | None:
    """Ask fontconfig (if present) for a font covering ``lang``."""
    fc = shutil.which("fc-list")
    if not fc:
        return None
    code = {"chi_sim": "zh-cn", "chi_tra": "zh-tw", "jpn": "ja", "kor": "ko"}[lang]
    try:
        out = subprocess.run([fc, f":lang={code}", "file"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in out.stdout.splitlines() if line.strip())
    return files[0] if files else None


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

_NO_LINE_START = set("，。、；：？！）》」』】％%,.;:?!)")


def _is_cjk_lang(lang: str) -> bool:
    """Languages wrapped per character (no spaces between words)."""
    return lang in ("chi_sim", "chi_tra", "jpn")


def _tokens_cjk(paragraph: str) -> list[str]:
    """Split into single CJK characters, keeping runs of ASCII together."""
    tokens: list[str] = []
    for ch in paragraph:
        if ch.isascii() and not ch.isspace() and tokens and tokens[-1][-1:].isascii() and tokens[-1].strip():
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def _wrap(paragraph: str, font: ImageFont.FreeTypeFont, max_w: float, cjk: bool) -> list[str]:
    """Greedy word wrap (per character for CJK) to lines no wider than ``max_w``."""
    if cjk:
        lines, cur = [], ""
        for tok in _tokens_cjk(paragraph.strip()):
            if cur and font.getlength(cur + tok) > max_w and tok not in _NO_LINE_START:
                lines.append(cur.rstrip())
                cur = tok.lstrip()
            else:
                cur += tok
        if cur.strip():
            lines.append(cur.rstrip())
        return lines
    lines, cur = [], ""
    for word in paragraph.split():
        while font.getlength(word) > max_w and len(word) > 1:  # break over-long words
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > max_w:
                cut -= 1
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:cut])
            word = word[cut:]
        trial = f"{cur} {word}" if cur else word
        if cur and font.getlength(trial) > max_w:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def render_page_with_text(
    text: str,
    *,
    lang: str = "eng",
    width_px: int = 1240,
    dpi: int = 150,
    font_size_pt: float = 11,
    margin_px: int | None = None,
    serif: bool = False,
    line_spacing: float = 1.4,
) -> tuple[np.ndarray, str]:
    """Render ``text`` on a white page and return it with the wrapped text.

    Parameters
    ----------
    text : str
        Paragraphs separated by blank lines.
    lang : str, optional
        Language code; CJK languages are wrapped per character.
    width_px : int, optional
        Page width in pixels. The height fits the text.
    dpi : int, optional
        Resolution used to convert ``font_size_pt`` to pixels.
    font_size_pt : float, optional
        Font size in points (em size = ``font_size_pt * dpi / 72`` px).
    margin_px : int, optional
        Margin on every side; default half an inch.
    serif : bool, optional
        Use a serif face.
    line_spacing : float, optional
        Line pitch as a multiple of the font size.

    Returns
    -------
    image : numpy.ndarray
        uint8 grayscale page (H, W), 255 paper, ~0 ink.
    truth : str
        The text as laid out: lines joined by "\\n", with an empty line
        between paragraphs.
    """
    size_px = max(6, int(round(font_size_pt * dpi / 72.0)))
    font = find_font(lang, size_px, serif=serif)
    margin = int(round(dpi * 0.5)) if margin_px is None else int(margin_px)
    max_w = width_px - 2 * margin
    if max_w < size_px * 2:
        raise ValueError(f"width_px={width_px} too small for margin {margin} and font {size_px}px")
    paragraphs = [p for p in (" ".join(b.split()) if not _is_cjk_lang(lang) else b.replace("\n", "").strip()
                              for b in text.replace("\r\n", "\n").split("\n\n")) if p]
    lines: list[str] = []
    for i, par in enumerate(paragraphs):
        if i:
            lines.append("")
        lines.extend(_wrap(par, font, max_w, _is_cjk_lang(lang)))
    pitch = int(round(size_px * line_spacing))
    height = 2 * margin + max(1, len(lines)) * pitch
    img = Image.new("L", (int(width_px), height), 255)
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(lines):
        if line:
            draw.text((margin, margin + k * pitch), line, font=font, fill=0)
    return np.asarray(img, dtype=np.uint8).copy(), "\n".join(lines)


def render_page(text: str, **kwargs) -> np.ndarray:
    """Render ``text`` on a white page; see :func:`render_page_with_text`.

    Returns
    -------
    numpy.ndarray
        uint8 grayscale page (H, W).
    """
    return render_page_with_text(text, **kwargs)[0]


# ---------------------------------------------------------------------------
# Degradations: f(image uint8 (H, W) or (H, W, 3), rng, **params) -> uint8
# ---------------------------------------------------------------------------


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _mul(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Multiply an image (gray or RGB) by a 2-D or per-pixel RGB factor field."""
    f = img.astype(np.float32)
    if f.ndim == 3 and field.ndim == 2:
        field = field[..., None]
    elif f.ndim == 2 and field.ndim == 3:
        f = np.repeat(f[..., None], 3, axis=2)
    return _u8(f * field)


def _rgb(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)


def _grid(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a coarse random grid, upsampled."""
    import cv2

    h, w = shape[:2]
    gh = max(2, int(round(cells * h / max(h, w)))) + 1
    gw = max(2, int(round(cells * w / max(h, w)))) + 1
    coarse = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(img: np.ndarray) -> tuple[int, ...] | int:
    """Median of the outermost pixels: the paper colour at the page edge."""
    edge = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]], axis=0)
    med = np.median(edge, axis=0)
    return tuple(int(v) for v in np.atleast_1d(med)) if img.ndim == 3 else int(med)


def _pad_paper(img: np.ndarray, pad: list[tuple[int, int]]) -> np.ndarray:
    """``img`` grown by ``pad`` ((top, bottom), (left, right)) of its own paper colour."""
    bgc = _background(img)
    if img.ndim == 3:
        return np.stack([np.pad(img[..., c], pad, constant_values=bgc[c]) for c in range(3)],
                        axis=2)
    return np.pad(img, pad, constant_values=bgc)


def clean(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Identity (control): return a copy."""
    return img.copy()


def gradient(img: np.ndarray, rng: np.random.Generator, *, low: float | None = None,
             mode: str | None = None) -> np.ndarray:
    """Uneven illumination: paper goes from 255 down to ``low`` (~90).

    ``mode`` is "linear" (random direction) or "radial" (random bright spot).
    """
    low = float(rng.uniform(82, 100)) if low is None else float(low)
    mode = str(rng.choice(["linear", "radial"])) if mode is None else mode
    h, w = img.shape[:2]
    yy, xx = _grid(img.shape)
    if mode == "linear":
        th = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(th) + yy * np.sin(th)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    elif mode == "radial":
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        r = np.hypot(yy - cy, xx - cx)
        t = r / max(float(r.max()), 1e-6)
    else:
        raise ValueError(f"mode must be 'linear' or 'radial', got {mode!r}")
    gamma = rng.uniform(0.8, 1.4) if mode == "linear" else rng.uniform(1.3, 2.0)
    field = 1.0 - (1.0 - low / 255.0) * t ** gamma
    return _mul(img, field.astype(np.float32))


def shadow(img: np.ndarray, rng: np.random.Generator, *, depth: float | None = None,
           coverage: float | None = None) -> np.ndarray:
    """Soft dark shadow from one edge (hand / phone / page curl).

    Covers ``coverage`` (~1/3) of the page, darkening it to ``depth``
    (0.35-0.5) of its brightness, with a wavy, blurred boundary.
    """
    depth = float(rng.uniform(0.35, 0.5)) if depth is None else float(depth)
    coverage = float(rng.uniform(0.28, 0.4)) if coverage is None else float(coverage)
    h, w = img.shape[:2]
    yy, xx = _grid(img.shape)
    edge = str(rng.choice(["left", "right", "top", "bottom"]))
    if edge in ("left", "right"):
        u, v, span = (xx if edge == "left" else (w - 1 - xx)), yy / max(h - 1, 1), w
    else:
        u, v, span = (yy if edge == "top" else (h - 1 - yy)), xx / max(w - 1, 1), h
    amp = rng.uniform(0.02, 0.06) * span
    tilt = rng.uniform(-0.25, 0.25) * span
    b = coverage * span + amp * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * v + rng.uniform(0, 2 * np.pi)) \
        + tilt * (v - 0.5)
    soft = rng.uniform(0.015, 0.04) * max(h, w)
    mask = 1.0 / (1.0 + np.exp(-(b - u) / soft))
    # slightly darker towards the casting edge
    core = np.clip(1.0 - u / np.maximum(b, 1.0), 0, 1) * 0.15
    field = 1.0 - (1.0 - depth) * mask * (1.0 - 0.15 + core)
    return _mul(img, field.astype(np.float32))


def stain(img: np.ndarray, rng: np.random.Generator, *, n: int | None = None,
          color: Sequence[int] | None = None) -> np.ndarray:
    """Coffee-like coloured blotches with darker rings; returns RGB."""
    out = _rgb(img).astype(np.float32)
    h, w = out.shape[:2]
    n = int(rng.integers(3, 7)) if n is None else int(n)
    base = np.array(color if color is not None else (150, 100, 55), np.float32)
    for _ in range(n):
        r0 = rng.uniform(0.04, 0.12) * min(h, w) + 15
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ring_only = rng.random() < 0.35  # cup mark
        col = np.clip(base + rng.normal(0, 12, 3), 40, 230)
        a_in = 0.03 if ring_only else rng.uniform(0.18, 0.35)
        a_ring = rng.uniform(0.3, 0.55)
        ks = np.arange(2, 6)
        amps, phs = rng.uniform(0, 0.07, ks.size), rng.uniform(0, 2 * np.pi, ks.size)
        y0, y1 = int(max(0, cy - 1.5 * r0)), int(min(h, cy + 1.5 * r0))
        x0, x1 = int(max(0, cx - 1.5 * r0)), int(min(w, cx + 1.5 * r0))
        if y1 <= y0 or x1 <= x0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        th = np.arctan2(yy - cy, xx - cx)
        rth = r0 * (1 + sum(a * np.cos(k * th + p) for k, a, p in zip(ks, amps, phs)))
        rho = np.hypot(yy - cy, xx - cx) / rth
        inside = np.clip((1.0 - rho) / 0.04, 0, 1)
        mottle = 0.7 + 0.3 * _smooth_noise(rng, yy.shape, 5)
        ring = np.exp(-(((rho - 0.985) / 0.035) ** 2))
        if ring_only:  # broken ring
            ring *= np.clip(0.6 + np.cos(th - rng.uniform(0, 2 * np.pi)), 0, 1)
        alpha = np.clip(a_in * inside * mottle + a_ring * ring, 0, 0.85)[..., None]
        out[y0:y1, x0:x1] *= 1.0 - alpha * (1.0 - col / 255.0)
    return _u8(out)


def texture(img: np.ndarray, rng: np.random.Generator, *, grain: float | None = None,
            crumple: float | None = None) -> np.ndarray:
    """Paper grain, fibres, and crumpled-paper low-frequency shading and creases."""
    import cv2

    h, w = img.shape[:2]
    grain = float(rng.uniform(0.02, 0.035)) if grain is None else float(grain)
    crumple = float(rng.uniform(0.06, 0.12)) if crumple is None else float(crumple)
    g = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 0.8)
    g /= max(float(g.std()), 1e-6)
    low = 0.6 * _smooth_noise(rng, (h, w), 4) + 0.4 * _smooth_noise(rng, (h, w), 10)
    field = 1.0 + grain * g + crumple * low
    yy, xx = _grid((h, w))
    for _ in range(int(rng.integers(2, 5))):  # creases: a bright/dark edge pair
        th = rng.uniform(0, np.pi)
        px, py = rng.uniform(0, w), rng.uniform(0, h)
        d = (xx - px) * np.sin(th) - (yy - py) * np.cos(th)
        wd = rng.uniform(2.0, 5.0)
        field += rng.uniform(0.08, 0.15) * (d / wd) * np.exp(0.5 - 0.5 * (d / wd) ** 2)
    fib = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(40, 90))):  # fibres: short faint curved strokes
        p = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        ang, pts = rng.uniform(0, 2 * np.pi), [p.copy()]
        for _ in range(int(rng.integers(4, 12))):
            ang += rng.normal(0, 0.35)
            p = p + 4.0 * np.array([np.cos(ang), np.sin(ang)])
            pts.append(p.copy())
        cv2.polylines(fib, [np.rint(np.array(pts)).astype(np.int32)], False, float(rng.uniform(0.05, 0.12)), 1,
                      cv2.LINE_AA)
    field -= cv2.GaussianBlur(fib, (0, 0), 0.6)
    return _mul(img, np.clip(field, 0.3, 1.15).astype(np.float32))


_PAPER_COLORS = {
    "yellow": (252, 238, 165),
    "blue": (196, 220, 246),
    "pink": (249, 205, 218),
    "green": (204, 236, 196),
}


def colored(img: np.ndarray, rng: np.random.Generator, *,
            color: str | Sequence[int] | None = None) -> np.ndarray:
    """Coloured paper (yellow/blue/pink/green); text stays dark. Returns RGB."""
    if color is None:
        color = str(rng.choice(sorted(_PAPER_COLORS)))
    col = np.array(_PAPER_COLORS[color] if isinstance(color, str) else color, np.float32)
    col = np.clip(col + rng.normal(0, 4, 3), 0, 255)
    f = _rgb(img).astype(np.float32) / 255.0
    ink = np.array([25, 25, 40], np.float32)  # slightly bluish-black ink
    return _u8(ink + f * (col - ink))


def low_contrast(img: np.ndarray, rng: np.random.Generator, *, text_level: float | None = None,
                 paper_level: float | None = None) -> np.ndarray:
    """Faint gray text (~150-170) on grayish paper (~210-225)."""
    t = float(rng.uniform(150, 170)) if text_level is None else float(text_level)
    p = float(rng.uniform(210, 225)) if paper_level is None else float(paper_level)
    return _u8(t + (p - t) * img.astype(np.float32) / 255.0)


def show_through(img: np.ndarray, rng: np.random.Generator, *, strength: float | None = None,
                 back: np.ndarray | None = None, lang: str = "eng", font_size_pt: float = 16,
                 dpi: int = 150, blur_sigma: float | None = None) -> np.ndarray:
    """Faint mirrored text of the reverse page bleeding through (20-35 %).

    ``back`` is the reverse page (uint8 gray, white paper); by default one is
    rendered from built-in paragraphs at the same width.
    """
    import cv2

    h, w = img.shape[:2]
    strength = float(rng.uniform(0.2, 0.35)) if strength is None else float(strength)
    sigma = float(rng.uniform(0.8, 1.5)) if blur_sigma is None else float(blur_sigma)
    if back is None:
        pars = builtin_paragraphs(lang if lang in _BUILTIN else "eng")
        idx = rng.choice(len(pars), size=3, replace=False)
        back = render_page("\n\n".join(pars[i] for i in idx), lang=lang, width_px=w, dpi=dpi,
                           font_size_pt=font_size_pt * rng.uniform(0.9, 1.1))
    back = np.asarray(back)
    if back.ndim == 3:
        back = back.mean(axis=2)
    back = back[:, ::-1].astype(np.float32)  # seen from the other side
    canvas = np.full((h, w), 255.0, np.float32)
    dy, dx = int(rng.integers(-h // 20 - 1, h // 20 + 2)), int(rng.integers(-10, 11))
    sy0, sx0 = max(0, -dy), max(0, -dx)
    ty0, tx0 = max(0, dy), max(0, dx)
    hh = min(h - ty0, back.shape[0] - sy0)
    ww = min(w - tx0, back.shape[1] - sx0)
    if hh > 0 and ww > 0:
        canvas[ty0:ty0 + hh, tx0:tx0 + ww] = back[sy0:sy0 + hh, sx0:sx0 + ww]
    canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    return _mul(img, 1.0 - strength * (1.0 - canvas / 255.0))


def blur(img: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None) -> np.ndarray:
    """Gaussian blur, sigma ~1-1.5 px."""
    import cv2

    sigma = float(rng.uniform(1.0, 1.5)) if sigma is None else float(sigma)
    return cv2.GaussianBlur(img, (0, 0), sigma)


def noise(img: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None,
          salt_pepper: float | None = None) -> np.ndarray:
    """Gaussian noise (sigma ~20-30) plus salt & pepper (fraction ~0.2-0.5 %)."""
    sigma = float(rng.uniform(20, 30)) if sigma is None else float(sigma)
    sp = float(rng.uniform(0.002, 0.005)) if salt_pepper is None else float(salt_pepper)
    out = img.astype(np.float32) + rng.normal(0, sigma, img.shape).astype(np.float32)
    out = _u8(out)
    if sp > 0:
        hit = rng.random(img.shape[:2]) < sp
        vals = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255).astype(np.uint8)
        out[hit] = vals[:, None] if out.ndim == 3 else vals
    return out


def jpeg(img: np.ndarray, rng: np.random.Generator, *, quality: int | None = None) -> np.ndarray:
    """Re-encode as JPEG at low quality (15-25)."""
    quality = int(rng.integers(15, 26)) if quality is None else int(quality)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB" if img.ndim == 3 else "L")).copy()


def _warp_fill(img: np.ndarray, fill: int | Sequence[int] | None) -> tuple[float, ...]:
    """OpenCV's borderValue for a warp: ``fill``, or the paper colour at the page edge."""
    fill = _background(img) if fill is None else fill
    return tuple(float(v) for v in (fill if isinstance(fill, (tuple, list)) else (fill,) * 3))


def skew(img: np.ndarray, rng: np.random.Generator, *, angle: float | None = None,
         fill: int | Sequence[int] | None = None) -> np.ndarray:
    """Rotate by ``angle`` degrees (counter-clockwise positive, as in
    ``cv2.getRotationMatrix2D``), expanding the canvas.

    Default angle: random, 2 <= |angle| <= 12. The new corners are filled
    with ``fill`` (default: the paper colour at the page edge).
    :func:`make_page` records the angle in :attr:`SyntheticPage.angle`.
    """
    import cv2

    if angle is None:
        angle = float(rng.uniform(2, 12) * rng.choice([-1, 1]))
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(angle), 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=_warp_fill(img, fill))


def inverted(img: np.ndarray, rng: np.random.Generator, *, bg: float | None = None,
             fg: float | None = None) -> np.ndarray:
    """Light text (``fg`` ~200-235) on a dark background (``bg`` ~20-50)."""
    bg = float(rng.uniform(20, 50)) if bg is None else float(bg)
    fg = float(rng.uniform(200, 235)) if fg is None else float(fg)
    return _u8(bg + (fg - bg) * (1.0 - img.astype(np.float32) / 255.0))


def reversed_bars(img: np.ndarray, rng: np.random.Generator, *, level: float | None = None,
                  lines: int | None = None) -> np.ndarray:
    """Reversed-out text: a dark bar (``level`` ~25-140) behind one to three text
    lines, their text light, as heading bars, table headers and labels are
    printed; the rest of the page as it was."""
    level = float(rng.uniform(25, 140)) if level is None else float(level)
    found = _text_lines(img)
    if not found:
        return img
    count = int(rng.integers(1, 4)) if lines is None else int(lines)
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    ink = 1.0 - out / 255.0
    if ink.ndim == 3:
        ink = ink.mean(axis=2)
    for i in sorted(rng.choice(len(found), size=min(count, len(found)), replace=False)):
        top, bottom, left, right = found[i]
        # inside the gaps to the lines above and below: the bar cuts no other line
        gap = min(top - (found[i - 1][1] if i else 0),
                  (found[i + 1][0] if i + 1 < len(found) else h) - bottom)
        pad = max(1.0, gap * rng.uniform(0.3, 0.45))
        y0, y1 = int(max(0, top - pad)), int(min(h, bottom + pad))
        x0 = int(max(0, left - pad)) if rng.random() < 0.5 else 0  # a label or a full bar
        x1 = int(min(w, right + pad)) if x0 else w
        light = 245.0 - 15.0 * rng.random()
        bar = level + (light - level) * ink[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = bar[..., None] if out.ndim == 3 else bar
    return _u8(out)


def border(img: np.ndarray, rng: np.random.Generator, *, edges: Sequence[str] | None = None,
           width_frac: float | None = None, level: float | None = None) -> np.ndarray:
    """Dark scanner border bands on 1-3 edges (the canvas grows by the bands)."""
    all_edges = ["left", "right", "top", "bottom"]
    if edges is None:
        k = int(rng.integers(1, 4))
        edges = [all_edges[i] for i in sorted(rng.choice(4, size=k, replace=False))]
    width_frac = float(rng.uniform(0.025, 0.06)) if width_frac is None else float(width_frac)
    level = float(rng.uniform(15, 55)) if level is None else float(level)
    h, w = img.shape[:2]
    bw = {e: max(4, int(round(width_frac * (w if e in ("left", "right") else h) * rng.uniform(0.7, 1.3))))
          for e in edges}
    pad = [(bw.get("top", 0), bw.get("bottom", 0)), (bw.get("left", 0), bw.get("right", 0))]
    out = _pad_paper(img, pad)
    out = out.astype(np.float32)
    H, W = out.shape[:2]
    yy, xx = _grid((H, W))
    dark = np.zeros((H, W), np.float32)
    for e, b0 in bw.items():
        if e in ("left", "right"):
            u, v, L = (xx if e == "left" else W - 1 - xx), yy / max(H - 1, 1), H
        else:
            u, v, L = (yy if e == "top" else H - 1 - yy), xx / max(W - 1, 1), W
        b = b0 + rng.uniform(-0.004, 0.004) * L * (v - 0.5) + 2.0 * np.sin(2 * np.pi * 3 * v + rng.uniform(0, 6))
        band = np.clip(b - u + 0.5, 0, 1)
        penumbra = 0.35 * np.exp(-np.clip(u - b, 0, None) / 5.0) * (u >= b)
        dark = np.maximum(dark, np.maximum(band, penumbra))
    tone = level + rng.normal(0, 6, (H, W)).astype(np.float32)
    if out.ndim == 3:
        dark, tone = dark[..., None], tone[..., None]
    return _u8(out * (1.0 - dark) + tone * dark)


def specks(img: np.ndarray, rng: np.random.Generator, *, density: float | None = None,
           dust: bool | None = None) -> np.ndarray:
    """Specks over the page: salt-and-pepper noise (``density`` 1-3 % of the pixels,
    half of them black, half white), or dust on the scanner's glass (``density`` /
    100 specks a pixel, a few hundred on a page: dark, round, soft-edged, 1-3 px
    across)."""
    import cv2

    dust = bool(rng.random() < 0.5) if dust is None else bool(dust)
    density = float(rng.uniform(0.01, 0.03)) if density is None else float(density)
    out = img.copy()
    h, w = out.shape[:2]
    if not dust:
        hit = rng.random((h, w)) < density
        vals = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255).astype(np.uint8)
        out[hit] = vals[:, None] if out.ndim == 3 else vals
        return out
    mark = np.zeros((h, w), np.float32)
    for _ in range(int(density * h * w / 100)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        cv2.circle(mark, (int(x * 4), int(y * 4)), int(rng.uniform(2, 6)), 1.0, -1,
                   cv2.LINE_AA, shift=2)
    dark = cv2.GaussianBlur(np.clip(mark, 0, 1), (0, 0), 0.6) * rng.uniform(0.8, 1.0)
    out = out.astype(np.float32) * (1.0 - (dark if out.ndim == 2 else dark[..., None]))
    return _u8(out)


def holes(img: np.ndarray, rng: np.random.Generator, *, count: int | None = None,
          side: str | None = None, level: float | None = None) -> np.ndarray:
    """Punched holes, 2 or 3 down the left or top side as for a ring binder, the
    scanner lid dark through them: discs 2-3 % of the page's long side across,
    their centres 3-4 % of it from the edge; the canvas grows by up to 5 % on that
    side (a wider binding margin, or none: a tight scan or a crop)."""
    import cv2

    count = int(rng.choice([2, 3])) if count is None else int(count)
    side = str(rng.choice(["left", "top"])) if side is None else side
    level = float(rng.uniform(15, 55)) if level is None else float(level)
    h, w = img.shape[:2]
    long = max(h, w)
    margin = int(round(rng.uniform(0.0, 0.05) * long))
    pad = [(margin, 0), (0, 0)] if side == "top" else [(0, 0), (margin, 0)]
    out = _pad_paper(img, pad)
    H, W = out.shape[:2]
    radius = rng.uniform(0.01, 0.015) * long
    inset = rng.uniform(0.028, 0.038) * long
    along = (0.3, 0.7) if count == 2 else (0.2, 0.5, 0.8)
    scale = 4  # drawn 4 times finer, then shrunk: soft edges
    disc = np.zeros((H * scale, W * scale), np.uint8)
    for a in along:
        a = (a + rng.uniform(-0.02, 0.02)) * (W if side == "top" else H)
        x, y = (a, inset) if side == "top" else (inset, a)
        cv2.circle(disc, (round(x * scale), round(y * scale)), round(radius * scale), 255, -1)
    dark = cv2.resize(disc, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    dark = cv2.GaussianBlur(dark, (0, 0), 0.6)
    tone = level + rng.normal(0, 6, (H, W)).astype(np.float32)
    if out.ndim == 3:
        dark, tone = dark[..., None], tone[..., None]
    return _u8(out.astype(np.float32) * (1.0 - dark) + tone * dark)


def picture(img: np.ndarray, rng: np.random.Generator, *,
            halftone: bool | None = None) -> np.ndarray:
    """A photograph printed on the page below the text: smooth shading and a few
    shapes, light and dark, 40-70 % of the page wide; as continuous tone, or as a
    halftone screen of dots (newsprint, a laser printer). The canvas grows by it."""
    import cv2

    halftone = bool(rng.random() < 0.5) if halftone is None else bool(halftone)
    h, w = img.shape[:2]
    ph, pw = int(rng.uniform(0.5, 0.8) * h), int(rng.uniform(0.4, 0.7) * w)
    yy, xx = _grid((ph, pw))
    pic = 135 + 70 * _smooth_noise(rng, (ph, pw), int(rng.integers(4, 9)))
    for _ in range(int(rng.integers(3, 8))):  # things in the scene, lighter or darker
        cx, cy, r = rng.uniform(0, pw), rng.uniform(0, ph), rng.uniform(0.05, 0.2) * pw
        pic = np.where((xx - cx) ** 2 + (yy - cy) ** 2 < r * r, rng.uniform(20, 235), pic)
    pic = cv2.GaussianBlur(pic.astype(np.float32), (0, 0), 1.5)
    if halftone:  # an ordered screen: a dot grows with the darkness of its cell
        cell = int(rng.integers(3, 6))
        screen = (np.add.outer(np.arange(cell), np.arange(cell)) % cell + 0.5) / cell * 255
        reps = (ph // cell + 1, pw // cell + 1)
        pic = np.where(pic > np.tile(screen, reps)[:ph, :pw], 255.0, 0.0)
    gap = int(rng.uniform(0.02, 0.05) * h) + 10
    x0 = int(rng.uniform(0.1, 0.9) * (w - pw))
    paper = _background(img)
    out = np.empty((h + ph + 2 * gap, w) + img.shape[2:], np.uint8)
    out[...] = paper
    out[:h] = img
    block = _u8(pic)
    out[h + gap:h + gap + ph, x0:x0 + pw] = block if img.ndim == 2 else block[..., None]
    return out


def photo(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Phone-photo look: shadow + gradient + slight blur + noise + JPEG."""
    out = shadow(img, rng, depth=float(rng.uniform(0.5, 0.65)))
    out = gradient(out, rng, low=float(rng.uniform(140, 170)))
    out = blur(out, rng, sigma=float(rng.uniform(0.6, 0.9)))
    out = noise(out, rng, sigma=float(rng.uniform(5, 9)), salt_pepper=0.0)
    return jpeg(out, rng, quality=int(rng.integers(35, 55)))


# Held out: made after the pipeline's thresholds were set, never tuned on; the
# quality benchmark's --held-out run checks that the methods carry over.

def _text_lines(img: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each run of rows holding dark ink."""
    gray = img if img.ndim == 2 else img.mean(axis=2)
    ink = gray < 128
    rows = ink.any(axis=1)
    edges = np.diff(np.r_[0, rows.astype(np.int8), 0])
    lines = []
    for top, bottom in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        cols = np.flatnonzero(ink[top:bottom].any(axis=0))
        lines.append((int(top), int(bottom), int(cols[0]), int(cols[-1]) + 1))
    return lines


_MARKERS = {"yellow": (255, 236, 60), "green": (150, 240, 120), "pink": (255, 140, 200),
            "orange": (255, 180, 70)}


def highlighter(img: np.ndarray, rng: np.random.Generator, *, fraction: float | None = None,
                color: str | None = None) -> np.ndarray:
    """Translucent marker strokes over about a third of the text lines; returns RGB."""
    import cv2

    fraction = float(rng.uniform(0.25, 0.45)) if fraction is None else float(fraction)
    col = np.array(_MARKERS[color or str(rng.choice(sorted(_MARKERS)))], np.float32) / 255.0
    h, w = img.shape[:2]
    cover = np.zeros((h, w), np.float32)
    for top, bottom, left, right in _text_lines(img):
        if rng.random() >= fraction:
            continue
        pad = 0.25 * (bottom - top)
        x0 = int(max(0, left - rng.uniform(0, 3) * pad))
        x1 = int(min(w, right - rng.uniform(0, 0.5) * (right - left)))  # often stops mid-line
        xs = np.arange(x0, x1, dtype=np.float32)
        wobble = np.sin(xs / max(w, 1) * rng.uniform(4, 9) + rng.uniform(0, 6)) * pad * 0.6
        rows = np.arange(h, dtype=np.float32)[:, None]
        band = (rows >= np.floor(top - pad + wobble)) & (rows < np.floor(bottom + pad + wobble))
        cover[:, x0:x1] = np.maximum(cover[:, x0:x1], band)
    cover = cv2.GaussianBlur(cover, (0, 0), 1.5)[..., None] * rng.uniform(0.75, 0.95)
    return _u8(_rgb(img).astype(np.float32) * (1.0 - cover * (1.0 - col)))


_INKS = {"red": (190, 25, 35), "blue": (25, 55, 175), "green": (20, 115, 55)}


def _word_gaps(line: np.ndarray) -> np.ndarray:
    """Middles of the blank column runs of a text line wide enough to part words (or,
    in text without spaces, of every blank run)."""
    blank = np.r_[False, (line > 200).all(axis=0), False]
    edges = np.diff(blank.astype(np.int8))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    wide = stops - starts >= 0.3 * line.shape[0]
    keep = wide if wide.sum() >= 2 else np.ones_like(wide)
    return (starts[keep] + stops[keep]) // 2


def colored_ink(img: np.ndarray, rng: np.random.Generator, *,
                fraction: float | None = None) -> np.ndarray:
    """Text partly printed in colour: the first line (a heading) and runs of words in
    about half the other lines, in red, blue or green; returns RGB."""
    fraction = float(rng.uniform(0.4, 0.6)) if fraction is None else float(fraction)
    gray = img if img.ndim == 2 else img.mean(axis=2)
    colour = np.zeros(gray.shape, np.int8) - 1  # index into the inks, -1 for black
    names = sorted(_INKS)
    for i, (top, bottom, left, right) in enumerate(_text_lines(img)):
        gaps = _word_gaps(gray[top:bottom, left:right]) + left
        if i == 0:
            colour[top:bottom, left:right] = names.index("red")
        elif len(gaps) >= 2 and rng.random() < fraction:  # from one gap between words to another
            a, b = np.sort(rng.choice(gaps, 2, replace=False))
            colour[top:bottom, a:b] = int(rng.integers(len(names)))
    ink = (255.0 - gray.astype(np.float32)) / 255.0
    out = _rgb(img).astype(np.float32)
    for k, name in enumerate(names):
        where = colour == k
        out[where] = 255.0 * (1.0 - ink[where, None]) + np.float32(_INKS[name]) * ink[where, None]
    return _u8(out)


_SEAL_TEXT = {"chi_sim": "华信国际贸易有限公司合同专用章", "eng": "NORTHWIND TRADING COMPANY LTD"}


def stamp(img: np.ndarray, rng: np.random.Generator, *, count: int | None = None,
          lang: str = "eng") -> np.ndarray:
    """Red company seals (a ring, a star and the name round the rim) stamped over the
    text, as on a signed contract: unevenly inked, the print showing through; returns RGB."""
    import cv2

    count = int(rng.integers(1, 3)) if count is None else int(count)
    lines = _text_lines(img)
    h, w = img.shape[:2]
    pitch = float(np.median([b - t for t, b, _, _ in lines])) if lines else 0.02 * h
    cover = np.zeros((h, w), np.float32)
    for _ in range(count):
        radius = pitch * rng.uniform(3.0, 4.5)
        top, bottom, left, right = lines[int(rng.integers(len(lines)))] if lines else (
            h // 2, h // 2, 0, w)
        cx, cy = rng.uniform(left, max(left + 1, right)), (top + bottom) / 2
        seal = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(seal)
        ring = max(2.0, 0.07 * radius)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=255,
                     width=int(round(ring)))
        star = [(cx + (0.3 if i % 2 == 0 else 0.12) * radius * np.sin(i * np.pi / 5),
                 cy - (0.3 if i % 2 == 0 else 0.12) * radius * np.cos(i * np.pi / 5))
                for i in range(10)]
        draw.polygon(star, fill=255)
        name = _SEAL_TEXT["chi_sim" if _is_cjk_lang(lang) else "eng"]
        size = max(6, int(0.26 * radius))
        font = find_font(lang if _is_cjk_lang(lang) else "eng", size)
        span = np.radians(250.0)  # the name runs clockwise over the top of the rim
        for i, ch in enumerate(name):
            theta = -span / 2 + span * (i + 0.5) / len(name)
            glyph = Image.new("L", (2 * size, 2 * size), 0)
            ImageDraw.Draw(glyph).text((size, size), ch, font=font, fill=255, anchor="mm")
            glyph = glyph.rotate(-np.degrees(theta), resample=Image.BILINEAR)
            r = radius - ring - 0.62 * size
            x, y = cx + r * np.sin(theta), cy - r * np.cos(theta)
            seal.paste(255, (int(x - size), int(y - size)), glyph)
        cover = np.maximum(cover, np.asarray(seal, np.float32) / 255.0)
    cover = cv2.GaussianBlur(cover, (0, 0), 0.7)
    inking = np.clip(0.75 + 0.35 * _smooth_noise(rng, (h, w), 12)
                     + 0.25 * _smooth_noise(rng, (h, w), 90), 0.15, 1.0)
    color = np.array([rng.uniform(190, 235), rng.uniform(20, 60), rng.uniform(30, 70)],
                     np.float32) / 255.0
    amount = (cover * inking * rng.uniform(0.8, 0.95))[..., None]
    return _u8(_rgb(img).astype(np.float32) * (1.0 - amount * (1.0 - color)))


def faded(img: np.ndarray, rng: np.random.Generator, *, weakest: float | None = None) -> np.ndarray:
    """Toner running out: the ink fades across the page to ``weakest`` (0.3-0.45) of its
    strength, in a band along one side with streaks down the page."""
    weakest = float(rng.uniform(0.3, 0.45)) if weakest is None else float(weakest)
    h, w = img.shape[:2]
    yy, xx = _grid((h, w))
    th = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(th) + yy * np.sin(th)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    streaks = 0.15 * _smooth_noise(rng, (1, w), 40)[0][None, :]
    strength = np.clip(1.0 - (1.0 - weakest) * np.clip(1.6 * t - 0.3, 0, 1) + streaks,
                       weakest, 1.0)
    if img.ndim == 3:
        strength = strength[..., None]
    return _u8(255.0 - (255.0 - img.astype(np.float32)) * strength)


def dither(img: np.ndarray, rng: np.random.Generator, *, paper: float | None = None) -> np.ndarray:
    """A bilevel scan (fax, 1-bit scanner mode) of grayish paper: the gray page is
    error-diffused to black and white dots; returns 0/255 gray."""
    paper = float(rng.uniform(195, 225)) if paper is None else float(paper)
    gray = np.asarray(Image.fromarray(img).convert("L"), np.float32)  # ITU-R 601 luma
    with Image.fromarray(_u8(gray * (paper / 255.0))).convert("1") as bits:  # Floyd-Steinberg
        return np.asarray(bits, dtype=np.uint8) * np.uint8(255)


def perspective(img: np.ndarray, rng: np.random.Generator, *, amount: float | None = None,
                fill: int | Sequence[int] | None = None) -> np.ndarray:
    """A page photographed at an angle: each corner moves by up to ``amount``
    (2-5 %) of the page's size, so the lines converge and slant differently."""
    import cv2

    amount = float(rng.uniform(0.02, 0.05)) if amount is None else float(amount)
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-amount, amount, (4, 2)).astype(np.float32) * np.float32([w, h])
    dst -= dst.min(axis=0)
    size = tuple(int(np.ceil(v)) for v in dst.max(axis=0))
    return cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), size,
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=_warp_fill(img, fill))


def tabletop(img: np.ndarray, rng: np.random.Generator, *, amount: float | None = None,
             margin: float | None = None, surface: Sequence[int] | None = None) -> np.ndarray:
    """A whole page photographed on a darker desk: the page, seen at an angle
    (each corner moved by up to ``amount``, 3-7 % of its size), lies inside a frame
    ``margin`` (8-15 %, and over ``amount``) wider than it on each side, on a
    ``surface`` of wood or dark gray that lightens across the frame. Returns RGB."""
    import cv2

    amount = float(rng.uniform(0.03, 0.07)) if amount is None else float(amount)
    if margin is None:
        margin = float(rng.uniform(max(0.08, amount + 0.02), 0.15))
    if surface is None:
        if rng.random() < 0.5:  # wood
            surface = tuple(int(rng.integers(lo, hi)) for lo, hi in ((95, 140), (65, 95), (40, 65)))
        else:
            surface = (int(rng.integers(40, 110)),) * 3
    page = _rgb(img)
    h, w = page.shape[:2]
    dy, dx = round(margin * h), round(margin * w)
    out_h, out_w = h + 2 * dy, w + 2 * dx
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32([dx, dy]) + (rng.uniform(-amount, amount, (4, 2))
                                        * np.float32([w, h])).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(page, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (out_w, out_h),
                                flags=cv2.INTER_LINEAR)[..., None]
    light = np.linspace(0.8, 1.1, out_w, dtype=np.float32)[None, :, None]
    desk = np.clip(np.float32(surface) * light + rng.normal(0, 6, (out_h, out_w, 3)), 0, 255)
    return _u8(cover * warped + (1.0 - cover) * desk)


DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {
    "clean": clean,
    "gradient": gradient,
    "shadow": shadow,
    "stain": stain,
    "texture": texture,
    "colored": colored,
    "low_contrast": low_contrast,
    "show_through": show_through,
    "blur": blur,
    "noise": noise,
    "jpeg": jpeg,
    "skew": skew,
    "inverted": inverted,
    "reversed": reversed_bars,
    "border": border,
    "holes": holes,
    "specks": specks,
    "photo": photo,
    "picture": picture,
    "highlighter": highlighter,
    "faded": faded,
    "dither": dither,
    "perspective": perspective,
    "stamp": stamp,
    "colored_ink": colored_ink,
    "tabletop": tabletop,
}

HELD_OUT_KINDS: tuple[str, ...] = ("highlighter", "faded", "dither", "perspective")
#: The kinds the pipeline was developed on (the quality benchmark's default corpus).
KINDS: tuple[str, ...] = tuple(k for k in DEGRADATIONS if k not in HELD_OUT_KINDS)


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


@dataclass
class SyntheticPage:
    """A rendered, degraded page with its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        uint8, (H, W) grayscale or (H, W, 3) RGB.
    text : str
        Ground-truth text, wrapped lines joined by "\\n" (blank line between
        paragraphs).
    kind : str
        Degradation(s) applied, e.g. "shadow" or "shadow+gradient".
    lang : str
        Tesseract language code of the text.
    angle : float
        Skew in degrees, counter-clockwise positive (as in
        ``cv2.getRotationMatrix2D``); 0 if not skewed.
    seed : int
        Seed used.
    dpi : int
        Nominal resolution.
    """

    image: np.ndarray
    text: str
    kind: str
    lang: str
    angle: float = 0.0
    seed: int = 0
    dpi: int = 150


def _parse_kind(kind: str) -> list[str]:
    parts = [p.strip() for p in str(kind).split("+") if p.strip()]
    bad = [p for p in parts if p not in DEGRADATIONS]
    if not parts or bad:
        raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(DEGRADATIONS)} "
                         "(combine with '+')")
    return parts


def _pick_text(lang: str, seed: int) -> str:
    pars = builtin_paragraphs(lang)
    rng = np.random.default_rng([seed, zlib.crc32(lang.encode())])
    k = int(rng.integers(2, 4))
    idx = sorted(rng.choice(len(pars), size=k, replace=False))
    return "\n\n".join(pars[i] for i in idx)


def make_page(
    kind: str,
    *,
    lang: str = "eng",
    seed: int = 0,
    text: str | None = None,
    width_px: int = 1240,
    dpi: int = 150,
    font_size_pt: float | None = None,
    serif: bool = False,
    params: dict[str, dict] | None = None,
) -> SyntheticPage:
    """Render a page of built-in (or given) text and degrade it.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`, or several joined by "+" (applied left to
        right, e.g. "show_through+skew").
    lang : str, optional
        "eng" or "chi_sim" for built-in text; any language if ``text`` given.
    seed : int, optional
        Seed; the text choice depends only on (seed, lang), the degradation
        on (seed, kind).
    text : str, optional
        Text to render (paragraphs separated by blank lines) instead of 2-3
        built-in paragraphs.
    width_px, dpi : int, optional
        Page width in pixels and nominal resolution.
    font_size_pt : float, optional
        Default: about 34 px em (capitals ~25 px), i.e. ``34 * 72 / dpi`` pt.
    serif : bool, optional
        Use a serif font.
    params : dict, optional
        Extra keyword arguments per degradation, e.g. ``{"skew": {"angle": 7}}``.

    Returns
    -------
    SyntheticPage

    Raises
    ------
    ValueError
        Unknown kind, or no built-in text for ``lang``.
    """
    parts = _parse_kind(kind)
    params = params or {}
    if text is None:
        text = _pick_text(lang, seed)
    if font_size_pt is None:
        font_size_pt = 34.0 * 72.0 / dpi
    img, truth = render_page_with_text(text, lang=lang, width_px=width_px, dpi=dpi,
                                       font_size_pt=font_size_pt, serif=serif)
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    angle = 0.0
    for name in parts:
        kw = dict(params.get(name, {}))
        if name == "skew":
            if kw.get("angle") is None:
                kw["angle"] = float(rng.uniform(2, 12) * rng.choice([-1, 1]))
            angle += float(kw["angle"])
        elif name == "stamp":
            kw.setdefault("lang", lang)
        elif name == "show_through":
            kw.setdefault("lang", lang)
            kw.setdefault("font_size_pt", font_size_pt)
            kw.setdefault("dpi", dpi)
        img = DEGRADATIONS[name](img, rng, **kw)
    return SyntheticPage(image=img, text=truth, kind="+".join(parts), lang=lang, angle=angle,
                         seed=int(seed), dpi=int(dpi))


def make_corpus(kinds: Iterable[str] = KINDS, langs: Iterable[str] = ("eng", "chi_sim"),
                seeds: Iterable[int] = (0,), **kw) -> list[SyntheticPage]:
    """Make one page per (kind, lang, seed); ``kw`` goes to :func:`make_page`."""
    return [make_page(k, lang=lg, seed=s, **kw) for k in kinds for lg in langs for s in seeds]


# ---------------------------------------------------------------------------
# Bundled samples
# ---------------------------------------------------------------------------

# file, kind, lang, seed, built-in paragraph indices, width_px, font em px, degradation params
_SAMPLES = (
    ("letter_clean.png", "clean", "eng", 1, (0, 4), 1240, 36, {}),
    ("memo_shadow.png", "shadow+gradient", "eng", 2, (3, 5), 1240, 36, {}),
    ("report_stained.jpg", "colored+stain", "eng", 3, (1, 7), 1200, 36,
     {"colored": {"color": "yellow"}, "stain": {"n": 6}}),
    ("notice_skewed.png", "show_through+skew", "eng", 4, (2, 6), 1100, 36, {"skew": {"angle": 7.0}}),
    ("receipt_photo.png", "photo", "eng", 5, (6, 1), 1000, 25, {}),
    ("contract_zh.tif", "gradient+texture+skew", "chi_sim", 6, (1, 3), 1240, 36,
     {"texture": {"grain": 0.015}, "skew": {"angle": -2.5}}),
)
_MULTIPAGE = ("pages_2.tif", (
    ("low_contrast", "eng", 7, (0, 3), 1240, 36, {}),
    ("border+blur", "eng", 8, (5, 2), 1240, 36, {}),
))


def _save(img: np.ndarray, path: Path, dpi: int) -> None:
    im = Image.fromarray(img)
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        im.save(path, quality=82, dpi=(dpi, dpi))
    elif suffix in (".tif", ".tiff"):
        im.save(path, compression="tiff_adobe_deflate", tiffinfo={317: 2}, dpi=(dpi, dpi))  # 317: predictor
    else:
        im.save(path, optimize=True, dpi=(dpi, dpi))


def _sample_page(kind: str, lang: str, seed: int, pars: Sequence[int], width: int, em: float,
                 params: dict, dpi: int) -> SyntheticPage:
    text = "\n\n".join(builtin_paragraphs(lang)[i] for i in pars)
    return make_page(kind, lang=lang, seed=seed, text=text, width_px=width, dpi=dpi,
                     font_size_pt=em * 72.0 / dpi, params=params)


def _entry(p: SyntheticPage, text_file: str) -> dict:
    h, w = p.image.shape[:2]
    return {"text": text_file, "lang": p.lang, "kind": p.kind, "angle": round(p.angle, 3),
            "dpi": p.dpi, "width": w, "height": h, "seed": p.seed}


def write_samples(folder: str | os.PathLike) -> dict:
    """Write the bundled sample scans, their ``.txt`` truths and ``manifest.json``.

    Returns
    -------
    dict
        The manifest ``{file: entry}``; for a multi-page TIFF ``entry`` is a
        list of per-page entries (truths ``<stem>_p1.txt``, ``<stem>_p2.txt``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dpi = 150
    manifest: dict = {}
    for name, kind, lang, seed, pars, width, em, params in _SAMPLES:
        p = _sample_page(kind, lang, seed, pars, width, em, params, dpi)
        stem = Path(name).stem
        _save(p.image, folder / name, dpi)
        (folder / f"{stem}.txt").write_text(p.text + "\n", encoding="utf-8")
        manifest[name] = _entry(p, f"{stem}.txt")
    name, specs = _MULTIPAGE
    stem, entries, images = Path(name).stem, [], []
    for i, (kind, lang, seed, pars, width, em, params) in enumerate(specs, 1):
        p = _sample_page(kind, lang, seed, pars, width, em, params, dpi)
        (folder / f"{stem}_p{i}.txt").write_text(p.text + "\n", encoding="utf-8")
        entries.append(_entry(p, f"{stem}_p{i}.txt"))
        images.append(Image.fromarray(p.image))
    images[0].save(folder / name, save_all=True, append_images=images[1:], compression="tiff_adobe_deflate",
                   tiffinfo={317: 2}, dpi=(dpi, dpi))
    manifest[name] = entries
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return manifest


def _main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bgocr_nb.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--write-samples", metavar="FOLDER", help="write the bundled samples into FOLDER")
    ap.add_argument("--kind", help=f"write one page: {', '.join(KINDS)} (or a '+' combination)")
    ap.add_argument("--lang", default="eng")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default="page.png", help="output image for --kind")
    a = ap.parse_args(argv)
    if a.write_samples:
        man = write_samples(a.write_samples)
        print(f"wrote {len(man)} samples to {a.write_samples}")
    elif a.kind:
        p = make_page(a.kind, lang=a.lang, seed=a.seed)
        Image.fromarray(p.image).save(a.output)
        Path(a.output).with_suffix(".txt").write_text(p.text + "\n", encoding="utf-8")
        print(f"wrote {a.output} (angle={p.angle:.2f})")
    else:
        ap.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
