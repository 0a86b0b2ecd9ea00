"""The tutorial notebooks: stored clean, and they run top to bottom in a fresh kernel.

Each notebook is executed with nbclient in a kernel of *this* environment (the
``python3`` kernelspec, which jupyter_client starts with ``sys.executable``;
checked from inside the kernel), in a temporary working folder so that the
files the notebooks write (``scans/``, ``results/`` ...) never land in the
repository. The executed copies are kept in ``test-output/notebooks/`` (git-ignored)
for inspection.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbclient  # the [test] extra installs these: a missing one is a failure, not a skip
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
OUTPUT_DIR = Path(os.environ.get("BGOCR_TEST_OUTPUT", ROOT / "test-output")) / "notebooks"
NAMES = ["00_quickstart", "01_device_selection", "02_filter_effects", "03_batch_extraction"]
# The budget: each notebook under 2 minutes on a 2-core CPU machine without a GPU.
TIME_LIMIT_S = float(os.environ.get("BGOCR_NOTEBOOK_TIME_LIMIT", "120"))
WIDGET = "application/vnd.jupyter.widget-view+json"
LANGUAGES = {"eng", "chi_sim"}

# Text (or mime types) that must appear in each executed notebook's outputs.
EXPECTED = {
    "00_quickstart": ['class="bgocr-result', "Installed Tesseract languages", "Tesseract 5",
                      "CER with auto", "deskewed by", "Filter spec of the Studio: auto", WIDGET],
    "01_device_selection": ["auto picked:", "because:", "GPU unavailable reason:",
                            "best of 3 (ms)", "filters on "],
    "02_filter_effects": ["CER raw", "CER auto", "auto(deskew=false)", "unchanged: True",
                          "grayscale(method=red): coloured marks over the print",
                          "invert,background,contrast", "image/png", WIDGET],
    "03_batch_extraction": ["InputError", "08_broken.png", "pages per minute", "05_ghost.png",
                            "0 pages recognised again", "page(s) to review: ['05_ghost.png']",
                            "pages to review with a threshold of 96", WIDGET],
}


def _read(name: str):
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def _outputs_text(nb) -> str:
    """Every stream, text/plain and text/html output, and every mime type, as one string."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
            else:
                data = out.get("data", {})
                parts.extend(data)
                parts.extend(str(data[m]) for m in ("text/plain", "text/html") if m in data)
    return "\n".join(parts)


def _runs_this_python(argv: list[str]) -> bool:
    # jupyter_client replaces a bare "python"/"python3"/"python3.X" by sys.executable
    bare = {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}
    return bool(argv) and (argv[0] in bare or os.path.abspath(argv[0]) == sys.executable
                           or os.path.abspath(argv[0]).startswith(sys.prefix + os.sep))


@pytest.fixture(scope="session")
def kernel_name() -> str:
    """The ``python3`` kernelspec, installed into this environment if it runs another Python."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except NoSuchKernel:
        argv = []
    if not _runs_this_python(argv):
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix",
                        "--name", "python3"], check=True, capture_output=True)
    return "python3"


# -- stored form ---------------------------------------------------------------------

def test_all_notebooks_listed():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == NAMES
    assert (NOTEBOOK_DIR / "images" / "before_after.jpg").exists()


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {cell.id} has outputs"
            assert cell.execution_count is None, f"{name}: cell {cell.id} has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_exercises_with_hidden_solutions(name):
    nb = _read(name)
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# ")
    assert "## Exercises" in headings and "## Solutions" in headings
    start = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "markdown" and "## Solutions" in c.source)
    solutions = [c for c in nb.cells[start:] if c.cell_type == "code"]
    assert solutions and all(c.metadata.get("jupyter", {}).get("source_hidden")
                             for c in solutions)


def test_chinese_and_english_samples():
    sources = "\n".join(c.source for name in NAMES for c in _read(name).cells)
    assert "contract_zh.tif" in sources and "-l chi_sim" in sources
    assert "memo_shadow.png" in sources


# -- execution -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, kernel_name, tmp_path):
    from bgocr_nb import tesseract

    missing = LANGUAGES - set(tesseract.languages())
    if missing:
        pytest.fail(f"Tesseract language packs missing: {sorted(missing)} "
                    f"(apt-get install {' '.join(map(tesseract.apt_package, missing))})")
    nb = _read(name)
    check = nbformat.v4.new_code_cell("import os, sys\nprint('KERNEL', sys.prefix, os.getcwd())")
    check.id = "test-kernel-check"
    nb.cells.insert(0, check)
    before = sorted(p.relative_to(NOTEBOOK_DIR) for p in NOTEBOOK_DIR.rglob("*"))
    workdir = tmp_path / "work"
    workdir.mkdir()
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=kernel_name,
                                     resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, OUTPUT_DIR / f"{name}.ipynb")

    first = nb.cells[0].outputs[0].text.split()
    assert first[0] == "KERNEL"
    assert os.path.realpath(first[1]) == os.path.realpath(sys.prefix), \
        f"the python3 kernel runs {first[1]}, not this environment ({sys.prefix})"
    assert os.path.realpath(first[2]) == os.path.realpath(workdir)
    text = _outputs_text(nb)
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: {expected!r} not in the outputs"
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    # everything the notebook wrote went to the working folder, not the repository
    assert sorted(p.relative_to(NOTEBOOK_DIR) for p in NOTEBOOK_DIR.rglob("*")) == before
    if name == "03_batch_extraction":
        assert (workdir / "results" / "summary.csv").exists()
        assert (workdir / "results" / "results.jsonl").exists()
    assert elapsed < TIME_LIMIT_S, f"{name} took {elapsed:.0f} s (limit {TIME_LIMIT_S:.0f} s)"
    shutil.rmtree(workdir, ignore_errors=True)
