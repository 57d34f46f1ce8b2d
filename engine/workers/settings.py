"""Worker settings: each declared once (flag, environment variable, default, meaning), checked at start.

`agentdeck worker` adds one flag per entry of SETTINGS; a flag wins, then its variable, then the
default. The README's table of them is `settings_markdown()` (checked by tests/workers/test_settings.py).
AGENTDECK_POSTGRES_URL is also how `run`, `replay`, `checkpoints` and the dashboard find the PostgreSQL.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

POSTGRES_ENV = "AGENTDECK_POSTGRES_URL"
DEFAULT_LEASE_S = 30.0


class SettingError(ValueError):
    """A setting that cannot be used; the message names it and says what to fix."""


@dataclass(frozen=True)
class WorkerSettings:
    postgres_url: str
    concurrency: int = 4
    endpoint: str | None = None  # OTLP/HTTP traces endpoint; None: no export
    lease_s: float = DEFAULT_LEASE_S
    name: str | None = None


@dataclass(frozen=True)
class Setting:
    name: str  # WorkerSettings field
    flag: str
    env_var: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "postgres_url",
        "--postgres",
        POSTGRES_ENV,
        None,
        "the PostgreSQL (postgresql://USER@HOST:PORT/DB) holding the queue, checkpoints, ledger, budget state "
        "and prompt versions; also read by run, replay, checkpoints and the dashboard",
    ),
    Setting("concurrency", "--concurrency", "AGENTDECK_WORKER_CONCURRENCY", 4, "tasks one worker runs at once", int),
    Setting(
        "lease_s",
        "--lease",
        "AGENTDECK_WORKER_LEASE_S",
        DEFAULT_LEASE_S,
        "seconds without a heartbeat (sent every lease/3) after which a worker's tasks go to the others; "
        "they resume within about lease + lease/3 + 1 s",
        float,
    ),
)


def check_postgres_url(url: str, source: str) -> str:
    if not url.startswith(("postgres://", "postgresql://")):
        raise SettingError(f"{source} wants a postgresql://USER@HOST:PORT/DB URL, got {url!r}")
    return url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for s in SETTINGS:
        default = "unset" if s.default is None else f"{s.default:g}" if s.kind is float else s.default
        parser.add_argument(
            s.flag,
            dest=s.name,
            default=None,
            type=s.kind,
            metavar="URL" if s.kind is str else "N" if s.kind is int else "SECONDS",
            help=f"{s.help} (default: ${s.env_var} or {default})",
        )


def resolve(flags: Mapping[str, Any], environ: Mapping[str, str], **extra: Any) -> WorkerSettings:
    """Flags, then environment variables, then defaults; SettingError for a missing or bad value."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = flags.get(s.name)
        if value is None and environ.get(s.env_var, "").strip():
            raw = environ[s.env_var].strip()
            try:
                value = s.kind(raw)
            except ValueError:
                raise SettingError(f"{s.env_var} must be a number, got {raw!r}") from None
        values[s.name] = s.default if value is None else value
    if values["postgres_url"] is None:
        raise SettingError(f"a worker needs the queue's PostgreSQL: pass --postgres URL or set {POSTGRES_ENV}")
    check_postgres_url(values["postgres_url"], f"--postgres / {POSTGRES_ENV}")
    if values["concurrency"] < 1:
        raise SettingError("--concurrency / AGENTDECK_WORKER_CONCURRENCY must be at least 1")
    if values["lease_s"] < 1:
        raise SettingError("--lease / AGENTDECK_WORKER_LEASE_S must be at least 1 second")
    return WorkerSettings(**values, **extra)


def settings_markdown() -> str:
    """The README's table of worker settings."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "—" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.flag}` | `{s.env_var}` | {default} | {s.help} |")
    return "\n".join(rows)
