"""Soak, overload and crash test of the collector through the real network path and the real OTel SDK.

    .venv/bin/python bench/soak.py --minutes 3 --producers 4

Three phases, each against a fresh `python -m collector` subprocess and DuckDB file:

1. soak: `--producers` threads, each with its own TracerProvider + BatchSpanProcessor +
   OTLPSpanExporter, emit multi-agent traces (10 spans, ~0.5 KB of prompt/answer text per LLM span)
   for `--minutes`; the collector's RSS is sampled every `--sample-s` seconds. Then every span an
   exporter had acknowledged must be stored exactly once (checked by span id in the DuckDB file).
2. overload: the same producers against a collector with a tiny queue (`--queue-max-spans 1000`, two SDK batches);
   the collector must answer 503 + Retry-After, and the SDK's retries must still land every span.
3. SIGKILL: producers stream to a fixed port; the collector is killed with SIGKILL mid-stream and
   restarted on the same file and port; the SDK's retries carry on. Every span acknowledged before
   or after the crash must be stored exactly once, and the file must open.

Prints one JSON document with the figures (docs/RELIABILITY.md quotes them). Exit status 1 when
an acknowledged span is missing or stored twice.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

REPO = Path(__file__).resolve().parents[1]
SDK_QUEUE = 20_000
TEXT = ("plan research critique draft answer the user asks about quarterly revenue and risk " * 4)[:250]


class RecordingExporter(SpanExporter):
    """Delegates to the OTLP exporter and records which span ids it got acknowledged (all retries done)."""

    def __init__(self, inner: OTLPSpanExporter) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.acked: list[int] = []
        self.failed: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        ids = [s.context.span_id for s in spans if s.context is not None]
        with self.lock:
            (self.acked if result is SpanExportResult.SUCCESS else self.failed).extend(ids)
        return result

    def done(self) -> int:
        with self.lock:
            return len(self.acked) + len(self.failed)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


@dataclass
class Producer:
    name: str
    endpoint: str
    produced: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.exporter = RecordingExporter(OTLPSpanExporter(endpoint=self.endpoint, timeout=120))
        self.provider = TracerProvider(resource=Resource.create({"service.name": self.name}))
        self.provider.add_span_processor(
            BatchSpanProcessor(
                self.exporter, max_queue_size=SDK_QUEUE, max_export_batch_size=512, schedule_delay_millis=100
            )
        )

    def run(self, until: float) -> None:
        tracer = self.provider.get_tracer("agentdeck.soak")
        ids = self.produced
        while time.monotonic() < until:
            # backpressure: never let the SDK's own queue overflow (it would drop spans silently)
            while len(ids) - self.exporter.done() > SDK_QUEUE // 2 and time.monotonic() < until + 60:
                time.sleep(0.005)
            with tracer.start_as_current_span("invoke_workflow soak", attributes={"gen_ai.workflow.name": "soak"}) as w:
                ids.append(w.get_span_context().span_id)
                for agent in ("planner", "researcher", "writer"):
                    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
                    with tracer.start_as_current_span(f"invoke_agent {agent}", attributes=attrs) as a:
                        ids.append(a.get_span_context().span_id)
                        llm: dict[str, str | int] = {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "claude-sonnet-4-5",
                            "gen_ai.usage.input_tokens": 1200,
                            "gen_ai.usage.output_tokens": 300,
                            "gen_ai.input.messages": json.dumps([{"role": "user", "content": TEXT}]),
                            "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": TEXT}]),
                        }
                        with tracer.start_as_current_span("chat claude-sonnet-4-5", attributes=llm) as c:
                            ids.append(c.get_span_context().span_id)
                        with tracer.start_as_current_span("execute_tool search") as t:
                            ids.append(t.get_span_context().span_id)

    def finish(self) -> None:
        self.provider.force_flush(300_000)  # waits for retries; shutdown() would cut them short
        self.provider.shutdown()


@dataclass
class Collector:
    db: Path
    port: int
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Collector:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        argv = [sys.executable, "-m", "collector", "--db-path", str(self.db), "--port", str(self.port), *self.extra]
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            raise SystemExit(f"collector did not start: {line!r}")
        return self

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe_request(spans: int = 400) -> bytes:
    """A raw OTLP body of `spans` fresh spans (for the overload probe: big enough to meet a full queue)."""
    now = time.time_ns()
    trace = os.urandom(16)
    batch = [
        Span(trace_id=trace, span_id=os.urandom(8), name="probe", start_time_unix_nano=now, end_time_unix_nano=now)
        for _ in range(spans)
    ]
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=batch)])])
    return request.SerializeToString()


def stored_ids(db: Path) -> tuple[set[int], int, int]:
    """(span ids, rows, distinct (trace_id, span_id)) of a stopped collector's file."""
    with duckdb.connect(str(db), read_only=True) as conn:
        ids = {int(r[0], 16) for r in conn.execute("SELECT span_id FROM spans").fetchall()}
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans").fetchone()  # type: ignore[misc]
    return ids, int(rows), int(distinct)


def produce(producers: list[Producer], seconds: float) -> list[threading.Thread]:
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=p.run, args=(until,), name=p.name) for p in producers]
    for t in threads:
        t.start()
    return threads


def verdict(producers: list[Producer], db: Path, seconds: float) -> dict[str, object]:
    produced = {i for p in producers for i in p.produced}
    acked = {i for p in producers for i in p.exporter.acked}
    failed = {i for p in producers for i in p.exporter.failed}
    stored, rows, distinct = stored_ids(db)
    return {
        "produced": len(produced),
        "acknowledged": len(acked),
        "export_failed_after_retries": len(failed),
        "stored_rows": rows,
        "acknowledged_missing": len(acked - stored),
        "duplicates": rows - distinct,
        "produced_missing": len(produced - stored),
        "spans_per_s": round(len(acked) / seconds),
        "ok": not (acked - stored) and rows == distinct,
    }


def soak(tmp: Path, minutes: float, n: int, sample_s: float) -> dict[str, object]:
    c = Collector(tmp / "soak.duckdb", free_port()).start()
    producers = [Producer(f"soak-{i}", c.url + "/v1/traces") for i in range(n)]
    started = time.monotonic()
    threads = produce(producers, minutes * 60)
    samples: list[tuple[int, float]] = []
    while any(t.is_alive() for t in threads):
        samples.append((round(time.monotonic() - started), round(c.rss_mib(), 1)))
        print(f"soak t={samples[-1][0]:>4}s collector RSS {samples[-1][1]:7.1f} MiB", file=sys.stderr, flush=True)
        for t in threads:
            t.join(sample_s / max(len(threads), 1))
    for p in producers:
        p.finish()
    elapsed = time.monotonic() - started
    metrics = httpx.get(c.url + "/metrics").json()
    c.stop()
    out = verdict(producers, c.db, elapsed)
    warm = [m for s, m in samples if s >= 30] or [m for _, m in samples]
    third = max(len(warm) // 3, 1)
    out |= {
        "seconds": round(elapsed),
        "rss_mib_samples": samples,
        "rss_mib_max_first_third": max(warm[:third]),
        "rss_mib_max_last_third": max(warm[-third:]),
        "requests_rejected": metrics.get("requests_rejected"),
        "db_bytes_per_span": round(c.db.stat().st_size / max(int(str(out["stored_rows"])), 1)),
    }
    return out


def overload(tmp: Path, seconds: float, n: int) -> dict[str, object]:
    tiny = ["--queue-max-spans", "1000", "--batch-max-spans", "500", "--flush-interval-ms", "50"]
    c = Collector(tmp / "overload.duckdb", free_port(), tiny).start()
    producers = [Producer(f"overload-{i}", c.url + "/v1/traces") for i in range(n)]
    started = time.monotonic()
    threads = produce(producers, seconds)
    retry_after: set[str] = set()
    statuses: dict[int, int] = {}
    probe = httpx.Client(timeout=30)
    while any(t.is_alive() for t in threads):  # a raw client sees what the SDK sees
        body = probe_request()
        r = probe.post(c.url + "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code in (429, 503):
            retry_after.add(r.headers.get("Retry-After", "(none)"))
        time.sleep(0.05)
    probe.close()
    for p in producers:
        p.finish()
    elapsed = time.monotonic() - started
    metrics = httpx.get(c.url + "/metrics").json()
    c.stop()
    out = verdict(producers, c.db, elapsed)
    out |= {
        "seconds": round(elapsed),
        "requests_rejected": metrics.get("requests_rejected"),
        "probe_statuses": statuses,
        "retry_after_values": sorted(retry_after),
    }
    rejected = metrics.get("requests_rejected") or {}
    out["ok"] = bool(out["ok"]) and rejected.get("overloaded", 0) > 0 and out["produced_missing"] == 0
    return out


def crash(tmp: Path, seconds: float, n: int) -> dict[str, object]:
    c = Collector(tmp / "crash.duckdb", free_port()).start()
    producers = [Producer(f"crash-{i}", c.url + "/v1/traces") for i in range(n)]
    started = time.monotonic()
    threads = produce(producers, seconds)
    deadline = time.monotonic() + seconds
    while sum(len(p.exporter.acked) for p in producers) < 5_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    acked_before = {i for p in producers for i in p.exporter.acked}
    c.kill()  # SIGKILL mid-stream
    killed_at = round(time.monotonic() - started, 1)
    c.start()  # same file, same port: the exporters' retries find it again
    for t in threads:
        t.join()
    for p in producers:
        p.finish()
    elapsed = time.monotonic() - started
    c.stop()
    out = verdict(producers, c.db, elapsed)
    stored, _, _ = stored_ids(c.db)
    out |= {
        "seconds": round(elapsed),
        "killed_at_s": killed_at,
        "acknowledged_before_kill": len(acked_before),
        "acknowledged_before_kill_missing": len(acked_before - stored),
    }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the soak phase")
    parser.add_argument("--producers", type=int, default=4, help="producer threads (one SDK pipeline each)")
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--phase-s", type=float, default=30.0, help="length of the overload and crash phases")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "soak": soak(Path(tmp), args.minutes, args.producers, args.sample_s),
            "overload": overload(Path(tmp), args.phase_s, args.producers),
            "sigkill": crash(Path(tmp), args.phase_s, args.producers),
        }
    print(json.dumps(result, indent=2))
    return 0 if all(bool(r["ok"]) for r in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
