"""docs/BUILD_YOUR_OWN.md works as written: its ```python blocks run in order, in an empty folder, as
a user would run them (a block starting `# file: NAME` is saved as that file; the others run as
scripts), exporting to a real collector; then the collector holds the traces the guide promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard import data
from agentdeck.refs import SPAN_ATTRIBUTE

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "BUILD_YOUR_OWN.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
FILE = re.compile(r"^# file: (\S+)\n")


def python_blocks() -> list[str]:
    return BLOCK.findall(GUIDE.read_text())


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[str]:
    with CollectorServer(CollectorConfig(db_path=tmp_path / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        yield server.url


@pytest.mark.slow
def test_the_guide_runs_as_written_and_its_traces_arrive(tmp_path: Path, collector: str) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "OTEL_EXPORTER_OTLP_ENDPOINT": collector}
    blocks = python_blocks()
    assert len(blocks) >= 5, "the guide lost its code"
    outputs: list[str] = []
    for number, code in enumerate(blocks, start=1):
        named = FILE.match(code)
        if named:
            (folder / named.group(1)).write_text(code)
            continue
        script = folder / f"block_{number}.py"
        script.write_text(code)
        ran = subprocess.run(
            [sys.executable, script.name], cwd=folder, capture_output=True, text=True, timeout=180, env=env
        )
        assert ran.returncode == 0, f"block {number} of {GUIDE.name} failed:\n{code}\n{ran.stderr}"
        outputs.append(ran.stdout)
    text = "\n".join(outputs)

    assert "outcomes:" in text and "dead_letter" in text  # the weak prompt fails some requests
    replayed = re.search(r"replay of (\S+) -> (\w+) ([0-9a-f]{32})", text)
    assert replayed and replayed.group(2) == "success"  # the fixed prompt cures it
    for pattern in ("sequential", "fan_out", "supervisor", "graph", "critique", "event_driven"):
        assert f" {pattern} " in text

    trace_id = re.search(r"^req-0 \w+ .*?([0-9a-f]{32})$", text, re.MULTILINE)
    assert trace_id
    settings = data.Settings(collector_url=collector, token=None, refresh_s=0, timeout_s=15)
    frame = data.fetch_table("trace", {"trace_id": trace_id.group(1)}, settings).to_pandas()
    root = frame[frame["parent_span_id"].isna()].iloc[0]
    assert json.loads(root["attributes"])[SPAN_ATTRIBUTE] == "my_flow:WORKFLOW"
    assert {"invoke_agent sorter", "invoke_agent writer", "execute_tool customer_plan"} <= set(frame["name"])
    replay_frame = data.fetch_table("trace", {"trace_id": replayed.group(3)}, settings).to_pandas()
    assert not replay_frame.empty  # the replay was traced to the collector too
