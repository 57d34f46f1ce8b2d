"""Sample traces are reproducible byte for byte and decode as OTLP."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentdeck.engine import semconv as sc
from agentdeck.engine.samples import SampleBatch, write_sample_traces
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED

BATCHES = [
    SampleBatch("triage", 8, seed=1),
    SampleBatch("due_diligence", 3, seed=2),
    SampleBatch("triage", 3, seed=9, budget_usd=0.002),
    SampleBatch("incident", 3, seed=1, prompt_overrides={"classifier": CLASSIFIER_PROMPT_FIXED}),
]


def test_same_batches_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pb", tmp_path / "b.pb"
    write_sample_traces(a, BATCHES, checkpoint_db=tmp_path / "a.sqlite")
    summaries = write_sample_traces(b, BATCHES, checkpoint_db=tmp_path / "b.sqlite")
    assert a.read_bytes() == b.read_bytes()
    req = ExportTraceServiceRequest()
    req.ParseFromString(a.read_bytes())
    spans = [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == sum(len(s.tasks) for s in summaries) == 17
    assert {r.trace_id.hex() for r in roots} == {t.trace_id for s in summaries for t in s.tasks}
    outcomes = {a.value.string_value for r in roots for a in r.attributes if a.key == sc.AD_TASK_OUTCOME}
    assert "incomplete" in outcomes and "success" in outcomes


def test_json_format_uses_hex_ids(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    summaries = write_sample_traces(out, BATCHES[:1], checkpoint_db=tmp_path / "c.sqlite", fmt="json")
    data = json.loads(out.read_text())
    spans = data["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {s["traceId"] for s in spans} == {t.trace_id for t in summaries[0].tasks}
    assert all(len(s["spanId"]) == 16 for s in spans)
