"""Absurd usage is refused one span at a time (issue 18, item 5): a span reporting 2^62 tokens, a
negative token count or a cost of -1e9 is rejected through OTLP partial_success; the other spans
of the same request land, and no total moves."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from otlp_payloads import S, Value, json_body, new_trace_id, request

from agentdeck.collector.ingest.usage import MAX_COST_USD, MAX_TOKENS, usage_problem
from agentdeck.collector.server import CollectorServer

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
VALID: dict[str, Value] = {
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 20,
}
ABSURD: dict[str, dict[str, Value]] = {
    "huge-tokens": {"gen_ai.usage.input_tokens": 2**62, "gen_ai.usage.output_tokens": 2**62},
    "negative-tokens": {"gen_ai.usage.output_tokens": -5},
    "negative-cost": {"gen_ai.usage.cost": -1e9},
    "huge-cost-text": {"llm.cost.total": "1e12"},
    "tokens-as-big-text": {"llm.token_count.prompt": "9" * 30},
}


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_one_absurd_value_rejects_one_span_and_the_rest_land(
    collector: CollectorServer, client: httpx.Client, db_path: Path, encoding: str
) -> None:
    t = new_trace_id()
    valid = [S(f"ok-{i}", t, attrs=dict(VALID)) for i in range(10)]
    spans = valid[:5] + [S(name, t, attrs=attrs) for name, attrs in ABSURD.items()] + valid[5:]
    if encoding == "protobuf":
        r = client.post(collector.url + "/v1/traces", content=request(spans).SerializeToString(), headers=PB)
        assert r.status_code == 200, r.content
        partial = ExportTraceServiceResponse.FromString(r.content).partial_success
        rejected, message = partial.rejected_spans, partial.error_message
    else:
        r = client.post(collector.url + "/v1/traces", content=json_body(request(spans)), headers=JS)
        assert r.status_code == 200, r.content
        body = r.json()["partialSuccess"]
        rejected, message = int(body["rejectedSpans"]), body["errorMessage"]
    assert rejected == len(ABSURD)
    for name in ABSURD:
        assert f"'{name}'" in message
    assert "gen_ai.usage.cost = -1e+09 is not a cost in USD" in message
    assert "gen_ai.usage.input_tokens = 4611686018427387904 is not a token count" in message
    metrics = client.get(collector.url + "/metrics").json()
    assert metrics["spans_rejected"] == {"invalid_span": len(ABSURD)}
    collector.stop()
    names = [r[0] for r in stored_rows(db_path, "SELECT name FROM spans ORDER BY name")]
    assert names == sorted(s.name for s in valid)
    (total,) = stored_rows(db_path, "SELECT sum(cost_usd), sum(input_tokens) FROM spans")
    assert total[0] is not None and 0 < float(str(total[0])) < 1 and total[1] == 1000


def test_the_bounds_are_inclusive_and_other_values_pass() -> None:
    assert usage_problem({"gen_ai.usage.input_tokens": MAX_TOKENS, "gen_ai.usage.cost": MAX_COST_USD}) is None
    assert usage_problem({"gen_ai.usage.input_tokens": 0, "gen_ai.usage.cost": 0.0}) is None
    assert usage_problem({"gen_ai.usage.input_tokens": "not a number", "other": -1}) is None
    assert usage_problem({"gen_ai.usage.input_tokens": MAX_TOKENS + 1}) is not None
    assert usage_problem({"llm.cost.prompt": MAX_COST_USD * 2}) is not None
    assert usage_problem({"llm.token_count.total": -1.5}) is not None
