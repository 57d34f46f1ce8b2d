"""Reproducible sample traces: run batches of seeded tasks and write them as OTLP payloads.

Same batches + same start time -> the same bytes: trace and span ids come from a hash of the task,
timestamps from the simulator's virtual clock. LangGraph's checkpoint and task ids are uuid6 values
derived from wall time; with `stable_langgraph_ids=True` (the default) they are replaced in the span
attributes by ids derived from the trace, so the file is reproducible but those ids no longer match
the checkpoint DB written alongside. Pass False to keep the real ids (trace <-> checkpoint lookups
then work against `checkpoint_db`, but the bytes change from run to run).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine import semconv as sc
from agentdeck.engine.providers.simulator import FaultRates, stable_int
from agentdeck.engine.runner import RunSummary, run_tasks
from agentdeck.engine.telemetry import make_tracer_provider

DEFAULT_START_NS = 1_795_000_000_000_000_000  # 2026-11-18T09:46:40Z
_UUID_KEYS = (sc.LANGGRAPH_CHECKPOINT_ID, sc.LANGGRAPH_TASK_ID)


@dataclass(frozen=True, slots=True)
class SampleBatch:
    workflow: str
    tasks: int
    seed: int = 0
    budget_usd: float | None = None
    chaos: float = 0.0
    deadline_ms: float | None = None
    prompt_overrides: Mapping[str, str] = field(default_factory=dict)
    faults: FaultRates | None = None  # None: FaultRates.realistic()


def generate(
    batches: Sequence[SampleBatch], *, checkpoint_db: str | Path, start_time_ns: int = DEFAULT_START_NS
) -> tuple[list[ReadableSpan], list[RunSummary]]:
    """Run the batches one after another (deterministic ids, virtual time, no sleeping)."""
    exporter = InMemorySpanExporter()
    provider = make_tracer_provider(export=False, exporters=[exporter], deterministic_ids=True)
    summaries = []
    offset = start_time_ns
    for batch in batches:
        summaries.append(
            run_tasks(
                batch.workflow,
                batch.tasks,
                seed=batch.seed,
                chaos=batch.chaos,
                checkpoint_db=checkpoint_db,
                latency_scale=0.0,
                budget_usd=batch.budget_usd,
                deadline_ms=batch.deadline_ms,
                tracer_provider=provider,
                faults=batch.faults,
                prompt_overrides=batch.prompt_overrides,
                deterministic_ids=True,
                start_time_ns=offset,
            )
        )
        offset += int((batch.tasks * 2.5 + 3600) * 1e9)  # batches follow each other
    provider.shutdown()
    spans = sorted(
        exporter.get_finished_spans(), key=lambda s: (s.start_time or 0, s.context.trace_id, s.context.span_id)
    )
    return spans, summaries


def _stable_ids(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """Replace wall-clock-derived LangGraph uuids by ids derived from (trace, key, node, step, ordinal)."""
    mapping: dict[str, str] = {}
    ordinals: dict[tuple[object, ...], int] = {}
    out = []
    for s in spans:
        attrs = dict(s.attributes or {})
        for key in _UUID_KEYS:
            old = attrs.get(key)
            if isinstance(old, str) and old and old not in mapping:
                slot = (s.context.trace_id, key, attrs.get(sc.LANGGRAPH_NODE, ""), attrs.get(sc.LANGGRAPH_STEP, ""))
                n = ordinals[slot] = ordinals.get(slot, -1) + 1
                mapping[old] = str(uuid.UUID(int=stable_int(*slot, n) << 64 | stable_int(n, *slot)))
            if isinstance(old, str) and old:
                attrs[key] = mapping[old]
        ns = attrs.get(sc.LANGGRAPH_CHECKPOINT_NS)
        if isinstance(ns, str) and ":" in ns and attrs.get(sc.LANGGRAPH_TASK_ID):
            attrs[sc.LANGGRAPH_CHECKPOINT_NS] = f"{ns.split(':')[0]}:{attrs[sc.LANGGRAPH_TASK_ID]}"
        out.append(
            ReadableSpan(
                name=s.name,
                context=s.context,
                parent=s.parent,
                resource=s.resource,
                attributes=attrs,
                events=s.events,
                links=s.links,
                kind=s.kind,
                status=s.status,
                start_time=s.start_time,
                end_time=s.end_time,
                instrumentation_scope=s.instrumentation_scope,
            )
        )
    return out


def to_otlp_protobuf(spans: Sequence[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString(deterministic=True)


def to_otlp_json(spans: Sequence[ReadableSpan]) -> str:
    """OTLP/JSON: ids as lowercase hex (not protobuf-JSON base64), as the OTLP spec requires."""
    data: dict[str, Any] = MessageToDict(encode_spans(spans))

    def fix(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {
                k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and v else fix(v))
                for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [fix(v) for v in obj]
        return obj

    return json.dumps(fix(data), sort_keys=True)


def write_sample_traces(
    path: str | Path,
    batches: Sequence[SampleBatch],
    *,
    checkpoint_db: str | Path,
    start_time_ns: int = DEFAULT_START_NS,
    stable_langgraph_ids: bool = True,
    fmt: str = "protobuf",
) -> list[RunSummary]:
    """Write one OTLP ExportTraceServiceRequest (fmt "protobuf" or "json") holding every batch's spans."""
    if fmt not in ("protobuf", "json"):
        raise ValueError(f"fmt must be 'protobuf' or 'json', got {fmt!r}")
    spans, summaries = generate(batches, checkpoint_db=checkpoint_db, start_time_ns=start_time_ns)
    if stable_langgraph_ids:
        spans = _stable_ids(spans)
    target = Path(path)
    if fmt == "protobuf":
        target.write_bytes(to_otlp_protobuf(spans))
    else:
        target.write_text(to_otlp_json(spans), encoding="utf-8")
    return summaries
