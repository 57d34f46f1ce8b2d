"""One import name: the project installs the package `agentdeck` and nothing else at the top level.

The repository keeps engine/, collector/ and dashboard/ at its top level; setuptools maps them to
`agentdeck.engine`, `agentdeck.collector` and `agentdeck.dashboard`. These tests look from outside the
repository (another working directory, `python -I`), so the checkout's own folders cannot make an
import pass that an installed copy would fail.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
FOLDERS = {"src/agentdeck": "agentdeck", "engine": "agentdeck.engine", "collector": "agentdeck.collector",
           "dashboard": "agentdeck.dashboard"}  # fmt: skip
OLD_IMPORT = re.compile(r"^\s*(?:from|import)\s+(engine|collector|dashboard)\b", re.MULTILINE)


def package_folders() -> set[str]:
    found = set()
    for folder, name in FOLDERS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = package_folders() - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    stale = listed - package_folders()
    assert not stale, f"listed in pyproject.toml but not a package folder: {sorted(stale)}"


def test_no_code_imports_the_old_top_level_names() -> None:
    offenders = []
    for path in REPO.rglob("*.py"):
        if {".venv", ".git", "build"} & set(path.relative_to(REPO).parts):
            continue
        for m in OLD_IMPORT.finditer(path.read_text()):
            line = path.read_text()[: m.start()].count("\n") + 1
            offenders.append(f"{path.relative_to(REPO)}:{line}: {m.group(0).strip()}")
    assert not offenders, "import through agentdeck.* instead:\n" + "\n".join(offenders)


def test_installed_package_imports_from_outside_the_repository(tmp_path: Path) -> None:
    script = (
        "import importlib.util, sys\n"
        "import agentdeck, agentdeck.engine.runner, agentdeck.collector.server, agentdeck.cli.main\n"
        "import agentdeck.dashboard.data\n"
        "leaks = [n for n in ('engine', 'collector', 'dashboard', 'cli') if importlib.util.find_spec(n)]\n"
        "print(agentdeck.__file__)\n"
        "sys.exit('top-level modules importable: ' + ', '.join(leaks) if leaks else 0)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


def test_console_script_and_module_entry_point(tmp_path: Path) -> None:
    for argv in (
        [str(Path(sys.executable).with_name("agentdeck")), "--help"],
        [sys.executable, "-m", "agentdeck", "--help"],
    ):
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "usage: agentdeck" in done.stdout


@pytest.mark.slow
def test_wheel_holds_only_the_agentdeck_package(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("agentdeck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"agentdeck"}
    for needed in (
        "agentdeck/py.typed",
        "agentdeck/engine/prices.toml",
        "agentdeck/collector/alerts/default_rules.toml",
        "agentdeck/dashboard/app.py",
        "agentdeck/dashboard/views/overview.py",
        "agentdeck/cli/main.py",
    ):
        assert needed in names, f"{needed} missing from the wheel"
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "agentdeck = agentdeck.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()
