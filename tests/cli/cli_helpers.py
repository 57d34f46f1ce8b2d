"""Running `agentdeck` as a user does: a subprocess, in a directory of the test's choosing, with the
export variables of the machine the tests run on removed unless the test sets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"
EXPORT_VARS = (
    "AGENTDECK_COLLECTOR_URL",
    "AGENTDECK_TOKEN",
    "AGENTDECK_CHECKPOINT_DB",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EXPORT_VARS}
    return {**env, **extra}


def agentdeck(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """What the `agentdeck` console script runs, in `cwd`."""
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env if env is not None else cli_env(),
    )


def trace_count(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.get(f"{url}/api/query/traces", params={"start_ns": "0"}, headers=headers, timeout=10).json()
    return len(body["rows"])
