"""OCR quality benchmark: character error rate of every method on the same synthetic pages.

Every page of the corpus (``bgocr_nb.synth.make_page``: each degradation kind,
some harder combinations, English and Simplified Chinese, a few seeds, default
and small fonts) is recognised by

* ``raw``      Tesseract on the raw page (filters "none": gray conversion only),
* ``tess_t1``  Tesseract ``-c thresholding_method=1`` (Leptonica adaptive Otsu), raw page,
* ``sauvola``  Tesseract ``-c thresholding_method=2`` (Sauvola), raw page,
* ``ours``     our default pipeline (``Pipeline("auto")`` on the CPU), then Tesseract,
* ``fixed``    the fixed chain ``background,deskew,contrast``, then Tesseract,
* ``unfade``   ``auto,unfade``: our pipeline with the opt-in filter for fading ink,

and scored with ``bgocr_nb.metrics.cer``. One pool task does every method for
one page, so all methods see identical pages.

    python benchmarks/quality.py            # full corpus (~10 min on 2 cores)
    python benchmarks/quality.py --quick    # small subset (~1-2 min)
    python benchmarks/quality.py --results  # also write a dated section to RESULTS.md
    python benchmarks/quality.py --held-out --results  # kinds the pipeline was never tuned on

The held-out kinds (``synth.HELD_OUT_KINDS``: highlighter marks, faded toner,
bilevel dithered scans, perspective) were written after the pipeline's
thresholds were set and are kept out of the default corpus: they check that the
methods carry over to degradations they were not developed on.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _common as C  # noqa: E402  (puts the repository on sys.path)

# Harder combinations on top of every single kind in synth.KINDS.
COMBOS = (
    "shadow+noise", "show_through+skew", "stain+low_contrast", "inverted+noise",
    "colored+shadow", "texture+blur", "jpeg+gradient", "border+skew",
    "gradient+low_contrast+skew", "shadow+blur+jpeg",
)
HELD_OUT_COMBOS = ("faded+gradient", "highlighter+shadow", "perspective+photo", "gradient+dither")
QUICK_KINDS = ("clean", "photo", "shadow+noise", "show_through+skew", "inverted+noise",
               "low_contrast", "stain+low_contrast")
LANGS = ("eng", "chi_sim")
SEEDS = (0, 1, 2)
SMALL = 0.6          # small-font pages: text at 60 % of make_page's default size
SMALL_SEEDS = (0, 1, 2)  # seeds that also get a small-font page

DEFAULT_EM_PX = 34.0  # make_page's default em size in pixels, at DPI
DPI = 150
WIDTH_PX = 1240       # make_page's default page width, at DPI

METHODS = {  # name: (filters, tesseract variables, description)
    "raw": ("none", {}, "Tesseract, raw page"),
    "tess_t1": ("none", {"thresholding_method": "1"}, "Tesseract -c thresholding_method=1"),
    "sauvola": ("none", {"thresholding_method": "2"}, "Tesseract -c thresholding_method=2 (Sauvola)"),
    "ours": ("auto", {}, "Pipeline('auto') + Tesseract"),
    "fixed": ("background,deskew,contrast", {}, "background,deskew,contrast + Tesseract"),
    "unfade": ("auto,unfade", {}, "Pipeline('auto,unfade') + Tesseract: the opt-in filter"),
}
TESS_MODES = ("raw", "tess_t1", "sauvola")
WORSE = 0.005        # a page is "worse than raw" when ours - raw exceeds this
CLEAN_DELTA = 0.005  # clean pages: ours within 0.5 CER points of raw
RATIO_TARGET = 0.25  # mean CER ours <= 0.25 x best Tesseract mode


@dataclass(frozen=True)
class PageSpec:
    kind: str
    lang: str
    seed: int
    scale: float = 1.0  # font size relative to the default
    dpi: int = DPI      # the page and its text are drawn this much finer than at DPI
    serif: bool = False  # a serif face (Noto Serif CJK, DejaVu Serif) instead of the sans

    @property
    def font_px(self) -> int:
        return int(round(DEFAULT_EM_PX * self.scale * self.dpi / DPI))

    @property
    def name(self) -> str:
        small = "" if self.scale == 1.0 else f"@{self.scale:g}"
        return f"{self.kind}/{self.lang}/s{self.seed}{small}" + ("/serif" if self.serif else "")


def corpus(kinds, langs, seeds, small_seeds, small_scale=SMALL, dpi=DPI,
           serif=False) -> list[PageSpec]:
    pages = [PageSpec(k, lg, s, 1.0, dpi, serif) for k in kinds for lg in langs for s in seeds]
    if small_scale and small_scale != 1.0:
        pages += [PageSpec(k, lg, s, small_scale, dpi, serif) for k in kinds for lg in langs
                  for s in small_seeds]
    return pages


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one core per page; the pool provides the parallelism


def run_page(spec: PageSpec, methods: tuple[str, ...]) -> dict:
    """Make one page and run every method on it (in a pool worker)."""
    from bgocr_nb.metrics import cer
    from bgocr_nb.pipeline import Pipeline
    from bgocr_nb.synth import make_page

    t0 = time.perf_counter()
    page = make_page(spec.kind, lang=spec.lang, seed=spec.seed, dpi=spec.dpi,
                     width_px=round(WIDTH_PX * spec.dpi / DPI),
                     font_size_pt=spec.font_px * 72.0 / spec.dpi, serif=spec.serif)
    row = {"page": spec.name, "kind": spec.kind, "lang": spec.lang, "seed": spec.seed,
           "dpi": spec.dpi, "font_px": spec.font_px, "height": page.image.shape[0],
           "width": page.image.shape[1], "true_angle": round(page.angle, 2)}
    hyps = {}
    preprocessed: dict[str, object] = {}
    for m in methods:
        filters, variables, _ = METHODS[m]
        try:
            if filters not in preprocessed:
                preprocessed[filters] = Pipeline(filters).run(page.image, device="cpu")
            pre = preprocessed[filters]
            t = time.perf_counter()
            # the resolution a scan file declares, as Tesseract reads it from the file
            text = C.ocr_text(pre.image, lang=spec.lang, variables=variables,
                              dpi=round(spec.dpi * pre.scale))
            row[f"sec_{m}"] = round(time.perf_counter() - t, 3)
            row[m] = cer(text, page.text)
            if m in ("raw", "ours"):
                row[f"{m}_bag"] = bag_cer(text, page.text)
            hyps[m] = text
        except Exception as exc:  # noqa: BLE001 - a failing method scores 1.0 and is reported
            row[m] = 1.0
            row[f"error_{m}"] = f"{type(exc).__name__}: {exc}"
            hyps[m] = ""
        if filters == "auto" and "auto" in preprocessed:
            pre = preprocessed["auto"]
            row["auto_steps"] = " ".join(
                s.name + (f"({_short(s.params)})" if s.params and s.name in ("upscale", "deskew")
                          else "") for s in pre.steps if s.applied) or "-"
            row["auto_angle"] = round(pre.angle, 2)
            row["sec_auto_pre"] = round(pre.seconds, 3)
    row["sec_total"] = round(time.perf_counter() - t0, 2)
    return {"row": row, "hyps": hyps, "truth": page.text}


def bag_cer(hypothesis: str, reference: str) -> float:
    """An order-free CER: characters missing or extra, ignoring where they are.

    A lower bound of the CER; when it is small and the CER large, Tesseract read
    the right characters in the wrong order (a layout / reading-order failure).
    """
    from collections import Counter

    from bgocr_nb.metrics import normalize_text

    ref = Counter(normalize_text(reference).replace(" ", ""))
    hyp = Counter(normalize_text(hypothesis).replace(" ", ""))
    n = sum(ref.values())
    if not n:
        return 0.0 if not hyp else 1.0
    return max(sum((ref - hyp).values()), sum((hyp - ref).values())) / n


def _short(params: dict) -> str:
    return ",".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in params.values())


def _run_star(args):
    return run_page(*args)


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------

def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def summarise(rows: list[dict], methods: tuple[str, ...]) -> dict:
    tess = [m for m in TESS_MODES if m in methods]
    means = {m: _mean(r[m] for r in rows) for m in methods}
    best = min(tess, key=lambda m: means[m]) if tess else None
    by_lang = {lg: {m: _mean(r[m] for r in rows if r["lang"] == lg) for m in methods}
               for lg in sorted({r["lang"] for r in rows})}
    out = {"n": len(rows), "means": means, "best_mode": best, "by_lang": by_lang}
    if "ours" in methods and best:
        out["ratio"] = means["ours"] / means[best] if means[best] > 0 else float("inf")
        out["ratio_by_lang"] = {}
        for lg, mm in by_lang.items():
            b = min(tess, key=lambda m: mm[m])
            out["ratio_by_lang"][lg] = (mm["ours"] / mm[b] if mm[b] > 0 else float("inf"), b)
        # per page against the best of the Tesseract modes on that very page (an oracle)
        oracle = _mean(min(r[m] for m in tess) for r in rows)
        out["oracle_mean"] = oracle
    if "ours" in methods and "raw" in methods:
        worse = [r for r in rows if r["ours"] - r["raw"] > WORSE]
        out["worse"] = sorted(worse, key=lambda r: r["raw"] - r["ours"])
        clean = [r for r in rows if r["kind"] == "clean"]
        deltas = [r["ours"] - r["raw"] for r in clean]
        out["clean_n"] = len(clean)
        out["clean_mean_delta"] = _mean(deltas)
        out["clean_max_delta"] = max(deltas) if deltas else float("nan")
    if "ours" in methods and tess:
        out["worse_than_best_page"] = [
            r for r in rows if r["ours"] - min(r[m] for m in tess) > WORSE]
    return out


def report(rows: list[dict], methods: tuple[str, ...], s: dict, info: dict, args,
           seconds: float) -> tuple[str, str]:
    """(summary markdown for RESULTS.md, full markdown report)."""
    mcols = list(methods)
    lines = []
    head = ["", "pages"] + mcols
    table = [["all", s["n"]] + [s["means"][m] for m in mcols]]
    for lg, mm in s["by_lang"].items():
        table.append([lg, sum(r["lang"] == lg for r in rows)] + [mm[m] for m in mcols])
    for fpx in sorted({r["font_px"] for r in rows}, reverse=True):
        sub = [r for r in rows if r["font_px"] == fpx]
        table.append([f"font {fpx} px", len(sub)] + [_mean(r[m] for r in sub) for m in mcols])
    clean_rows = [r for r in rows if r["kind"] == "clean"]
    if clean_rows:
        table.append(["clean pages", len(clean_rows)]
                     + [_mean(r[m] for r in clean_rows) for m in mcols])
    lines.append("Mean CER (0 = perfect) per method:\n")
    lines.append(C.md_table(head, table, "l" + "r" * (len(head) - 1), digits=4))

    checks = []
    if "ratio" in s:
        best = s["best_mode"]
        checks.append([f"mean CER ours / best Tesseract mode ({best}, {s['means'][best]:.4f})",
                       f"{s['ratio']:.3f}", f"<= {RATIO_TARGET}",
                       C.status(s["ratio"] <= RATIO_TARGET)])
        for lg, (ratio, b) in s["ratio_by_lang"].items():
            checks.append([f"  {lg}: ours / {b}", f"{ratio:.3f}", f"<= {RATIO_TARGET}",
                           C.status(ratio <= RATIO_TARGET)])
    if "worse" in s:
        checks.append([f"pages where ours is worse than raw by > {WORSE}",
                       f"{len(s['worse'])} of {s['n']}", "0", C.status(not s["worse"])])
        if s["clean_n"]:
            checks.append([f"clean pages: ours - raw, mean / max (CER points, n={s['clean_n']})",
                           f"{100 * s['clean_mean_delta']:+.2f} / {100 * s['clean_max_delta']:+.2f}",
                           f"<= {100 * CLEAN_DELTA:.1f}",
                           C.status(s["clean_max_delta"] <= CLEAN_DELTA)])
    if "worse_than_best_page" in s:
        checks.append([f"(info) pages where ours is worse than that page's best Tesseract "
                       f"mode by > {WORSE}", f"{len(s['worse_than_best_page'])} of {s['n']}",
                       "", ""])
    if "oracle_mean" in s:
        checks.append(["(info) mean of per-page best Tesseract mode (oracle)",
                       f"{s['oracle_mean']:.4f}", "", ""])
    lines.append("\nTargets:\n")
    lines.append(C.md_table(["check", "value", "target", ""], checks, "lrrl"))

    if s.get("worse"):
        lines.append("\nPages where ours is worse than raw Tesseract:\n")
        lines.append(C.md_table(
            ["page", "raw", "ours", "ours - raw", "ours, order-free", "auto applied"],
            [[r["page"], r["raw"], r["ours"], r["ours"] - r["raw"], r.get("ours_bag"),
              r.get("auto_steps", "")] for r in s["worse"]], "lrrrrl", digits=4))
        lines.append("\n(\"order-free\": the CER counting only missing and extra characters, "
                     "not their order; far below the CER means Tesseract read the right text in "
                     "the wrong order, a page-layout failure.)")
    corpus_line = (f"{s['n']} pages: kinds {', '.join(_kinds_in(rows))}; languages "
                   f"{', '.join(sorted({r['lang'] for r in rows}))}; seeds "
                   f"{', '.join(str(x) for x in sorted({r['seed'] for r in rows}))}; font em "
                   f"{' and '.join(str(x) for x in sorted({r['font_px'] for r in rows}, reverse=True))} px "
                   f"at {rows[0]['dpi'] if rows else DPI} DPI; every method tells Tesseract that "
                   "resolution, as it reads "
                   "it from a scan file." + (" Serif faces." if args.serif else ""))
    summary = "\n".join([
        f"Machine: {C.machine_line(info)}. Code: {C.git_revision()}. "
        f"Run: `python benchmarks/quality.py {' '.join(args.argv)}`".rstrip() + f", {seconds / 60:.1f} min "
        f"with {args.jobs} processes.", "", f"Corpus: {corpus_line}", "",
        *lines])

    # Full report: summary, per-kind means, per-page table.
    kinds = _kinds_in(rows)
    per_kind = []
    for k in kinds:
        sub = [r for r in rows if r["kind"] == k]
        per_kind.append([k, len(sub)] + [_mean(r[m] for r in sub) for m in mcols])
    per_page = [[r["page"], r["font_px"]] + [r[m] for m in mcols]
                + [r.get("auto_steps", ""), r.get("true_angle", ""), r.get("auto_angle", "")]
                for r in rows]
    errors = [(r["page"], k[6:], v) for r in rows for k, v in r.items() if k.startswith("error_")]
    full = "\n".join([
        f"# OCR quality benchmark ({C.today()})", "", summary, "",
        "## Mean CER per kind\n",
        C.md_table(["kind", "pages"] + mcols, per_kind, "l" + "r" * (len(mcols) + 1), digits=4),
        "", "## Per page\n",
        C.md_table(["page", "font px"] + mcols + ["auto applied", "true angle", "auto angle"],
                   per_page, "lr" + "r" * len(mcols) + "lrr", digits=4),
        *(["", "## Errors\n", C.md_table(["page", "method", "error"], errors, "lll")]
          if errors else []),
        "", "Methods: " + "; ".join(f"`{m}` = {METHODS[m][2]}" for m in mcols) + ".",
    ])
    return summary, full


def _kinds_in(rows) -> list[str]:
    seen = []
    for r in rows:
        if r["kind"] not in seen:
            seen.append(r["kind"])
    return seen


# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from bgocr_nb.synth import HELD_OUT_KINDS, KINDS

    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"small subset: {', '.join(QUICK_KINDS)}; seed 0; small fonts too")
    ap.add_argument("--kinds", help="comma-separated kinds (a kind may combine with '+'); "
                    "default: every synth kind plus " + ", ".join(COMBOS))
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out kinds instead: " + ", ".join(HELD_OUT_KINDS)
                    + " plus " + ", ".join(HELD_OUT_COMBOS))
    ap.add_argument("--dpi", type=int, default=DPI,
                    help=f"draw the pages this fine (default {DPI}; 300 as most scans), text "
                    "and page the same size on paper")
    ap.add_argument("--serif", action="store_true",
                    help="serif faces (Noto Serif CJK, DejaVu Serif): thin strokes that our "
                    "own pages, in sans faces, never show the pipeline")
    ap.add_argument("--langs", help=f"comma-separated languages (default {','.join(LANGS)})")
    ap.add_argument("--seeds", help=f"comma-separated seeds (default {','.join(map(str, SEEDS))})")
    ap.add_argument("--small-seeds", help="seeds that also get a small-font page "
                    f"(default {','.join(map(str, SMALL_SEEDS))}; '' for none)")
    ap.add_argument("--small-scale", type=float, default=SMALL,
                    help=f"font size of the small-font pages relative to the default ({SMALL})")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated subset of {','.join(METHODS)}")
    ap.add_argument("--jobs", type=int, default=min(2, C.cpu_count()) or 1,
                    help="worker processes (default 2)")
    ap.add_argument("--results", action="store_true",
                    help="write a dated section to benchmarks/RESULTS.md")
    ap.add_argument("--out", default=str(C.OUT), help="folder for quality.md/.csv (benchmarks/out)")
    args = ap.parse_args(argv)
    args.argv = argv

    def split(text):
        return [t.strip() for t in text.split(",") if t.strip()]

    if args.quick:
        kinds, seeds, small_seeds = QUICK_KINDS, (0,), (0,)
    elif args.held_out:
        kinds, seeds, small_seeds = (*HELD_OUT_KINDS, *HELD_OUT_COMBOS), SEEDS, SMALL_SEEDS
    else:
        kinds, seeds, small_seeds = (*KINDS, *COMBOS), SEEDS, SMALL_SEEDS
    if args.kinds:
        kinds = split(args.kinds)
    langs = split(args.langs) if args.langs else LANGS
    if args.seeds:
        seeds = [int(x) for x in split(args.seeds)]
    if args.small_seeds is not None:
        small_seeds = [int(x) for x in split(args.small_seeds)]
    methods = tuple(split(args.methods))
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s) {bad}; choose from {list(METHODS)}")
    from bgocr_nb import tesseract
    from bgocr_nb.synth import _parse_kind

    for k in kinds:
        try:
            _parse_kind(k)
        except ValueError as exc:
            ap.error(str(exc))
    for lg in langs:
        tesseract.check_lang(lg)

    specs = corpus(kinds, langs, seeds, small_seeds, args.small_scale, args.dpi, args.serif)
    info = C.machine()
    print(f"{len(specs)} pages x {len(methods)} methods on {args.jobs} processes; "
          f"{C.machine_line(info)}", file=sys.stderr, flush=True)
    # Most expensive first (small fonts, Chinese, combos) so the pool ends evenly.
    order = sorted(specs, key=lambda p: (p.scale, p.lang == "eng", "+" not in p.kind))
    t0 = time.perf_counter()
    results = []
    tasks = [(p, methods) for p in order]
    if args.jobs > 1:
        with mp.get_context("spawn" if sys.platform == "darwin" else "fork").Pool(
                args.jobs, initializer=_init_worker) as pool:
            for i, res in enumerate(pool.imap_unordered(_run_star, tasks, chunksize=1), 1):
                results.append(res)
                _progress(i, len(tasks), res["row"], methods, t0)
    else:
        _init_worker()
        for i, task in enumerate(tasks, 1):
            results.append(run_page(*task))
            _progress(i, len(tasks), results[-1]["row"], methods, t0)
    seconds = time.perf_counter() - t0

    index = {p.name: i for i, p in enumerate(specs)}
    results.sort(key=lambda res: index[res["row"]["page"]])
    rows = [res["row"] for res in results]
    s = summarise(rows, methods)
    summary, full = report(rows, methods, s, info, args, seconds)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.md").write_text(full + "\n", encoding="utf-8")
    fields = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(out / "quality.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(out / "quality_texts.jsonl", "w", encoding="utf-8") as fh:
        for res in results:
            fh.write(json.dumps({"page": res["row"]["page"], "truth": res["truth"],
                                 **res["hyps"]}, ensure_ascii=False) + "\n")
    print(full)
    print(f"\nwrote {out / 'quality.md'}, {out / 'quality.csv'}, {out / 'quality_texts.jsonl'}",
          file=sys.stderr)
    if args.results:
        title = ("Quality" + (" (quick)" if args.quick else "")
                 + (", held-out kinds" if args.held_out else "")
                 + (f", {args.dpi} dpi" if args.dpi != DPI else "")
                 + (", serif faces" if args.serif else "") + f", {C.today()}")
        path = C.write_section(title, summary)
        print(f"wrote section '{title}' to {path}", file=sys.stderr)
    return 0


def _progress(i, n, row, methods, t0) -> None:
    cers = " ".join(f"{m}={row[m]:.3f}" for m in methods)
    print(f"[{i:3d}/{n}] {time.perf_counter() - t0:6.0f}s {row['page']:<40} {cers}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
