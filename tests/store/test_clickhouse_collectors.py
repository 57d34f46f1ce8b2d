"""Three `agentdeck collector` processes on one ClickHouse (the local test server): OTLP requests
spread over them, one collector SIGKILLed with a request in flight, the client resending what was
not answered to the others. Every acknowledged span is stored exactly once, and a child whose parent
reached another collector gets the parent's agent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clickhouse_server import ClickHouseTestServer, start_server

from agentdeck.collector.store.clickhouse.store import ClickHouseStore
from tests.collector.otlp_payloads import S, request

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

REPO = Path(__file__).resolve().parents[2]
TRACES = 60
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClickHouseTestServer]:
    with start_server(tmp_path / "ch") as srv:
        yield srv


def start_collector(store_url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.collector", "--store", store_url, "--port", "0", "--flush-interval-ms", "2",
         "--alert-interval-s", "3600"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "agentdeck collector listening on http://127.0.0.1:PORT ..."
    if "listening on " not in line:
        proc.kill()
        pytest.fail(f"collector did not start: {line}")
    return proc, line.split("listening on ", 1)[1].split()[0]


def requests() -> list[tuple[str, bytes, list[str]]]:
    """Per trace: its children in one request, their agent (the parent) in the next, so the two
    halves of a trace reach different collectors. (name, body, span ids)"""
    out = []
    for t in range(TRACES):
        trace = f"{t + 1:032x}"
        agent = S(
            f"invoke_agent ag{t}",
            trace,
            f"a{t:015x}",
            start_ns=1_700_000_000_000_000_000 + t,
            attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"ag{t}"},
        )
        children = [
            S("step", trace, f"c{t:07x}{i:08x}", parent=agent.span_id, start_ns=agent.start_ns + 1 + i)
            for i in range(5)
        ]
        out.append((f"{t}-children", request(children).SerializeToString(), [c.span_id for c in children]))
        out.append((f"{t}-parent", request([agent]).SerializeToString(), [agent.span_id]))
    return out


def test_a_killed_collector_loses_nothing_it_acknowledged_and_lineage_spans_collectors(
    server: ClickHouseTestServer,
) -> None:
    ClickHouseStore(server.url).close()  # the schema, once (as the first collector would)
    collectors = [start_collector(server.url) for _ in range(3)]
    acked: list[tuple[str, bytes, list[str]]] = []
    unanswered: list[tuple[str, bytes, list[str]]] = []
    victim = 50 % 3
    try:
        with httpx.Client(timeout=30) as client:

            def post(i: int, body: bytes) -> bool:
                try:
                    return (
                        client.post(f"{collectors[i][1]}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
                    )
                except httpx.HTTPError:
                    return False

            for i, item in enumerate(requests()):
                target = i % 3
                if i == 50:  # mid-stream: killed with this request in flight (stored or not, never answered)
                    flight = threading.Thread(target=post, args=(target, item[1]))
                    flight.start()
                    os.kill(collectors[target][0].pid, signal.SIGKILL)
                    collectors[target][0].wait(10)
                    flight.join(30)
                    unanswered.append(item)
                    continue
                ok = post(target, item[1])
                assert ok or (target == victim and i > 50), item[0]  # only the dead collector does not answer
                (acked if ok else unanswered).append(item)
            survivors = [i for i in range(3) if i != victim]
            assert len(unanswered) > 1
            for n, item in enumerate(unanswered):  # the client resends to a collector that answers
                assert post(survivors[n % 2], item[1]), item[0]
                acked.append(item)
    finally:
        for proc, _ in collectors:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    store = ClickHouseStore(server.url)
    rows = store.client.query_arrow(
        "SELECT trace_id, span_id, agent_name, count() AS n FROM spans FINAL GROUP BY trace_id, span_id, agent_name"
    ).to_pylist()
    stored = {(r["trace_id"], r["span_id"]): r for r in rows}
    assert all(r["n"] == 1 for r in rows) and len(rows) == len(stored)
    want = {(f"{int(name.split('-')[0]) + 1:032x}", s) for name, _, ids in acked for s in ids}
    assert want <= set(stored)
    store.client.command("OPTIMIZE TABLE spans FINAL")
    raw = store.client.query_arrow("SELECT count() FROM spans").column(0)[0].as_py()
    assert raw == len(stored) == TRACES * 6  # every span once: resends and fix-ups merged away
    wrong = [k for k, r in stored.items() if r["agent_name"] != f"ag{int(k[0], 16) - 1}"]
    assert not wrong, f"spans without their parent's agent: {wrong[:5]}"
    store.close()
