"""`agentdeck demo` as a user runs it: one command, every part up, live traces, Ctrl-C stops all, no duplicates."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentdeck.cli.launch import port_is_free
from agentdeck.cli.otlp_files import read_request
from tests.conftest import SAMPLES, free_port

pytestmark = pytest.mark.slow
READY = "Press Ctrl-C to stop."


def spans_per_trace(collector: str) -> dict[str, int]:
    body = httpx.get(f"{collector}/api/query/traces", params={"limit": 5000, "start_ns": 0}, timeout=10).json()
    tid, n = body["columns"].index("trace_id"), body["columns"].index("span_count")
    return {row[tid]: int(row[n]) for row in body["rows"]}


def live_traces(collector: str, samples: set[str]) -> int:
    """Traces that are neither samples nor the demo's replayable triage tasks."""
    body = httpx.get(f"{collector}/api/query/traces", params={"limit": 5000, "start_ns": 0}, timeout=10).json()
    tid, wf = body["columns"].index("trace_id"), body["columns"].index("workflow_name")
    return sum(1 for row in body["rows"] if row[tid] not in samples and row[wf] != "triage")


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if predicate():
            return True
        time.sleep(0.25)
    return False


class Demo:
    def __init__(self, data_dir: Path, samples: Path, cport: int, dport: int, *extra: str) -> None:
        self.log = data_dir.parent / f"demo-{time.monotonic_ns()}.log"
        cmd = [sys.executable, "-m", "agentdeck", "demo", "--data-dir", str(data_dir), "--samples", str(samples),
               "--collector-port", str(cport), "--dashboard-port", str(dport), *extra]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        ok = wait_for(lambda: READY in self.output() or self.proc.poll() is not None, 120)
        assert ok and self.proc.poll() is None, f"demo did not come up:\n{self.output()[-3000:]}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def test_demo_starts_everything_streams_live_runs_stops_cleanly_and_never_duplicates(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    first = SAMPLES / "incident.pb.gz"
    shutil.copy(first, samples / first.name)
    request = read_request(first)
    expected = Counter(s.trace_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
    data_dir = tmp_path / "data"
    cport, dport = free_port(), free_port()
    collector, dashboard = f"http://127.0.0.1:{cport}", f"http://127.0.0.1:{dport}"

    demo = Demo(data_dir, samples, cport, dport, "--interval", "0.2")
    try:
        demo.wait_ready()
        assert httpx.get(f"{dashboard}/_stcore/health", timeout=5).text == "ok"
        assert httpx.get(f"{collector}/health", timeout=5).status_code == 200
        assert dashboard in demo.output() and collector in demo.output()
        # The failed triage tasks are a dataset, run again with the fixed classifier prompt: fixed, none broken.
        assert re.search(r"experiment: [1-9]\d* fixed, 0 broken, \d+ unchanged, \+\$\d", demo.output()), demo.output()
        stored = spans_per_trace(collector)
        assert {t: stored.get(t) for t in expected} == dict(expected), "sample traces not fully loaded"
        # Live simulated runs keep adding traces of other workflows than the replayable triage seed.
        assert wait_for(lambda: live_traces(collector, set(expected)) > 0, 90), "no live traces arrived"
    finally:
        code = demo.stop()
    assert code == 0, demo.output()[-3000:]
    assert "agentdeck demo stopped." in demo.output()
    assert port_is_free("127.0.0.1", cport) and port_is_free("127.0.0.1", dport), "a child outlived the demo"

    # Again over the same data directory: the samples are sent again and deduplicated, not doubled.
    demo = Demo(data_dir, samples, cport, dport, "--no-live")
    try:
        demo.wait_ready()
        stored = spans_per_trace(collector)
        assert {t: stored.get(t) for t in expected} == dict(expected)
        assert "experiment: " in demo.output() and "run failed" not in demo.output()  # resumed: nothing re-run
    finally:
        assert demo.stop() == 0


def test_demo_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "agentdeck", "demo", "--data-dir", str(tmp_path),
             "--collector-port", str(port), "--dashboard-port", str(free_port())],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert out.returncode == 2
    assert f"port {port}" in out.stderr and "--collector-port" in out.stderr


def test_demo_live_runs_use_mcp_tools_wait_for_review_and_resume_after_a_decision(tmp_path: Path) -> None:
    from agentdeck.engine.review import ReviewQueue

    data_dir = tmp_path / "data"
    cport, dport = free_port(), free_port()
    collector = f"http://127.0.0.1:{cport}"
    demo = Demo(data_dir, tmp_path / "no-samples", cport, dport, "--interval", "0.2")

    def support_mcp_traces() -> int:
        body = httpx.get(
            f"{collector}/api/query/traces",
            params={"limit": 5000, "start_ns": 0, "workflow": "support_mcp"},
            timeout=10,
        ).json()
        return len(body["rows"])

    def pending() -> list[int]:
        db = data_dir / "checkpoints.sqlite"
        if not db.exists():
            return []
        with ReviewQueue(db) as queue:
            return [i.id for i in queue.items()]

    try:
        demo.wait_ready()
        assert wait_for(lambda: support_mcp_traces() > 0, 180), f"no support_mcp traces:\n{demo.output()[-2000:]}"
        assert wait_for(lambda: bool(pending()), 240), f"no task waited for review:\n{demo.output()[-2000:]}"
        with ReviewQueue(data_dir / "checkpoints.sqlite") as queue:
            item = queue.approve(pending()[0], by="demo tester")
        assert wait_for(lambda: f"resumed {item.task_id} after its review" in demo.output(), 180), demo.output()[-3000:]
    finally:
        code = demo.stop()
    assert code == 0, demo.output()[-3000:]


def test_the_demo_loads_the_repositorys_sample_traces_by_default() -> None:
    # `./scripts/demo` passes no --samples: the default must be the repository's sample_traces/ wherever
    # the CLI module sits (it moved once, and the demo then started with no sample data at all).
    from agentdeck.cli.demo import REPO_SAMPLES

    assert Path(__file__).resolve().parents[2] / "sample_traces" == REPO_SAMPLES
    assert any(REPO_SAMPLES.glob("*.pb*")) or any(REPO_SAMPLES.glob("*.json*")), f"no OTLP files in {REPO_SAMPLES}"
