"""The README documents every command, every flag and every setting, and keeps two quickstart commands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from agentdeck.cli.main import build_parser

# Environment variable names as they appear in code: quoted string literals.
ENV_VAR = re.compile(r"[\"']((?:AGENTDECK|ANTHROPIC|OTEL_EXPORTER_OTLP)_[A-Z0-9_]*[A-Z0-9])[\"']")
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every command as typed after `agentdeck`, nested ones included ("alerts check")."""
    found: dict[str, argparse.ArgumentParser] = {}
    todo = list(_children(build_parser()).items())
    while todo:
        name, sub = todo.pop()
        found[name] = sub
        todo.extend((f"{name} {child}", parser) for child, parser in _children(sub).items())
    return found


def test_every_command_and_flag_is_in_the_readme() -> None:
    missing = []
    for name, sub in subcommands().items():
        if f"agentdeck {name}" not in README:
            missing.append(f"agentdeck {name}")
        for act in sub._actions:
            for opt in act.option_strings:
                if opt.startswith("--") and opt != "--help" and opt not in README:
                    missing.append(f"agentdeck {name} {opt}")
    assert not missing, f"undocumented in README.md: {missing}"


def test_quickstart_has_exactly_two_commands_that_exist() -> None:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quickstart needs a bash code block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    root = Path(__file__).resolve().parents[1]
    for cmd in commands:
        assert (root / cmd).exists()


def test_every_setting_and_environment_variable_is_in_the_readme() -> None:
    from agentdeck.collector.config import SETTINGS

    root = Path(__file__).resolve().parents[1]
    names = set()
    for pkg in ("engine", "collector", "dashboard"):
        for src in (root / pkg).rglob("*.py"):
            names |= set(re.findall(ENV_VAR, src.read_text()))
    names |= {s.env_var for s in SETTINGS}
    names.discard("AGENTDECK_COLLECTOR_")  # the prefix itself
    missing = sorted(n for n in names if n not in README)
    missing += sorted(s.flag for s in SETTINGS if s.flag not in README)
    assert not missing, f"undocumented in README.md: {missing}"


def test_the_settings_table_is_the_one_generated_from_the_settings() -> None:
    """Every default and meaning in the README's table matches collector/config.py."""
    from agentdeck.collector.__main__ import settings_markdown

    block = re.search(r"<!-- settings:start[^>]*-->\n(.*?)\n<!-- settings:end -->", README, re.S)
    assert block is not None, "README.md lost its <!-- settings:start --> ... <!-- settings:end --> markers"
    expected = settings_markdown()
    assert block.group(1) == expected, f"README.md's settings table is out of date; replace it with:\n{expected}"
