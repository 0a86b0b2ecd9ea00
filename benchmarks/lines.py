"""Faint straight lines: folds and ruled paper, read raw, through `auto`, and through
`auto(lines=true)`.

The pages are the quality benchmark's clean pages (150 dpi, English and Chinese, text
em 34 and 20 px) with a degradation drawn here, not in `bgocr_nb.synth`: the `lines`
step is not part of the default `auto`, so the default corpus leaves these out.

- ``fold``: one or two folds, each a dark thin line (60-110 levels deep, 1-2 px
  soft) with one side shaded, along the rows or the columns, tilted up to 3 degrees;
- ``ruled``: notebook paper: light blue rules every 28-45 px, not lined up with the
  text, and a red margin line.

Other pages the step might touch are checked too (``--kinds``): it must leave them as
they are.

    python benchmarks/lines.py [--seeds 0,1,2,3,4,5,6,7] [--kinds fold,ruled] [--results]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import time

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402  (puts the repository on sys.path)

METHODS = {"raw": "none", "auto": "auto", "auto + lines": "auto(lines=true)"}
SCALES = (1.0, 0.6)  # of the quality benchmark's 34 px em
WORSE = 0.005


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.uint8)


def fold(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(rng.integers(1, 3)):
        if rng.random() < 0.5:  # along the rows
            y0, tilt = rng.uniform(0.3, 0.7) * h, math.tan(math.radians(rng.uniform(-3, 3)))
            d = yy - y0 - (xx - w / 2) * tilt
        else:
            x0, tilt = rng.uniform(0.3, 0.7) * w, math.tan(math.radians(rng.uniform(-3, 3)))
            d = xx - x0 - (yy - h / 2) * tilt
        line = np.exp(-(d / rng.uniform(1.0, 2.0)) ** 2) * rng.uniform(60, 110)
        side = np.where(d > 0, 1.0,
                        1.0 - rng.uniform(0.10, 0.25) * np.exp(-np.abs(d) / (0.05 * w)))
        out = out * (side if out.ndim == 2 else side[..., None]) - (
            line if out.ndim == 2 else line[..., None])
    return _u8(out)


def ruled(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = (img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)).astype(np.float32)
    h, w = out.shape[:2]
    step = rng.uniform(28, 45)
    blue = np.array([120, 160, 230], np.float32)
    for y in np.arange(rng.uniform(0, step), h, step).astype(int):
        out[y:y + 2] = out[y:y + 2] * 0.45 + np.minimum(out[y:y + 2], blue) * 0.55
    x = int(rng.uniform(0.05, 0.09) * w)
    out[:, x:x + 2] = np.minimum(out[:, x:x + 2], np.array([230, 90, 90], np.float32))
    return _u8(out)


DRAWN = {"fold": fold, "ruled": ruled}


def run_page(job: tuple[str, str, int, float]) -> dict:
    from bgocr_nb.metrics import cer
    from bgocr_nb.pipeline import Pipeline
    from bgocr_nb.synth import DEGRADATIONS, make_page
    from quality import DEFAULT_EM_PX, DPI, WIDTH_PX

    kind, lang, seed, scale = job
    rng = np.random.default_rng([seed, sum(map(ord, kind))])
    drawn = kind in DRAWN
    page = make_page("clean" if drawn else kind, lang=lang, seed=seed, dpi=DPI,
                     width_px=WIDTH_PX, font_size_pt=round(DEFAULT_EM_PX * scale) * 72.0 / DPI)
    image = DRAWN[kind](page.image, rng) if drawn else page.image
    row = {"page": f"{kind}/{lang}/s{seed}@{scale:g}", "kind": kind}
    assert kind in DRAWN or kind in DEGRADATIONS, kind
    for name, spec in METHODS.items():
        pre = Pipeline(spec).run(image, device="cpu")
        text = C.ocr_text(pre.image, lang=lang, variables={}, dpi=round(DPI * pre.scale))
        row[name] = cer(text, page.text)
        if spec.endswith("(lines=true)"):
            step = next((s for s in pre.steps if s.name == "lines"), None)
            row["lines"] = step.params.get("count", 0) if step else 0
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="fold,ruled,clean,shadow,show_through,stain,texture",
                    help="comma-separated: fold, ruled, or any synth kind")
    ap.add_argument("--seeds", default="0,1,2,3,4,5,6,7",
                    help="developed on 0-3; 4-7 check it")
    ap.add_argument("--results", action="store_true", help="write a section to RESULTS.md")
    ap.add_argument("--out", default=str(C.out_dir()))
    args = ap.parse_args(argv)
    start = time.time()
    jobs = [(k, lang, int(s), sc) for k in args.kinds.split(",") for lang in ("eng", "chi_sim")
            for s in args.seeds.split(",") for sc in SCALES]
    with mp.Pool(2) as pool:
        rows = pool.map(run_page, jobs, chunksize=1)
    table = []
    for kind in args.kinds.split(","):
        mine = [r for r in rows if r["kind"] == kind]
        changed = sum(r["auto + lines"] != r["auto"] for r in mine)
        table.append([kind, len(mine), sum(r["lines"] > 0 for r in mine),
                      np.mean([r["raw"] for r in mine]), np.mean([r["auto"] for r in mine]),
                      np.mean([r["auto + lines"] for r in mine]), changed,
                      sum(r["auto + lines"] < r["auto"] - WORSE for r in mine),
                      sum(r["auto + lines"] > r["auto"] + WORSE for r in mine),
                      sum(r["auto"] > r["raw"] + WORSE for r in mine),
                      sum(r["auto + lines"] > r["raw"] + WORSE for r in mine)])
    summary = (
        f"Machine: {C.machine_line()}. Code: {C.git_revision()}. Run: `python benchmarks/"
        f"lines.py --kinds {args.kinds} --seeds {args.seeds}`, {(time.time() - start) / 60:.1f}"
        " min.\n\nPages: the quality benchmark's clean pages (150 dpi, English and Chinese, "
        "text em 34 and 20 px) with folds or notebook rules drawn by this script, and "
        "pages of other kinds, on which the step should find nothing. CER per method; "
        f"better/worse: by more than {WORSE}.\n\n"
        + C.md_table(["kind", "pages", "lines found on", "raw", "auto", "auto + lines",
                      "pages changed", "better", "worse", "auto worse than raw",
                      "auto + lines worse than raw"], table, digits=4))
    full = summary + "\n\nPer page:\n\n" + C.md_table(
        ["page", "raw", "auto", "auto + lines", "lines"],
        [[r["page"], r["raw"], r["auto"], r["auto + lines"], r["lines"]] for r in rows], digits=4)
    C.publish(args.out, "lines", "Faint lines", full, summary, rows, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
