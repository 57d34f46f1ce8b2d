"""The ingest pipeline shared by OTLP/HTTP and OTLP/gRPC: decode -> normalize (and price) -> redact ->
writer queue, and the OTLP answers (ExportTraceServiceResponse with partial_success, or google.rpc.Status)."""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import cast

import pyarrow as pa
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from agentdeck.collector.ingest.decode import Encoding
from agentdeck.collector.ingest.errors import IngestError, grpc_answer
from agentdeck.collector.ingest.lineage import SpanFacts
from agentdeck.collector.ingest.model import DecodedRequest
from agentdeck.collector.ingest.redact import Redactor
from agentdeck.collector.ingest.workers import DecodePool
from agentdeck.collector.ingest.writer import Writer, WriteResult
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine.pricing import PriceTable


@dataclass(frozen=True, slots=True)
class Accepted:
    """A request whose valid spans are queued; `durable` completes once they are committed."""

    request: DecodedRequest
    durable: Future[WriteResult]


def default_workers() -> int:
    """Decode worker processes when the `ingest_workers` setting is unset: one per core (at most 4),
    none on a 1-core machine. The server process mostly waits on DuckDB, so on 2 cores two workers
    beat one (22,600 vs 20,100 spans/s on a quiet machine, docs/BENCHMARKS.md)."""
    cores = os.cpu_count() or 1
    return min(4, cores) if cores > 1 else 0


class Receiver:
    def __init__(
        self,
        writer: Writer,
        prices: PriceTable,
        metrics: Metrics,
        max_body_bytes: int,
        redactor: Redactor,
        workers: int | None = None,
    ) -> None:
        """`workers`: processes that decode large bodies (None: `default_workers()`, 0: none)."""
        self.writer = writer
        self.prices = prices
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.redactor = redactor
        self.pool = DecodePool(prices, redactor, default_workers() if workers is None else workers)
        weakref.finalize(self, self.pool.close)

    def close(self) -> None:
        """Stop the decode workers (the in-process path keeps working)."""
        self.pool.close()

    def accept_http(
        self, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> tuple[Encoding, Accepted]:
        """Decode and queue one OTLP/HTTP (or gRPC) body. Raises IngestError, counted in /metrics here
        (the caller counts only the refusals it makes itself, before calling)."""
        received_ns = time.time_ns()
        try:
            work = self.pool.run(
                body, content_type, content_encoding, self.max_body_bytes, self.writer.queue_max_spans, received_ns
            )
        except IngestError as exc:
            self.metrics.rejected_request(exc.reason)
            raise
        return work.encoding, self._queue(work.decoded, work.rows, work.table)

    def _queue(self, decoded: DecodedRequest, rows: Sequence[SpanFacts], table: pa.Table | None = None) -> Accepted:
        self.metrics.rejected_spans("invalid_span", decoded.rejected)
        try:
            future = self.writer.submit(rows, table)
        except IngestError as exc:
            self.metrics.rejected_request(exc.reason)
            self.metrics.rejected_spans(exc.reason, len(rows))
            raise
        self.metrics.received(cast(Sequence[SpanRow], rows))  # it reads service_name and convention
        return Accepted(request=decoded, durable=future)


def export_response(decoded: DecodedRequest) -> ExportTraceServiceResponse:
    response = ExportTraceServiceResponse()
    if decoded.rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=decoded.rejected, error_message=decoded.error_message())
        )
    return response


def encode_message(message: ExportTraceServiceResponse | status_pb2.Status, encoding: Encoding) -> bytes:
    if encoding is Encoding.PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode("utf-8")


def error_status(exc: IngestError) -> status_pb2.Status:
    """The google.rpc.Status body of an OTLP/HTTP refusal (its code from the one error map)."""
    code, message, _ = grpc_answer(exc)
    return status_pb2.Status(code=code, message=message)
