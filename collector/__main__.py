"""`python -m collector [--db-path PATH] [--host H] [--port N] ...`: run the collector.

One flag per setting of `collector.config.SETTINGS`; unset flags fall back to the
AGENTDECK_COLLECTOR_* environment variables, then to the defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from collector.config import SETTINGS, CollectorConfig, ConfigError
from collector.redact import RedactionConfigError
from collector.server import StartError, serve
from collector.store import StoreError
from engine.pricing import PriceFileError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collector", description="agentdeck OTLP collector")
    for setting in SETTINGS:
        help_text = f"{setting.help} (env {setting.env_var}; default {setting.default})"
        if setting.type == "bool":
            parser.add_argument(setting.flag, dest=setting.name, action="store_true", default=None, help=help_text)
        else:
            parser.add_argument(
                setting.flag, dest=setting.name, default=None, metavar=setting.name.upper(), help=help_text
            )
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> CollectorConfig:
    args = vars(build_parser().parse_args(argv))
    overrides = {}
    for setting in SETTINGS:
        raw = args.get(setting.name)
        if raw is None:
            continue
        overrides[setting.name] = raw if isinstance(raw, bool) else setting.parse(raw, source=setting.flag)
    return CollectorConfig.from_env(**overrides).validate()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = config_from_args(argv)
        serve(config)
    except (ConfigError, PriceFileError, RedactionConfigError, StoreError, StartError) as exc:
        print(f"agentdeck collector: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
