"""The docs name things that exist: every docs/*.md that code or docs refer to, and every module the
architecture page lists (a renamed module must take its docs along)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC_REF = re.compile(r"docs/([A-Z_]+\.md)")
MODULE = re.compile(r"`([a-z_]+(?:/[a-z_]+)*\.py)`")
FOLDERS = ("engine", "collector", "dashboard", "src/agentdeck")


def _texts() -> list[Path]:
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    for folder in FOLDERS:
        files += (REPO / folder).rglob("*.py")
    return files


def test_every_referenced_doc_exists() -> None:
    missing = {
        f"{path.relative_to(REPO)} -> docs/{name}"
        for path in _texts()
        for name in DOC_REF.findall(path.read_text(encoding="utf-8"))
        if not (REPO / "docs" / name).is_file()
    }
    assert not missing, sorted(missing)


def test_every_module_the_architecture_page_names_exists() -> None:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = MODULE.findall(text)
    assert len(named) > 30
    modules = {p.relative_to(REPO).as_posix() for f in FOLDERS for p in (REPO / f).rglob("*.py")}
    missing = [m for m in named if not any(path == m or path.endswith("/" + m) for path in modules)]
    assert not missing, missing
