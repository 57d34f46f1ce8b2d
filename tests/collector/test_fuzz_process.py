"""The hostile corpus (test_fuzz_corpus.py) against the collector process (`python -m agentdeck.collector`).

Every case must get its expected 2xx/4xx answer with a message, never a 5xx or a dropped
connection; /health must answer after each case; the valid spans riding in the same requests must
be in the DuckDB file afterwards (once, no duplicates); and the process's memory must stay bounded
(RSS read from /proc before and after each of three rounds of the corpus, plus the peak).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from test_fuzz_corpus import JS, LIMIT, PB, Case, corpus, mixed_request

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 3

# --- running the collector process -----------------------------------------------------------


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field_name} not in /proc/{pid}/status")


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    db = tmp_path / "fuzz.duckdb"
    env = dict(os.environ)
    argv = [
        sys.executable,
        "-m",
        "agentdeck.collector",
        "--db-path",
        str(db),
        "--port",
        "0",
        "--max-body-bytes",
        str(LIMIT),
    ]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        pytest.fail(f"collector did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    try:
        yield proc, line.split("listening on ", 1)[1].split()[0], db
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _message(r: httpx.Response) -> str:
    ct = r.headers.get("content-type", "")
    if ct.startswith(PB):
        return status_pb2.Status.FromString(r.content).message
    if ct.startswith(JS):
        return str(json.loads(r.content).get("message", ""))
    return r.text


def _rejected(r: httpx.Response) -> int:
    if r.headers["content-type"].startswith(PB):
        return ExportTraceServiceResponse.FromString(r.content).partial_success.rejected_spans
    return json_format.Parse(r.content, ExportTraceServiceResponse()).partial_success.rejected_spans


def _send(client: httpx.Client, url: str, case: Case) -> httpx.Response:
    content = iter(case.body) if isinstance(case.body, list) else case.body
    return client.request(case.method, url + case.path, content=content, headers=case.headers)


@pytest.mark.slow
def test_hostile_corpus_gets_clean_answers_keeps_valid_spans_and_bounded_memory(
    collector_process: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, url, db = collector_process
    cases = corpus()
    failures: list[str] = []
    with httpx.Client(timeout=60) as client:
        assert client.get(url + "/health").status_code == 200
        warm = mixed_request(1, [])[0].SerializeToString()
        assert client.post(url + "/v1/traces", content=warm, headers={"Content-Type": PB}).status_code == 200
        rss = [rss_kib(proc.pid)]
        for _ in range(ROUNDS):
            for case in cases:
                r = _send(client, url, case)  # a dropped connection raises here
                problem = ""
                if r.status_code not in case.expect:
                    problem = f"status {r.status_code} (expected {sorted(case.expect)}): {r.text[:200]}"
                elif r.status_code >= 400 and not (_message(r).strip() and case.says in _message(r)):
                    problem = f"{r.status_code} message {_message(r)[:200]!r} lacks {case.says!r}"
                elif r.status_code == 200 and case.rejected is not None and _rejected(r) != case.rejected:
                    problem = f"partial_success rejected {_rejected(r)}, expected {case.rejected}"
                if problem:
                    failures.append(f"{case.name}: {problem}")
                health = client.get(url + "/health")
                assert health.status_code == 200, f"/health after {case.name!r}: {health.status_code}"
            rss.append(rss_kib(proc.pid))
        peak = rss_kib(proc.pid, "VmHWM")
    print(f"\nfuzz corpus: {len(cases)} cases x {ROUNDS} rounds; RSS KiB per round {rss}, peak {peak}")
    assert not failures, "\n".join(failures)
    # Memory: what the first round allocates (DuckDB buffers, caches) may stay; later rounds must not add to it,
    # and the peak stays far below what the bombs and huge bodies would take if they were held whole.
    assert rss[-1] - rss[1] < 96 * 1024, f"RSS grew round over round: {rss} KiB"
    assert peak - rss[0] < 384 * 1024, f"peak RSS {peak} KiB from {rss[0]} KiB at the start"

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    want = {sid for case in cases for sid in case.valid}
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = {row[0] for row in conn.execute("SELECT span_id FROM spans").fetchall()}
        ((total, distinct),) = conn.execute(
            "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans"
        ).fetchall()
    assert want <= stored, f"{len(want - stored)} valid spans from hostile requests were not stored"
    assert total == distinct, "a resent or repeated span was stored twice"
