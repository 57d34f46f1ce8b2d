"""One collector's write path as a process, for the multi-collector tests: a `ClickHouseStore` and
the real ingest `Writer` on it. Reads batches (JSON lines) on stdin, submits each, and prints
`ack BATCH` only once the writer answered it (what a collector answers 200 on)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from clickhouse_rows import row

from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.clickhouse.store import ClickHouseStore


def main() -> None:
    store = ClickHouseStore(sys.argv[1])
    writer = Writer(store, Metrics(), queue_max_spans=10_000, batch_max_spans=1_000, flush_interval_ms=5)  # type: ignore[arg-type]
    writer.start()
    print("ready", flush=True)
    for line in sys.stdin:
        batch = json.loads(line)
        rows = [
            row(
                s["trace"],
                span_id=s["span_id"],
                parent=s["parent"],
                start_ms=s["start_ms"],
                name=s["name"],
                span_type=s["type"],
                agent_name=s["agent"],
            )
            for s in batch["spans"]
        ]
        writer.submit(rows).result(60)
        print(f"ack {batch['id']}", flush=True)
    writer.stop()
    store.close()


if __name__ == "__main__":
    main()
