"""The sustained-ingest gap (issue 14): DuckDB file options side by side, as the file grows.

    .venv/bin/python bench/row_group_bench.py --spans 600000 --repeat 2 --configs default,rg30720,rg61440,ckpt256

A 3-minute soak holds only 68-81% of the benchmark rate as the file grows (checkpoint cost). Each
configuration runs in its own process, on a new file: the ingest benchmark's normalized spans (fresh
ids per request) are inserted as the collector's writer does (Arrow, 1,000 spans per transaction,
`trace_ranges` kept), and the rate of the first and the last tenth of the run are compared (how much
of its speed the store keeps as the file grows). Then the dashboard's queries run on the file
(median of 5 after a warm-up). Configurations: `default` (the store as shipped: 122,880-row groups,
checkpoint_threshold 64 MB), `rgN` (the file created with ROW_GROUP_SIZE N, an ATTACH option that is
not stored in the file, so every open must give it), `ckptN` (checkpoint_threshold N MB). Runs of
the configurations are interleaved, `--repeat` times; medians are printed, with ratios to `default`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

QUERIES = (
    ("overview", {}),
    ("agent_metrics", {}),
    ("traces", {"limit": "50"}),
    ("timeseries", {"metric": "spend", "group_by": "agent"}),
)


def run_one(config: str, spans: int, db: Path) -> dict[str, object]:
    import duckdb
    import pyarrow as pa
    from ingest_bench import build_bodies

    from agentdeck.collector.ingest.decode import decode_protobuf
    from agentdeck.collector.ingest.normalize import normalize
    from agentdeck.collector.store.duckdb.ddl import TRACE_RANGES_SQL, create_table_sql
    from agentdeck.collector.store.duckdb.migrations import append_trace_ranges
    from agentdeck.collector.store.duckdb.query import run_query
    from agentdeck.collector.store.schema import rows_to_arrow
    from agentdeck.engine.pricing import load_prices

    prices = load_prices()
    bodies, _ = build_bodies(300, 1000, seed=3)
    templates = [rows_to_arrow([normalize(s, prices, 0) for s in decode_protobuf(b).spans]) for b in bodies]
    checkpoint_mb = int(config[4:]) if config.startswith("ckpt") else 64
    conn = duckdb.connect()
    options = f" (ROW_GROUP_SIZE {int(config[2:])})" if config.startswith("rg") else ""
    conn.execute(f"ATTACH '{db}' AS store{options}")
    conn.execute("USE store")
    conn.execute(f"SET checkpoint_threshold = '{checkpoint_mb}MB'")
    conn.execute(create_table_sql())
    conn.execute(TRACE_RANGES_SQL)
    done = 0
    times: list[tuple[int, float]] = []
    started = time.perf_counter()
    i = 0
    while done < spans:
        t = templates[i % len(templates)]
        n = t.num_rows
        ids = pa.array([f"{i:016x}{j % 97:016x}" for j in range(n)], type=pa.string())
        now = time.time_ns()
        batch = t.set_column(t.schema.get_field_index("trace_id"), "trace_id", ids)
        batch = batch.set_column(
            batch.schema.get_field_index("received_ns"), "received_ns", pa.array([now] * n, type=pa.int64())
        )
        conn.register("_batch", batch)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO spans SELECT * FROM _batch")
        append_trace_ranges(conn, "_batch")
        conn.execute("COMMIT")
        conn.unregister("_batch")
        done += n
        i += 1
        times.append((done, time.perf_counter() - started))
    conn.execute("CHECKPOINT")
    total_s = time.perf_counter() - started
    tenth = spans // 10
    first = next(t for d, t in times if d >= tenth)
    last_start = next(t for d, t in times if d >= spans - tenth)
    rate_first = tenth / first
    rate_last = (done - next(d for d, t in times if t >= last_start)) / max(total_s - last_start, 1e-9)
    end = time.time_ns()
    query_ms: dict[str, float] = {}
    for name, extra in QUERIES:
        params = {"start_ns": str(end - 86_400 * 10**9), "end_ns": str(end), **extra}
        runs = []
        for k in range(6):
            t0 = time.perf_counter()
            run_query(conn, name, params, timeout_s=None)
            if k:
                runs.append((time.perf_counter() - t0) * 1000)
        query_ms[name] = statistics.median(runs)
    conn.close()
    return {
        "spans_per_s": done / total_s,
        "first_tenth": rate_first,
        "last_tenth": rate_last,
        "kept": rate_last / rate_first,
        "bytes_per_span": db.stat().st_size / done,
        "query_ms": query_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=600_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--configs", default="default,rg30720,rg61440,ckpt256")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.spans, Path(args.db))))
        return
    configs = args.configs.split(",")
    results: dict[str, list[dict[str, object]]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for c in configs:
                db = Path(tmp) / f"{c}-{r}.duckdb"
                out = subprocess.run(
                    [sys.executable, __file__, "--one", c, "--db", str(db), "--spans", str(args.spans)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                results[c].append(json.loads(out.stdout.strip().splitlines()[-1]))
                db.unlink()
                print(f"run {r + 1} {c}: {results[c][-1]}", file=sys.stderr, flush=True)

    def med(c: str, key: str) -> float:
        return statistics.median(float(x[key]) for x in results[c])  # type: ignore[arg-type]

    def qmed(c: str, q: str) -> float:
        return statistics.median(float(x["query_ms"][q]) for x in results[c])  # type: ignore[index]

    base = configs[0]
    head = ["config", "spans/s", "first 10%", "last 10%", "kept", "B/span", *(f"{q} ms" for q, _ in QUERIES)]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for c in configs:
        cells = [
            c,
            f"{med(c, 'spans_per_s'):,.0f} ({med(c, 'spans_per_s') / med(base, 'spans_per_s'):.2f}x)",
            f"{med(c, 'first_tenth'):,.0f}",
            f"{med(c, 'last_tenth'):,.0f}",
            f"{med(c, 'kept'):.0%}",
            f"{med(c, 'bytes_per_span'):.0f}",
            *(f"{qmed(c, q):.1f} ({qmed(c, q) / qmed(base, q):.2f}x)" for q, _ in QUERIES),
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
