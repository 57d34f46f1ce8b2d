"""Memory of DuckDB checkpoints under the collector's insert pattern, per DuckDB setting.

    .venv/bin/python bench/checkpoint_memory.py --spans 400000 --configs default,memory_limit=256MB,threads=1

Explains the transient RSS spikes bench/soak.py sees in the collector: each configuration runs in
its own process, which inserts the ingest benchmark's normalized spans (fresh ids per request, 1,000
spans per transaction, as the collector's writer commits them) into a new file with the store's
`checkpoint_threshold`, plus the given settings (`name=value`, comma-separated; `+` joins several
for one run, e.g. `memory_limit=256MB+threads=1`; `row_group_size=N` creates the file with that
row group size, an ATTACH option). A thread samples the process RSS every 5 ms.
Printed per configuration: spans/s, peak RSS, RSS before the first and last checkpoints, and the
largest rise of RSS during a checkpoint (from the sample just before the commit that checkpoints
to the peak while it runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_one(settings: list[str], spans: int, db: Path) -> dict[str, object]:
    import duckdb
    import pyarrow as pa
    from ingest_bench import build_bodies

    from agentdeck.collector.ingest.decode import decode_protobuf
    from agentdeck.collector.ingest.normalize import normalize
    from agentdeck.collector.store.duckdb.ddl import create_table_sql
    from agentdeck.collector.store.duckdb.store import CHECKPOINT_THRESHOLD
    from agentdeck.collector.store.schema import rows_to_arrow
    from agentdeck.engine.pricing import load_prices

    prices = load_prices()
    bodies, _ = build_bodies(300, 1000, seed=3)  # 3 templates, ~1,000 spans each, as 3 soak producers
    tables = [rows_to_arrow([normalize(s, prices, 0) for s in decode_protobuf(b).spans]) for b in bodies]
    row_group = [s.split("=", 1)[1] for s in settings if s.startswith("row_group_size=")]
    if row_group:  # a property of the file, set when it is created (ATTACH option)
        conn = duckdb.connect()
        conn.execute(f"ATTACH '{db}' AS store (ROW_GROUP_SIZE {int(row_group[0])})")
        conn.execute("USE store")
    else:
        conn = duckdb.connect(str(db))
    conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    for setting in settings:
        name, value = setting.split("=", 1)
        if name != "row_group_size":
            conn.execute(f"SET {name} = '{value}'")
    conn.execute(create_table_sql("spans"))
    wal = Path(str(db) + ".wal")
    peak = [0.0]
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.005)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    checkpoints: list[dict[str, float]] = []
    inserted, number = 0, 0
    started = time.perf_counter()
    while inserted < spans:
        table = tables[number % len(tables)]
        n = table.num_rows
        suffix = f"{number:010x}"
        trace = pa.array([t[:22] + suffix for t in table.column("trace_id").to_pylist()], pa.string())
        span = pa.array([f"{number:010x}{i:06x}" for i in range(n)], pa.string())
        table = table.set_column(table.schema.get_field_index("trace_id"), "trace_id", trace)
        table = table.set_column(table.schema.get_field_index("span_id"), "span_id", span)
        before, wal_before = _rss_mib(), wal.stat().st_size if wal.exists() else 0
        peak[0] = before
        conn.register("_b", table)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO spans SELECT * FROM _b")
        conn.execute("COMMIT")
        conn.unregister("_b")
        wal_after = wal.stat().st_size if wal.exists() else 0
        inserted += n
        number += 1
        if wal_after < wal_before:  # this commit checkpointed
            checkpoints.append({"spans": inserted, "rss_before": round(before), "peak": round(peak[0])})
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    conn.close()
    rises = [c["peak"] - c["rss_before"] for c in checkpoints]
    return {
        "settings": settings or ["default"],
        "spans": inserted,
        "spans_per_s": round(inserted / elapsed),
        "checkpoints": len(checkpoints),
        "rss_mib_peak": round(max([c["peak"] for c in checkpoints] + [_rss_mib()])),
        "rss_mib_before_first_last_checkpoint": [checkpoints[0]["rss_before"], checkpoints[-1]["rss_before"]]
        if checkpoints
        else [],
        "checkpoint_rise_mib_max": round(max(rises)) if rises else 0,
        "checkpoint_rise_mib_each": [round(r) for r in rises],
        "checkpoint_at_spans": [c["spans"] for c in checkpoints],
        "file_mib": round(db.stat().st_size / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=400_000)
    parser.add_argument("--configs", default="default,memory_limit=256MB,threads=1,checkpoint_threshold=16MB")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one configuration in this process
    args = parser.parse_args()
    if args.one is not None:
        settings = [] if args.one == "default" else args.one.split("+")
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run_one(settings, args.spans, Path(tmp) / "ckpt.duckdb")))
        return 0
    for config in args.configs.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--spans", str(args.spans), "--one", config],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout)
        result["load_1m"] = os.getloadavg()[0]
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
