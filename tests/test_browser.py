"""JupyterLab in a real browser: run the quickstart, see the result and the Studio render.

Starts JupyterLab on a free localhost port (random token, a temporary copy of
``notebooks/``, its own settings, workspaces and runtime folders), opens
``00_quickstart.ipynb`` in Debian's Chromium (``/usr/bin/chromium``, driven by
Playwright's Python package; Playwright's own browser downloads are never used),
runs all cells from the Run menu and checks in the page that

* the ``%bgocr`` result HTML shows its before and after images,
* the Studio widget shows its before and after previews,
* unticking "auto mode", then ticking "background", changes the preview's ``src``.

Screenshots go to ``$BGOCR_TEST_OUTPUT/browser/`` (default: the test's tmp folder)
and are copied to ``test-output/browser/`` in the repository (git-ignored).

Skipped only when ``/usr/bin/chromium`` or the ``playwright`` package is missing
(``apt-get install chromium``; ``pip install playwright``, never ``playwright install``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "00_quickstart.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]  # containers often have a tiny /dev/shm
REPO_OUTPUT = ROOT / "test-output" / "browser"

# Lab settings: every cell stays in the DOM (no virtual scrolling), no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}

KERNEL_IDLE = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"
# Every visible input prompt shows an execution count (hidden-source cells have a
# placeholder prompt), the last code cell has an output, and the kernel is idle.
ALL_CELLS_RAN = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return false;
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt:not(.jp-Placeholder-prompt)')]
        .map(e => e.textContent.trim());
    const cells = panel.querySelectorAll('.jp-CodeCell');
    const last = cells[cells.length - 1];
    const idle = panel.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
    return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t))
        && !!last && last.querySelectorAll('.jp-OutputArea-output').length > 0 && !!idle;
}"""
CELLS_STARTED = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .some(e => /^\\[(\\*|\\d+)\\]:$/.test(e.textContent.trim()))"""
IMAGE_LOADED = "img => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0"
SRC_CHANGED = "([img, old]) => img.src !== old && img.complete && img.naturalWidth > 0"


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed: pip install playwright "
                    "(its browser download, `playwright install`, is not needed)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost serving a copy of notebooks/: (base URL, token)."""
    _playwright()
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "scans*", "results*"))
    settings = tmp_path / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    log_path = tmp_path / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 90 s:\n"
                                f"{log_path.read_text(errors='replace')[-3000:]}")
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def screenshots(tmp_path):
    """Where screenshots go; they are copied to test-output/browser/ in the repo afterwards."""
    base = os.environ.get("BGOCR_TEST_OUTPUT")
    folder = (Path(base) if base else tmp_path / "test-output") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    if folder.resolve() != REPO_OUTPUT.resolve():
        REPO_OUTPUT.mkdir(parents=True, exist_ok=True)
        for shot in folder.glob("*.png"):
            shutil.copy2(shot, REPO_OUTPUT / shot.name)


def run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells; again if no cell started (a kernel still connecting drops it)."""
    for attempt in range(attempts):
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_function(CELLS_STARTED, timeout=20_000, polling=250)
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")


def test_quickstart_runs_and_studio_updates(jupyterlab, screenshots):
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    base, token = jupyterlab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # JavaScript errors are printed (pytest shows them when the test fails)
        page.on("pageerror", lambda exc: print(f"page error: {exc}"))
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(KERNEL_IDLE, timeout=120_000)  # kernel started
            # ... and connected: the status bar reads "Python 3 (ipykernel) | Idle"
            expect(page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\|\s*Idle"))
                   ).to_be_visible(timeout=120_000)
            sidebar_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
            if sidebar_tab.count():
                sidebar_tab.first.click()  # fold the file browser: a wider notebook

            run_all_cells(page)
            page.wait_for_function(ALL_CELLS_RAN, timeout=240_000, polling=500)

            errors = [text for text in page.locator(
                "[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
                if "Traceback" in text or "Error" in text]
            assert not errors, f"a cell failed:\n{errors[0][:2000]}"

            # the %bgocr result: before and after images
            result = page.locator(".bgocr-result").first
            result.scroll_into_view_if_needed()
            expect(result).to_be_visible()
            images = result.locator("img")
            assert images.count() == 2
            for i, alt in enumerate(["before", "after"]):
                expect(images.nth(i)).to_be_visible()
                assert images.nth(i).get_attribute("alt") == alt
                assert images.nth(i).evaluate(IMAGE_LOADED), f"the {alt} image did not load"
            result.screenshot(path=str(screenshots / "00_quickstart-result.png"))
            # OCR text is text: "$286,500 ... $58,200" must not be typeset as LaTeX math
            # (checked at the end, so that the Studio is tested either way)
            math_typeset = result.locator("mjx-container, .MathJax").count()

            # the Studio: before/after previews, then change the filters
            studio = page.locator(".jp-OutputArea-output:has(.widget-checkbox)").first
            studio.scroll_into_view_if_needed()
            expect(studio).to_be_visible()
            previews = studio.locator("img.widget-image")
            assert previews.count() == 2
            for i in range(2):
                expect(previews.nth(i)).to_be_visible()
                assert previews.nth(i).evaluate(IMAGE_LOADED), f"Studio image {i} did not load"
            before_src = previews.nth(0).get_attribute("src")
            after = previews.nth(1)

            def toggle(label: str):
                # a filter's on/off box is the first of its row (auto's parameters,
                # also check boxes named after filters, follow it)
                return studio.locator(".widget-hbox > .widget-checkbox:first-child").filter(
                    has=page.locator("span", has_text=re.compile(rf"^{label}$"))).locator("input")

            auto_mode, background = toggle("auto mode"), toggle("background")
            expect(auto_mode).to_be_checked()
            expect(background).to_be_disabled()  # the manual filters wait for auto mode off

            old = after.get_attribute("src")
            auto_mode.uncheck()  # no filter: the preview becomes the raw page
            page.wait_for_function(SRC_CHANGED, arg=[after.element_handle(), old],
                                   timeout=30_000)
            expect(background).to_be_enabled()
            old = after.get_attribute("src")
            background.check()  # background removal only
            page.wait_for_function(SRC_CHANGED, arg=[after.element_handle(), old],
                                   timeout=30_000)
            assert previews.nth(0).get_attribute("src") == before_src  # "before" never changes
            assert after.evaluate(IMAGE_LOADED)
            studio.scroll_into_view_if_needed()
            studio.screenshot(path=str(screenshots / "00_quickstart-studio.png"))
            page.screenshot(path=str(screenshots / "00_quickstart.png"))
            assert math_typeset == 0, (
                f"JupyterLab typeset {math_typeset} piece(s) of the OCR text as LaTeX math "
                "(text between two $ signs): the result HTML needs class=\"mathjax_ignore "
                "tex2jax_ignore\" (bgocr_nb/display.py)")
        except Exception:
            page.screenshot(path=str(screenshots / "00_quickstart-failure.png"))
            raise
        finally:
            browser.close()
