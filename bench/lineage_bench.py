"""Lineage at full size (issue 18, item 4): one crafted trace of 24,000 LLM spans, then more spans
of that trace one batch at a time, as a trickling exporter would send them.

Measures what the writer's planning step (`TraceIndex.apply`) costs per later span of the large
trace, for two shapes: realistic calls (each instrumentor span with the SDK's span beside it) and
a hostile one (every call under one parent at the same instant, so every span overlaps every
other). Before this change the hostile trace cost ~15 s per later span (every pair compared on
every batch); the figure printed here is per span, in milliseconds.

    .venv/bin/python bench/lineage_bench.py --spans 24000 --later 200
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=24_000)
    parser.add_argument("--later", type=int, default=200)
    args = parser.parse_args()

    from agentdeck.collector.ingest.lineage import TraceIndex
    from agentdeck.collector.ingest.workers import RowFacts
    from agentdeck.engine import semconv as sc

    trace = secrets.token_hex(16)
    rng = random.Random(1)

    def row(parent: str | None, sdk: bool, start: int) -> RowFacts:
        return RowFacts(
            trace_id=trace,
            span_id=secrets.token_hex(8),
            parent_span_id=parent,
            name=sc.ANTHROPIC_SDK_SPAN_NAME if sdk else "chat",
            scope_name=sc.ANTHROPIC_SDK_SCOPE if sdk else "openinference",
            span_type="llm",
            agent_name=None,
            input_tokens=10,
            output_tokens=10,
            usage_counted=True,
            start_ns=start,
            end_ns=start + 10,
            received_ns=1,
            service_name="bench",
            convention="openinference",
        )

    for shape in ("realistic", "hostile"):
        root = secrets.token_hex(8)
        rows = [row(None, False, 0)._replace(span_id=root, span_type="agent", agent_name="a", input_tokens=None)]
        for i in range(args.spans + args.later):
            start = 10 if shape == "hostile" else 100 * (i // 2)
            rows.append(row(root, i % 2 == 1, start + (0 if shape == "hostile" else i % 2)))
        head, tail = rows[: args.spans + 1], rows[args.spans + 1 :]
        rng.shuffle(head)
        index = TraceIndex(max_spans=10**6)
        index.load([trace], [])
        began = time.perf_counter()
        for i in range(0, len(head), 1000):
            index.apply(head[i : i + 1000])
        build_s = time.perf_counter() - began
        times = []
        for r in tail:
            began = time.perf_counter()
            index.apply([r])
            times.append((time.perf_counter() - began) * 1000)
        print(
            f"{shape}: {args.spans:,} spans planned in {build_s:.2f} s; each later span of the trace: "
            f"median {statistics.median(times):.3f} ms, max {max(times):.3f} ms ({args.later} spans)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
