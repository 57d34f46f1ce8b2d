"""Three collectors' write paths (real processes, the real ingest writer) on one ClickHouse (the
local test server): one is SIGKILLed mid-stream, its unanswered batches are resent to the others
(what an OTLP client does), and every acknowledged span is stored exactly once, with the agent of
a parent that reached another collector."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_server import ClickHouseTestServer, start_server

from agentdeck.collector.store.clickhouse.store import ClickHouseStore

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

PROC = Path(__file__).with_name("clickhouse_writer_proc.py")
TRACES = 60


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClickHouseTestServer]:
    with start_server(tmp_path / "ch") as srv:
        yield srv


class Collector:
    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PROC), url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def post(self, batch: dict[str, object]) -> bool:
        """Send a batch without waiting; False when the process is gone."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(batch) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return False
        return True

    def send(self, batch: dict[str, object]) -> bool:
        """Send a batch and wait for its answer; False when the process died first."""
        assert self.proc.stdout is not None
        return self.post(batch) and self.proc.stdout.readline().strip() == f"ack {batch['id']}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(60)
        elif self.proc.stdin is not None:
            self.proc.stdin = None  # a killed process: its pipe is broken, nothing to flush


def batches() -> list[dict[str, object]]:
    """Per trace: the children in one batch, their agent (the parent) in the next one, so the two
    halves of a trace usually reach different collectors."""
    out: list[dict[str, object]] = []
    for t in range(TRACES):
        trace = f"{t + 1:032x}"
        agent = f"a{t:015x}"
        children = [
            {
                "trace": trace,
                "span_id": f"c{t:07x}{i:08x}",
                "parent": agent,
                "start_ms": 1 + i,
                "name": "step",
                "type": "other",
                "agent": None,
            }
            for i in range(5)
        ]
        parent = [
            {
                "trace": trace,
                "span_id": agent,
                "parent": None,
                "start_ms": 0,
                "name": f"invoke_agent ag{t}",
                "type": "agent",
                "agent": f"ag{t}",
            }
        ]
        out.append({"id": f"{t}-children", "spans": children})
        out.append({"id": f"{t}-parent", "spans": parent})
    return out


def test_a_killed_collector_loses_nothing_it_acknowledged_and_lineage_spans_collectors(
    server: ClickHouseTestServer,
) -> None:
    ClickHouseStore(server.url).close()  # the schema, once (as the first collector would)
    collectors = [Collector(server.url) for _ in range(3)]
    acked: list[dict[str, object]] = []
    unanswered: list[dict[str, object]] = []
    victim = collectors[50 % 3]
    try:
        for i, batch in enumerate(batches()):
            target = collectors[i % 3]
            if i == 50:  # mid-stream: killed with this batch in flight (written or not, never answered)
                target.post(batch)
                os.kill(victim.proc.pid, signal.SIGKILL)
                victim.proc.wait(10)
                unanswered.append(batch)
                continue
            (acked if target.send(batch) else unanswered).append(batch)
        assert len(unanswered) > 1, "the killed collector was sent batches after it died"
        survivors = [c for c in collectors if c is not victim]
        for i, batch in enumerate(unanswered):  # the client resends to a collector that answers
            assert survivors[i % 2].send(batch)
            acked.append(batch)
    finally:
        for c in collectors:
            c.stop()
    store = ClickHouseStore(server.url)
    rows = store.client.query_arrow(
        "SELECT trace_id, span_id, agent_name, count() AS n FROM spans FINAL GROUP BY trace_id, span_id, agent_name"
    ).to_pylist()
    stored = {(r["trace_id"], r["span_id"]): r for r in rows}
    want = {(s["trace"], s["span_id"]) for b in acked for s in b["spans"]}  # type: ignore[attr-defined]
    assert want <= set(stored)
    assert all(r["n"] == 1 for r in rows) and len(rows) == len(stored)
    store.client.command("OPTIMIZE TABLE spans FINAL")
    raw = store.client.query_arrow("SELECT count() FROM spans").column(0)[0].as_py()
    assert raw == len(stored) == TRACES * 6  # every span once, resends and fix-ups merged away
    wrong = [k for k, r in stored.items() if r["agent_name"] != f"ag{int(k[0], 16) - 1}"]
    assert not wrong, f"spans without their parent's agent: {wrong[:5]}"
    store.close()
