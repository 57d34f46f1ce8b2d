"""The ClickHouse span store against DuckDB: ingest through 1, 2 and 3 writer processes, agent
metrics and one trace at volume on chdb, and disk bytes per span on each store.

    .venv/bin/python bench/clickhouse_bench.py                                # the short run (shared 2-core machine)
    .venv/bin/python bench/clickhouse_bench.py --ingest-spans 1000000 --query-spans 10000000   # the full size

Ingest: the ingest benchmark's generator (10-span multi-agent traces, GenAI attributes, ~0.5 KB of
text per LLM span) through the real normalizer; each writer process runs the store path of a
collector's writer on its share of the batches (10,000 spans each): load the batch's traces from
the store, plan lineage, write. ClickHouse is reached over HTTP with clickhouse-connect (async_insert,
wait_for_async_insert=1) through the local test server (tests/store/clickhouse_server.py, chdb
behind it); DuckDB is one writer (it allows one), measured in the same run.
Queries: the template copied with fresh trace ids and later start times until chdb holds N spans over
30 days; the named queries run through `ClickHouseStore.run_query`; medians of `--repeat` runs after a
warm-up. Disk: the chdb folder and the DuckDB file after a merge / checkpoint, divided by their spans.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "store"))

from clickhouse_server import start_server  # noqa: E402
from ingest_bench import build_bodies  # noqa: E402

from agentdeck.collector.ingest.decode import decode_protobuf  # noqa: E402
from agentdeck.collector.ingest.lineage import TraceIndex  # noqa: E402
from agentdeck.collector.ingest.normalize import normalize  # noqa: E402
from agentdeck.collector.store.clickhouse.store import ClickHouseStore  # noqa: E402
from agentdeck.collector.store.duckdb_store import Store, rows_to_arrow  # noqa: E402
from agentdeck.collector.store.schema import COLUMN_NAMES, SpanRow  # noqa: E402
from agentdeck.engine.pricing import load_prices  # noqa: E402

DAY_NS = 86_400_000_000_000
BATCH = 10_000


def template_rows(spans: int) -> list[SpanRow]:
    bodies, _ = build_bodies(max(1, spans // 10), 1000, seed=11)
    prices = load_prices()
    return [normalize(s, prices, time.time_ns()) for b in bodies for s in decode_protobuf(b).spans][:spans]


def batches(rows: list[SpanRow]) -> list[list[SpanRow]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def write_batches(store: ClickHouseStore | Store, parts: list[list[SpanRow]]) -> None:
    """What a collector's writer does per batch: load, plan, write."""
    index = TraceIndex()
    for part in parts:
        traces = sorted({r.trace_id for r in part})
        index.discard(traces)  # a shared store: the traces may have changed elsewhere
        index.load(traces, store.load_traces(traces))
        store.write(index.apply(part))


def _worker(url: str, parts: list[list[SpanRow]], ready: mp.Barrier) -> None:  # type: ignore[type-arg]
    store = ClickHouseStore(url)
    ready.wait()
    write_batches(store, parts)
    store.close()


def ingest_clickhouse(url: str, rows: list[SpanRow], writers: int) -> float:
    parts = batches(rows)
    ready = mp.Barrier(writers + 1)
    procs = [mp.Process(target=_worker, args=(url, parts[i::writers], ready)) for i in range(writers)]
    for p in procs:
        p.start()
    ready.wait()
    t = time.perf_counter()
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a writer process failed ({p.exitcode})")
    return len(rows) / (time.perf_counter() - t)


def ingest_duckdb(path: Path, rows: list[SpanRow]) -> tuple[float, int]:
    store = Store(path)
    t = time.perf_counter()
    write_batches(store, batches(rows))
    rate = len(rows) / (time.perf_counter() - t)
    store.close()
    return rate, path.stat().st_size


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def fresh(rows: list[SpanRow], k: int) -> list[SpanRow]:
    """The rows with trace ids of their own (copy k), so each run writes new traces."""
    return [r._replace(trace_id=f"{k:04x}{r.trace_id[4:]}") for r in rows]


def fill_chdb(store: ClickHouseStore, template: pa.Table, spans: int) -> int:
    """Copy the template with new trace ids and later start times until about `spans` rows, over 30 days."""
    store.client.insert_arrow("spans", template.select(list(COLUMN_NAMES)))
    copies = max(1, spans // template.num_rows)
    t_min = min(template.column("start_ns").to_pylist())
    end = time.time_ns()
    step = 30 * DAY_NS // copies
    cols = ", ".join(COLUMN_NAMES)
    shifted = {
        "trace_id": "lower(hex(MD5(concat(trace_id, toString({k:UInt32})))))",
        "start_ns": "start_ns + {shift:Int64}",
        "end_ns": "end_ns + {shift:Int64}",
        "received_ns": "end_ns + {shift:Int64}",
    }
    select = ", ".join(shifted.get(c, c) for c in COLUMN_NAMES)
    store.client.command("CREATE TABLE IF NOT EXISTS t ENGINE = Memory AS SELECT * FROM spans")
    for k in range(1, copies):
        store.client.command(
            f"INSERT INTO spans ({cols}) SELECT {select} FROM t",
            {"k": k, "shift": end - 30 * DAY_NS - t_min + k * step},
        )
    store.client.command("DROP TABLE t")
    store.client.command("OPTIMIZE TABLE spans FINAL")
    return store.count()


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-spans", type=int, default=100_000)
    parser.add_argument("--query-spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, object] = {"ingest_spans": args.ingest_spans}
    rows = template_rows(args.ingest_spans)
    with tempfile.TemporaryDirectory(prefix="agentdeck-ch-bench-") as tmp:
        root = Path(tmp)
        rate, size = ingest_duckdb(root / "d.duckdb", rows)
        out["duckdb_1_writer_spans_per_s"] = round(rate)
        out["duckdb_bytes_per_span"] = round(size / len(rows), 1)
        with start_server(root / "server") as server:
            ClickHouseStore(server.url).close()  # the schema, once
            for n in (1, 2, 3):
                out[f"clickhouse_http_{n}_writers_spans_per_s"] = round(
                    ingest_clickhouse(server.url, fresh(rows, n), n)
                )
        store = ClickHouseStore(f"chdb://{root / 'chdb'}")
        spans = fill_chdb(store, rows_to_arrow(rows), args.query_spans)
        out["chdb_spans"] = spans
        out["chdb_bytes_per_span"] = round(folder_bytes(root / "chdb") / spans, 1)
        for table in ("spans", "trace_index", "agent_hourly"):
            size = store.client.query_arrow(
                "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND table = {t:String}", {"t": table}
            )
            out[f"chdb_{table}_table_bytes_per_span"] = round(int(size.column(0)[0].as_py() or 0) / spans, 1)
        now = store.client.query_arrow("SELECT max(start_ns) + 1 FROM spans").column(0)[0].as_py()
        day = {"start_ns": str(now - DAY_NS), "end_ns": str(now)}
        full = {"start_ns": "0", "end_ns": str(now)}
        picks = iter(
            store.client.query_arrow("SELECT trace_id FROM spans ORDER BY rand() LIMIT 64").column(0).to_pylist() * 8
        )
        cases: dict[str, Callable[[], object]] = {
            "agent_metrics_24h": lambda: store.run_query("agent_metrics", day),
            "agent_metrics_full_history": lambda: store.run_query("agent_metrics", full),
            "overview_24h": lambda: store.run_query("overview", day),
            "trace_by_id": lambda: store.run_query("trace", {"trace_id": next(picks)}),
            "trace_by_id_light": lambda: store.run_query("trace", {"trace_id": next(picks), "columns": "light"}),
            "agent_hourly_rollup_full_history": lambda: store.client.query_arrow(
                "SELECT agent_name, sum(attempts), quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_ms) "
                "FROM agent_hourly GROUP BY agent_name"
            ),
        }
        for name, fn in cases.items():
            out[f"chdb_{name}_ms"] = round(timed(fn, args.repeat), 1)
        store.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
