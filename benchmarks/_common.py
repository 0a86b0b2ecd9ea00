"""Helpers shared by the benchmarks: machine description, markdown tables, RESULTS.md."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
RESULTS = HERE / "RESULTS.md"

if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` without installing
    sys.path.insert(0, str(ROOT))


def out_dir() -> Path:
    """``benchmarks/out`` (git-ignored), created on demand."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def today() -> str:
    return _dt.date.today().isoformat()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_count() -> int:
    """CPUs this process may run on (affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return None


def tesseract_version() -> str:
    """The Tesseract that runs pages, its engine and the program's version."""
    try:
        from bgocr_nb import tesseract

        used = tesseract.describe()
    except Exception as exc:  # noqa: BLE001 - reported, not fatal here
        return f"unavailable ({exc})"
    try:
        program = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.split()[1]
    except (OSError, subprocess.SubprocessError, IndexError):
        program = "not installed"
    return f"{used}; the `tesseract` program {program}"


def tesseract_engine() -> str:
    try:
        from bgocr_nb import tesseract

        return {"api": "in process", "cli": "the program"}[tesseract.engine()]
    except Exception:  # noqa: BLE001 - reported, not fatal here
        return "unavailable"


def gpu_description() -> str:
    try:
        from bgocr_nb.devices import devices

        devs = devices()
    except Exception as exc:  # noqa: BLE001
        return f"unknown ({exc})"
    if devs.gpus:
        return "; ".join(d.describe() for d in devs.gpus)
    return f"none ({devs.gpu_unavailable_reason})"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import cv2
    import numpy as np

    mem = memory_gib()
    return {
        "cpu": cpu_model(),
        "cores": cpu_count(),
        "memory": f"{mem:.0f} GiB" if mem else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": f"{cv2.__version__} ({cv2.getNumThreads()} threads)",
        "tesseract": tesseract_version(),
        "engine": tesseract_engine(),
        "gpu": gpu_description(),
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine()
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM; "
            f"{info['tesseract']}; Python {info['python']}, NumPy {info['numpy']}, "
            f"OpenCV {info['opencv']}; GPU: {info['gpu']}")


def git_revision() -> str:
    """The checked-out commit, with '+changes' when the tree is dirty."""
    import subprocess

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bgocr_nb"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev or "unknown") + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.{digits}f}"
    return str(value)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
             align: str | None = None, digits: int = 3) -> str:
    """A GitHub markdown table; ``align`` is one letter per column (l, r, c)."""
    rows = [[fmt(v, digits).replace("|", "\\|") for v in row] for row in rows]
    align = align or ("l" + "r" * (len(headers) - 1))
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def status(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------
# RESULTS.md
# ---------------------------------------------------------------------------

_RESULTS_HEAD = ("# Benchmark results\n\n"
                 "Written by `python benchmarks/quality.py --results` and "
                 "`python benchmarks/speed.py --results`; see `benchmarks/README.md`. "
                 "A run replaces the section with the same heading (same benchmark, same "
                 "day) and adds new days as new sections.\n")


def publish(out: str | Path, name: str, title: str, full: str, summary: str, data: Any,
            results: bool) -> None:
    """Write ``out/NAME.md`` and ``out/NAME.json``, print the report, and with ``results``
    put ``summary`` in RESULTS.md under ``"TITLE, today"``."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(full, encoding="utf-8")
    (out / f"{name}.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    print(full)
    print(f"wrote {out / f'{name}.md'}, {out / f'{name}.json'}", file=sys.stderr)
    if results:
        heading = f"{title}, {today()}"
        print(f"wrote section '{heading}' to {write_section(heading, summary)}", file=sys.stderr)


def write_section(heading: str, body: str, path: Path = RESULTS) -> Path:
    """Put ``## heading`` + ``body`` into ``path``, replacing a section of that heading.

    Sections are level-2 headings; a section runs to the next level-2 heading.
    New sections go at the end.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else _RESULTS_HEAD
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return path


def ocr_text(image, **kwargs) -> str:
    """``bgocr_nb.tesseract.recognize(image, **kwargs)``'s text, whatever it returns
    (a ``Recognition`` with ``.text``, or the older ``(text, words)`` pair)."""
    from bgocr_nb import tesseract

    result = tesseract.recognize(image, **kwargs)
    return result.text if hasattr(result, "text") else result[0]


@functools.lru_cache(maxsize=None)
def fill_text(lang: str, start: int, font_pt: float, width: int, height: int,
              dpi: int) -> str:
    """Built-in paragraphs, cycled from ``start``, then whole words of the next one, so
    that the rendered text is as tall as ``height`` (no taller)."""
    from bgocr_nb.synth import builtin_paragraphs, render_page_with_text

    pars = builtin_paragraphs(lang)

    def h(text: str) -> int:
        return render_page_with_text(text, lang=lang, width_px=width, dpi=dpi,
                                     font_size_pt=font_pt)[0].shape[0]

    chosen: list[str] = []
    i = start
    while True:
        nxt = pars[i % len(pars)]
        if h("\n\n".join(chosen + [nxt])) > height:
            break
        chosen.append(nxt)
        i += 1
    cjk = lang in ("chi_sim", "chi_tra", "jpn", "kor")
    units = list(nxt) if cjk else nxt.split()
    sep = "" if cjk else " "
    lo, hi = 0, len(units)
    while lo < hi:  # the most units that still fit
        mid = (lo + hi + 1) // 2
        if h("\n\n".join(chosen + [sep.join(units[:mid])])) <= height:
            lo = mid
        else:
            hi = mid - 1
    if lo:
        chosen.append(sep.join(units[:lo]))
    return "\n\n".join(chosen)
