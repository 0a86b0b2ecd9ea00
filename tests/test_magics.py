"""The %bgocr / %%bgocr magics in a real IPython shell, and input expansion."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import get_ipython

from bgocr_nb.devices import devices
from bgocr_nb.inputs import expand_inputs, parse_lines
from bgocr_nb.batching import BatchResult
from bgocr_nb.results import OcrResult

LINES = ["The quick brown fox jumps", "over the lazy dog 12345"]


def make_page(path: Path, lines=LINES, gradient: bool = True) -> Path:
    """Black text on white (optionally under a left-to-right light fall-off)."""
    page = np.full((260, 760), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(page, line, (30, 90 + 70 * i), cv2.FONT_HERSHEY_DUPLEX, 1.0, 0, 2,
                    cv2.LINE_AA)
    if gradient:
        ramp = np.linspace(0.6, 1.0, page.shape[1], dtype=np.float32)[None, :]
        page = (page * ramp).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), page)
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("magic")
    return {
        "page": make_page(root / "page.png"),
        "spaced": make_page(root / "my scan.png", ["Hello spaced world"], gradient=False),
        "folder": root / "folder",
        "a": make_page(root / "folder" / "a.png", ["Alpha page one"]),
        "b": make_page(root / "folder" / "sub" / "b.png", ["Bravo page two"]),
        "globbed": make_page(root / "globs" / "c1.png", ["Charlie page three"]),
    }


@pytest.fixture(scope="module")
def ip():
    shell = get_ipython()
    shell.run_line_magic("load_ext", "bgocr_nb")
    return shell


@pytest.fixture(autouse=True)
def default_config(ip):
    """Undo %config changes after each test."""
    yield
    magics = ip.magics_manager.registry["BgocrMagics"]
    for name in ("device", "filters", "lang", "psm"):
        magics.set_trait(name, magics.trait_defaults(name))


def test_line_magic_returns_result(ip, pages):
    result = ip.run_line_magic("bgocr", f"{pages['page']} --cpu")
    assert isinstance(result, OcrResult)
    assert "quick brown fox" in result.text
    assert result.device == "cpu" and result.filters == "auto"
    assert result.original is not None  # kept for before/after views


def test_line_magic_turns_pages_upright(ip, tmp_path):
    """The magic shares the command's grammar: --rotate-pages turns an upside-down scan."""
    from bgocr_nb import synth

    page = synth.make_page("clean", seed=0)
    path = tmp_path / "upside.png"
    cv2.imwrite(str(path), np.ascontiguousarray(np.rot90(page.image, 2)))
    result = ip.run_line_magic("bgocr", f"{path} --cpu --rotate-pages")
    assert result.rotation == 180 and result.text.startswith(page.text.split()[0])


def test_trailing_semicolon_silences(ip, pages):
    """`%bgocr ...;` displays nothing (IPython returns None) and the ";" is no argument."""
    ip.user_ns.pop("silenced", None)
    assert ip.run_line_magic("bgocr", f"{pages['page']} --cpu -f none -o silenced;") is None
    assert isinstance(ip.user_ns["silenced"], OcrResult)
    assert ip.user_ns["silenced"].filters == "none"


def test_output_option_stores_result(ip, pages):
    ip.user_ns.pop("res", None)
    result = ip.run_line_magic("bgocr", f"--cpu -o res {pages['page']}")
    assert ip.user_ns["res"] is result


def test_quoted_path_with_spaces_and_variable_expansion(ip, pages):
    result = ip.run_line_magic("bgocr", f'"{pages["spaced"]}" --cpu')
    assert "Hello spaced world" in result.text
    ip.user_ns["scan_path"] = str(pages["spaced"])
    ip.run_cell('expanded = %bgocr "{scan_path}" --cpu -f none', store_history=False)
    assert "Hello spaced world" in ip.user_ns["expanded"].text


def test_quoted_filter_spec_with_spaces(ip, pages):
    result = ip.run_line_magic("bgocr", f"{pages['page']} --cpu -f 'deskew, background(radius=30)'")
    assert result.filters == "deskew,background(radius=30)"
    assert "quick" in result.text


def test_devices(ip, capsys):
    listed = ip.run_line_magic("bgocr", "--devices")
    assert listed[0].id == "cpu"
    assert "<table>" in listed._repr_html_()
    assert "OCR: Tesseract 5." in capsys.readouterr().out


def test_dash_dash_help_prints_the_options(ip, capsys):
    assert ip.run_line_magic("bgocr", "--help") is None
    out = capsys.readouterr().out
    assert "--filters" in out and "--out" in out and "--ui" in out


def test_help_lists_shared_and_magic_options(ip):
    doc = ip.find_line_magic("bgocr").__doc__
    for option in ("--gpu", "--filters", "--lang", "-o NAME", "--ui", "--devices"):
        assert option in doc


def test_cell_magic_batch(ip, pages):
    body = textwrap.dedent(f"""\
        # a folder (recursive), a glob and a missing file
        {pages['folder']}
        {pages['globbed'].parent}/*.png

        {pages['folder']}/missing.tif
        """)
    results = ip.run_cell_magic("bgocr", f"--cpu -o batch --out {pages['folder'].parent / 'res'}",
                                body)
    assert isinstance(results, BatchResult)
    assert ip.user_ns["batch"] is results
    assert results.summary()["ok"] == 3 and len(results) == 4 and len(results.failures) == 1
    assert results.failures[0]["error"].startswith("InputError")
    by_name = {Path(r["source"]).name: r for r in results}
    assert set(by_name) == {"a.png", "b.png", "c1.png", "missing.tif"}
    assert "Bravo" in by_name["b.png"]["text"]
    frame = results.to_dataframe()
    assert len(frame) == 4 and frame["error"].notna().sum() == 1
    assert (pages["folder"].parent / "res" / "results.jsonl").exists()


def test_several_line_sources_run_as_a_batch(ip, pages):
    results = ip.run_line_magic("bgocr", f"--cpu -f none {pages['a']} {pages['b']}")
    assert isinstance(results, BatchResult) and results.summary()["ok"] == 2


def test_one_source_with_batch_options_runs_as_a_batch(ip, pages, tmp_path):
    """`%bgocr scan.png --out DIR` writes DIR, as the cell form does."""
    result = ip.run_line_magic("bgocr", f"--cpu -f none {pages['a']} --out {tmp_path / 'o'}")
    assert isinstance(result, BatchResult) and result.summary()["ok"] == 1
    assert (tmp_path / "o" / "results.jsonl").read_text().count("\n") == 1
    with pytest.raises(UsageError, match="--workers must be at least 1"):
        ip.run_line_magic("bgocr", f"--cpu {pages['a']} --workers 0")


@pytest.mark.parametrize("line, message", [
    ("{page} -f nope", "Unknown filter 'nope'"),
    ("{page} -f contrast(out=1)", "Unknown parameter 'out=1'"),
    ("{page} --dpi -5", "`dpi` (PDF rendering) must be a number from 10"),
    ("{page} -f background(radius=x)", "must be a number"),
    ("{page} --gpu 7", "GPU 7"),
    ("{page} --device tpu", "Unknown device"),
    ("{page} --gpu 0 --cpu", "only one of"),
    ("{page} -l xyz", "xyz is not installed"),
    ("{page} --psm 99", "segmentation mode"),
    ("{page} --tess-var bad", "name=value"),
    ("{missing}", "no such file"),
    ("", "Give an image"),
    ("''", "Give an image"),
    ("{page} --bogus", "unrecognized arguments"),
    ("{page} --gpu x", "invalid int value"),
    ("{page} -o 1x", "variable name"),
    ('"{page}', "No closing quotation"),
])
def test_user_mistakes_are_usage_errors(ip, pages, line, message):
    line = line.format(page=pages["page"], missing=pages["page"].parent / "nope.png")
    with pytest.raises(UsageError, match=None) as info:
        ip.run_line_magic("bgocr", line)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_cell_magic_with_nothing_found_is_a_usage_error(ip, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="No image or PDF"):
        ip.run_cell_magic("bgocr", "--cpu", f"{tmp_path / 'empty'}\n# nothing else\n")


def test_config_sets_defaults(ip, pages):
    ip.run_line_magic("config", 'BgocrMagics.filters = "none"')
    ip.run_line_magic("config", 'BgocrMagics.device = "cpu"')
    result = ip.run_line_magic("bgocr", str(pages["page"]))
    assert result.filters == "none" and result.steps == [] and result.device == "cpu"
    # an option on the line wins over the configured default
    assert ip.run_line_magic("bgocr", f"{pages['page']} -f deskew").filters == "deskew"
    ip.run_line_magic("config", "BgocrMagics.psm = 99")
    with pytest.raises(UsageError, match="segmentation mode"):
        ip.run_line_magic("bgocr", str(pages["page"]))


def test_save_preprocessed_and_json(ip, pages, tmp_path):
    records = ip.run_line_magic(
        "bgocr", f"--cpu --json --save-preprocessed {tmp_path / 'out'} {pages['page']}")
    assert isinstance(records, list) and records[0]["error"] is None
    assert "quick" in records[0]["text"]
    saved = list((tmp_path / "out").iterdir())
    assert len(saved) == 1 and saved[0].name.startswith("page-") and saved[0].suffix == ".png"


def test_ui_opens_studio(ip, pages):
    from bgocr_nb.widgets import Studio

    studio = ip.run_line_magic("bgocr", f"--ui --cpu -f background(radius=20) {pages['page']}")
    assert isinstance(studio, Studio)
    assert studio.spec == "background(radius=20)" and studio.device.value == "cpu"


@pytest.mark.gpu
def test_gpu_option(ip, pages):
    available = devices()
    if not available.gpus:
        pytest.skip(f"no usable GPU: {available.gpu_unavailable_reason}")
    result = ip.run_line_magic("bgocr", f"{pages['page']} --gpu 0")
    assert result.device == "gpu:0" and "quick" in result.text


def test_load_ext_is_light_and_fast():
    code = textwrap.dedent("""\
        import sys, time
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        t0 = time.perf_counter()
        import bgocr_nb
        bgocr_nb.load_ipython_extension(shell)
        elapsed = time.perf_counter() - t0
        heavy = [m for m in ("numpy", "cupy", "cv2", "pytesseract", "tesserocr", "ipywidgets",
                             "matplotlib", "pandas", "scipy", "PIL")
                 if m in sys.modules]
        assert "bgocr" in shell.magics_manager.magics["line"], "magic not registered"
        assert "bgocr" in shell.magics_manager.magics["cell"], "cell magic not registered"
        print(repr(heavy), elapsed)
        """)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out[0] == "[]", f"heavy modules imported by %load_ext: {out[0]}"
    assert float(out[1]) < 0.5


# -- input expansion -------------------------------------------------------------

def test_parse_lines_skips_comments_and_quotes():
    assert parse_lines("\n# x\n a.png \n\n'b c.tif'\n") == ["a.png", "b c.tif"]


def test_expand_inputs(tmp_path):
    for name in ["x/1.png", "x/2.PDF", "x/notes.txt", "x/.hidden.png", "x/deep/3.tiff",
                 "y/4.jpg", "y/5.jpeg"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    got = expand_inputs([tmp_path / "x", f"{tmp_path}/y/*.jp*g", "https://e.com/a.png",
                         "s3://bucket/b.tif", str(tmp_path / "missing.png"),
                         f"{tmp_path}/none/*.png", tmp_path / "x" / "1.png"])
    rel = [os.path.relpath(g, tmp_path) if g.startswith(str(tmp_path)) else g for g in got]
    assert rel == ["x/1.png", "x/2.PDF", "x/deep/3.tiff", "y/4.jpg", "y/5.jpeg",
                   "https://e.com/a.png", "s3://bucket/b.tif", "missing.png", "none/*.png"]


def test_expand_inputs_reads_a_cell_body(tmp_path):
    (tmp_path / "a b.png").write_bytes(b"")
    assert expand_inputs(f"# c\n{tmp_path}/*.png\n") == [str(tmp_path / "a b.png")]
