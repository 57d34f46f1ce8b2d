"""The ClickHouse span store against DuckDB: ingest through 1, 2 and 3 writer processes, agent
metrics and one trace at volume on chdb, and disk bytes per span on each store.

    .venv/bin/python bench/clickhouse_bench.py                                # the short run (shared 2-core machine)
    .venv/bin/python bench/clickhouse_bench.py --ingest-spans 1000000 --query-spans 10000000   # the full size

Ingest: the ingest benchmark's generator (10-span multi-agent traces, GenAI attributes, ~0.5 KB of
text per LLM span) as OTLP protobuf requests of 1,000 spans, posted (2 senders per collector) to 1, 2
and 3 `agentdeck collector --store clickhouse://...` processes sharing the local test server
(tests/store/clickhouse_server.py, chdb behind it; clickhouse-connect with async_insert and
wait_for_async_insert=1), and to one `agentdeck collector --db` (DuckDB allows one) in the same run;
spans/s acknowledged (a 200 is durable on both).
Queries: the template copied with fresh trace ids and later start times until chdb holds N spans over
30 days; the named queries run through `ClickHouseStore.run_query`; medians of `--repeat` runs after a
warm-up. Disk: the chdb folder and the DuckDB file after a merge / checkpoint, divided by their spans.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "store"))

from clickhouse_server import start_server  # noqa: E402
from ingest_bench import build_bodies, post_all  # noqa: E402
from query_bench import timed  # noqa: E402

from agentdeck.collector.ingest.decode import decode_protobuf  # noqa: E402
from agentdeck.collector.ingest.normalize import normalize  # noqa: E402
from agentdeck.collector.store.clickhouse.store import ClickHouseStore  # noqa: E402
from agentdeck.collector.store.schema import COLUMN_NAMES, SpanRow, rows_to_arrow  # noqa: E402
from agentdeck.engine.pricing import load_prices  # noqa: E402

DAY_NS = 86_400_000_000_000
BATCH = 10_000


def template_rows(spans: int) -> list[SpanRow]:
    bodies, _ = build_bodies(max(1, spans // 10), 1000, seed=11)
    prices = load_prices()
    return [normalize(s, prices, time.time_ns()) for b in bodies for s in decode_protobuf(b).spans][:spans]


def start_collectors(store_args: list[str], n: int) -> list[tuple[subprocess.Popen[str], str]]:
    """n `agentdeck collector` processes on one store; decoding in-process (2 cores), alerts idle."""
    out = []
    for _ in range(n):
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentdeck.collector", *store_args, "--port", "0", "--ingest-workers", "0",
             "--alert-interval-s", "3600"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline()
        out.append((proc, line.split("listening on ", 1)[1].split()[0] + "/v1/traces"))
    return out


def ingest(store_args: list[str], bodies: list[bytes], spans: int, n: int) -> float:
    """Spans/s acknowledged through n collectors, the requests spread evenly (2 senders each)."""
    collectors = start_collectors(store_args, n)
    try:
        threads = [
            threading.Thread(target=post_all, args=(url, bodies[i::n], 2)) for i, (_, url) in enumerate(collectors)
        ]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return spans / (time.perf_counter() - t)
    finally:
        for proc, _ in collectors:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-spans", type=int, default=100_000)
    parser.add_argument("--query-spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, object] = {"ingest_spans": args.ingest_spans}
    rows = template_rows(min(args.ingest_spans, 100_000))
    with tempfile.TemporaryDirectory(prefix="agentdeck-ch-bench-") as tmp:
        root = Path(tmp)
        for n in (1, 2, 3):  # fresh bodies per run: every run writes new traces
            bodies, spans = build_bodies(args.ingest_spans // 10, 1000, seed=20 + n)
            if n == 1:
                rate = ingest(["--db", str(root / "d.duckdb")], bodies, spans, 1)
                out["duckdb_1_collector_spans_per_s"] = round(rate)
                out["duckdb_bytes_per_span"] = round((root / "d.duckdb").stat().st_size / spans, 1)
            with start_server(root / f"server{n}") as server:
                ClickHouseStore(server.url).close()  # the schema, once
                rate = ingest(["--store", server.url], bodies, spans, n)
                out[f"clickhouse_http_{n}_collectors_spans_per_s"] = round(rate)
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
