"""The bgocr command: output, exit codes, odd paths and odd images."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import bgocr_nb
from bgocr_nb.cli import main


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bgocr_nb", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.fixture
def scan(tmp_path, page):
    path = tmp_path / "my scan ünïcode 扫描.png"
    Image.fromarray(page).save(path)
    return path


def test_prints_only_the_text(scan, page_text):
    proc = run(str(scan), "--cpu")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == page_text.splitlines()[0]
    assert bgocr_nb.cer(proc.stdout, page_text) < 0.03


def test_json_and_save_preprocessed(scan, tmp_path):
    proc = run(str(scan), "--json", "--cpu", "-f", "background", "--save-preprocessed",
               str(tmp_path / "pre"))
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["filters"] == "background" and record["text"].startswith("Invoice")
    saved = list((tmp_path / "pre").glob("*.png"))
    assert len(saved) == 1 and saved[0].name.startswith("my_scan")


def test_leading_dash_path(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "-scan.png")
    proc = run("--cpu", "--", "-scan.png", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("Invoice"), proc.stderr


@pytest.mark.parametrize("args, code, message", [
    (["--filters", "deskw"], 2, "Unknown filter 'deskw'"),
    (["--gpu", "3"], 2 if bgocr_nb.devices().gpus else 4, "GPU 3"),  # no such GPU / none
    (["--gpu", "0", "--cpu"], 2, "only one of"),
    (["--dpi", "0"], 2, "`dpi` (PDF rendering) must be a number from 10"),
    (["--dpi", "nan"], 2, "`dpi` (PDF rendering) must be a number from 10"),
    (["--max-pixels", "0"], 2, "--max-pixels must be at least 1"),
    (["-f", "background(radius=-1)"], 2, "`radius` must be in"),
    (["-f", "contrast(out=1)"], 2, "Unknown parameter 'out=1'"),
    (["--psm", "x"], 2, "invalid int value"),
    (["-l", "xyz"], 4, "apt-get install tesseract-ocr-xyz"),
    (["--tess-var", "user_words_file=/etc/passwd"], 2, "not allowed"),
])
def test_bad_arguments(scan, args, code, message):
    proc = run(str(scan), *args)
    assert proc.returncode == code and message in proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr


def test_bad_input_exit_code(tmp_path, scan):
    (tmp_path / "fake.png").write_text("not an image")
    proc = run(str(scan), str(tmp_path / "fake.png"), str(tmp_path / "none.png"), "--cpu")
    assert proc.returncode == 3
    assert proc.stdout.startswith("Invoice")  # the good file still came out
    assert "not an image" in proc.stderr and "no such file" in proc.stderr


def test_no_arguments_and_devices(capsys):
    assert main([]) == 2
    assert main(["--devices"]) == 0
    out = capsys.readouterr().out
    assert "CPU" in out and "OCR: Tesseract 5." in out


def test_help_lists_filters_and_exit_codes():
    proc = run("--help")
    assert proc.returncode == 0
    for word in ("background", "deskew", "--save-preprocessed", "exit codes"):
        assert word in proc.stdout


@pytest.mark.parametrize("shape", [(1, 1), (1, 3000), (3000, 2), (7, 5), (2, 2, 3)])
def test_tiny_and_extreme_images(tmp_path, shape):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(tmp_path / "odd.png")
    proc = run(str(tmp_path / "odd.png"), "--cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["error"] is None


def test_password_protected_pdf(tmp_path, page):
    pikepdf = pytest.importorskip("pikepdf", reason="pikepdf writes the encrypted test PDF")
    Image.fromarray(page).save(tmp_path / "plain.pdf")
    with pikepdf.open(tmp_path / "plain.pdf") as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(owner="o", user="secret"))
    proc = run(str(tmp_path / "locked.pdf"), "--cpu")
    assert proc.returncode == 3 and "pass password= (--password)" in proc.stderr
    proc = run(str(tmp_path / "locked.pdf"), "--cpu", "--password", "wrong")
    assert proc.returncode == 3 and "The password given is not the PDF's" in proc.stderr
    proc = run(str(tmp_path / "locked.pdf"), "--cpu", "--password", "secret")
    assert proc.returncode == 0 and proc.stdout.startswith("Invoice"), proc.stderr
    pages = list(bgocr_nb.load_pages(tmp_path / "locked.pdf", password="secret", dpi=100))
    assert len(pages) == 1 and pages[0].ok


def test_decompression_bomb_override(tmp_path, page):
    Image.fromarray(page).save(tmp_path / "big.png")
    proc = run(str(tmp_path / "big.png"), "--cpu", "--max-pixels", "1000")
    assert proc.returncode == 3 and "--max-pixels" in proc.stderr
    assert run(str(tmp_path / "big.png"), "--cpu", "--max-pixels", str(page.size)).returncode == 0


def test_rotate_pages(tmp_path):
    from bgocr_nb import synth

    page = synth.make_page("clean", seed=0)
    Image.fromarray(np.ascontiguousarray(np.rot90(page.image, 2))).save(tmp_path / "upside.png")
    for flag, rotation in (("--rotate-pages", 180), ("--no-rotate-pages", 0),
                           (None, 180)):  # by default a page read weakly is turned
        proc = run(str(tmp_path / "upside.png"), "--cpu", "--json", *([flag] if flag else []))
        assert proc.returncode == 0, proc.stderr
        (record,) = json.loads(proc.stdout)
        assert record["rotation"] == rotation, flag
        assert (bgocr_nb.cer(record["text"], page.text) < 0.02) == bool(rotation), flag


def test_a_closed_pipe_ends_quietly(scan):
    """`bgocr scan | head -1`: the reader leaves early; no traceback."""
    proc = subprocess.run(f"'{sys.executable}' -m bgocr_nb --cpu '{scan}' '{scan}' '{scan}' "
                          "| head -c 1", shell=True, capture_output=True, text=True, timeout=120)
    assert proc.stdout == "I" and "Traceback" not in proc.stderr, proc.stderr


def test_batch_needs_somewhere_to_put_the_results(scan, tmp_path):
    proc = run("batch", str(scan))
    assert proc.returncode == 2 and "give --out DIR" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run("batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3 and "no image or PDF files found" in proc.stderr
