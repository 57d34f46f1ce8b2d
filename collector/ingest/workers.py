"""Decode, normalize (which prices) and redact large OTLP bodies in worker processes, so the Python
work of ingest runs on more than one core while the writer thread stays the single owner of the
DuckDB file.

Only bodies of at least `min_body_bytes` go to the pool (small requests are cheaper in-process and
never start it); the pool starts on the first such body (forkserver: one server process, then a
cheap fork per worker). A worker answers with the request's rejections and its rows as an Arrow
table (cheap to send back; the `RowFacts` the writer needs are read out of its columns here), or,
when the rows cannot be made into Arrow, as plain tuples rebuilt into `SpanRow`s, so the writer
reports the problem as it does in-process. Errors are the same `IngestError`s the in-process path
raises. A worker exits on its own when the collector process is gone (even after SIGKILL), so none
is left behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import NamedTuple, cast

import pyarrow as pa

from agentdeck.collector.ingest.decode import Encoding, decode_request
from agentdeck.collector.ingest.errors import DATA_ERRORS
from agentdeck.collector.ingest.lineage import SpanFacts
from agentdeck.collector.ingest.model import DecodedRequest
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.ingest.redact import Redactor
from agentdeck.collector.store.schema import SpanRow, rows_to_arrow
from agentdeck.engine.pricing import PriceTable

log = logging.getLogger(__name__)


class RowFacts(NamedTuple):
    """The part of a normalized row the writer reads in Python (see `lineage.SpanFacts`)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    scope_name: str | None
    span_type: str
    agent_name: str | None
    input_tokens: int | None
    output_tokens: int | None
    usage_counted: bool
    start_ns: int
    end_ns: int
    received_ns: int
    service_name: str | None
    convention: str


_FACTS = RowFacts._fields


@dataclass(frozen=True, slots=True)
class Work:
    """One decoded body: `rows` are SpanRows, or RowFacts with `table` holding every column."""

    encoding: Encoding
    decoded: DecodedRequest
    rows: Sequence[SpanFacts]
    table: pa.Table | None = None


_state: tuple[PriceTable, Redactor] | None = None  # in a worker: set by `_init`


def decode_rows(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_bytes: int,
    max_spans: int | None,
    prices: PriceTable,
    redactor: Redactor,
    received_ns: int,
) -> Work:
    """One OTLP/HTTP body -> its decoded request and redacted rows. Raises IngestError."""
    encoding, decoded = decode_request(body, content_type, content_encoding, max_bytes, max_spans)
    redact = redactor.redact_row
    rows = [redact(normalize(span, prices, received_ns)) for span in decoded.spans]
    return Work(encoding, decoded, rows)


def _init(prices: PriceTable, redactor: Redactor, owner_pid: int) -> None:
    global _state
    _state = (prices, redactor)
    threading.Thread(target=_exit_with_owner, args=(owner_pid,), name="owner-watch", daemon=True).start()


def _exit_with_owner(owner_pid: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # a pid reused by another user's process: the owner is gone
            os._exit(0)


def _work(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_bytes: int,
    max_spans: int | None,
    received_ns: int,
) -> tuple[Encoding, DecodedRequest, pa.Table | list[tuple[object, ...]]]:
    """In a worker: the rows as an Arrow table (cheap to send back; the collector reads the
    RowFacts out of its columns); when the rows cannot be made into Arrow, the rows themselves, so
    the writer reports the problem as it does in-process."""
    assert _state is not None, "worker not initialized"
    prices, redactor = _state
    work = decode_rows(body, content_type, content_encoding, max_bytes, max_spans, prices, redactor, received_ns)
    light = DecodedRequest(spans=(), rejected=work.decoded.rejected, rejections=work.decoded.rejections)
    rows = cast(list[SpanRow], work.rows)
    try:
        return work.encoding, light, rows_to_arrow(rows)
    except DATA_ERRORS:  # left for the writer to report, as in-process
        return work.encoding, light, [tuple(row) for row in rows]  # plain tuples pickle cheaper


def row_facts(table: pa.Table) -> list[RowFacts]:
    """The RowFacts of every row of a `spans`-shaped Arrow table, read column by column."""
    columns = [table.column(name).to_pylist() for name in _FACTS]
    return list(map(RowFacts._make, zip(*columns, strict=True)))


class DecodePool:
    """A lazily started process pool for `decode_rows`; `run()` falls back to in-process work
    when the pool is off, the body is small, or the pool broke (then it is restarted next time)."""

    def __init__(self, prices: PriceTable, redactor: Redactor, workers: int, min_body_bytes: int = 64 * 1024) -> None:
        self.prices = prices
        self.redactor = redactor
        self.workers = workers
        self.min_body_bytes = min_body_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _executor(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._closed:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=_init,
                    initargs=(self.prices, self.redactor, os.getpid()),
                )
            return self._pool

    def run(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        max_bytes: int,
        max_spans: int | None,
        received_ns: int,
    ) -> Work:
        pool = self._executor() if self.workers > 0 and len(body) >= self.min_body_bytes else None
        if pool is not None:
            try:
                answer = pool.submit(_work, body, content_type, content_encoding, max_bytes, max_spans, received_ns)
                result = answer.result()
            except BrokenProcessPool:
                log.warning("an ingest worker process died; decoding this request in-process and restarting the pool")
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            else:
                encoding, decoded, rows = result
                if isinstance(rows, pa.Table):
                    return Work(encoding, decoded, row_facts(rows), rows)
                return Work(encoding, decoded, [SpanRow(*v) for v in rows])
        return decode_rows(
            body, content_type, content_encoding, max_bytes, max_spans, self.prices, self.redactor, received_ns
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
