"""Starting the dashboard server and waiting for local HTTP services to be ready."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import httpx

import agentdeck.dashboard

# The Streamlit entrypoint, wherever the package is installed.
APP_PATH = Path(agentdeck.dashboard.__file__).with_name("app.py")
# Flags for driving Debian's chromium headless on a machine with no display and a closed network
# (the browser tests and bench/dashboard_bench.py).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def streamlit_command(host: str, port: int, app: Path = APP_PATH) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def wait_until_ok(url: str, timeout_s: float, is_alive: object = None) -> bool:
    """Poll `url` until it answers 200 (True) or `timeout_s` passes / the process died (False)."""
    give_up = time.monotonic() + timeout_s
    delay = 0.05
    while time.monotonic() < give_up:
        if callable(is_alive) and not is_alive():
            return False
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    return False


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
