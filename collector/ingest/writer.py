"""The one writer: a bounded queue of normalized spans and a thread that owns the DuckDB
connection and commits them in batches (group commit).

Durability: `submit()` returns a future that completes only after the DuckDB transaction holding
those spans has committed (DuckDB syncs its WAL on commit), and the HTTP/gRPC answer waits on it,
so an acknowledged span survives a crash. Requests that arrive while a batch commits are grouped
into the next one. Memory is bounded: spans queued or in flight never exceed `queue_max_spans`
(the receiver refuses a request holding more spans than that with 413); past it `submit()` raises
`Overloaded` and the receiver answers 503 with Retry-After.

Faults: when a commit fails for a reason that is not the data's, the writer has the store recover
(roll back, or reopen the file DuckDB invalidated) and tries the batch once more. While the store
stays unwritable, `problem` says why (on /health, answered 503, and in /metrics), requests are
refused at once with 503 and Retry-After, and the writer thread retries the recovery every
`RECOVERY_INTERVAL_S` until a probe write commits. Nothing is acknowledged that did not commit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import cast

import pyarrow as pa

from agentdeck.collector.ingest.errors import DATA_ERRORS, IngestError, Overloaded, StoreUnavailable, store_failure
from agentdeck.collector.ingest.lineage import SpanFacts, TraceIndex
from agentdeck.collector.ingest.trace_bloom import TraceFilter
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.base import SpanStore, StoreError
from agentdeck.collector.store.schema import SpanRow, rows_to_arrow

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 30
RECOVERY_INTERVAL_S = 1.0  # between attempts to make a failed store writable again
RETENTION_EVERY_S = 3600.0  # between deletions of spans older than the retention


def retry_after_s(full_for_s: float) -> int:
    """Retry-After for a refusal when the queue has been full for `full_for_s` seconds.

    It doubles with the length of the overload (1, 2, 6, 18, 30 s as a client keeps retrying), so a
    client that honours Retry-After, like the OTel SDK exporter with its few attempts, spreads them
    over the whole overload instead of spending them all in its first seconds.
    """
    return min(MAX_RETRY_AFTER_S, max(1, math.ceil(2 * full_for_s)))


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int  # spans of the request now durable (resent duplicates included)


@dataclass(slots=True)
class _Item:
    rows: Sequence[SpanFacts]  # SpanRows, or lighter facts when `table` holds the rows' columns
    future: Future[WriteResult]
    table: pa.Table | None = None  # the rows as Arrow (built by a decode worker), aligned with `rows`


class Writer:
    def __init__(
        self,
        store: SpanStore,
        metrics: Metrics,
        *,
        queue_max_spans: int,
        batch_max_spans: int,
        flush_interval_ms: int,
        index: TraceIndex | None = None,
        trace_filter: TraceFilter | None = None,
        on_commit: Callable[[set[str]], None] | None = None,
        retention_ns: int | None = None,
    ) -> None:
        """`on_commit(trace_ids)` runs on the writer thread after each commit; it must be quick and
        must not raise (the alert service only records the ids and wakes its own thread).
        `retention_ns`: spans that started longer ago are deleted at start and every RETENTION_EVERY_S,
        on this thread between batches, so retention never races a write."""
        self.store = store
        self.on_commit = on_commit
        self.metrics = metrics
        self.queue_max_spans = queue_max_spans
        self.batch_max_spans = batch_max_spans
        self.flush_interval_s = flush_interval_ms / 1000
        self.index = index if index is not None else TraceIndex()  # (an empty index is falsy)
        self.trace_filter = trace_filter if trace_filter is not None else TraceFilter()
        self._items: deque[_Item] = deque()
        self._queued = 0  # spans waiting
        self._in_flight = 0  # spans in the batch being committed
        self._cond = threading.Condition()
        self._full_since: float | None = None  # when the current run of refusals began
        self._stopping = False
        self._problem: str | None = None  # why the store cannot write now (None: it can)
        self.retention_ns = retention_ns
        self._next_retention = time.monotonic()  # at start, then every RETENTION_EVERY_S
        self._thread = threading.Thread(target=self._run, name="agentdeck-writer", daemon=True)
        metrics.queue_depth = self.depth

    @property
    def problem(self) -> str | None:
        """Why the collector cannot store spans right now, or None when it can."""
        return self._problem

    def _set_problem(self, error: BaseException) -> None:
        text = str(error).strip()
        reason = f"the store cannot write ({type(error).__name__}: {text.splitlines()[0][:300] if text else ''})"
        if self._problem is None:
            log.error("%s; recovering", reason)
        self._problem = reason
        self.metrics.store_failed(reason)

    def _clear_problem(self) -> None:
        if self._problem is not None:
            log.warning("the store writes again (was: %s)", self._problem)
            self._problem = None
            self.metrics.store_recovered()

    def depth(self) -> int:
        with self._cond:
            return self._queued + self._in_flight

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    def start(self) -> None:
        """Learn which traces the file holds, then start the writer thread."""
        self.trace_filter.update(self.store.trace_ids())
        self._thread.start()

    def submit(self, rows: Sequence[SpanFacts], table: pa.Table | None = None) -> Future[WriteResult]:
        """Queue `rows` (SpanRows; or any SpanFacts when `table` holds their columns, row for row)."""
        if table is None and not all(isinstance(row, SpanRow) for row in rows):
            raise TypeError("rows that are not SpanRows need their Arrow table")
        if table is not None and table.num_rows != len(rows):
            raise ValueError(f"the table has {table.num_rows} rows for {len(rows)} spans")
        future: Future[WriteResult] = Future()
        if not rows:
            future.set_result(WriteResult(0))
            return future
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                raise StoreUnavailable("the collector is not writing (shutting down or failed); retry later")
            if self._problem is not None:
                raise StoreUnavailable(f"{self._problem}; retry later")
            held = self._queued + self._in_flight
            if held and held + len(rows) > self.queue_max_spans:
                now = time.monotonic()
                if self._full_since is None:
                    self._full_since = now
                retry_after = retry_after_s(now - self._full_since)
                raise Overloaded(
                    f"write queue is full ({held} of {self.queue_max_spans} spans); retry in {retry_after} s",
                    retry_after_s=retry_after,
                )
            self._full_since = None
            self._items.append(_Item(rows, future, table))
            self._queued += len(rows)
            self._cond.notify()
        return future

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking spans, commit everything queued, and end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # --- writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._retain()
            batch = self._take()
            if batch is None:
                return
            if batch:
                self._commit(batch)
            elif self._problem is not None:
                self._recover()

    def _retention_wait(self) -> float | None:
        if self.retention_ns is None:
            return None
        return max(self._next_retention - time.monotonic(), 0.0)

    def _retain(self) -> None:
        """Delete spans older than the retention when it is time (writer thread)."""
        if self.retention_ns is None or self._problem is not None or time.monotonic() < self._next_retention:
            return
        self._next_retention = time.monotonic() + RETENTION_EVERY_S
        try:
            deleted = self.store.delete_before(time.time_ns() - self.retention_ns)
        except Exception as exc:  # retention is maintenance: ingest goes on, and it is tried again later
            log.error("retention failed: %s: %s", type(exc).__name__, exc)
            return
        self.metrics.retained(deleted)
        if deleted:
            log.info(
                "retention deleted %s spans older than %s h", f"{deleted:,}", self.retention_ns // 3_600_000_000_000
            )

    def _take(self) -> list[_Item] | None:
        """The next batch; an empty one when the store has a problem and it is time to retry recovery."""
        with self._cond:
            while not self._items and not self._stopping:
                if self._problem is None:
                    if not self._cond.wait(self._retention_wait()) and not self._items:
                        return []  # time for retention
                elif not self._cond.wait(RECOVERY_INTERVAL_S) and not self._items:
                    return []
            if not self._items:
                return None
            deadline = time.monotonic() + self.flush_interval_s
            while self._queued < self.batch_max_spans and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[_Item] = []
            taken = 0
            while self._items and (not batch or taken + len(self._items[0].rows) <= self.batch_max_spans):
                item = self._items.popleft()
                batch.append(item)
                taken += len(item.rows)
            self._queued -= taken
            self._in_flight = taken
            return batch

    def _commit(self, batch: list[_Item]) -> None:
        try:
            if self._problem is not None:  # queued before the store failed: refuse without trying
                self._fail(batch, StoreUnavailable(f"{self._problem}; retry later"))
                return
            error = self._write(batch)
            if error is not None and not isinstance(error, DATA_ERRORS) and self._recover(error):
                error = self._write(batch)  # once more, on the recovered store
            if error is None:
                return
            if len(batch) > 1:
                # Isolate the request that cannot be stored so the others in the group still commit.
                log.warning("a batch of %d requests failed (%s); committing them one by one", len(batch), error)
                failures = [(item, self._write([item])) for item in batch]
            else:
                failures = [(batch[0], error)]
            for item, item_error in failures:
                if item_error is not None:
                    self._fail([item], item_error)
                    if not isinstance(item_error, DATA_ERRORS) and self._problem is None:
                        self._set_problem(item_error)  # (a failed recovery already said why)
        finally:
            with self._cond:
                self._in_flight = 0

    def _write(self, batch: list[_Item]) -> Exception | None:
        """Commit `batch` and answer its requests; the error instead when it could not be stored."""
        rows = [row for item in batch for row in item.rows]
        trace_ids = {row.trace_id for row in rows}
        try:
            shared = getattr(self.store, "shared", False)
            if shared:  # other collectors write this store: what the index holds of these traces may be stale
                self.index.discard(trace_ids)
            missing = self.index.missing(trace_ids)
            maybe_stored = missing if shared else [t for t in missing if t in self.trace_filter]
            self.index.load(missing, self.store.load_traces(maybe_stored))
            plan = self.index.apply(rows)
            self.store.write(plan, _source(batch))
            self.trace_filter.update({row.trace_id for row in plan.rows})
        except Exception as exc:
            self.index.discard(trace_ids)
            self.metrics.failed_batch()
            return exc
        self.metrics.committed(len(plan.rows), plan.duplicates, plan.capped)
        for item in batch:
            item.future.set_result(WriteResult(accepted=len(item.rows)))
        if self.on_commit is not None and plan.rows:
            try:
                self.on_commit({row.trace_id for row in plan.rows})
            except Exception:  # a listener never breaks ingest
                log.exception("on_commit listener failed")
        health = self.store.health()
        if not health.writable:  # durable, but the store must reopen or reconnect before the next write
            self._recover(StoreError(health.reason or "the store cannot write"))
        return None

    def _recover(self, error: BaseException | None = None) -> bool:
        """Have the store recover from `error` (or from the recorded problem); True when it writes again."""
        if error is not None:
            self._set_problem(error)
        try:
            self.store.recover()
        except Exception as exc:
            self._set_problem(exc)
            return False
        self._clear_problem()
        return True

    def _fail(self, batch: list[_Item], error: Exception) -> None:
        rows = sum(len(item.rows) for item in batch)
        answer = store_failure(error)  # the one error map: data -> 400, out of memory / store -> 503
        if isinstance(error, DATA_ERRORS):
            log.exception("storing a request of %d spans failed", rows, exc_info=error)
        elif not isinstance(error, IngestError):
            log.error("storing a request of %d spans failed: %s: %s", rows, type(error).__name__, error)
        for item in batch:
            item.future.set_exception(answer)


def _source(batch: list[_Item]) -> pa.Table | None:
    """The batch's rows as one Arrow table when a worker built some of it (None: build it from the rows)."""
    if all(item.table is None for item in batch):
        return None
    tables = [
        item.table if item.table is not None else rows_to_arrow(cast(Sequence[SpanRow], item.rows)) for item in batch
    ]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)
