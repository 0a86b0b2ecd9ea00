"""The README stays true: its reliability table names tests that exist, its commands exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_reliability_table_names_real_tests():
    section = README.split("## Bad input and faults", 1)[1].split("\n## ", 1)[0]
    refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(refs) >= 25
    for path, name in refs:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in names, f"README names {path}::{name}, which does not exist"


def test_first_two_commands_are_make_targets():
    commands = re.findall(r"^(make \w+)", README.split("```bash", 1)[1], flags=re.M)[:2]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for command in commands:
        assert re.search(rf"^{command.split()[1]}:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_picture_exists():
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        if not image.startswith("http"):
            assert (ROOT / image).exists(), image
