"""HTML views of results for Jupyter (plain strings: no IPython needed)."""

from __future__ import annotations

import base64
import html
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .results import OcrResult, ResultSet

THUMB_WIDTH = 420


def png_bytes(image: np.ndarray, max_width: int | None = THUMB_WIDTH) -> bytes:
    """Encode a uint8 image as PNG, shrunk to ``max_width`` pixels wide."""
    import cv2

    if max_width and image.shape[1] > max_width:
        h = max(1, round(image.shape[0] * max_width / image.shape[1]))
        image = cv2.resize(image, (max_width, h), interpolation=cv2.INTER_AREA)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image)
    return buf.tobytes() if ok else b""


def img_tag(image: np.ndarray, alt: str, max_width: int = THUMB_WIDTH) -> str:
    data = base64.b64encode(png_bytes(image, max_width)).decode()
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'style="max-width:{max_width}px;border:1px solid #ccc"/>')


def confidence_color(conf: float) -> str:
    """Red under 50, amber under 70, no colour above."""
    return "#f8c4c4" if conf < 50 else "#fbe3a8" if conf < 70 else ""


def highlighted_text(result: "OcrResult", threshold: float = 70.0) -> str:
    """The recognised words line by line, low-confidence ones highlighted."""
    lines: dict[tuple[int, int], list[str]] = {}
    for w in result.words:
        word = html.escape(w.text)
        if w.confidence < threshold:
            word = (f'<span style="background:{confidence_color(w.confidence)}" '
                    f'title="confidence {w.confidence:.0f}">{word}</span>')
        lines.setdefault((w.block, w.line), []).append(word)
    sep = "" if result.lang.startswith(("chi", "jpn")) else " "
    body, last = "", None
    for (block, line), ws in lines.items():
        paragraph = (block, line // 1000)  # Word.line is paragraph * 1000 + line
        body += ("" if last is None else "<br/><br/>" if paragraph != last else "<br/>")
        body += sep.join(ws)
        last = paragraph
    return body or html.escape(result.text) or "<i>no text found</i>"


def result_html(result: "OcrResult") -> str:
    conf = result.mean_confidence
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    applied = "".join(f"<li>{html.escape(str(s))}</li>" for s in result.steps) or "<li>none</li>"
    before = img_tag(result.original, "before") if result.original is not None else ""
    after = img_tag(result.image, "after")
    conf_text = "n/a" if math.isnan(conf) else f"{conf:.1f}"
    # mathjax_ignore: JupyterLab would read "$286 ... $58" in the text as LaTeX
    return f"""<div class="bgocr-result mathjax_ignore tex2jax_ignore">
<b>{html.escape(result.source)}</b> page {result.page + 1} &middot; device <b>{result.device}</b>
&middot; mean confidence <b>{conf_text}</b> &middot; deskew {result.angle:+.2f}&deg;
&middot; {html.escape(timings)}
<div style="display:flex;gap:8px;align-items:flex-start">
<div>{before}<div style="text-align:center">before</div></div>
<div>{after}<div style="text-align:center">after</div></div></div>
<details><summary>filters ({html.escape(result.filters)})</summary><ul>{applied}</ul></details>
<div style="font-family:monospace;white-space:pre-wrap;border:1px solid #eee;padding:4px">\
{highlighted_text(result)}</div></div>"""


def record_row(rec: dict) -> str:
    """One page record as a table row: source, page, confidence, status, text or error."""
    conf = rec.get("mean_confidence")
    if rec.get("error"):
        status, detail = "failed", rec["error"]
    else:
        status = "review" if rec.get("needs_review") else "ok"
        lines = (rec.get("text") or "").strip().splitlines()
        detail = lines[0][:80] if lines else ""
    color = {"ok": "", "review": "#fbe3a8", "failed": "#f8c4c4"}[status]
    page = "" if rec.get("page") is None else rec["page"] + 1
    return (f'<tr style="background:{color}"><td>{html.escape(str(rec.get("source", "")))}</td>'
            f"<td>{page}</td><td>{'' if conf is None else f'{conf:.1f}'}</td>"
            f"<td>{status}</td><td>{html.escape(str(detail))}</td></tr>")


RECORDS_HEAD = ("<tr><th>source</th><th>page</th><th>confidence</th><th>status</th>"
                "<th>text / error</th></tr>")


def records_html(records: list[dict], summary: dict, head: str = "") -> str:
    """A table of page records (as written by batches) under a one-line summary."""
    rows = "".join(record_row(rec) for rec in records[:500])
    more = f"<p>... and {len(records) - 500} more</p>" if len(records) > 500 else ""
    return ('<div class="mathjax_ignore tex2jax_ignore">'
            f"<b>{summary['pages']} pages</b>: {summary['ok']} ok, {summary['failed']} "
            f"failed, {summary['needs_review']} to review{'. ' + head if head else ''}"
            f"<table>{RECORDS_HEAD}{rows}</table>{more}</div>")


def results_html(results: "ResultSet") -> str:
    return records_html(results.to_records(), results.summary())
