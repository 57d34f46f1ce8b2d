"""The span store on ClickHouse: schema versions, batched inserts, consistent trace loads for
lineage, late fix-ups as higher-version rows, and retention.

Many collectors may write one ClickHouse at once, so nothing here relies on being the only writer:

- A write is one `INSERT` of the batch's rows (Arrow); over HTTP with `async_insert=1,
  wait_for_async_insert=1`, so ClickHouse gathers the small inserts of many collectors into few
  parts ("too many parts" otherwise) and answers only once the rows are in a part on disk: the
  collector's 200 still means durable.
- A fix-up (a late parent changes a stored span's agent, or which of the anthropic SDK's two spans
  counts the call) re-inserts the stored row with a `version` above its own; ReplacingMergeTree
  keeps the highest version, and every read uses `FINAL`.
- Trace loads read `FINAL` with `select_sequential_consistency=1`, so a collector planning a batch
  sees every span another collector acknowledged (on a replicated cluster too), not a stale replica.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from agentdeck.collector.ingest.lineage import Node, Plan, StoredSpan
from agentdeck.collector.store.base import StoreHealth
from agentdeck.collector.store.clickhouse import schema
from agentdeck.collector.store.clickhouse.client import ClickHouseError, Client, connect
from agentdeck.collector.store.clickhouse.reference import ARROW_SCHEMA
from agentdeck.collector.store.clickhouse.session import ClickHouseSession
from agentdeck.collector.store.schema import COLUMN_NAMES, planned_rows
from agentdeck.collector.store.url import StoreURL, parse_store_url
from agentdeck.engine import semconv as sc

log = logging.getLogger(__name__)

# Inserts: batched by ClickHouse across collectors, acknowledged once on disk.
INSERT_SETTINGS: Final[dict[str, object]] = {"async_insert": 1, "wait_for_async_insert": 1}
# Reads the writer plans with: every acknowledged row, on whichever replica answers.
CONSISTENT: Final[dict[str, object]] = {"select_sequential_consistency": 1}
_COLS: Final = ", ".join(COLUMN_NAMES)


class ClickHouseStore:
    """The spans of one ClickHouse database (`clickhouse://`, `clickhouses://`) or chdb folder (`chdb://`)."""

    # The writer must load a trace from the store before every batch that touches it: other
    # collectors write the same traces, so a trace held in memory goes stale.
    shared: Final = True

    def __init__(self, url: str | StoreURL) -> None:
        self.target = parse_store_url(url) if isinstance(url, str) else url
        self.url = self.target.display()
        self.client: Client = connect(self.target)
        self._http = self.target.is_server
        self._problem: str | None = None
        self._ttl_hours: int | None = None  # the retention TTL set by this process, in hours
        try:
            self.migrate()
        except ClickHouseError:
            self.client.close()
            raise
        except Exception as exc:
            self.client.close()
            raise ClickHouseError(f"{self.where}: {str(exc).splitlines()[0][:300]}") from None

    @property
    def where(self) -> str:
        return self.url

    # --- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        self.client.command(schema.META_SQL)
        table = self.client.query_arrow("SELECT value FROM meta FINAL WHERE key = 'schema_version'")
        return int(table.column(0)[0].as_py()) if table.num_rows else None

    def migrate(self) -> None:
        """Create the tables, or move an older schema forward; refuse a newer one."""
        version = self.schema_version()
        if version is not None and version > schema.SCHEMA_VERSION:
            raise ClickHouseError(
                f"{self.where} has schema version {version}, newer than this agentdeck ({schema.SCHEMA_VERSION}): "
                "upgrade agentdeck on every collector, or point --store at another database"
            )
        if version is None:
            for statement in schema.CREATE:
                self.client.command(statement)
            version = schema.SCHEMA_VERSION
            self._set_meta("store_id", uuid.uuid4().hex, only_if_missing=True)
        while version < schema.SCHEMA_VERSION:
            steps = schema.MIGRATIONS.get(version)
            if steps is None:
                raise ClickHouseError(f"no migration from schema version {version} of {self.where}")
            for statement in steps:
                self.client.command(statement)
            version += 1
        self._set_meta("schema_version", str(version))

    def _set_meta(self, key: str, value: str, *, only_if_missing: bool = False) -> None:
        if only_if_missing:
            have = self.client.query_arrow("SELECT 1 FROM meta FINAL WHERE key = {k:String}", {"k": key})
            if have.num_rows:
                return
        self.client.command(
            "INSERT INTO meta (key, value, version) VALUES ({k:String}, {v:String}, {ver:UInt64})",
            {"k": key, "v": value, "ver": time.time_ns()},
        )

    # --- health ---------------------------------------------------------------------------
    def health(self) -> StoreHealth:
        return StoreHealth(self._problem is None, self._problem)

    def recover(self) -> None:
        """Prove ClickHouse answers again (the writer retries the batch that failed)."""
        try:
            self.client.query_arrow("SELECT 1")
        except Exception as exc:
            self._problem = f"{self.url}: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}"
            raise
        self._problem = None

    # --- reads ----------------------------------------------------------------------------
    def trace_ids(self, chunk: int = 100_000) -> Iterator[str]:
        """Nothing: other collectors write this store too, so the writer's filter of stored traces
        cannot be trusted; `shared` tells it to load every trace of a batch instead."""
        return iter(())

    def count(self) -> int:
        table = self.client.query_arrow("SELECT count() FROM spans FINAL")
        return int(table.column(0)[0].as_py())

    def load_traces(self, trace_ids: Sequence[str]) -> list[StoredSpan]:
        """Lineage facts of every stored span of `trace_ids`, as every collector acknowledged them."""
        if not trace_ids:
            return []
        table = self.client.query_arrow(
            f"""
            WITH (SELECT (min(lo), max(hi)) FROM trace_index WHERE trace_id IN {{ids:Array(String)}}) AS r
            SELECT trace_id, span_id, parent_span_id,
                   if(span_type = 'agent', agent_name,
                      JSONExtract(attributes, '{sc.GEN_AI_AGENT_NAME}', 'Nullable(String)')) AS own_agent,
                   agent_name, span_type,
                   scope_name = {{scope:String}} AND name = {{sdk:String}} AS sdk_call,
                   input_tokens IS NOT NULL OR output_tokens IS NOT NULL AS has_usage,
                   usage_counted, start_ns, end_ns, received_ns
            FROM spans FINAL
            WHERE start_ns BETWEEN r.1 AND r.2 AND trace_id IN {{ids:Array(String)}}
            """,
            {"ids": list(trace_ids), "scope": sc.ANTHROPIC_SDK_SCOPE, "sdk": sc.ANTHROPIC_SDK_SPAN_NAME},
            settings=CONSISTENT if self._http else None,
        )
        rows = table.to_pylist()
        return [
            StoredSpan(
                trace_id=str(r["trace_id"]),
                span_id=str(r["span_id"]),
                node=Node(
                    parent=r["parent_span_id"],
                    own_agent=r["own_agent"],
                    agent=r["agent_name"],
                    span_type=str(r["span_type"]),
                    sdk_call=bool(r["sdk_call"]),
                    has_usage=bool(r["has_usage"]),
                    usage_counted=bool(r["usage_counted"]),
                    start_ns=int(r["start_ns"]),
                    end_ns=int(r["end_ns"]),
                    received_ns=int(r["received_ns"]),
                ),
            )
            for r in rows
        ]

    # --- writes ---------------------------------------------------------------------------
    def write(self, plan: Plan, source: pa.Table | None = None) -> None:
        """Insert the plan's rows with their resolved lineage, then re-insert each updated stored row
        at a higher version; durable when this returns. `source` as for the DuckDB store."""
        try:
            self._write(plan, source)
        except Exception as exc:
            self._problem = f"{self.url}: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}"
            raise

    def _write(self, plan: Plan, source: pa.Table | None) -> None:
        if plan.rows:
            table = planned_rows(plan, source).select(list(COLUMN_NAMES))
            self.client.insert_arrow("spans", table, settings=self._insert_settings())
        if plan.updates:
            self._fix_up(plan)

    def _insert_settings(self) -> dict[str, object] | None:
        return INSERT_SETTINGS if self._http else None

    def _fix_up(self, plan: Plan) -> None:
        """Re-insert the stored rows `plan.updates` names, with their new agent and usage counting,
        at a version above the stored one (and above any earlier fix-up: the wall clock in ns)."""
        wanted = {(u.trace_id, u.span_id): u for u in plan.updates}
        traces = sorted({u.trace_id for u in plan.updates})
        stored = self.client.query_arrow(
            f"""WITH (SELECT (min(lo), max(hi)) FROM trace_index WHERE trace_id IN {{traces:Array(String)}}) AS r
            SELECT {_COLS}, version FROM spans FINAL
            WHERE start_ns BETWEEN r.1 AND r.2 AND trace_id IN {{traces:Array(String)}}
              AND (trace_id, span_id) IN {{keys:Array(Tuple(String, String))}}""",
            {"traces": traces, "keys": list(wanted)},
            settings=CONSISTENT if self._http else None,
        )
        if stored.num_rows == 0:
            return
        keys = zip(stored.column("trace_id").to_pylist(), stored.column("span_id").to_pylist(), strict=True)
        fixes = [wanted[k] for k in keys]
        now = time.time_ns()
        above = pc.add(stored.column("version").cast(pa.uint64()), pa.scalar(1, pa.uint64()))
        versions = pc.max_element_wise(above, pa.scalar(now, pa.uint64()))
        table = pa.Table.from_arrays(
            [
                pa.array([f.agent_name for f in fixes], type=pa.string())
                if name == "agent_name"
                else pa.array([f.usage_counted for f in fixes], type=pa.bool_())
                if name == "usage_counted"
                else stored.column(name).cast(ARROW_SCHEMA.field(name).type)
                for name in COLUMN_NAMES
            ]
            + [versions],
            names=[*COLUMN_NAMES, "version"],
        )
        self.client.insert_arrow("spans", table, settings=self._insert_settings())

    # --- reads ----------------------------------------------------------------------------
    def session(self) -> ClickHouseSession:
        """A handle for one reader (the named queries)."""
        return ClickHouseSession(self.client)

    def run_query(self, name: str, params: Mapping[str, str], *, timeout_s: float | None = None) -> pa.Table:
        return self.session().run_query(name, params, timeout_s=timeout_s)

    # --- retention ------------------------------------------------------------------------
    def delete_before(self, cutoff_ns: int) -> int:
        """Drop the daily partitions whose every span started before `cutoff_ns` (whole parts, no
        rewrite), and keep the table's TTL at the same age so ClickHouse drops later days by itself
        even while no collector runs. Spans of the cutoff's own day stay until that whole day
        expires. Answers how many stored rows went."""
        parts = self.client.query_arrow(
            "SELECT partition, sum(rows) AS n FROM system.parts "
            "WHERE database = currentDatabase() AND table = 'spans' AND active GROUP BY partition"
        ).to_pylist()
        dropped = 0
        for part in parts:
            day = int(part["partition"])  # intDiv(start_ns, DAY_NS): every span of it starts before (day + 1) days
            if (day + 1) * schema.DAY_NS <= cutoff_ns:
                self.client.command(f"ALTER TABLE spans DROP PARTITION {day}")
                dropped += int(part["n"])
        age_s = max(3600, (time.time_ns() - cutoff_ns) // 10**9)
        if self._ttl_hours != age_s // 3600:  # (setting it also applies it to the parts already stored)
            self.client.command(schema.retention_sql(age_s))
            self._ttl_hours = age_s // 3600
        return dropped

    # --- moving between stores (`agentdeck store copy`) ---------------------------------------------
    def tables(self) -> tuple[str, ...]:
        """The spans: alert state is not kept on ClickHouse yet."""
        return ("spans",)

    def scan(self, table: str, after: str | None, rows: int) -> tuple[pa.Table, str | None]:
        """Spans in (trace_id, span_id) order after the position "TRACE:SPAN"."""
        if table != "spans":
            raise ValueError(f"no table {table!r} to copy")
        trace, _, span = (after or ":").partition(":")
        got = self.client.query_arrow(
            f"SELECT {_COLS} FROM spans FINAL WHERE (trace_id, span_id) > ({{t:String}}, {{s:String}}) "
            "ORDER BY trace_id, span_id LIMIT {n:UInt64}",
            {"t": trace, "s": span, "n": rows},
        )
        got = pa.Table.from_arrays(
            [got.column(n).cast(ARROW_SCHEMA.field(n).type) for n in COLUMN_NAMES], schema=ARROW_SCHEMA
        )
        if got.num_rows < rows:
            return got, None
        return got, f"{got.column('trace_id')[-1].as_py()}:{got.column('span_id')[-1].as_py()}"

    def append(self, table: str, rows: pa.Table) -> int:
        """Store spans another store scanned, skipping those already here (a resumed copy). Other
        tables (alerts, deliveries) are not kept on ClickHouse yet: 0 added, and the copy says so."""
        if table != "spans":
            log.warning("%s is not kept on a ClickHouse store yet: %s rows not copied", table, f"{rows.num_rows:,}")
            return 0
        if rows.num_rows == 0:
            return 0
        keys = list(zip(rows.column("trace_id").to_pylist(), rows.column("span_id").to_pylist(), strict=True))
        have = self.client.query_arrow(
            "SELECT trace_id, span_id FROM spans FINAL WHERE trace_id IN {t:Array(String)} "
            "AND (trace_id, span_id) IN {k:Array(Tuple(String, String))}",
            {"t": sorted({t for t, _ in keys}), "k": keys},
        )
        present = set(zip(have.column(0).to_pylist(), have.column(1).to_pylist(), strict=True))
        new = [i for i, k in enumerate(keys) if k not in present]
        if new:
            batch = rows.take(pa.array(new, type=pa.int64())).select(list(COLUMN_NAMES))
            self.client.insert_arrow("spans", batch, settings=self._insert_settings())
        return len(new)

    def close(self) -> None:
        self.client.close()
