"""Batches: streaming output, failures recorded, resume after kill -9, retries, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from bgocr_nb.batching import OutputFolder, batch, page_filename
from bgocr_nb.cli import main as cli_main
from tests.conftest import text_page


@pytest.fixture
def scans(tmp_path) -> Path:
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    for i in range(4):
        img = text_page([f"Page number {i} of the batch", "Payment terms are thirty days"])
        Image.fromarray(img).save(folder / ("sub" if i % 2 else ".") / f"scan {i}.png")
    frames = [Image.fromarray(text_page([f"Tiff page {w}"])) for w in ("alpha", "bravo", "delta")]
    frames[0].save(folder / "multi.tif", save_all=True, append_images=frames[1:])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_writes_every_page_once(scans, tmp_path):
    out = tmp_path / "out"
    result = batch([scans, tmp_path / "missing.png"], device="cpu", out=out, workers=2,
                   progress=False)
    assert result.summary() == {"pages": 9, "ok": 7, "failed": 2, "needs_review": 0}
    records = read_jsonl(out / "results.jsonl")
    keys = [(r["source"], r["page"]) for r in records]
    assert len(keys) == len(set(keys)) == 9
    errors = " | ".join(r["error"] for r in records if r["error"])
    assert "broken.png: not an image" in errors and "missing.png: no such file" in errors
    tif = sorted((r for r in records if r["source"].endswith("multi.tif")), key=lambda r: r["page"])
    assert [r["text"] for r in tif] == ["Tiff page alpha", "Tiff page bravo", "Tiff page delta"]
    for r in records:
        if not r["error"]:
            assert (out / r["text_file"]).read_text() == r["text"]
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("source,page,mean_confidence") and len(summary) == 10
    df = result.to_dataframe()
    assert len(df) == 9 and df["error"].notna().sum() == 2
    assert "9 pages" in result._repr_html_()


def test_words_only_when_asked_with_the_same_confidence(scans, tmp_path):
    plain, full = (read_jsonl(batch(scans / "sub", device="cpu", out=tmp_path / str(words),
                                    words=words, progress=False).out / "results.jsonl")
                   for words in (False, True))
    assert len(plain) == len(full) == 2
    for a, b in zip(sorted(plain, key=lambda r: r["source"]),
                    sorted(full, key=lambda r: r["source"])):
        assert "words" not in a and len(b["words"]) == a["word_count"] == b["word_count"] > 5
        assert a["text"] == b["text"] and a["mean_confidence"] == b["mean_confidence"] > 80


def test_resume_skips_finished_and_retries_failed(scans, tmp_path):
    out = tmp_path / "out"
    batch(scans, device="cpu", out=out, workers=2, progress=False)
    (scans / "broken.png").unlink()
    Image.fromarray(text_page(["Now it reads"])).save(scans / "broken.png")
    # a crash left half a record behind
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"source": "half a rec')
    again = batch(scans, device="cpu", out=out, workers=2, progress=False)
    assert again.pages_run == 1 and not again.failures
    records = read_jsonl(out / "results.jsonl")
    assert len(records) == 8 and len({(r["source"], r["page"]) for r in records}) == 8


def test_kill_minus_nine_then_resume(scans, tmp_path):
    """Kill the batch process mid-run: nothing finished is lost, each page once after resume."""
    out = tmp_path / "out"
    for i in range(12):
        Image.fromarray(text_page([f"Extra page {i}"] * 3)).save(scans / f"extra{i:02d}.png")
    script = textwrap.dedent(f"""
        from bgocr_nb.batching import batch
        batch({str(scans)!r}, device="cpu", out={str(out)!r}, workers=1, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    jsonl = out / "results.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(read_jsonl_lenient(jsonl))
    assert 3 <= done_before < 20
    batch(scans, device="cpu", out=out, workers=2, progress=False)
    records = read_jsonl(jsonl)
    keys = [(r["source"], r["page"]) for r in records]
    assert len(keys) == len(set(keys)) == 20


def read_jsonl_lenient(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_killed_tesseract_is_retried(scans, tmp_path, monkeypatch, tesseract_engine):
    """A Tesseract process that dies (a worker killed) costs an attempt, not the page."""
    import bgocr_nb.tesseract as tess

    tesseract_engine("cli")  # the engine with a process per page

    real = tess.recognize
    killed = []

    def flaky(*args, **kwargs):
        if len(killed) < 2:  # kill the first two Tesseract processes as they run
            def killer():
                time.sleep(0.05)
                for pid in child_tesseracts():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            threading.Thread(target=killer).start()
        return real(*args, **kwargs)

    monkeypatch.setattr(tess, "recognize", flaky)
    result = batch(sorted(scans.rglob("scan*.png")), device="cpu", out=tmp_path / "o",
                   workers=1, progress=False)
    assert killed, "no Tesseract process was killed"
    assert result.summary()["failed"] == 0 and result.summary()["ok"] == 4


def child_tesseracts() -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process().children(recursive=True)
            if p.name().startswith("tesseract")]


def test_gpu_out_of_memory_falls_back_to_cpu(monkeypatch, page):
    """Simulated: a GPU engine whose device runs out of memory finishes on the CPU."""
    from bgocr_nb.batching import _Preprocessor
    from bgocr_nb.devices import Device, Selection
    from bgocr_nb.engine import Engine

    class OutOfMemoryError(Exception):
        pass

    engine = Engine(device="cpu")
    engine.selection = Selection(Device("gpu", 0, "Fake", 1, 1, "9.0"), "test")
    real_run = engine.pipeline.run
    calls = []

    def run(image, *, device):
        calls.append(device.device.id)
        if device.device.is_gpu:
            raise OutOfMemoryError("Out of memory allocating 1,000,000 bytes")
        return real_run(image, device=device)

    monkeypatch.setattr(engine.pipeline, "run", run)
    pre = _Preprocessor(engine)
    with pytest.warns(RuntimeWarning, match="ran out of memory"):
        out = pre(page)
    assert out.device.id == "cpu" and calls == ["gpu:0", "gpu:0", "cpu"]
    assert pre(page).device.id == "cpu"  # and stays there


def test_cancel_stops_between_pages(scans):
    class Cancelling:
        cancelled = False
        pages = 0

        def start(self, total):
            pass

        def update(self, record=None, *, advance=0):
            if record is not None:
                self.pages += 1
                self.cancelled = True

        def finish(self):
            pass

    progress = Cancelling()
    result = batch(scans, device="cpu", workers=1, chunk_size=1, progress=progress)
    assert result.cancelled and len(result) < 8


def test_hocr_and_pdf_renderers(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "p.png")
    out = tmp_path / "out"
    batch(tmp_path / "p.png", device="cpu", out=out, renderers=("hocr", "pdf"), progress=False)
    hocr = next((out / "text").glob("*.hocr")).read_text()
    assert "ocr_page" in hocr and "Invoice" in hocr
    assert next((out / "text").glob("*.pdf")).read_bytes()[:5] == b"%PDF-"


def test_output_names_stay_inside(tmp_path):
    for source in ["../../etc/passwd", "/abs/..hidden", "https://x.org/a b?.png", "-rf"]:
        name = page_filename(source, 0, ".txt")
        assert "/" not in name and not name.startswith((".", "-"))
    assert page_filename("a/x.png", 0, ".txt") != page_filename("b/x.png", 0, ".txt")
    folder = OutputFolder(tmp_path / "o")
    folder.write({"source": "../../evil", "page": 0, "text": "t", "error": None})
    folder.close()
    assert [p.parent for p in (tmp_path / "o").rglob("*.txt")] == [tmp_path / "o" / "text"]


def test_cli_batch(scans, tmp_path, capsys):
    code = cli_main(["batch", str(scans / "sub"), "--out", str(tmp_path / "o"), "--cpu",
                     "--json", "--workers", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    assert json.loads(lines[0])["text"].startswith("Page number")
    assert cli_main(["batch", str(tmp_path / "nope.png"), "--cpu"]) == 3


@pytest.mark.slow
def test_dask_local_cluster(scans, tmp_path):
    distributed = pytest.importorskip("dask.distributed", reason="needs the [dask] extra")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = batch(scans, device="cpu", out=tmp_path / "o", client=client, progress=False)
    assert result.summary() == {"pages": 8, "ok": 7, "failed": 1, "needs_review": 0}
    records = read_jsonl(tmp_path / "o" / "results.jsonl")
    assert len({(r["source"], r["page"]) for r in records}) == 8
