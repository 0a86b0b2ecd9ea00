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
from bgocr_nb.errors import ArgumentError
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
    order = list(zip(df["source"], df["page"].fillna(-1)))
    assert order == sorted(order)  # by source and page, whatever order they finished in
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
    assert cli_main(["batch", str(tmp_path / "nope.png"), "--cpu", "--out",
                     str(tmp_path / "o2")]) == 3


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


def test_unexpected_errors_fail_one_page_and_the_batch_goes_on(tmp_path, monkeypatch):
    """A non-bgocr exception while preprocessing or recognising one page is that page's
    failure (type, message, a hint to report it); the other pages are written."""
    import cv2

    import bgocr_nb.tesseract as tess
    from bgocr_nb.pipeline import Pipeline

    for name, width in (("a", 1100), ("pre_bug", 1000), ("b", 1100), ("ocr_bug", 1050)):
        Image.fromarray(text_page([f"Page {name}"], width=width)).save(tmp_path / f"{name}.png")
    real_run, real_recognize = Pipeline.run, tess.recognize

    def run(self, image, **kwargs):
        if image.shape[1] == 1000:
            raise cv2.error("simulated OpenCV failure")
        return real_run(self, image, **kwargs)

    def recognize(image, **kwargs):
        if image.shape[1] == 1050:
            raise RuntimeError("simulated Tesseract binding failure")
        return real_recognize(image, **kwargs)

    monkeypatch.setattr(Pipeline, "run", run)
    monkeypatch.setattr(tess, "recognize", recognize)
    out = tmp_path / "out"
    result = batch(sorted(tmp_path.glob("*.png")), device="cpu", filters="none", out=out,
                   workers=2, progress=False)
    assert result.summary()["ok"] == 2 and result.summary()["failed"] == 2
    errors = {Path(r["source"]).stem: r["error"] for r in read_jsonl(out / "results.jsonl")}
    assert errors["a"] is None and errors["b"] is None
    assert "cv2.error (simulated OpenCV failure)" in errors["pre_bug"]
    assert "RuntimeError (simulated Tesseract binding failure)" in errors["ocr_bug"]
    assert all("bug" in errors[k] for k in ("pre_bug", "ocr_bug"))
    assert (out / "summary.csv").exists()


def test_interrupt_writes_the_finished_pages(scans, tmp_path, monkeypatch):
    """Ctrl-C stops the batch, but the pages recognised by then are on disk, the one
    being written as the key was pressed too; resume finishes the rest, each page once."""
    import bgocr_nb.batching as batching
    import bgocr_nb.tesseract as tess

    real_emit, real_recognize, calls = batching._emit, tess.recognize, []
    both_in_ocr = threading.Barrier(2, timeout=20)

    def recognize(*args, **kwargs):  # the first two pages are in OCR together
        calls.append("ocr")
        if calls.count("ocr") <= 2:
            both_in_ocr.wait()
        return real_recognize(*args, **kwargs)

    def emit(*args, **kwargs):  # Ctrl-C as the first page is written
        calls.append("emit")
        if calls.count("emit") == 1:
            raise KeyboardInterrupt
        return real_emit(*args, **kwargs)

    monkeypatch.setattr(tess, "recognize", recognize)
    monkeypatch.setattr(batching, "_emit", emit)
    sources = sorted(scans.rglob("scan*.png"))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        batch(sources, device="cpu", out=out, workers=2, progress=False)
    written = read_jsonl(out / "results.jsonl")
    assert len(written) >= 2 and not any(r["error"] for r in written)  # + the other in OCR
    monkeypatch.setattr(batching, "_emit", real_emit)
    again = batch(sources, device="cpu", out=out, workers=2, progress=False)
    assert again.pages_run == 4 - len(written)
    keys = [(r["source"], r["page"]) for r in read_jsonl(out / "results.jsonl")]
    assert len(keys) == len(set(keys)) == 4


def test_a_freed_engine_is_not_held_up_by_the_writer(scans, tmp_path, monkeypatch):
    """Each page is fsynced as it is written (slow on a network or spinning disk):
    a freed engine gets its next page first, then the page it finished is written."""
    import bgocr_nb.batching as batching
    import bgocr_nb.tesseract as tess

    real_emit, real_recognize = batching._emit, tess.recognize
    sources = sorted(scans.rglob("scan*.png"))
    started, overlapped = [], []

    def recognize(*args, **kwargs):
        started.append(args)
        return real_recognize(*args, **kwargs)

    def emit(*args, **kwargs):  # page n is written once page n + 1 is in OCR
        n = len(overlapped) + 1
        deadline = time.monotonic() + 5
        while n < len(sources) and len(started) <= n and time.monotonic() < deadline:
            time.sleep(0.01)
        overlapped.append(len(started) > n)
        return real_emit(*args, **kwargs)

    monkeypatch.setattr(tess, "recognize", recognize)
    monkeypatch.setattr(batching, "_emit", emit)
    result = batch(sources, device="cpu", out=tmp_path / "out", workers=1, progress=False)
    assert result.pages_run == len(sources) == 4
    assert overlapped == [True, True, True, False]  # the last page has no next one


def test_each_ocr_thread_loads_its_engine_before_its_first_page(scans, tmp_path, monkeypatch,
                                                                tesseract_engine):
    """The engines load (a tenth of a second each) while the loader reads the first
    pages, once per thread: every thread that recognises a page prepared first."""
    import bgocr_nb.tesseract as tess

    if tesseract_engine("api") != "api":
        pytest.skip("the api engine is not available")
    real_prepare, real_recognize = tess.prepare, tess.recognize
    events: list[tuple[str, str]] = []

    def prepare(**kwargs):
        events.append(("prepare", threading.current_thread().name))
        return real_prepare(**kwargs)

    def recognize(*args, **kwargs):
        events.append(("page", threading.current_thread().name))
        return real_recognize(*args, **kwargs)

    monkeypatch.setattr(tess, "prepare", prepare)
    monkeypatch.setattr(tess, "recognize", recognize)
    result = batch(sorted(scans.rglob("scan*.png")), device="cpu", workers=2, progress=False)
    assert result.pages_run == 4
    prepared = [name for kind, name in events if kind == "prepare"]
    assert len(prepared) == 2 and len(set(prepared)) == 2  # one per thread
    for kind, name in events:
        if kind == "page":  # a thread reads pages only once it has prepared
            assert events.index(("prepare", name)) < events.index(("page", name))


def test_prepare_loads_the_engine_that_recognize_reuses(tesseract_engine, page):
    import tesserocr

    import bgocr_nb.tesseract as tess
    from bgocr_nb.errors import MissingDependencyError

    if tesseract_engine("api") != "api":
        pytest.skip("the api engine is not available")
    made = []
    real = tesserocr.PyTessBaseAPI

    def counting(*args, **kwargs):
        made.append(kwargs.get("lang"))
        return real(*args, **kwargs)

    def in_a_new_thread():  # a thread of its own: no engine loaded yet
        tess.prepare(lang="eng", psm=6)
        loaded = len(made)
        text = tess.recognize(page, lang="eng", psm=6).text
        return loaded, len(made), text

    out = []
    try:
        tesserocr.PyTessBaseAPI = counting
        worker = threading.Thread(target=lambda: out.append(in_a_new_thread()))
        worker.start()
        worker.join()
    finally:
        tesserocr.PyTessBaseAPI = real
    loaded, after, text = out[0]
    assert loaded == after == 1 and "Invoice" in text
    with pytest.raises(MissingDependencyError, match="xyz"):
        tess.prepare(lang="xyz")


def test_renderers_given_as_one_name(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "p.png")
    batch(tmp_path / "p.png", device="cpu", out=tmp_path / "out", renderers="pdf",
          progress=False)
    assert sorted(p.suffix for p in (tmp_path / "out" / "text").iterdir()) == [".pdf", ".txt"]


@pytest.mark.parametrize("options, match", [
    (dict(renderers=["txt"], out="o"),
     r"Unknown renderer 'txt': the renderers are 'hocr' and 'pdf'"),
    (dict(renderers="hocr"), "pass out="),
    (dict(renderers=5, out="o"), "`renderers` must be"),
    (dict(workers=-1), "`workers` must be a whole number, at least 1"),
    (dict(workers=2.5), "`workers`"),
    (dict(chunk_size=0), "`chunk_size`"),
    (dict(variables=["a=b"]), "`variables` must be a dict"),
    (dict(filters=5), "A filter spec is a string"),
    (dict(review_threshold="x"), "`review_threshold` must be a mean confidence from 0 to 100"),
    (dict(review_threshold=float("nan")), "`review_threshold`"),
    (dict(progress=3), r"`progress` must be True .*start\(\), update\(\), finish\(\)"),
    (dict(timeout=-1), "timeout"),
])
def test_batch_arguments_checked_up_front(tmp_path, monkeypatch, options, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArgumentError, match=match):
        batch(tmp_path / "none.png", device="cpu", progress=options.pop("progress", False),
              **options)
    assert not (tmp_path / "o").exists()


def test_out_must_be_a_folder_that_can_be_made(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "p.png")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ArgumentError, match="is a file, not a folder"):
        batch(tmp_path / "p.png", device="cpu", out=tmp_path / "afile", progress=False)
    with pytest.raises(ArgumentError, match="cannot make the folder"):
        batch(tmp_path / "p.png", device="cpu", out=tmp_path / "afile" / "sub", progress=False)
    with pytest.raises(ArgumentError, match="save_preprocessed=.* is a file"):
        batch(tmp_path / "p.png", device="cpu", save_preprocessed=tmp_path / "afile",
              progress=False)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "text").write_text("in the way")
    with pytest.raises(ArgumentError, match="cannot write the results there"):
        batch(tmp_path / "p.png", device="cpu", out=tmp_path / "o", progress=False)


def test_resume_skips_malformed_lines_with_a_warning(scans, tmp_path):
    out = tmp_path / "out"
    sources = sorted(scans.rglob("scan*.png"))
    batch(sources, device="cpu", out=out, workers=2, progress=False)
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"a": 1}\nnot json at all\n[1, 2]\n{"source": "x.png", "page": "one"}\n')
    with pytest.warns(RuntimeWarning, match="skipped 4 lines"):
        again = batch(sources, device="cpu", out=out, workers=2, progress=False)
    assert again.pages_run == 0 and len(again) == 4
    assert len(read_jsonl(out / "results.jsonl")) == 4  # rewritten without them


def test_resume_matches_a_file_however_its_path_is_spelt(tmp_path, monkeypatch, page):
    (tmp_path / "mix").mkdir()
    Image.fromarray(page).save(tmp_path / "mix" / "good.png")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    spellings = ["mix/good.png", str(tmp_path / "mix" / "good.png"), "./mix/good.png",
                 "mix/../mix/good.png"]
    runs = [batch(s, device="cpu", out=out, progress=False).pages_run for s in spellings]
    assert runs == [1, 0, 0, 0]
    records = read_jsonl(out / "results.jsonl")
    assert [r["source"] for r in records] == ["mix/good.png"]  # as first given
    assert len(batch(spellings, device="cpu", progress=False)) == 1  # one file, once


def test_resume_reads_results_written_before_source_keys(tmp_path, monkeypatch, page):
    """A results.jsonl of an earlier version (relative sources, duplicates of one file
    under several names) resumes: its pages are skipped and kept once."""
    Image.fromarray(page).save(tmp_path / "good.png")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    first = batch("good.png", device="cpu", out=out, progress=False).records[0]
    old = [first, {**first, "source": "./good.png"},
           {**first, "source": str(tmp_path / "good.png")}]
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    again = batch(["./good.png"], device="cpu", out=out, progress=False)
    assert again.pages_run == 0 and len(again) == 1
    assert len(read_jsonl(out / "results.jsonl")) == 1


@pytest.mark.slow
def test_dask_password_and_resume(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed", reason="needs the [dask] extra")
    pikepdf = pytest.importorskip("pikepdf", reason="pikepdf writes the encrypted test PDF")
    Image.fromarray(text_page(["Locked page"])).convert("RGB").save(tmp_path / "p.pdf",
                                                                     resolution=100)
    with pikepdf.open(tmp_path / "p.pdf") as pdf:
        pdf.save(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(owner="o", user="pw"))
    monkeypatch.chdir(tmp_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        first = batch("enc.pdf", device="cpu", dpi=100, password="pw", out="o", client=client,
                      progress=False)
        again = batch(str(tmp_path / "enc.pdf"), device="cpu", dpi=100, password="pw", out="o",
                      client=client, progress=False)
    assert first.pages_run == 1 and "Locked page" in first.records[0]["text"]
    assert again.pages_run == 0 and len(read_jsonl(tmp_path / "o" / "results.jsonl")) == 1
