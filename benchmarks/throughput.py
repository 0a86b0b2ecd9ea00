"""Throughput benchmark: pages per minute of a whole batch, ours versus the usual ways.

All methods read the same pages in the same run (letter size at 200 DPI,
1700 x 2200, 11 pt text filling the page with the built-in paragraphs, a mix of
degradations; English by default), each timed as the wall time of the whole set:

* ``ours``: ``bgocr_nb.batch(folder, device="cpu", out=..., workers=2)``, the
  default auto pipeline, results written to disk;
* ``a``: a bare ``multiprocessing.Pool(2)``, each task running single-threaded
  Tesseract (``OMP_THREAD_LIMIT=1 tesseract page.png stdout``) on the raw page;
* ``b``: OCRmyPDF ``--jobs 2`` on the same pages as one multi-page PDF, default
  settings (``--output-type pdf``, text from ``--sidecar``);
* ``c``: OCRmyPDF ``--jobs 2 --deskew --clean`` (``unpaper``);
* ``d``: a plain sequential ``pytesseract.image_to_string`` loop (Tesseract's
  default threading), as naive user code does.

The CER of every method against the ground truth is reported next to its speed
(speed bought with quality is no gain). Targets: ours / a >= 0.9, ours / b >= 1.5,
ours / c >= 3 (throughput ratios). Also:

* ``a2``, ``a3``: the bare pool of (a), and a bare pool of in-process engines, on our
  preprocessed pages: the floors that our overhead is measured against;
* ``ours_cli``: ours with the ``tesseract`` program (a process per page) instead
  of the in-process engine, and each one's fixed cost a page (a 200 x 40 image of
  one word, median of 10) against the per-page OCR time: the evidence for the
  in-process engine;
* with ``--memory``: the peak resident memory of a 500-page batch of ours (small
  800 x 1000 pages, run in a child process whose tree /proc is polled: the batch
  process's and the Tesseract processes' own peaks, VmHWM, and the tree's polled
  total): target < 1 GiB for the batch peak + one Tesseract peak per worker;
* with a GPU (``bgocr_nb.devices().gpus``): ours again on ``gpu:0``, and the
  preprocessing pages/s on the GPU versus the CPU (the records' timings).

    python benchmarks/throughput.py --quick            # 8 pages, ~2.5 min on 2 cores
    python benchmarks/throughput.py --memory --results # 40 pages + memory, ~10-15 min
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

import _common as C  # noqa: E402  (puts the repository on sys.path)

PAGE_W, PAGE_H, DPI = 1700, 2200, 200
FONT_PT = 11.0
KINDS = ("clean", "shadow", "photo", "skew", "show_through", "colored", "gradient", "stain",
         "shadow+skew", "jpeg")
MEM_W, MEM_H = 800, 1000
MEM_DISTINCT = 40  # distinct small pages, copied to make up --memory-pages files
TARGETS = {"a": 0.9, "b": 1.5, "c": 3.0}
MEM_TARGET_GIB = 1.0
STARTUP_RUNS = 10

METHODS = {
    "ours": "`bgocr_nb.batch(device=\"cpu\", workers={w})`, auto pipeline, output to disk",
    "ours_cli": "as ours with `BGOCR_TESSERACT=cli`: the `tesseract` program, a process per "
                "page, instead of the in-process engine",
    "a": "`multiprocessing.Pool({w})`, `OMP_THREAD_LIMIT=1 tesseract page.png stdout`, raw pages",
    "a2": "as (a), on pages preprocessed by our auto pipeline beforehand (untimed): "
          "separates our overhead from Tesseract reading more text on cleaned pages",
    "a3": "as (a2) with the in-process engine: {w} threads, one tesserocr engine each, "
          "`SetImageFile` + `GetUTF8Text` on our preprocessed pages: ours with no loading, "
          "preprocessing or orchestration cost",
    "b": "OCRmyPDF `--jobs {w} --output-type pdf` on the multi-page PDF",
    "c": "OCRmyPDF `--jobs {w} --output-type pdf --deskew --clean` (unpaper)",
    "d": "sequential `pytesseract.image_to_string` loop, Tesseract's default threads",
}


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------

def make_one(job: tuple) -> dict:
    """Make page ``index`` (kind, seed) at ``width`` x ``height``, save it as PNG in ``folder``."""
    from PIL import Image

    from bgocr_nb.synth import builtin_paragraphs, make_page

    index, kind, lang, seed, font_pt, width, height, folder = job
    start = seed % len(builtin_paragraphs(lang))
    text = C.fill_text(lang, start, font_pt, width, height, DPI)
    page = make_page(kind, lang=lang, seed=seed, text=text, width_px=width, dpi=DPI,
                     font_size_pt=font_pt)
    img = page.image
    if img.shape[0] < height:  # a few rows short: repeat the bottom margin
        pad = [(0, height - img.shape[0]), (0, 0)] + [(0, 0)] * (img.ndim - 2)
        img = np.pad(img, pad, mode="edge")
    path = Path(folder) / f"p{index:04d}-{kind.replace('+', '_')}.png"
    Image.fromarray(img).save(path, dpi=(DPI, DPI), compress_level=6)
    return {"index": index, "kind": page.kind, "seed": seed, "path": str(path),
            "name": path.name, "width": int(img.shape[1]), "height": int(img.shape[0]),
            "color": img.ndim == 3, "angle": page.angle, "truth": page.text,
            "chars": len(page.text)}


def make_corpus(n: int, kinds: list[str], lang: str, seed: int, font_pt: float, width: int,
                height: int, folder: Path, jobs: int) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    work = [(i, kinds[i % len(kinds)], lang, seed + i, font_pt, width, height, str(folder))
            for i in range(n)]
    with mp.Pool(jobs) as pool:
        return pool.map(make_one, work, chunksize=1)


def write_pdf(pages: list[dict], path: Path) -> str:
    """All pages as one PDF at ``DPI``, losslessly where possible; returns how."""
    files = [p["path"] for p in pages]
    try:
        import img2pdf

        layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
        path.write_bytes(img2pdf.convert(files, layout_fun=layout))
        return "img2pdf (lossless)"
    except ImportError:
        pass
    from PIL import Image

    try:
        import pikepdf
    except ImportError:
        ims = [Image.open(f) for f in files]
        ims[0].save(path, save_all=True, append_images=ims[1:], resolution=DPI, quality=95)
        return "Pillow (JPEG-compressed, quality 95)"
    pdf = pikepdf.new()
    for f in files:
        im = Image.open(f)
        im = im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode)
        w_pt, h_pt = im.width * 72 / DPI, im.height * 72 / DPI
        xobj = pikepdf.Stream(pdf, zlib.compress(im.tobytes(), 6))
        xobj.Type, xobj.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        xobj.Width, xobj.Height, xobj.BitsPerComponent = im.width, im.height, 8
        xobj.ColorSpace = pikepdf.Name.DeviceGray if im.mode == "L" else pikepdf.Name.DeviceRGB
        xobj.Filter = pikepdf.Name.FlateDecode
        page = pdf.add_blank_page(page_size=(w_pt, h_pt))
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj))
        page.Contents = pikepdf.Stream(pdf, f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q"
                                       .encode())
    pdf.save(path)
    return "pikepdf (lossless, Flate)"


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------

def _env(omp: str | None) -> dict[str, str]:
    """This environment with ``OMP_THREAD_LIMIT`` set to ``omp`` (None: removed)."""
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if omp is not None:
        env["OMP_THREAD_LIMIT"] = omp
    return env


def run_ours(pages: list[dict], folder: Path, out: Path, workers: int, device: str,
             lang: str) -> dict:
    import bgocr_nb

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = bgocr_nb.batch(str(folder), device=device, out=str(out), workers=workers, lang=lang,
                         progress=False)
    wall = time.perf_counter() - t0
    by_name = {Path(r["source"]).name: r for r in res.records}
    texts, per_page, pre, load, steps, errors = [], [], [], [], [], []
    for p in pages:
        rec = by_name.get(p["name"])
        if rec is None or rec.get("error"):
            texts.append("")
            errors.append(p["name"] if rec is None else f"{p['name']}: {rec.get('error')}")
            per_page.append(None)
            pre.append(None)
            load.append(None)
            steps.append("")
            continue
        t = rec.get("timings") or {}
        texts.append(rec.get("text") or "")
        per_page.append(t.get("ocr"))
        pre.append(t.get("preprocess"))
        load.append(t.get("load"))
        steps.append(", ".join(rec.get("steps") or []))
    return {"wall": wall, "texts": texts, "ocr_s": per_page, "preprocess_s": pre,
            "load_s": load, "steps": steps, "errors": errors, "batch_seconds": res.seconds,
            "batch_pages_per_minute": res.pages_per_minute, "pages_run": res.pages_run,
            "device": device}


def run_ours_cli(pages: list[dict], folder: Path, out: Path, workers: int, lang: str) -> dict:
    """Ours with the Tesseract program instead of the in-process engine (the decision's
    evidence, measured in the same run)."""
    from bgocr_nb import tesseract

    before = os.environ.get("BGOCR_TESSERACT")
    os.environ["BGOCR_TESSERACT"] = "cli"
    tesseract.reset()
    try:
        return run_ours(pages, folder, out, workers, "cpu", lang)
    finally:
        if before is None:
            del os.environ["BGOCR_TESSERACT"]
        else:
            os.environ["BGOCR_TESSERACT"] = before
        tesseract.reset()


def _tess_cli(job: tuple[str, str]) -> tuple[str, float, str]:
    path, lang = job
    t = time.perf_counter()
    proc = subprocess.run(["tesseract", path, "stdout", "-l", lang], capture_output=True,
                          env=_env("1"))
    err = "" if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace")[-300:]
    return proc.stdout.decode("utf-8", "replace"), time.perf_counter() - t, err


def run_pool(pages: list[dict], workers: int, lang: str) -> dict:
    t0 = time.perf_counter()
    with mp.Pool(workers) as pool:
        got = pool.map(_tess_cli, [(p["path"], lang) for p in pages], chunksize=1)
    wall = time.perf_counter() - t0
    return {"wall": wall, "texts": [g[0] for g in got], "ocr_s": [g[1] for g in got],
            "errors": [f"{p['name']}: {g[2]}" for p, g in zip(pages, got) if g[2]]}


def run_api_pool(pages: list[dict], workers: int, lang: str) -> dict:
    """A bare pool of in-process engines (tesserocr), one per thread."""
    import concurrent.futures as cf
    import threading

    import tesserocr

    from bgocr_nb import tesseract

    local = threading.local()

    def one(path: str) -> tuple[str, float, str]:
        t = time.perf_counter()
        if not hasattr(local, "api"):
            local.api = tesserocr.PyTessBaseAPI(path=f"{tesseract.tessdata()}/", lang=lang)
        local.api.SetImageFile(path)
        return local.api.GetUTF8Text(), time.perf_counter() - t, ""

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(workers) as pool:
        got = list(pool.map(one, [p["path"] for p in pages]))
    wall = time.perf_counter() - t0
    return {"wall": wall, "texts": [g[0] for g in got], "ocr_s": [g[1] for g in got],
            "errors": []}


def preprocessed_pages(pages: list[dict], folder: Path) -> list[dict]:
    """The pages after our auto pipeline, written as PNGs (made once, not timed)."""
    import bgocr_nb

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in pages:
        path = folder / p["name"]
        if not path.exists():
            from PIL import Image

            Image.fromarray(bgocr_nb.preprocess(p["path"], device="cpu").image).save(path)
        out.append({**p, "path": str(path)})
    return out


def run_ocrmypdf(pdf: Path, n: int, work: Path, workers: int, lang: str,
                 extra: list[str]) -> dict:
    """OCRmyPDF as users run it (it sets ``OMP_THREAD_LIMIT`` itself)."""
    exe = shutil.which("ocrmypdf")
    if exe is None:
        return {"skipped": "ocrmypdf is not installed (`sudo apt-get install ocrmypdf`)"}
    if "--clean" in extra and shutil.which("unpaper") is None:
        return {"skipped": "unpaper is not installed (`sudo apt-get install unpaper`)"}
    tag = "clean" if extra else "plain"
    out, side = work / f"ocrmypdf-{tag}.pdf", work / f"ocrmypdf-{tag}.txt"
    cmd = [exe, "--jobs", str(workers), "--output-type", "pdf", "-l", lang, *extra,
           "--sidecar", str(side), str(pdf), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=_env(None))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"failed": f"exit {proc.returncode}: "
                          + proc.stderr.decode("utf-8", "replace")[-600:], "wall": wall}
    parts = side.read_text(encoding="utf-8", errors="replace").split("\f")
    while len(parts) > n and not parts[-1].strip():
        parts.pop()
    errors = [] if len(parts) == n else [f"sidecar has {len(parts)} pages, expected {n}"]
    parts = (parts + [""] * n)[:n]
    return {"wall": wall, "texts": parts, "errors": errors,
            "command": " ".join(["ocrmypdf"] + cmd[1:-4] + ["--sidecar", "out.txt", "in.pdf",
                                                            "out.pdf"]),
            "version": subprocess.run([exe, "--version"], capture_output=True, text=True)
            .stdout.strip()}


def run_naive(pages: list[dict], lang: str) -> dict:
    import pytesseract
    from PIL import Image

    old = os.environ.pop("OMP_THREAD_LIMIT", None)
    try:
        texts, per_page = [], []
        t0 = time.perf_counter()
        for p in pages:
            t = time.perf_counter()
            texts.append(pytesseract.image_to_string(Image.open(p["path"]), lang=lang))
            per_page.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
    finally:
        if old is not None:
            os.environ["OMP_THREAD_LIMIT"] = old
    return {"wall": wall, "texts": texts, "ocr_s": per_page, "errors": []}


# ---------------------------------------------------------------------------
# Tesseract start-up
# ---------------------------------------------------------------------------

def startup_cost(work: Path, lang: str, runs: int = STARTUP_RUNS) -> dict:
    """Median seconds of Tesseract on a 200 x 40 image of one word: the CLI alone, and
    through ``bgocr_nb.tesseract.recognize`` (temp files, PNG, TSV parsing)."""
    from PIL import Image, ImageDraw

    from bgocr_nb import tesseract
    from bgocr_nb.synth import find_font

    img = Image.new("L", (200, 40), 255)
    ImageDraw.Draw(img).text((10, 4), "Invoice", font=find_font("eng", 28), fill=0)
    path = work / "tiny.png"
    img.save(path, dpi=(DPI, DPI))
    arr = np.asarray(img)

    def cli():
        subprocess.run(["tesseract", str(path), "stdout", "-l", lang], capture_output=True,
                       env=_env("1"), check=True)

    def ours():
        return tesseract.recognize(arr, lang=lang)

    out = {}
    for name, fn in (("cli", cli), ("recognize", ours)):
        fn()  # warm-up: the language data in the page cache
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = {"median": statistics.median(times), "min": min(times), "runs": times}
    out["text"] = ours().text
    return out


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import bgocr_nb
t = time.perf_counter()
res = bgocr_nb.batch(sys.argv[2], device="cpu", out=sys.argv[3], workers=int(sys.argv[4]),
                     lang=sys.argv[5], progress=False)
hwm = 0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
print(json.dumps({"seconds": time.perf_counter() - t, "pages_run": res.pages_run,
                  "failed": len(res.failures), "hwm": hwm}))
"""


def _status(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes, from /proc; (0, 0) if it is gone.

    VmHWM is the process's own peak. ``getrusage``'s ``ru_maxrss`` is no use here:
    on Linux a child started with fork/vfork + exec inherits its parent's peak."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``: /proc/PID/task/*/children, else a scan of /proc."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                kids += [int(x) for x in fh.read().split()]
        return kids
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
    except (OSError, ValueError):
        return []
    for entry in os.listdir("/proc"):  # kernel without CONFIG_PROC_CHILDREN
        try:
            with open(f"/proc/{entry}/stat") as fh:
                if entry.isdigit() and int(fh.read().rpartition(")")[2].split()[1]) == pid:
                    kids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def _descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every descendant of ``pid``."""
    out, todo = [], [pid]
    while todo:
        for kid in _children(todo.pop()):
            try:
                with open(f"/proc/{kid}/comm") as fh:
                    name = fh.read().strip()
            except OSError:
                continue
            out.append((kid, name))
            todo.append(kid)
    return out


def memory_test(n: int, args, work: Path) -> dict:
    """Run a batch of ``n`` small pages in a child process and poll its process tree."""
    if not Path("/proc/self/status").exists():
        return {"error": "the memory test reads /proc (Linux only)", "pages": n}
    folder = work / "memory-pages"
    distinct = make_corpus(min(n, MEM_DISTINCT), args.kind_list, args.lang, args.seed + 1000,
                           args.font_pt, MEM_W, MEM_H, work / "memory-distinct", args.workers)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copyfile(distinct[i % len(distinct)]["path"], folder / f"m{i:05d}.png")
    shutil.rmtree(work / "memory-out", ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(C.ROOT), str(folder),
                             str(work / "memory-out"), str(args.workers), args.lang],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"batch_rss": 0, "tess_sum": 0, "total": 0}
    seen: dict[int, int] = {}  # Tesseract pid -> its VmHWM when last seen
    series = []  # (seconds, batch process RSS) every ~2 s
    samples, last = 0, 0.0
    while proc.poll() is None:
        rss_root, _ = _status(proc.pid)
        kids = 0
        for pid, name in _descendants(proc.pid):
            rss, hwm = _status(pid)
            kids += rss
            if name.startswith("tesseract"):
                seen[pid] = max(seen.get(pid, 0), hwm)
        samples += 1
        peak["batch_rss"] = max(peak["batch_rss"], rss_root)
        peak["tess_sum"] = max(peak["tess_sum"], kids)
        peak["total"] = max(peak["total"], rss_root + kids)
        now = time.perf_counter() - t0
        if now - last >= 2.0:
            series.append((round(now, 1), rss_root))
            last = now
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {stderr[-800:]}", "pages": n}
    child = json.loads(stdout.strip().splitlines()[-1])
    tess = max(seen.values(), default=0)
    bound = child["hwm"] + args.workers * tess
    return {"pages": n, "distinct": len(distinct), "size": f"{MEM_W} x {MEM_H}", "wall": wall,
            "pages_per_minute": 60 * child["pages_run"] / child["seconds"],
            "pages_run": child["pages_run"], "failed": child["failed"],
            "batch_peak": child["hwm"], "batch_rss_polled": peak["batch_rss"],
            "tesseract_peak": tess, "tesseract_processes_seen": len(seen),
            "children_sum_polled": peak["tess_sum"], "tree_peak_polled": peak["total"],
            "bound": bound, "samples": samples, "batch_rss_series": series}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def mean(xs) -> float:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else float("nan")


def median(xs) -> float:
    xs = [x for x in xs if x is not None]
    return float(statistics.median(xs)) if xs else float("nan")


def gib(b: float) -> str:
    return f"{b / 1024**3:.2f} GiB" if b >= 1024**3 else f"{b / 1024**2:.0f} MiB"


def score(pages: list[dict], results: dict) -> None:
    from bgocr_nb.metrics import cer

    for res in results.values():
        if "texts" in res:
            res["cer"] = [cer(t, p["truth"]) for t, p in zip(res["texts"], pages)]


def report(pages, results, startup, mem, gpu_info, info, args, pdf_how, seconds):
    n = len(pages)
    w = args.workers
    lines = []
    order = [m for m in ("ours", "ours_cli", "a", "a2", "a3", "b", "c", "d", "ours_gpu")
             if m in results]
    ppm = {m: 60 * n / results[m]["wall"] for m in order
           if results[m].get("wall") and "texts" in results[m]}
    label = {**{k: v.format(w=w) for k, v in METHODS.items()},
             "ours_gpu": f"`bgocr_nb.batch(device=\"{args.gpu_device}\", workers={w})`"}
    table = []
    for m in order:
        r = results[m]
        if "texts" not in r:
            table.append([m, label[m], None, None, None, None, None, None,
                          r.get("skipped") or r.get("failed")])
            continue
        table.append([m, label[m], r["wall"], ppm[m], r["wall"] / n,
                      ppm["ours"] / ppm[m] if "ours" in ppm else None, mean(r["cer"]),
                      max(r["cer"]), "; ".join(
                          ([f"runs: {', '.join(f'{x:.1f}' for x in r['walls'])} s"]
                           if len(r.get("walls") or []) > 1 else [])
                          + ([f"{len(r['errors'])} problems"] if r["errors"] else []))])
    rep = (f"; fastest of {args.repeat} runs, methods interleaved, all runs' seconds in the "
           "notes" if args.repeat > 1 else "")
    lines.append(f"Throughput ({n} pages, {w} workers, wall time of the whole set{rep}; the "
                 "ratio is ours' pages/min over the method's):\n")
    lines.append(C.md_table(["", "method", "wall s", "pages/min", "s/page", "ours ÷ method",
                             "mean CER", "max CER", "notes"], table, "llrrrrrrl", digits=3))

    if "ours" in ppm:
        o = results["ours"]
        parts = [f"ours per page (median; {w} pages at a time): load {median(o['load_s']):.3f} s,"
                 f" preprocess {median(o['preprocess_s']):.3f} s, Tesseract "
                 f"{median(o['ocr_s']):.3f} s (text and word confidences, "
                 f"{info.get('engine', 'engine?')})"]
        if "ours_cli" in ppm:
            parts.append(f"ours_cli: Tesseract {median(results['ours_cli']['ocr_s']):.3f} s "
                         "(the program, text + TSV)")
        if "a" in ppm:
            parts.append(f"(a): Tesseract {median(results['a']['ocr_s']):.3f} s")
        if "a2" in ppm:
            parts.append(f"(a2), the same Tesseract on our preprocessed pages: "
                         f"{median(results['a2']['ocr_s']):.3f} s")
        if "d" in ppm:
            parts.append(f"(d): {median(results['d']['ocr_s']):.3f} s a page, one at a time")
        lines.append("\n" + "; ".join(parts) + ".")

    checks = []
    for m, target in TARGETS.items():
        if "ours" in ppm and m in ppm:
            ratio = ppm["ours"] / ppm[m]
            checks.append([f"throughput ours / ({m})", f"{ratio:.2f}", f">= {target:g}",
                           C.status(ratio >= target)])
        elif m in results:
            checks.append([f"throughput ours / ({m})", "not measured", f">= {target:g}", ""])
    if "ours" in ppm and "ours_cli" in ppm:
        checks.append(["(information) ours / ours_cli: the in-process engine against a "
                       "`tesseract` process per page, same batch otherwise",
                       f"{ppm['ours'] / ppm['ours_cli']:.2f}", "", ""])
    if "ours_cli" in ppm and "a2" in ppm:
        checks.append(["(information) ours_cli / (a2): our loading, preprocessing and "
                       "orchestration against the same program alone on the same cleaned pages",
                       f"{ppm['ours_cli'] / ppm['a2']:.2f}", "(0.9 means 10 % overhead)", ""])
    if "ours" in ppm and "a3" in ppm:
        checks.append(["(information) ours / (a3): our loading, preprocessing and "
                       "orchestration against the same engine alone on the same cleaned pages",
                       f"{ppm['ours'] / ppm['a3']:.2f}", "(0.9 means 10 % overhead)", ""])
    for floor, what in (("a2", "the `tesseract` program"), ("a3", "the in-process engine")):
        for m, target in TARGETS.items():
            if floor in ppm and m in ppm:
                checks.append([f"(information) ({floor}) / ({m}): {what} on our cleaned pages "
                               "with no loading, preprocessing or orchestration cost: the "
                               "ceiling", f"{ppm[floor] / ppm[m]:.2f}", f"(target {target:g})",
                               ""])
    if "ours" in ppm:
        others = {m: mean(results[m]["cer"]) for m in ppm if m not in ("ours", "ours_gpu")}
        if others:
            best = min(others, key=others.get)
            checks.append([f"mean CER ours vs best other ({best})",
                           f"{mean(results['ours']['cer']):.4f} vs {others[best]:.4f}",
                           "(information)", ""])
    if mem is not None:
        if "error" in mem:
            checks.append([f"peak memory, {mem['pages']}-page batch", mem["error"][:80],
                           f"< {MEM_TARGET_GIB:g} GiB", "FAIL"])
        else:
            checks.append([f"peak memory, {mem['pages']}-page batch (upper bound; polled "
                           f"tree peak {gib(mem['tree_peak_polled'])})",
                           gib(mem["bound"]), f"< {MEM_TARGET_GIB:g} GiB",
                           C.status(mem["bound"] < MEM_TARGET_GIB * 1024**3)])
    if checks:
        lines.append("\nTargets:\n")
        lines.append(C.md_table(["check", "value", "target", ""], checks, "lrrl"))

    # CER per kind.
    kinds = list(dict.fromkeys(p["kind"] for p in pages))
    scored = [m for m in order if "cer" in results[m]]
    kt = []
    for k in kinds:
        idx = [i for i, p in enumerate(pages) if p["kind"] == k]
        kt.append([k, len(idx)] + [mean(results[m]["cer"][i] for i in idx) for m in scored])
    lines.append("\nMean CER per kind of page:\n")
    lines.append(C.md_table(["kind", "pages"] + scored, kt, "lr" + "r" * len(scored), digits=4))

    # Tesseract start-up.
    ours_ocr = median(results["ours"]["ocr_s"]) if "ours" in results and \
        "ocr_s" in results["ours"] else float("nan")
    a_ocr = median(results["a"]["ocr_s"]) if "a" in results and "ocr_s" in results["a"] \
        else float("nan")
    cli, rec = startup["cli"]["median"], startup["recognize"]["median"]
    st = [["`tesseract tiny.png stdout` (CLI, `OMP_THREAD_LIMIT=1`)", cli, a_ocr,
           f"{100 * cli / a_ocr:.1f} %" if a_ocr == a_ocr else ""],
          [f"`bgocr_nb.tesseract.recognize` ({info.get('engine', '?')}: text + TSV)", rec,
           ours_ocr, f"{100 * rec / ours_ocr:.1f} %" if ours_ocr == ours_ocr else ""]]
    lines.append(f"\nTesseract's fixed cost a page: a {200} x {40} image of one word, median of "
                 f"{STARTUP_RUNS} runs after a warm-up, against the median OCR time of a full "
                 f"page in the batch above ({w} pages at a time; (a) for the program, ours "
                 "for `recognize`). The program starts a process and loads the model for "
                 "every page; the in-process engine loads it once per worker thread:\n")
    lines.append(C.md_table(["start-up of", "tiny image s", "full page s", "start-up share"],
                            st, "lrrr"))

    # Memory.
    if mem is not None:
        if "error" in mem:
            lines.append(f"\nMemory: the {mem['pages']}-page batch failed: {mem['error']}")
        else:
            inside = mem["tesseract_processes_seen"] == 0  # the in-process engine
            mt = [["batch process (Python: loader, pipeline, writer"
                   + (f", and the {w} Tesseract engines" if inside else "") + "), its VmHWM",
                   gib(mem["batch_peak"])],
                  ["largest Tesseract process, VmHWM " + (
                      "(none: Tesseract runs inside the batch process)" if inside else
                      f"({mem['tesseract_processes_seen']} of {mem['pages_run']} processes "
                      "seen by the polling)"), gib(mem["tesseract_peak"])],
                  ["child processes together, polled peak", gib(mem["children_sum_polled"])],
                  ["process tree, polled peak", gib(mem["tree_peak_polled"])],
                  [f"**upper bound: batch peak + {w} x largest Tesseract** (the target's value)",
                   f"**{gib(mem['bound'])}**"]]
            series = mem.get("batch_rss_series") or []
            if len(series) >= 4:
                q = series[len(series) // 4]
                mt.append(["batch process RSS at 1/4 of the run / at the end",
                           f"{gib(q[1])} / {gib(series[-1][1])}"])
            lines.append(f"\nMemory: {mem['pages']} pages of {mem['size']} px ({mem['distinct']} "
                         f"distinct, copied), ours on the CPU with {w} workers in a child "
                         f"process: {mem['wall']:.0f} s, {mem['pages_per_minute']:.0f} pages/min"
                         f", {mem['failed']} failed; /proc polled every 50 ms "
                         f"({mem['samples']} samples). VmHWM is a process's own peak resident "
                         "memory (`ru_maxrss` would include the parent's peak, inherited "
                         "through fork + exec):\n")
            lines.append(C.md_table(["what", "peak RSS"], mt, "lr"))
    else:
        lines.append("\nMemory: not measured (`--memory`).")

    # GPU.
    if "ours_gpu" in results and "texts" in results["ours_gpu"]:
        g, c = results["ours_gpu"], results["ours"]
        gp = [x for x in g["preprocess_s"] if x is not None]
        cp = [x for x in c["preprocess_s"] if x is not None]
        g_med, c_med = median(gp), median(cp)
        lines.append(f"\nGPU ({gpu_info}): preprocessing (the records' `timings.preprocess`, "
                     "auto pipeline on the loader thread while Tesseract runs) "
                     f"{1 / g_med:.1f} pages/s on the GPU vs {1 / c_med:.1f} on the CPU, "
                     f"{c_med / g_med:.1f}x (medians: {g_med:.3f} vs {c_med:.3f} s/page; sums "
                     f"over the batch: {sum(gp):.1f} vs {sum(cp):.1f} s, the GPU's including "
                     f"CuPy's start-up on the first pages); whole batch "
                     f"{ppm['ours_gpu']:.1f} vs {ppm['ours']:.1f} pages/min (Tesseract-bound); "
                     f"mean CER {mean(g['cer']):.4f} vs {mean(c['cer']):.4f}.")
    else:
        lines.append(f"\nGPU: skipped, {gpu_info}.")

    sizes = sorted({(p["width"], p["height"]) for p in pages})
    size_txt = (f"{PAGE_W} x {PAGE_H}" + (f" (skewed pages up to "
                                           f"{max(s[0] for s in sizes)} x "
                                           f"{max(s[1] for s in sizes)}, the skew grows the "
                                           "canvas)" if len(sizes) > 1 else ""))
    notes = []
    for m in order:
        for e in results[m].get("errors") or []:
            notes.append(f"* {m}: {e}")
    if notes:
        lines.append("\nProblems:\n\n" + "\n".join(notes[:20]))
    ocr_runs = [results[m] for m in ("b", "c") if results.get(m, {}).get("command")]
    ocr_cmds = [r["command"] for r in ocr_runs]
    summary = "\n".join([
        f"Machine: {C.machine_line(info)}. Code: {C.git_revision()}. Run: `python "
        f"benchmarks/throughput.py {' '.join(args.argv)}`".rstrip()
        + f", {seconds / 60:.1f} min.", "",
        f"Pages: {n}, letter size at {DPI} DPI, {size_txt}, {args.font_pt:g} pt text filling "
        f"the page (built-in paragraphs, {mean(p['chars'] for p in pages):.0f} characters a "
        f"page), kinds {', '.join(kinds)}; language {args.lang}, seeds {args.seed}-"
        f"{args.seed + n - 1}; PNG files (200 dpi) and one PDF written with {pdf_how}."
        + (f" OCRmyPDF: {ocr_runs[0].get('version', '')}, `"
           + "`, `".join(ocr_cmds) + "`." if ocr_cmds else ""), "", *lines])
    full = f"# Throughput benchmark ({C.today()})\n\n{summary}\n"
    return summary, full


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=None, help="pages (default 40; 8 with --quick)")
    ap.add_argument("--quick", action="store_true", help="8 pages (no memory test unless "
                                                         "--memory is given)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="page kinds, cycled")
    ap.add_argument("--lang", default="eng")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--font-pt", type=float, default=FONT_PT, help="text size in points")
    ap.add_argument("--workers", type=int, default=2,
                    help="parallel pages for ours, (a) and OCRmyPDF --jobs (default 2)")
    ap.add_argument("--methods", default="ours,ours_cli,a,a2,a3,b,c,d",
                    help="which methods to run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every method this many times, interleaved, and keep the "
                         "fastest run of each (for a machine that is not quiet)")
    ap.add_argument("--memory", action="store_true", help="also measure the peak memory of a "
                                                          "--memory-pages batch of ours")
    ap.add_argument("--memory-pages", type=int, default=500)
    ap.add_argument("--no-gpu", action="store_true", help="skip the GPU even if there is one")
    ap.add_argument("--gpu-device", default="gpu:0", help=argparse.SUPPRESS)
    ap.add_argument("--keep", metavar="DIR", help="keep pages and outputs in DIR")
    ap.add_argument("--results", action="store_true",
                    help="write a dated section to benchmarks/RESULTS.md")
    ap.add_argument("--out", default=str(C.OUT), help="folder for throughput.md/.json")
    args = ap.parse_args(argv)
    args.argv = argv
    n = args.pages or (8 if args.quick else 40)
    args.kind_list = [k.strip() for k in args.kinds.split(",") if k.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or "ours" not in methods:
        ap.error(f"--methods: choose among {', '.join(METHODS)}, ours included (got {bad})")

    from bgocr_nb import tesseract
    from bgocr_nb.devices import devices

    tesseract.check_lang(args.lang)
    devs = devices()
    gpus = [] if args.no_gpu else devs.gpus
    if gpus:
        gpu_info = gpus[0].describe()
    else:
        gpu_info = ("--no-gpu given" if args.no_gpu and devs.gpus
                    else f"no usable GPU ({devs.gpu_unavailable_reason})")
    info = C.machine()
    print(C.machine_line(info), file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bgocr-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        def say(msg: str) -> None:
            print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", file=sys.stderr, flush=True)

        say(f"making {n} pages of {PAGE_W} x {PAGE_H} in {work}")
        folder = work / "pages"
        shutil.rmtree(folder, ignore_errors=True)
        pages = make_corpus(n, args.kind_list, args.lang, args.seed, args.font_pt, PAGE_W,
                            PAGE_H, folder, args.workers)
        pdf = work / "pages.pdf"
        pdf_how = write_pdf(pages, pdf) if {"b", "c"} & set(methods) else "(no PDF needed)"

        say("Tesseract start-up")
        startup = startup_cost(work, args.lang)
        results: dict[str, dict] = {}
        walls: dict[str, list[float]] = {m: [] for m in methods}
        for rnd in range(args.repeat):  # methods interleaved, the fastest run of each kept
            for m in methods:
                say(f"method {m}" + (f" (round {rnd + 1})" if args.repeat > 1 else "")
                    + f": {METHODS[m].format(w=args.workers)}")
                if m == "ours":
                    r = run_ours(pages, folder, work / "ours-out", args.workers, "cpu",
                                 args.lang)
                elif m == "ours_cli":
                    r = run_ours_cli(pages, folder, work / "ours-cli-out", args.workers,
                                     args.lang)
                elif m == "a":
                    r = run_pool(pages, args.workers, args.lang)
                elif m in ("a2", "a3"):
                    cleaned = preprocessed_pages(pages, work / "preprocessed")
                    r = (run_pool if m == "a2" else run_api_pool)(cleaned, args.workers,
                                                                  args.lang)
                elif m in ("b", "c"):
                    extra = ["--deskew", "--clean"] if m == "c" else []
                    r = run_ocrmypdf(pdf, n, work, args.workers, args.lang, extra)
                else:
                    r = run_naive(pages, args.lang)
                if "wall" in r and "texts" in r:
                    say(f"  {r['wall']:.1f} s, {60 * n / r['wall']:.1f} pages/min")
                    walls[m].append(r["wall"])
                else:
                    say(f"  {r.get('skipped') or r.get('failed')}")
                kept = results.get(m)
                if kept is None or ("texts" in r and ("texts" not in kept
                                                      or r["wall"] < kept["wall"])):
                    results[m] = r
                results[m]["walls"] = walls[m]
        if gpus:
            say(f"method ours on {args.gpu_device}")
            results["ours_gpu"] = run_ours(pages, folder, work / "ours-gpu-out", args.workers,
                                           args.gpu_device, args.lang)
        score(pages, results)
        mem = None
        if args.memory:
            say(f"memory: {args.memory_pages} pages of {MEM_W} x {MEM_H}")
            mem = memory_test(args.memory_pages, args, work)
            say(f"  {gib(mem['bound'])} peak (bound)" if "bound" in mem else f"  {mem['error']}")
        seconds = time.perf_counter() - t_start
        summary, full = report(pages, results, startup, mem, gpu_info, info, args, pdf_how,
                               seconds)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    data = {"machine": info, "args": vars(args),
            "pages": [{k: v for k, v in p.items() if k != "path"} for p in pages],
            "startup": startup, "memory": mem, "pdf": pdf_how, "results": results}
    C.publish(args.out, "throughput", "Throughput", full, summary, data, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
