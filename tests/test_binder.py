"""The Binder set-up (``binder/``) is consistent with the package and the notebooks.

repo2docker installs ``binder/apt.txt`` with apt-get, then runs
``pip install -r binder/requirements.txt`` from the repository root (its WORKDIR),
and the badge opens JupyterLab on the quickstart notebook.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="Python 3.10 reads pyproject.toml with tomli")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\((?P<url>[^)\s]+)\)")


def apt_packages() -> list[str]:
    lines = (BINDER / "apt.txt").read_text(encoding="utf-8").splitlines()
    return [p for p in (line.partition("#")[0].strip() for line in lines) if p]


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [r for r in (line.partition("#")[0].strip() for line in lines) if r]


def badge_urls() -> list[str]:
    """Binder badges in binder/badge.md and (once it carries one) the README."""
    urls = []
    for doc in (BINDER / "badge.md", ROOT / "README.md"):
        if doc.exists():
            urls += [m["url"] for m in BADGE.finditer(doc.read_text(encoding="utf-8"))]
    return urls


def notebook_languages() -> set[str]:
    """Every Tesseract language the notebooks ask for (-l X, --lang X, lang="X")."""
    pattern = re.compile(r"""(?:(?:^|\s)(?:-l|--lang)[\s=]+|\blang\s*=\s*["'])([a-z_]+(?:\+[a-z_]+)*)""")
    found = {"eng"}  # the default
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                for spec in pattern.findall("".join(cell["source"])):
                    found.update(spec.split("+"))
    return found


def test_binder_files_exist():
    for name in ("apt.txt", "requirements.txt", "runtime.txt", "badge.md"):
        assert (BINDER / name).is_file(), name
    assert not (ROOT / "requirements.txt").exists() or (BINDER / "requirements.txt").exists()


def test_apt_txt_lists_tesseract_languages_and_fonts():
    packages = apt_packages()
    assert len(packages) == len(set(packages))
    for name in packages:  # repo2docker rejects anything else
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", name), name
    assert {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-chi-sim", "tesseract-ocr-kor",
            "fonts-noto-cjk", "fonts-dejavu-core"} <= set(packages)


def test_notebook_languages_are_in_apt_txt():
    from bgocr_nb.tesseract import apt_package

    languages = notebook_languages()
    assert {"eng", "chi_sim"} <= languages  # the notebooks do use Chinese
    missing = [lang for lang in sorted(languages) if apt_package(lang) not in apt_packages()]
    assert not missing, f"notebooks use {missing} but binder/apt.txt lacks " \
                        f"{[apt_package(m) for m in missing]}"


def test_apt_packages_exist_in_debian():
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache is not available (not a Debian/Ubuntu machine)")
    lists = Path("/var/lib/apt/lists")
    has_lists = lists.is_dir() and any(lists.glob("*Packages*"))
    missing = []
    for name in apt_packages():
        out = subprocess.run(["apt-cache", "policy", name], capture_output=True, text=True,
                             timeout=60).stdout
        match = re.search(r"Candidate:\s*(\S+)", out)
        if not match or match[1] == "(none)":
            missing.append(name)
    if missing and not has_lists:
        pytest.skip(f"apt package lists are empty (run apt-get update); cannot check {missing}")
    assert not missing, f"no apt candidate for {missing} (apt-cache policy)"


def test_requirements_install_this_package():
    """A local requirement that resolves (from the repository root) to this project."""
    local = []
    for line in requirement_lines():
        target = re.sub(r"^(-e|--editable)(\s+|=)", "", line).strip().strip("'\"")
        path, _, extras = target.partition("[")
        if path.startswith((".", "/")):
            local.append((path, {e.strip() for e in extras.rstrip("]").split(",") if e.strip()}))
    post_build = BINDER / "postBuild"
    if not local and post_build.exists():
        assert re.search(r"pip install (-e )?\.", post_build.read_text()), "postBuild installs ."
        return
    assert len(local) == 1, f"binder/requirements.txt should install the repository: {local}"
    path, extras = local[0]
    project = (ROOT / path).resolve()
    assert project == ROOT, f"{path} resolves to {project}, not the repository root"
    assert PYPROJECT["project"]["name"] == "bgocr-nb"
    unknown = extras - set(PYPROJECT["project"].get("optional-dependencies", {}))
    assert not unknown, f"extras {unknown} are not defined in pyproject.toml"
    # JupyterLab and a kernel come from the `notebook` extra (Binder's base image has
    # JupyterLab too); ipywidgets, pandas and matplotlib are core dependencies.
    assert "notebook" in extras
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    for needed in ("ipywidgets", "matplotlib", "pandas"):
        assert needed in deps


def test_runtime_matches_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, runtime
    low = re.search(r">=\s*3\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert int(match[1]) >= int(low[1])


def test_badge_opens_the_quickstart_in_jupyterlab():
    urls = badge_urls()
    assert urls, "no Binder badge in binder/badge.md"
    for url in urls:
        parsed = urlparse(url)
        assert parsed.netloc == "mybinder.org" and parsed.path.startswith("/v2/gh/"), url
        query = parse_qs(parsed.query)
        if "labpath" in query:
            target = query["labpath"][0]
        else:
            urlpath = query["urlpath"][0]
            assert urlpath.startswith("lab/tree/"), f"opens {urlpath}, not JupyterLab"
            target = urlpath[len("lab/tree/"):]
        assert target == "notebooks/00_quickstart.ipynb"
        assert (ROOT / target).is_file()

