"""Hostile filter values through the real query API: every parameter of every named query.

What the dashboard's filters and search box send ends up in these parameters. Each hostile value
must be answered 400 with a message, or 200 with exactly the rows an ordinary value that matches
nothing gets (so no value can widen, narrow or break a query); never a 5xx or a dropped connection.
Afterwards the spans table and the schema table are intact in the DuckDB file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.server import CollectorServer

HOSTILE = (
    "'",
    '"',
    "''",
    "\\",
    "'; DROP TABLE spans; --",
    '"; DROP TABLE spans; --',
    "x' OR '1'='1",
    "x') OR 1=1 --",
    "1; DELETE FROM spans",
    "$1",
    "?",
    "%",
    "_",
    "*",
    "' UNION SELECT * FROM meta --",
    "/* comment */",
    "ATTACH 'evil.duckdb' AS evil",
    "COPY spans TO '/tmp/x.csv'",
    "read_csv('/etc/passwd')",
    "é中文🦜\u202e",
    "\u0000",
    "a\u0000b",
    "\r\n",
    "x" * 199,
    "x" * 201,
    "y" * 20_000,
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999999",
)
# Typed parameters (numbers, enums, hex ids, flags) parse before anything else: a sample suffices.
TYPED_SAMPLE = (HOSTILE[0], HOSTILE[4], HOSTILE[6], HOSTILE[9], "\u0000", "y" * 20_000, "1e309", "NaN")
NO_MATCH = "nomatchvalue"
START, END = 1_600_000_000_000_000_000, 2_000_000_000_000_000_000


def _seed(url: str) -> int:
    spans = []
    for i in range(3):
        t = new_trace_id()
        root = S(
            "invoke workflow triage",
            t,
            attrs={"gen_ai.workflow.name": "triage", "gen_ai.operation.name": "invoke_workflow"},
        )
        agent = S("invoke agent router", t, parent=root.span_id, attrs={"gen_ai.agent.name": f"router{i}"})
        llm = S(
            "chat model",
            t,
            parent=agent.span_id,
            attrs={"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-5"},
        )
        spans += [root, agent, llm]
    body = request(spans, service="svc").SerializeToString()
    r = httpx.post(url + "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200
    return len(spans)


@pytest.mark.slow
def test_hostile_values_in_every_parameter_get_400_or_the_no_match_answer(
    start_collector: Callable[..., CollectorServer], db_path: Path
) -> None:
    server = start_collector()
    seeded = _seed(server.url)
    tried = 0
    failures: list[str] = []
    with httpx.Client(timeout=30) as client:
        queries = client.get(server.url + "/api/queries").json()["queries"]
        assert len(queries) >= 5
        for query in queries:
            names = {p["name"] for p in query["params"]}
            base = {k: str(v) for k, v in (("start_ns", START), ("end_ns", END)) if k in names}
            for p in query["params"]:  # required ones get an ordinary value unless under test
                if p["required"]:
                    base[p["name"]] = p["allowed"][0] if p.get("allowed") else "triage"
            url = f"{server.url}/api/query/{query['name']}"
            for param in query["params"]:
                if param["name"] in ("start_ns", "end_ns"):
                    continue
                if param["type"] == "str":
                    ref = client.get(url, params={**base, param["name"]: NO_MATCH})
                    assert ref.status_code == 200, (query["name"], param["name"], ref.text)
                    expected = ref.json()["rows"]
                for value in HOSTILE if param["type"] == "str" else TYPED_SAMPLE:
                    tried += 1
                    r = client.get(url, params={**base, param["name"]: value})  # raises if the connection drops
                    label = f"{query['name']}.{param['name']}={value[:30]!r}"
                    if r.status_code == 400:
                        if not r.json().get("error"):
                            failures.append(f"{label}: 400 without a message")
                    elif r.status_code != 200:
                        failures.append(f"{label}: {r.status_code} {r.text[:200]}")
                    elif param["type"] == "str" and r.json()["rows"] != expected:
                        failures.append(f"{label}: rows differ from a value that matches nothing")
        for name in ("'; DROP TABLE spans; --", "traces'--", "..%2F..%2Fetc"):
            tried += 1
            r = client.get(f"{server.url}/api/query/{name}")
            if r.status_code != 404:
                failures.append(f"query name {name!r}: {r.status_code}")
        r = client.get(f"{server.url}/api/query/traces", params={"format": "'; DROP TABLE spans; --"})
        tried += 1
        if r.status_code != 400:
            failures.append(f"format: {r.status_code}")
        assert client.get(server.url + "/health").json() == {"status": "ok"}
        listed = client.get(server.url + "/api/query/traces", params={"start_ns": START, "end_ns": END}).json()
    print(f"\nhostile query parameters: {tried} requests")
    assert not failures, "\n".join(failures[:40])
    assert len(listed["rows"]) == 3
    server.stop()
    assert stored_rows(db_path, "SELECT count(*) FROM spans") == [(seeded,)]
    assert stored_rows(db_path, "SELECT value FROM meta WHERE key = 'schema_version'")
