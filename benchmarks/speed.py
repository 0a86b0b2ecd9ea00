"""Speed benchmark: preprocessing versus Tesseract on full A4 pages at 300 DPI.

For each page (A4, 2480 x 3508, 11 pt text; clean, ``photo`` and ``shadow+skew``
by default) it measures, in one run:

* the default pipeline (``Pipeline("auto")``) on the CPU: median of 5 after a
  warm-up, with OpenCV's default threads and with one thread;
* the fixed chain ``background,deskew,contrast`` on the CPU (median of 5);
* Tesseract on the page (single-threaded, as ``tesseract.recognize`` runs it;
  median of 3), on the auto pipeline's output and on the raw page;
* the ratio preprocessing / Tesseract (target: below 10 %);
* on a GPU, if ``bgocr_nb.devices()`` lists one: the pipeline on ``gpu:0``
  (median of 10 after warm-up), its speed-up over the CPU (target: 20x or more)
  and how far its output is from the CPU's;
* a per-stage breakdown of the auto pipeline: the ``StepRecord.seconds`` the
  pipeline reports, and a finer one from timing each call ``auto`` makes
  (analysis versus filtering), so one can see what to optimise.

    python benchmarks/speed.py               # ~1 min on 2 cores
    python benchmarks/speed.py --results     # also write a dated section to RESULTS.md
"""

from __future__ import annotations

import argparse
import functools
import inspect
import statistics
import sys
import time
import types

import numpy as np

import _common as C  # noqa: E402  (puts the repository on sys.path)
from bgocr_nb.backend import opencv_threads  # noqa: E402

A4_W, A4_H, DPI = 2480, 3508, 300
FONT_PT = 11.0
KINDS = ("clean", "photo", "shadow+skew")
FIXED = "background,deskew,contrast"
RATIO_TARGET = 0.10
GPU_TARGET = 20.0


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------

def a4_page(kind: str, lang: str, seed: int, font_pt: float):
    """A full A4 page at 300 DPI, degraded by ``kind``; padded to 3508 rows."""
    from bgocr_nb.synth import make_page

    page = make_page(kind, lang=lang, seed=seed, text=C.fill_text(lang, seed, font_pt, A4_W, A4_H, DPI),
                     width_px=A4_W, dpi=DPI, font_size_pt=font_pt)
    img = page.image
    if img.shape[0] < A4_H:  # a few rows short: repeat the bottom margin
        pad = [(0, A4_H - img.shape[0]), (0, 0)] + [(0, 0)] * (img.ndim - 2)
        img = np.pad(img, pad, mode="edge")
    page.image = img
    return page


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

def timed(fn, runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


class CallTimer:
    """Times every call the auto filter (and the analysis it calls) makes.

    Function references in the instrumented modules' namespaces are replaced by
    timing wrappers, and module references by proxies that hand out wrapped
    functions; nested calls are labelled ``parent > child``. Works whatever
    ``auto`` calls, as long as it calls it through module-level names.
    """

    MODULES = ("bgocr_nb.filters.auto", "bgocr_nb.filters.analysis", "bgocr_nb.filters.deskew")

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.calls: dict[str, list] = {}  # label -> [seconds, count, kind, depth]
        self.order: list[str] = []
        self._undo: list[tuple] = []

    @staticmethod
    def _wanted(fn) -> bool:
        mod = getattr(fn, "__module__", "") or ""
        return (inspect.isfunction(fn) and mod.startswith("bgocr_nb.filters")
                and not mod.endswith("_checks") and not getattr(fn, "_timed", False))

    def _wrap(self, fn):
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        timer = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            label = " > ".join(timer.stack + [name])
            timer.stack.append(name)
            t = time.perf_counter()
            try:
                out = fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                timer.stack.pop()
            entry = timer.calls.get(label)
            if entry is None:
                kind = "filter" if (getattr(out, "ndim", 0) == 2
                                    and str(getattr(out, "dtype", "")).startswith("float")) \
                    else "analysis"
                entry = timer.calls[label] = [0.0, 0, kind, len(timer.stack)]
                timer.order.append(label)
            entry[0] += dt
            entry[1] += 1
            return out

        wrapper._timed = True
        return wrapper

    def _proxy(self, module):
        timer = self

        class Proxy(types.ModuleType):
            def __getattr__(self, attr):
                value = getattr(module, attr)
                return timer._wrap(value) if timer._wanted(value) else value

        return Proxy(module.__name__)

    def __enter__(self):
        import importlib

        for modname in self.MODULES:
            mod = importlib.import_module(modname)
            for attr, value in list(vars(mod).items()):
                if attr.startswith("__"):
                    continue
                if self._wanted(value) and not (modname.endswith(".auto") and attr == "auto"):
                    new = self._wrap(value)
                elif (isinstance(value, types.ModuleType)
                      and value.__name__.startswith("bgocr_nb.filters")):
                    new = self._proxy(value)
                else:
                    continue
                self._undo.append((mod, attr, value))
                setattr(mod, attr, new)
        return self

    def __exit__(self, *exc):
        for mod, attr, value in reversed(self._undo):
            setattr(mod, attr, value)
        self._undo.clear()


def stage_breakdown(image, runs: int = 3) -> dict:
    """Median seconds per auto call (label -> {seconds, calls, kind, depth}), plus totals."""
    from bgocr_nb.pipeline import Pipeline

    pipe = Pipeline("auto")
    per_run, totals, step_secs = [], [], []
    order: list[str] = []
    for _ in range(runs):
        with CallTimer() as timer:
            pre = pipe.run(image, device="cpu")
        per_run.append(timer.calls)
        order += [l for l in timer.order if l not in order]
        totals.append(pre.seconds)
        step_secs.append(sum(s.seconds for s in pre.steps))
    out = {}
    for label in order:
        vals = [r[label] for r in per_run if label in r]
        out[label] = {"seconds": statistics.median(v[0] for v in vals), "calls": vals[0][1],
                      "kind": vals[0][2], "depth": vals[0][3]}
    return {"calls": out, "pipeline": statistics.median(totals),
            "auto": statistics.median(step_secs)}


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    if a.shape != b.shape:
        return {"same_shape": False, "shapes": f"{a.shape} vs {b.shape}"}
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return {"same_shape": True, "mean_abs": float(d.mean()), "frac_gt8": float((d > 8).mean()),
            "max_abs": int(d.max())}


def bench_page(kind: str, lang: str, seed: int, args, gpus) -> dict:
    from bgocr_nb.pipeline import Pipeline

    t0 = time.perf_counter()
    page = a4_page(kind, lang, seed, args.font_pt)
    img = page.image
    auto, fixed, none = Pipeline("auto"), Pipeline(FIXED), Pipeline("none")
    row = {"page": f"{kind}/{lang}", "kind": kind, "lang": lang,
           "size": f"{img.shape[1]}x{img.shape[0]}" + (" RGB" if img.ndim == 3 else ""),
           "make_s": time.perf_counter() - t0}
    log = functools.partial(print, file=sys.stderr, flush=True)

    row["auto_cpu"] = timed(lambda: auto.run(img, device="cpu"), args.runs)
    pre = auto.run(img, device="cpu")  # a warm run: its steps and its output for Tesseract
    row["applied"] = " ".join(s.name for s in pre.steps if s.applied) or "-"
    row["steps"] = [{"name": s.name, "applied": s.applied, "seconds": s.seconds,
                     "reason": s.reason} for s in pre.steps]
    with opencv_threads(1):
        row["auto_cpu_1t"] = timed(lambda: auto.run(img, device="cpu"), args.runs)
    row["fixed_cpu"] = timed(lambda: fixed.run(img, device="cpu"), args.runs)
    log(f"  {row['page']}: auto {statistics.median(row['auto_cpu']):.3f}s, "
        f"fixed {statistics.median(row['fixed_cpu']):.3f}s")
    row["tess_auto"] = timed(lambda: C.ocr_text(pre.image, lang=lang), args.tess_runs,
                             warmup=0)
    if not args.no_tess_raw:
        raw = none.run(img, device="cpu").image
        row["tess_raw"] = timed(lambda: C.ocr_text(raw, lang=lang), args.tess_runs,
                                warmup=0)
    log(f"  {row['page']}: tesseract {statistics.median(row['tess_auto']):.2f}s")
    row["breakdown"] = stage_breakdown(img, runs=3)
    if gpus:
        dev = gpus[0].id
        row["auto_gpu"] = timed(lambda: auto.run(img, device=dev), args.gpu_runs, warmup=2)
        row["fixed_gpu"] = timed(lambda: fixed.run(img, device=dev), args.gpu_runs, warmup=2)
        gpre = auto.run(img, device=dev)
        row["gpu_applied"] = " ".join(s.name for s in gpre.steps if s.applied) or "-"
        row["gpu_vs_cpu"] = compare(gpre.image, pre.image)
        row["gpu_vs_cpu_fixed"] = compare(fixed.run(img, device=dev).image,
                                          fixed.run(img, device="cpu").image)
        row["gpu_steps"] = [{"name": s.name, "applied": s.applied, "seconds": s.seconds}
                            for s in gpre.steps]
    row["bench_s"] = time.perf_counter() - t0
    return row


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def med(values) -> float:
    return statistics.median(values)


def report(rows: list[dict], gpus, gpu_reason, info, args, seconds) -> tuple[str, str]:
    lines = []
    table = []
    for r in rows:
        tess = med(r["tess_auto"])
        table.append([r["page"], r["size"], r["applied"], med(r["auto_cpu"]),
                      med(r["auto_cpu_1t"]), med(r["fixed_cpu"]), tess,
                      med(r["tess_raw"]) if "tess_raw" in r else None,
                      f"{100 * med(r['auto_cpu']) / tess:.1f} %",
                      f"{100 * med(r['auto_cpu_1t']) / tess:.1f} %",
                      f"{100 * med(r['fixed_cpu']) / tess:.1f} %"])
    lines.append("CPU, seconds per page (median of "
                 f"{args.runs} preprocessing runs after a warm-up, {args.tess_runs} Tesseract "
                 "runs; Tesseract single-threaded):\n")
    lines.append(C.md_table(
        ["page", "size", "auto applied", "auto", "auto 1 thread", "fixed chain",
         "Tesseract (auto output)", "Tesseract (raw)", "auto / Tess.", "auto 1 thr. / Tess.",
         "fixed / Tess."], table, "lll" + "r" * 8))

    ratios = [med(r["auto_cpu"]) / med(r["tess_auto"]) for r in rows]
    ratios_1t = [med(r["auto_cpu_1t"]) / med(r["tess_auto"]) for r in rows]
    checks = [["preprocess (auto, CPU) / Tesseract, worst page", f"{100 * max(ratios):.1f} %",
               f"< {100 * RATIO_TARGET:.0f} %", C.status(max(ratios) < RATIO_TARGET)],
              ["  same, all pages together",
               f"{100 * sum(med(r['auto_cpu']) for r in rows) / sum(med(r['tess_auto']) for r in rows):.1f} %",
               "", ""],
              ["  same with OpenCV on 1 thread, worst page", f"{100 * max(ratios_1t):.1f} %",
               f"< {100 * RATIO_TARGET:.0f} %", C.status(max(ratios_1t) < RATIO_TARGET)]]
    if gpus:
        sp = [med(r["auto_cpu"]) / med(r["auto_gpu"]) for r in rows]
        checks.append(["GPU speed-up over CPU (auto), worst page", f"{min(sp):.1f}x",
                       f">= {GPU_TARGET:.0f}x", C.status(min(sp) >= GPU_TARGET)])
    lines.append("\nTargets:\n")
    lines.append(C.md_table(["check", "value", "target", ""], checks, "lrrl"))

    if gpus:
        gt = []
        for r in rows:
            cmp_ = r["gpu_vs_cpu"]
            agree = (f"mean |diff| {cmp_['mean_abs']:.2f}, >8 levels {100 * cmp_['frac_gt8']:.2f} %"
                     if cmp_["same_shape"] else f"shapes differ: {cmp_['shapes']}")
            cf = r["gpu_vs_cpu_fixed"]
            agree_f = (f"mean |diff| {cf['mean_abs']:.2f}, >8 levels {100 * cf['frac_gt8']:.2f} %"
                       if cf["same_shape"] else f"shapes differ: {cf['shapes']}")
            gt.append([r["page"], med(r["auto_gpu"]), med(r["auto_cpu"]) / med(r["auto_gpu"]),
                       med(r["fixed_gpu"]), med(r["fixed_cpu"]) / med(r["fixed_gpu"]),
                       r["gpu_applied"] + ("" if r["gpu_applied"] == r["applied"]
                                           else f" (CPU: {r['applied']})"), agree, agree_f])
        lines.append(f"\nGPU {gpus[0].describe()} (median of {args.gpu_runs} after warm-up, "
                     "synchronised, copies included):\n")
        lines.append(C.md_table(["page", "auto GPU s", "speed-up", "fixed GPU s", "speed-up",
                                 "GPU applied", "GPU vs CPU output (auto)",
                                 "GPU vs CPU output (fixed)"], gt, "lrrrrlll"))
    else:
        lines.append(f"\nGPU: skipped, no usable GPU ({gpu_reason}).")

    # Per-stage breakdown.
    lines.append("\nAuto pipeline, per-stage CPU seconds (median of 3 instrumented runs; "
                 "`analysis` = measuring/deciding, `filter` = changing the image; nested calls "
                 "indented under their caller and included in its time):\n")
    labels: list[str] = []
    for r in rows:
        labels += [l for l in r["breakdown"]["calls"] if l not in labels]
    labels = _tree_order(labels)
    bt = []
    for label in labels:
        first = next(r["breakdown"]["calls"][label] for r in rows if label in r["breakdown"]["calls"])
        depth = label.count(" > ")
        name = ("&nbsp;&nbsp;" * 2 * depth + "↳ " if depth else "") + label.rsplit(" > ", 1)[-1]
        bt.append([name, "" if depth else first["kind"]] + [
            r["breakdown"]["calls"][label]["seconds"] if label in r["breakdown"]["calls"] else None
            for r in rows])
    top_an = [sum(v["seconds"] for v in r["breakdown"]["calls"].values()
                  if v["depth"] == 0 and v["kind"] == "analysis") for r in rows]
    top_fi = [sum(v["seconds"] for v in r["breakdown"]["calls"].values()
                  if v["depth"] == 0 and v["kind"] == "filter") for r in rows]
    autos = [r["breakdown"]["auto"] for r in rows]
    pipes = [r["breakdown"]["pipeline"] for r in rows]
    bt.append(["**analysis total**", ""] + top_an)
    bt.append(["**filter total**", ""] + top_fi)
    bt.append(["auto bookkeeping (rest of the auto step)", ""]
              + [a - x - y for a, x, y in zip(autos, top_an, top_fi)])
    bt.append(["gray conversion, uint8 output (pipeline - auto)", ""]
              + [p - a for p, a in zip(pipes, autos)])
    bt.append(["**pipeline total**", ""] + pipes)
    bt.append(["analysis share of pipeline", ""]
              + [f"{100 * a / p:.0f} %" for a, p in zip(top_an, pipes)])
    lines.append(C.md_table(["stage", "kind"] + [r["page"] for r in rows], bt,
                            "ll" + "r" * len(rows)))

    # StepRecord seconds, as the pipeline reports them.
    names: list[str] = []
    for r in rows:
        names += [s["name"] for s in r["steps"] if s["name"] not in names]
    st = []
    for n in names:
        cells = []
        for r in rows:
            s = next((s for s in r["steps"] if s["name"] == n), None)
            cells.append("" if s is None else
                         f"{s['seconds']:.3f}" + ("" if s["applied"] else " (skipped)"))
        st.append([n] + cells)
    lines.append("\n`StepRecord.seconds` as the auto pipeline reports them (one warm run):\n")
    lines.append(C.md_table(["step"] + [r["page"] for r in rows], st, "l" + "r" * len(rows)))

    summary = "\n".join([
        f"Machine: {C.machine_line(info)}. Code: {C.git_revision()}. Run: `python "
        f"benchmarks/speed.py {' '.join(args.argv)}`".rstrip() + f", {seconds / 60:.1f} min.", "",
        f"Pages: A4 at {DPI} DPI ({A4_W} x {A4_H}), {args.font_pt:g} pt text, language "
        f"{args.lang}, seed {args.seed}.", "", *lines])
    full = f"# Speed benchmark ({C.today()})\n\n{summary}\n"
    return summary, full


def _tree_order(labels: list[str]) -> list[str]:
    """Parents before their children, siblings in first-seen order."""
    out: list[str] = []

    def add(prefix: str | None, depth: int) -> None:
        for l in labels:
            parts = l.split(" > ")
            if len(parts) == depth + 1 and (prefix is None or l.startswith(prefix + " > ")) \
                    and l not in out:
                out.append(l)
                add(l, depth + 1)

    add(None, 0)
    return out + [l for l in labels if l not in out]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated page kinds")
    ap.add_argument("--lang", default="eng")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--font-pt", type=float, default=FONT_PT, help="text size in points")
    ap.add_argument("--runs", type=int, default=5, help="preprocessing runs per page (median)")
    ap.add_argument("--tess-runs", type=int, default=3, help="Tesseract runs per page (median)")
    ap.add_argument("--gpu-runs", type=int, default=10, help="GPU runs per page (median)")
    ap.add_argument("--no-tess-raw", action="store_true",
                    help="skip timing Tesseract on the raw page")
    ap.add_argument("--no-gpu", action="store_true", help="skip the GPU even if there is one")
    ap.add_argument("--results", action="store_true",
                    help="write a dated section to benchmarks/RESULTS.md")
    ap.add_argument("--out", default=str(C.OUT), help="folder for speed.md/.json")
    args = ap.parse_args(argv)
    args.argv = argv

    from bgocr_nb import tesseract
    from bgocr_nb.devices import devices

    tesseract.check_lang(args.lang)
    devs = devices()
    gpus = [] if args.no_gpu else devs.gpus
    gpu_reason = "--no-gpu given" if args.no_gpu and devs.gpus else devs.gpu_unavailable_reason
    if not gpus:
        print(f"No GPU benchmark: {gpu_reason}", file=sys.stderr)
    info = C.machine()
    print(C.machine_line(info), file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    rows = []
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        print(f"{kind}:", file=sys.stderr, flush=True)
        rows.append(bench_page(kind, args.lang, args.seed, args, gpus))
    seconds = time.perf_counter() - t0
    summary, full = report(rows, gpus, gpu_reason, info, args, seconds)

    C.publish(args.out, "speed", "Speed", full, summary, {"machine": info, "rows": rows},
              args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
