"""Producer processes of bench/soak.py: each sends spans to the collector and records what was acknowledged.

Two kinds, each in its own process (so producers do not share one GIL with each other or with the
sampler):

- `bodies`: the ingest benchmark's multi-agent traces (bench/ingest_bench.py `build_bodies`), one
  serialized OTLP/protobuf request used as a template whose trace and span ids are rewritten in place
  for every request (so every span sent is new and costs the producer almost nothing), posted raw
  over HTTP like an OTLP exporter: 429/503 are retried after Retry-After, a dropped connection is
  retried, a 200 acknowledges every span of the request.
- `sdk`: the real OTel SDK (`TracerProvider` + `BatchSpanProcessor` + `OTLPSpanExporter`), one
  pipeline per process; acknowledged = the exporter returned SUCCESS after its own retries.

Each producer writes the (trace_id, span_id) of every acknowledged span, in lowercase hex as the
collector stores them, to `<out>.csv`, and its counters to `<out>.json`.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import build_bodies

SDK_QUEUE = 20_000
TEXT = ("plan research critique draft answer the user asks about quarterly revenue and risk " * 4)[:250]
PB = {"Content-Type": "application/x-protobuf"}


@dataclass(frozen=True)
class ProducerSpec:
    index: int  # 0-255: part of every id this producer makes (bodies mode)
    mode: str  # "bodies" or "sdk"
    url: str  # the collector's /v1/traces
    until: float  # time.time() at which to stop starting new requests / traces
    out: str  # path prefix of the .csv (acknowledged ids) and .json (counters) this producer writes
    spans_per_request: int = 1000
    give_up_s: float = 120.0  # after `until`, how long an unacknowledged request keeps being retried


@dataclass
class ProducerReport:
    index: int
    produced: int = 0  # spans put in a request (bodies) or ended (sdk)
    acknowledged: int = 0
    failed: int = 0  # spans whose request was refused for good, or given up on
    requests: int = 0  # HTTP requests made, retries included (bodies mode)
    statuses: dict[str, int] = field(default_factory=dict)  # HTTP status -> answers (bodies mode)
    retry_after: list[str] = field(default_factory=list)  # distinct Retry-After values seen
    connection_errors: int = 0
    cpu_s: float = 0.0  # CPU time of this producer process

    def write(self, out: str) -> None:
        Path(out + ".json").write_text(json.dumps(asdict(self)))

    @staticmethod
    def read(out: str) -> ProducerReport:
        return ProducerReport(**json.loads(Path(out + ".json").read_text()))


def run_producer(spec: ProducerSpec) -> None:
    """Entry point of one producer process."""
    if spec.mode == "bodies":
        report = BodyProducer(spec).run()
    elif spec.mode == "sdk":
        report = SdkProducer(spec).run()
    else:
        raise ValueError(f"unknown producer mode {spec.mode!r}: use bodies or sdk")
    report.cpu_s = round(time.process_time(), 1)
    report.write(spec.out)


# --- raw protobuf bodies ---------------------------------------------------------------------------


def _occurrences(haystack: bytes, needle: bytes) -> list[int]:
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


class BodyTemplate:
    """One serialized request whose ids can be rewritten in place: id = marker, producer, request no., index."""

    def __init__(self, spans_per_request: int, seed: int) -> None:
        bodies, total = build_bodies(-(-spans_per_request // 10), spans_per_request, seed)
        assert len(bodies) == 1, "the template must be a single request"
        self.body = bodies[0]
        self.spans = total
        request = ExportTraceServiceRequest.FromString(self.body)
        spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        trace_ids = list(dict.fromkeys(s.trace_id for s in spans))
        span_ids = list(dict.fromkeys(s.span_id for s in spans))
        self.trace_at = [_occurrences(self.body, t) for t in trace_ids]
        self.span_at = [_occurrences(self.body, s) for s in span_ids]
        # every id must be found exactly where the message holds it (not by chance inside some text)
        assert sum(map(len, self.trace_at)) == len(spans)
        assert sum(map(len, self.span_at)) == len(spans) + sum(1 for s in spans if s.parent_span_id)
        trace_k = {t: k for k, t in enumerate(trace_ids)}
        span_k = {s: k for k, s in enumerate(span_ids)}
        self.pairs = [(f"{trace_k[s.trace_id]:04x}", f"{span_k[s.span_id]:04x}") for s in spans]
        self.salt = os.urandom(8)  # trace ids of one run differ from any other run's

    def stamp(self, producer: int, number: int) -> bytes:
        """The template with fresh ids for request `number` of `producer`."""
        buf = bytearray(self.body)
        head_t = self.salt + struct.pack(">BBI", 0x5A, producer, number)
        head_s = struct.pack(">BBI", 0xA5, producer, number)
        for k, offsets in enumerate(self.trace_at):
            value = head_t + k.to_bytes(2, "big")
            for o in offsets:
                buf[o : o + 16] = value
        for k, offsets in enumerate(self.span_at):
            value = head_s + k.to_bytes(2, "big")
            for o in offsets:
                buf[o : o + 8] = value
        return bytes(buf)

    def id_lines(self, producer: int, number: int) -> str:
        """'trace_id,span_id' lines (lowercase hex) of every span in request `number` of `producer`."""
        p = f"{producer:02x}{number:08x}"
        t, s = f"{self.salt.hex()}5a{p}", f"a5{p}"
        return "".join(f"{t}{tk},{s}{sk}\n" for tk, sk in self.pairs)


class BodyProducer:
    def __init__(self, spec: ProducerSpec) -> None:
        self.spec = spec
        self.template = BodyTemplate(spec.spans_per_request, seed=1000 + spec.index)
        self.report = ProducerReport(spec.index)
        self.statuses: Counter[str] = Counter()
        self.retry_after: set[str] = set()

    def run(self) -> ProducerReport:
        spec, n = self.spec, self.template.spans
        with httpx.Client(timeout=60) as client, open(spec.out + ".csv", "w") as acked:
            number = 0
            while time.time() < spec.until:
                body = self.template.stamp(spec.index, number)
                self.report.produced += n
                if self._post_until_answered(client, body):
                    acked.write(self.template.id_lines(spec.index, number))
                    self.report.acknowledged += n
                else:
                    self.report.failed += n
                number += 1
        self.report.statuses = dict(self.statuses)
        self.report.retry_after = sorted(self.retry_after)
        return self.report

    def _post_until_answered(self, client: httpx.Client, body: bytes) -> bool:
        give_up = self.spec.until + self.spec.give_up_s
        while time.time() < give_up:
            self.report.requests += 1
            try:
                r = client.post(self.spec.url, content=body, headers=PB)
            except httpx.TransportError:  # the collector is down (SIGKILL phase): retry like an exporter
                self.report.connection_errors += 1
                time.sleep(0.1)
                continue
            self.statuses[str(r.status_code)] += 1
            if r.status_code == 200:
                rejected = ExportTraceServiceResponse.FromString(r.content).partial_success.rejected_spans
                if rejected:
                    raise SystemExit(f"producer {self.spec.index}: the collector rejected {rejected} valid spans")
                return True
            if r.status_code in (429, 503):
                wait = r.headers.get("Retry-After", "1")
                self.retry_after.add(wait)
                time.sleep(min(float(wait), max(give_up - time.time(), 0.0)))
                continue
            return False
        return False


# --- the real OTel SDK -----------------------------------------------------------------------------


class SdkProducer:
    def __init__(self, spec: ProducerSpec) -> None:
        self.spec = spec
        self.ids: list[tuple[int, int]] = []
        self.acked = open(spec.out + ".csv", "w")  # noqa: SIM115 (closed in run)
        self.exporter = RecordingExporter(OTLPSpanExporter(endpoint=spec.url, timeout=120), self.acked)
        self.provider = TracerProvider(resource=Resource.create({"service.name": f"soak-{spec.index}"}))
        self.provider.add_span_processor(
            BatchSpanProcessor(
                self.exporter, max_queue_size=SDK_QUEUE, max_export_batch_size=512, schedule_delay_millis=100
            )
        )

    def run(self) -> ProducerReport:
        tracer = self.provider.get_tracer("agentdeck.soak")
        ended = 0
        while time.time() < self.spec.until:
            # backpressure: never let the SDK's own queue overflow (it would drop spans silently)
            while ended - self.exporter.done() > SDK_QUEUE // 2 and time.time() < self.spec.until + 60:
                time.sleep(0.005)
            with tracer.start_as_current_span("invoke_workflow soak", attributes={"gen_ai.workflow.name": "soak"}):
                for agent in ("planner", "researcher", "writer"):
                    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
                    with tracer.start_as_current_span(f"invoke_agent {agent}", attributes=attrs):
                        llm: dict[str, str | int] = {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "claude-sonnet-4-5",
                            "gen_ai.usage.input_tokens": 1200,
                            "gen_ai.usage.output_tokens": 300,
                            "gen_ai.input.messages": json.dumps([{"role": "user", "content": TEXT}]),
                            "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": TEXT}]),
                        }
                        with tracer.start_as_current_span("chat claude-sonnet-4-5", attributes=llm):
                            pass
                        with tracer.start_as_current_span("execute_tool search"):
                            pass
            ended += 10
        self.provider.force_flush(int(self.spec.give_up_s * 1000))  # waits for retries
        self.provider.shutdown()
        self.acked.close()
        return ProducerReport(
            self.spec.index, produced=ended, acknowledged=self.exporter.acked, failed=self.exporter.failed
        )


class RecordingExporter(SpanExporter):
    """Delegates to the OTLP exporter and writes the ids it got acknowledged (all retries done)."""

    def __init__(self, inner: OTLPSpanExporter, acked: TextIO) -> None:
        self.inner = inner
        self.out = acked
        self.lock = threading.Lock()
        self.acked = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        ids = [s.context for s in spans if s.context is not None]
        with self.lock:
            if result is SpanExportResult.SUCCESS:
                self.out.write("".join(f"{c.trace_id:032x},{c.span_id:016x}\n" for c in ids))
                self.acked += len(ids)
            else:
                self.failed += len(ids)
        return result

    def done(self) -> int:
        with self.lock:
            return self.acked + self.failed

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)
