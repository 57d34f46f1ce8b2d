"""Tasks worth replaying, for the demo: triage runs with real checkpoints, some failed by the weak prompt.

The sample traces carry rewritten checkpoint ids (see engine/samples.py), so they cannot be forked;
these runs can. With no injected faults, and seed 1, three of twelve tasks dead-letter (two at the
classifier because of its weak v1 prompt). They run with the live runs' simulated latency (a quarter of
the simulator's), four at a time: tasks of 0.5-5 s, about 10 s in all, where zero latency made 5 ms
tasks that read as broken next to every other trace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import RunSummary, run_tasks
from agentdeck.engine.telemetry import make_tracer_provider, traces_url

REPLAY_SEED: Final = 1
REPLAY_TASKS: Final = 12
LATENCY_SCALE: Final = 0.25  # as the demo's live runs (DemoConfig.latency_scale)
CONCURRENCY: Final = 4


def seed_replayable(
    checkpoint_db: str | Path, endpoint: str | None, *, tasks: int = REPLAY_TASKS, seed: int = REPLAY_SEED
) -> RunSummary:
    """Run `tasks` triage tasks into `checkpoint_db`, exporting to `endpoint` (a collector base URL).
    Tasks already in the file are not run again."""
    tp = make_tracer_provider(export=False)
    if endpoint:  # a patient exporter: the collector may still be warming up when the demo starts
        tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=10)))
    try:
        return run_tasks(
            "triage",
            tasks,
            seed=seed,
            concurrency=CONCURRENCY,
            checkpoint_db=checkpoint_db,
            tracer_provider=tp,
            latency_scale=LATENCY_SCALE,
            faults=FaultRates(),
        )
    finally:
        tp.shutdown()


def wait_for_traces(collector_url: str, trace_ids: list[str], timeout_s: float = 20.0) -> bool:
    """Poll the query API until every trace has its root span (bounded); True when all arrived."""
    pending = set(trace_ids)
    give_up = time.monotonic() + timeout_s
    while pending and time.monotonic() < give_up:
        for tid in sorted(pending):
            resp = httpx.get(f"{collector_url}/api/query/trace", params={"trace_id": tid, "format": "json"}, timeout=5)
            if resp.status_code == 200 and any(r for r in resp.json()["rows"]):
                body = resp.json()
                parent = body["columns"].index("parent_span_id")
                if any(r[parent] is None for r in body["rows"]):
                    pending.discard(tid)
        if pending:
            time.sleep(0.1)
    return not pending
