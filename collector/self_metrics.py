"""Self-metrics of the collector, served as JSON on GET /metrics."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from agentdeck.collector.store.schema import SpanRow


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans_received = 0
        self.spans_stored = 0
        self.spans_duplicate = 0
        self.spans_lineage_capped = 0  # spans of traces past lineage.MAX_TRACE_SPANS (stored; lineage not settled)
        self.spans_rejected: Counter[str] = Counter()  # by reason
        self.requests_rejected: Counter[str] = Counter()  # by reason
        self.requests_accepted = 0
        self.conventions: defaultdict[str, Counter[str]] = defaultdict(Counter)  # service -> convention -> spans
        self.batches_committed = 0
        self.batches_failed = 0
        self.store_problem: str | None = None  # why the store cannot write now (also on /health)
        self.store_failures = 0  # times the store became unwritable
        self.store_recoveries = 0  # times it was made writable again (rolled back or reopened)
        self.spans_expired = 0  # deleted by retention
        self.queue_depth: Callable[[], int] = lambda: 0

    def received(self, rows: Iterable[SpanRow]) -> None:
        per: Counter[tuple[str, str]] = Counter((r.service_name or "unknown", r.convention) for r in rows)
        with self._lock:
            self.requests_accepted += 1
            for (service, convention), n in per.items():
                self.spans_received += n
                self.conventions[service][convention] += n

    def rejected_spans(self, reason: str, count: int) -> None:
        if count:
            with self._lock:
                self.spans_rejected[reason] += count

    def rejected_request(self, reason: str) -> None:
        with self._lock:
            self.requests_rejected[reason] += 1

    def committed(self, stored: int, duplicates: int, capped: int = 0) -> None:
        with self._lock:
            self.batches_committed += 1
            self.spans_stored += stored
            self.spans_duplicate += duplicates
            self.spans_lineage_capped += capped

    def retained(self, deleted: int) -> None:
        with self._lock:
            self.spans_expired += deleted

    def failed_batch(self) -> None:
        with self._lock:
            self.batches_failed += 1

    def store_failed(self, reason: str) -> None:
        with self._lock:
            if self.store_problem is None:
                self.store_failures += 1
            self.store_problem = reason

    def store_recovered(self) -> None:
        with self._lock:
            self.store_problem = None
            self.store_recoveries += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "spans_received": self.spans_received,
                "spans_stored": self.spans_stored,
                "spans_duplicate": self.spans_duplicate,
                "spans_lineage_capped": self.spans_lineage_capped,
                "spans_rejected": dict(self.spans_rejected),
                "requests_accepted": self.requests_accepted,
                "requests_rejected": dict(self.requests_rejected),
                "batches_committed": self.batches_committed,
                "batches_failed": self.batches_failed,
                "store_problem": self.store_problem,
                "spans_expired": self.spans_expired,
                "store_failures": self.store_failures,
                "store_recoveries": self.store_recoveries,
                "queue_depth": self.queue_depth(),
                "conventions": {svc: dict(c) for svc, c in sorted(self.conventions.items())},
            }
