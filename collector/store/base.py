"""The `SpanStore` seam: what every reader and writer of stored spans, alerts and scores goes through.

Issue 14: DuckDB SQL was spread over ~18 collector modules, so no second store could be added. Now the
ingest writer, the query API, the alert evaluator and its API, the CLI (`alerts check`, `store copy`)
and retention only see the protocols below; each store (`store/duckdb/`, `store/clickhouse/`) keeps
its SQL dialect, schema and error types to itself and answers in the plain types declared here
(Arrow tables, dataclasses, the lineage `StoredSpan`/`Plan`). Nothing here names a dialect.

Two objects:
- `SpanStore`: one per collector process. Writes come from ONE thread (the ingest writer); the
  rest (health, `session()`, retention, `close()`) is safe from any thread.
- `StoreSession`: one reader/writer handle for one thread at a time (a DuckDB cursor, a ClickHouse
  client session): the named queries, alert metrics, alert state, deliveries and scores.
  `interrupt()` may be called from any other thread to stop what it is running.

Errors a store raises through the seam (dialect exceptions never leave a store):
- `StoreError` (start-up or a refusal a person must act on: bad URL, unreachable server, damaged
  file, schema from a newer version) -> `agentdeck: <message>`, exit 2;
- `QueryError` (from `store.queries.params`: the HTTP status to answer and why) for named queries;
- `ReadInterrupted`, `OutOfMemory`/`ReadOutOfMemory`, `AlertConflict` below, which the API maps
  to 503s, and `DataRejected` from `write()` (400).
Any other exception from `write()` means the batch was not stored (the writer answers 503 and calls
`recover()`).

Adding a store: implement both protocols, add its URL scheme to `store.url` and `store.factory`, and
add it to the conformance suite (`tests/store/conftest.py`), which must then pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, runtime_checkable

import pyarrow as pa

if TYPE_CHECKING:
    from agentdeck.collector.alerts.observation import Observation
    from agentdeck.collector.alerts.rules import Rule
    from agentdeck.collector.alerts.state import Alert
    from agentdeck.collector.ingest.lineage import Plan, StoredSpan
    from agentdeck.collector.store.scores import NewScore

__all__ = [
    "COPY_TABLES",
    "AlertConflict",
    "AlertUpdate",
    "DataRejected",
    "DeliveryRecord",
    "NewAlert",
    "OutOfMemory",
    "ReadInterrupted",
    "ReadOutOfMemory",
    "SessionFactory",
    "SpanStore",
    "StoreError",
    "StoreHealth",
    "StoreSession",
    "TraceSummary",
]

# The tables `agentdeck store copy` moves between stores, in this order (alerts before deliveries,
# which name them). "scores" (and later "datasets", "experiments") are copied when the source has them.
COPY_TABLES: Final = ("spans", "alerts", "alert_deliveries", "alert_rule_status", "scores")


class StoreError(RuntimeError):
    """The store cannot be used (start-up, URL, damage, newer schema); the message says why and what to do."""


class ReadInterrupted(Exception):
    """A read was stopped: its time limit ran out, or `interrupt()` was called (shutdown). 503."""


class OutOfMemory(Exception):
    """The store hit its memory limit (`memory_limit_mb`) on a read or a write. 503 with Retry-After."""


class ReadOutOfMemory(OutOfMemory):
    """A read hit the store's memory limit (`memory_limit_mb`). 503 with Retry-After, never a 500."""


class DataRejected(Exception):
    """`write()` refused the batch because of the data itself (a value the store cannot hold):
    permanent, answered 400; the writer stores the batch's other requests one by one."""


class AlertConflict(Exception):
    """An alert row was changed by someone else at the same moment (the evaluator while a person
    acknowledges). Retrying the same call is safe."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether the store can take writes now, and in words why not (shown on /health and /metrics)."""

    writable: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace as an alert's detail lists it."""

    trace_id: str
    workflow: str | None
    start_ns: int
    duration_ms: float
    cost_usd: float
    outcome: str | None
    errors: int
    agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert opened by the evaluator (state "pending" or "firing")."""

    rule: str
    metric: str
    scope: str
    group_value: str
    severity: str
    state: str
    now_ns: int
    value: float
    threshold: float
    comparison: str
    trace_ids: tuple[str, ...]
    detail: str | None


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """A still-breaching alert seen again. `fired_ns` is set only when it was None (first firing)."""

    state: str
    now_ns: int
    value: float
    trace_ids: tuple[str, ...]
    detail: str | None
    fired_ns: int | None
    severity: str
    threshold: float
    comparison: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One webhook attempt, for the delivery log."""

    alert_id: int
    rule: str
    event: str
    channel: str
    url: str
    attempt: int
    status: str
    http_status: int | None
    error: str | None
    at_ns: int


@runtime_checkable
class StoreSession(Protocol):
    """One handle on the store for one thread at a time. Closing it frees what it holds."""

    # --- the named queries (docs/QUERY_API.md) ----------------------------------------------
    def run_query(self, name: str, params: Mapping[str, str], *, timeout_s: float | None) -> pa.Table:
        """Run a named query (`store.query.list_queries()`) with the request's text parameters.
        Same rows, columns (names and Arrow kinds: string, int64, float64, bool, list<string>),
        order and `agentdeck.truncated` metadata on every store. Raises QueryError (404 unknown
        name, 400 bad parameter, 503 time limit / memory / recovering)."""
        ...

    # --- alert metrics -------------------------------------------------------------------------
    def observe(self, rule: Rule, now_ns: int, trace_ids: Sequence[str] | None = None) -> list[Observation]:
        """The rule's value per scope group with data at `now_ns` (ordered by group), with the traces
        that contributed most (worst first, at most observe.MAX_TRACES). `trace_ids` limits a per-task
        check to those tasks. The per-trace facts (status, completion, retries, cost per task) are
        the ones the named queries use (`store.trace_facts`), so a page and an alert agree."""
        ...

    def trace_summaries(self, trace_ids: Sequence[str]) -> list[TraceSummary]:
        """Summaries of the stored traces among `trace_ids` (any order; absent ids are left out)."""
        ...

    # --- alert state (the evaluator is the only writer of transitions) ---------------------
    def alert_transaction(self) -> AbstractContextManager[None]:
        """Group one rule's transitions: all or none on DuckDB. A store without transactions makes
        each transition idempotent instead (a repeat of the same call changes nothing more)."""
        ...

    def get_alert(self, alert_id: int) -> Alert | None: ...

    def active_alerts(self, rule: str) -> dict[str, Alert]:
        """The pending or firing alert of each group of `rule` (at most one per group)."""
        ...

    def open_alert(self, alert: NewAlert) -> Alert:
        """Store a new alert and answer it with its id."""
        ...

    def update_alert(self, alert_id: int, update: AlertUpdate) -> Alert: ...

    def resolve_alert(self, alert_id: int, now_ns: int, value: float) -> Alert:
        """A firing alert whose condition cleared: state "resolved", resolved_ns = now_ns."""
        ...

    def drop_alert(self, alert_id: int) -> None:
        """Forget a pending alert whose condition cleared before it fired."""
        ...

    def retire_rules(self, keep: Sequence[str], now_ns: int) -> list[Alert]:
        """Rules not in `keep` were removed: their pending alerts go, firing ones resolve (answered),
        their status rows go."""
        ...

    def record_rule_status(self, rule: str, metric: str, now_ns: int, groups: int, error: str | None) -> None: ...

    def record_delivery(self, delivery: DeliveryRecord) -> None: ...

    def acknowledge(self, alert_id: int) -> bool:
        """A person saw it. False when there is no such alert. May raise AlertConflict."""
        ...

    def silence(self, alert_id: int, until_ns: int) -> bool:
        """No notifications until `until_ns`. False when there is no such alert. May raise AlertConflict."""
        ...

    def list_alerts(self, state: str | None, limit: int, offset: int = 0) -> list[Alert]:
        """Firing, then pending, then resolved; critical first; newest first within. `offset` skips that
        many (a page of `limit` alerts at a time). An unknown state raises ValueError."""
        ...

    def count_alerts(self, state: str | None) -> int:
        """How many alerts `list_alerts` pages through (of one state, or all)."""
        ...

    def list_deliveries(self, alert_id: int | None, limit: int) -> pa.Table:
        """The delivery log, newest first (columns of `DeliveryRecord` plus `id`)."""
        ...

    def list_rule_status(self) -> pa.Table:
        """Per rule (ordered by rule): rule, metric, evaluated_ns, groups, error."""
        ...

    # --- scores (datasets and experiments add their tables the same way) -------------------
    def add_scores(self, scores: Sequence[NewScore]) -> list[int]:
        """Store checked scores (`store.scores.check`) in one transaction; their ids."""
        ...

    def read_scores(
        self,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        source: str | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> pa.Table:
        """Scores (columns `store.scores.COLUMNS`), newest first, filtered by whichever are given."""
        ...

    # Datasets and experiments (the wave2-J feature) keep their rows here the same way: each method
    # raises NotImplementedError on a store that has no such table yet.
    def write_dataset_items(self, dataset: str, items: pa.Table) -> None:
        """Append items (inputs, expected outputs, the trace they came from) to a named dataset."""
        ...

    def read_dataset_items(self, dataset: str) -> pa.Table:
        """A dataset's items in the order they were added (empty when there is none)."""
        ...

    def write_experiment(self, runs: pa.Table) -> None:
        """Append an experiment's runs (one row per dataset item: its trace, scores, cost)."""
        ...

    def read_experiments(self, dataset: str | None) -> pa.Table:
        """The experiments' runs (of one dataset, or all)."""
        ...

    # --- control ------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Stop what this session runs now, from any thread; the running call raises ReadInterrupted
        (or QueryError 503 for a named query)."""
        ...

    def close(self) -> None: ...


# Hands out a new session (the collector passes `store.session`).
SessionFactory: TypeAlias = Callable[[], StoreSession]


@runtime_checkable
class SpanStore(Protocol):
    """The span store of one collector process (see the module docstring for threads and errors)."""

    url: str  # what it was opened from ("duckdb://...", "clickhouse://host:8123/db"), passwords left out

    # --- health ----------------------------------------------------------------------------
    def health(self) -> StoreHealth:
        """Can it write now? Cheap (no round trip): the state the last write or `recover()` left."""
        ...

    # --- writes (the ingest writer's thread only) ---------------------------------------------
    def trace_ids(self, chunk: int = 100_000) -> Iterator[str]:
        """Every distinct stored trace id (at start, to fill the writer's Bloom filter)."""
        ...

    def load_traces(self, trace_ids: Sequence[str]) -> list[StoredSpan]:
        """Lineage facts of every stored span of these traces, for late parents and dedup."""
        ...

    def write(self, plan: Plan, source: pa.Table | None = None) -> None:
        """Insert the plan's rows (with their resolved agent_name and usage_counted) and apply its
        lineage updates. Durable when it returns: that is when the collector answers 200. A resend
        of a stored (trace_id, span_id) must not become a second row once the plan dropped it; a
        store that can collapse duplicates itself (ReplacingMergeTree) may also keep the latest
        update of a row instead of updating it in place."""
        ...

    def recover(self) -> None:
        """Make the store writable again after a failed write (roll back, reopen, reconnect) and
        prove it with a small write. Raises while the cause lasts; the writer calls it again."""
        ...

    # --- reads -----------------------------------------------------------------------------------
    def session(self) -> StoreSession:
        """A new handle for one thread (follows the store when it reopens or reconnects)."""
        ...

    def count(self) -> int:
        """Stored spans."""
        ...

    # --- retention ---------------------------------------------------------------------------
    def delete_before(self, cutoff_ns: int) -> int:
        """Delete spans that started before `cutoff_ns` (and the bookkeeping that points at them),
        then give the disk space back. Answers how many spans went. Safe while ingest runs."""
        ...

    # --- moving between stores (`agentdeck store copy`) --------------------------------------------
    def tables(self) -> tuple[str, ...]:
        """Which of COPY_TABLES this store holds."""
        ...

    def scan(self, table: str, after: str | None, rows: int) -> tuple[pa.Table, str | None]:
        """Up to `rows` rows of `table` in a stable order, starting after the position `after`
        (None: from the start). Answers the rows and the position to resume from (None: done).
        Positions are opaque text, stable while the source is not written to."""
        ...

    def append(self, table: str, rows: pa.Table) -> int:
        """Store rows produced by another store's `scan` of the same table; rows already present
        (same key) are skipped, so a resumed copy does not duplicate. Answers rows added."""
        ...

    def close(self) -> None:
        """Flush and release (files, connections). Nothing acknowledged is lost."""
        ...
