"""The ClickHouse tables, as the field lays them out (Langfuse's and SigNoz's span tables):

- `spans`: `ReplacingMergeTree(version)` ordered by (hour, trace_id, span_id), so a resend of a
  span and a late fix-up of it (the writer re-inserts the row with a higher `version` when a late
  parent changes its agent or its usage counting) collapse to one row; readers use `FINAL`.
  Partitioned by day of `start_ns`: a resend lands in its original's partition, and retention is a
  TTL that drops whole parts (`ttl_only_drop_parts`), never rewrites them.
  Codecs: ids ZSTD, times Delta+ZSTD, payload text ZSTD(3), labels LowCardinality.
  A bloom filter skip index on trace_id, and `trace_index` (trace_id -> its start_ns range, an
  AggregatingMergeTree kept by a materialized view) so one trace reads only the granules of its hours.
- `agent_hourly`: per hour, service and agent, the counts and a latency t-digest of agent spans,
  kept by a materialized view, for ranges of months. Agent spans never receive fix-ups (their agent
  is their own), so the rollup only double counts a resend that two collectors stored at once.
- `meta`: the schema version (and the store id); `alert_lease`: who evaluates the alert rules.

The column list is `collector/store/schema.py`'s `SpanRow`, the one definition of a span row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from agentdeck.collector.store.schema import field_types

SCHEMA_VERSION: Final = 1
HOUR_NS: Final = 3_600_000_000_000
DAY_NS: Final = 24 * HOUR_NS

_IDS: Final = frozenset(
    {"trace_id", "span_id", "parent_span_id", "tool_call_id", "checkpoint_id", "thread_id", "task_id"}
)
_TIMES: Final = frozenset({"start_ns", "end_ns", "received_ns"})
_TEXT: Final = frozenset(
    {"status_message", "input_messages", "output_messages", "attributes", "resource_attributes", "events", "links"}
)
_BASE: Final = {"str": "String", "int": "Int64", "float": "Float64", "bool": "Bool"}


def column_type(name: str, annotation: str) -> str:
    """The ClickHouse type and codec of a `SpanRow` field."""
    nullable = annotation.endswith("| None")
    base = _BASE[annotation.removesuffix(" | None")]
    if base == "String" and name not in _IDS and name not in _TEXT:
        return f"LowCardinality({'Nullable(String)' if nullable else 'String'})"
    typ = f"Nullable({base})" if nullable else base
    if name in _IDS:
        return f"{typ} CODEC(ZSTD(1))"
    if name in _TIMES:
        return f"{typ} CODEC(Delta, ZSTD(1))"
    if name in _TEXT:
        return f"{typ} CODEC(ZSTD(3))"
    return f"{typ} CODEC(ZSTD(1))"


def spans_sql() -> str:
    cols = ",\n    ".join(f"{name} {column_type(name, typ)}" for name, typ in field_types().items())
    return f"""CREATE TABLE IF NOT EXISTS spans (
    {cols},
    version UInt64 DEFAULT 0,
    INDEX trace_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(version)
PARTITION BY intDiv(start_ns, {DAY_NS})
ORDER BY (intDiv(start_ns, {HOUR_NS}), trace_id, span_id)
SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192"""


TRACE_INDEX_SQL: Final = """CREATE TABLE IF NOT EXISTS trace_index (
    trace_id String CODEC(ZSTD(1)),
    lo SimpleAggregateFunction(min, Int64),
    hi SimpleAggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree ORDER BY trace_id"""

TRACE_INDEX_MV_SQL: Final = """CREATE MATERIALIZED VIEW IF NOT EXISTS trace_index_mv TO trace_index AS
SELECT trace_id, min(start_ns) AS lo, max(start_ns) AS hi FROM spans GROUP BY trace_id"""

AGENT_HOURLY_SQL: Final = f"""CREATE TABLE IF NOT EXISTS agent_hourly (
    hour Int64,
    service_name LowCardinality(String),
    agent_name LowCardinality(String),
    attempts SimpleAggregateFunction(sum, UInt64),
    invocations SimpleAggregateFunction(sum, UInt64),
    first_ok SimpleAggregateFunction(sum, UInt64),
    retries SimpleAggregateFunction(sum, UInt64),
    failed_attempts SimpleAggregateFunction(sum, UInt64),
    latency_ms AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
) ENGINE = AggregatingMergeTree
PARTITION BY intDiv(hour, {DAY_NS // HOUR_NS * 30})
ORDER BY (hour, service_name, agent_name)"""

AGENT_HOURLY_MV_SQL: Final = f"""CREATE MATERIALIZED VIEW IF NOT EXISTS agent_hourly_mv TO agent_hourly AS
SELECT intDiv(start_ns, {HOUR_NS}) AS hour,
       coalesce(service_name, '') AS service_name,
       coalesce(agent_name, name) AS agent_name,
       toUInt64(count()) AS attempts,
       toUInt64(countIf(coalesce(attempt, 1) = 1)) AS invocations,
       toUInt64(countIf(coalesce(attempt, 1) = 1 AND status_code != 'ERROR')) AS first_ok,
       toUInt64(countIf(attempt > 1)) AS retries,
       toUInt64(countIf(status_code = 'ERROR')) AS failed_attempts,
       quantilesTDigestState(0.5, 0.95, 0.99)(duration_ms) AS latency_ms
FROM spans WHERE span_type = 'agent'
GROUP BY hour, service_name, agent_name"""

META_SQL: Final = """CREATE TABLE IF NOT EXISTS meta (
    key String, value String, version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY key"""

LEASE_SQL: Final = """CREATE TABLE IF NOT EXISTS alert_lease (
    name String, holder String, token String, expires_ns Int64, version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY name"""

# Every table of a new store, in creation order (the views after the tables they read and feed).
CREATE: Final = (
    META_SQL,
    spans_sql(),
    TRACE_INDEX_SQL,
    TRACE_INDEX_MV_SQL,
    AGENT_HOURLY_SQL,
    AGENT_HOURLY_MV_SQL,
    LEASE_SQL,
)

# MIGRATIONS[v]: statements moving a store from version v to v + 1. Each must be idempotent
# (`IF NOT EXISTS`): several collectors may start against one ClickHouse at the same moment.
MIGRATIONS: Final[Mapping[int, tuple[str, ...]]] = {}


def retention_sql(seconds: int | None) -> str:
    """The `ALTER` that sets (or, with None, removes) retention: parts whose every span started more
    than `seconds` ago are dropped whole (`ttl_only_drop_parts`)."""
    if seconds is None:
        return "ALTER TABLE spans REMOVE TTL"
    return f"ALTER TABLE spans MODIFY TTL toDateTime(intDiv(start_ns, 1000000000)) + INTERVAL {int(seconds)} SECOND"
