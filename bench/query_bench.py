"""Named queries at volume: medians of the dashboard's queries at 1M and 10M stored spans.

    .venv/bin/python bench/query_bench.py --sizes 1000000,10000000 --repeat 7

The files are built once and cached in the temp dir (`--cache`, default $TMPDIR/agentdeck-query-bench):
100,000 spans from the ingest benchmark's generator (10-span multi-agent traces, GenAI and
OpenInference attributes, ~0.5 KB of text per LLM span) go through the real normalizer into the
real `spans` table, then are copied with fresh trace ids and later start times until the file
holds N spans spread over 30 days, in time order as the writer appends them. Each query runs
through `agentdeck.collector.store.duckdb.query.run_query` (the code the HTTP API runs) on a read-only connection; the
first run of each is a warm-up, then the median of `--repeat` runs is reported, with a plain
`count(*)` scan of the same file as the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest_bench import build_bodies  # noqa: E402

from agentdeck.collector.ingest.decode import decode_protobuf  # noqa: E402
from agentdeck.collector.ingest.normalize import normalize  # noqa: E402
from agentdeck.collector.store.duckdb.migrations import append_trace_ranges  # noqa: E402
from agentdeck.collector.store.duckdb.query import run_query  # noqa: E402
from agentdeck.collector.store.duckdb.store import Store  # noqa: E402
from agentdeck.collector.store.schema import rows_to_arrow  # noqa: E402
from agentdeck.engine.pricing import load_prices  # noqa: E402

DAY_NS = 86_400_000_000_000
SPAN_DAYS = 30
TEMPLATE_TRACES = 10_000  # x 10 spans


def build_file(path: Path, spans: int) -> None:
    """A `spans` file of about `spans` rows over the last SPAN_DAYS days (written once, then cached)."""
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    store = Store(tmp)
    prices = load_prices()
    bodies, _ = build_bodies(TEMPLATE_TRACES, 1000, seed=11)
    template = rows_to_arrow([normalize(s, prices, 0) for b in bodies for s in decode_protobuf(b).spans])
    copies = max(1, spans // template.num_rows)
    t_min = min(template.column("start_ns").to_pylist())
    end = time.time_ns()
    step = SPAN_DAYS * DAY_NS // copies  # each copy of the template covers its own slice of time
    conn = store.conn
    conn.register("template", template)
    conn.execute("CREATE TEMP TABLE t AS SELECT * FROM template")
    cols = [r[0] for r in conn.execute("SELECT name FROM pragma_table_info('spans') ORDER BY cid").fetchall()]
    base = end - SPAN_DAYS * DAY_NS - t_min
    shifted = {
        "trace_id": "md5(trace_id || $k::VARCHAR)",  # random-looking, like real ids
        "start_ns": "start_ns + $shift",
        "end_ns": "end_ns + $shift",
        "received_ns": "end_ns + $shift",
    }
    select = ", ".join(shifted.get(c, c) for c in cols)
    for k in range(copies):
        conn.execute(f"INSERT INTO spans SELECT {select} FROM t", {"k": k, "shift": base + k * step})
    append_trace_ranges(conn, "spans")
    conn.execute("CHECKPOINT")
    store.close()
    tmp.rename(path)


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def bench(path: Path, repeat: int) -> dict[str, float]:
    conn = duckdb.connect(str(path), read_only=True)
    now = conn.execute("SELECT max(start_ns) + 1 FROM spans").fetchone()[0]  # type: ignore[index]
    trace_ids = [r[0] for r in conn.execute("SELECT trace_id FROM spans USING SAMPLE 16 ROWS").fetchall()]
    day = {"start_ns": str(now - DAY_NS), "end_ns": str(now)}
    full = {"start_ns": "0", "end_ns": str(now)}
    picks = iter(trace_ids * (repeat + 1))
    cases: dict[str, Callable[[], object]] = {
        "baseline_count_star_scan": lambda: conn.execute("SELECT count(*), sum(duration_ms) FROM spans").fetchall(),
        "agent_metrics_24h": lambda: run_query(conn, "agent_metrics", day),
        "agent_metrics_full_history": lambda: run_query(conn, "agent_metrics", full),
        "trace_by_id": lambda: run_query(conn, "trace", {"trace_id": next(picks)}),
        # the same lookup without trace_ranges (what `trace` ran before schema version 2)
        "trace_by_id_scanning_spans": lambda: conn.sql(
            "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", params=[next(picks)]
        ).to_arrow_table(),
        "overview_24h": lambda: run_query(conn, "overview", day),
        "traces_page_24h": lambda: run_query(conn, "traces", day),
        "timeseries_24h": lambda: run_query(conn, "timeseries", day),
    }
    out = {"rows": float(conn.execute("SELECT count(*) FROM spans").fetchone()[0])}  # type: ignore[index]
    for name, fn in cases.items():
        out[name + "_ms"] = round(timed(fn, repeat), 1)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "agentdeck-query-bench"))
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        path = cache / f"spans-{size}.duckdb"
        if not path.exists():
            t = time.perf_counter()
            build_file(path, size)
            print(f"built {path} in {time.perf_counter() - t:.0f} s", flush=True)
        else:
            t = time.perf_counter()
            Store(path).close()  # a file cached by an older version is migrated, as the collector would
            print(f"opened {path} in {time.perf_counter() - t:.1f} s", flush=True)
        results[size] = bench(path, args.repeat)
        results[size]["load_avg_1m"] = round(os.getloadavg()[0], 2)
        print(f"{size:,} spans:", json.dumps(results[size]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
