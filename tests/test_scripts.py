"""The README's quickstart scripts pass their arguments through and reuse an installed environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_script_passes_its_arguments_to_agentdeck_demo() -> None:
    # sys.prefix is the environment the tests run in, which scripts/test made: no reinstall happens.
    env = {**os.environ, "AGENTDECK_VENV": sys.prefix}
    out = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--collector-port", "14318", "--help"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "usage: agentdeck demo" in out.stdout
    assert "installing agentdeck" not in out.stdout + out.stderr
