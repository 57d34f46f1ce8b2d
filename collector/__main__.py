"""`python -m agentdeck.collector [--db PATH] [--host H] [--port N] ...`: run the collector.

The same flags as `agentdeck collector`: one per setting of `agentdeck.collector.config.SETTINGS`; unset flags
fall back to the AGENTDECK_COLLECTOR_* environment variables, then to the defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agentdeck.collector.config import SETTINGS, CollectorConfig, ConfigError
from agentdeck.collector.ingest.redact import RedactionConfigError
from agentdeck.collector.server import StartError, serve
from agentdeck.collector.store.base import StoreError
from agentdeck.engine.pricing import PriceFileError

# Short spellings kept for the flags people type most.
ALIASES = {"db_path": ("--db",), "prices_path": ("--prices",)}
STARTUP_ERRORS = (ConfigError, PriceFileError, StoreError, StartError, RedactionConfigError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per collector setting (shared by `agentdeck collector` and `python -m agentdeck.collector`)."""
    for setting in SETTINGS:
        flags = (setting.flag, *ALIASES.get(setting.name, ()))
        help_text = f"{setting.help} (env {setting.env_var}; default {setting.default})"
        if setting.type == "bool":
            parser.add_argument(*flags, dest=setting.name, action="store_true", default=None, help=help_text)
        else:
            parser.add_argument(*flags, dest=setting.name, default=None, metavar=setting.name.upper(), help=help_text)


def settings_markdown() -> str:
    """The README's table of collector settings (tests/test_readme.py checks the README holds it)."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        flags = " ".join(f"`{f}`" for f in (setting.flag, *ALIASES.get(setting.name, ())))
        default = "—" if setting.default is None else f"`{setting.default}`"
        rows.append(f"| {flags} | `{setting.env_var}` | {default} | {setting.help.replace('|', '/')} |")
    return "\n".join(rows)


def config_from_namespace(args: argparse.Namespace) -> CollectorConfig:
    values = vars(args)
    overrides = {}
    for setting in SETTINGS:
        raw = values.get(setting.name)
        if raw is None:
            continue
        overrides[setting.name] = raw if isinstance(raw, bool) else setting.parse(str(raw), source=setting.flag)
    return CollectorConfig.from_env(**overrides).validate()


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 2 with a message saying what to fix when it cannot start."""
    try:
        serve(config_from_namespace(args))
    except STARTUP_ERRORS as exc:
        print(f"agentdeck collector: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agentdeck.collector", description="agentdeck OTLP collector")
    add_arguments(parser)
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> CollectorConfig:
    return config_from_namespace(build_parser().parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
