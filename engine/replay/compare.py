"""Compare an original run with its replay, step by step, from the spans each run emitted.

Both sides are reduced to `SpanFacts` (a neutral view of one span: the engine builds them from SDK
spans, the dashboard from the collector's rows), then grouped per graph step (node + step number) into
`StepRun`s, and paired by node in order. Totals and deltas cover tokens, cost and latency.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from agentdeck.engine import semconv as sc


@dataclass(frozen=True, slots=True)
class SpanFacts:
    """What the comparison needs from one span, whatever store it came from."""

    span_id: str
    parent_id: str | None
    span_type: str  # workflow | agent | llm | tool | other
    agent: str | None
    node: str | None
    step: int | None
    ok: bool
    error: str
    start_ns: int
    end_ns: int
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    output_text: str = ""
    served_from_record: bool = False
    prompt_version: str | None = None


@dataclass(frozen=True, slots=True)
class StepRun:
    """One graph step of one run: the agent attempts of a node, with what they cost and produced."""

    step: int
    node: str
    agents: tuple[str, ...]
    status: str  # ok | failed
    attempts: int
    output: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    served_from_record: bool  # every LLM call of the step was answered from the recorded output
    prompt_versions: tuple[str, ...] = ()
    error: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class StepPair:
    node: str
    original: StepRun | None
    replay: StepRun | None

    @property
    def changed(self) -> bool:
        if self.original is None or self.replay is None:
            return True
        return self.original.status != self.replay.status or self.original.output != self.replay.output

    def diff(self) -> str:
        """A unified diff of the two outputs (pretty-printed JSON when they are JSON)."""
        a = _pretty(self.original.output if self.original else "").splitlines()
        b = _pretty(self.replay.output if self.replay else "").splitlines()
        return "\n".join(difflib.unified_diff(a, b, "original", "replay", lineterm="", n=2))


@dataclass(frozen=True, slots=True)
class Totals:
    tokens: int
    cost_usd: float
    latency_ms: float
    steps_failed: int


@dataclass(frozen=True, slots=True)
class Comparison:
    pairs: tuple[StepPair, ...]
    original: Totals
    replay: Totals
    original_outcome: str = ""
    replay_outcome: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def deltas(self) -> Totals:
        o, r = self.original, self.replay
        return Totals(
            r.tokens - o.tokens,
            round(r.cost_usd - o.cost_usd, 8),
            round(r.latency_ms - o.latency_ms, 3),
            r.steps_failed - o.steps_failed,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.extra,
            "original_outcome": self.original_outcome,
            "replay_outcome": self.replay_outcome,
            "steps": [
                {
                    "node": p.node,
                    "changed": p.changed,
                    "original": asdict(p.original) if p.original else None,
                    "replay": asdict(p.replay) if p.replay else None,
                    "diff": p.diff(),
                }
                for p in self.pairs
            ],
            "totals": {"original": asdict(self.original), "replay": asdict(self.replay), "delta": asdict(self.deltas)},
        }


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


def output_text(output_messages: str | None) -> str:
    """The text of an `gen_ai.output.messages` JSON value (tool calls shown by name)."""
    if not output_messages:
        return ""
    try:
        messages = json.loads(output_messages)
    except ValueError:
        return output_messages
    texts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        for part in message.get("parts", []) if isinstance(message, dict) else []:
            if part.get("type") == "text":
                texts.append(str(part.get("content", "")))
            elif part.get("type") == "tool_call":
                texts.append(f"[tool call {part.get('name')}]")
    return "\n".join(texts)


def steps_of(spans: Iterable[SpanFacts]) -> list[StepRun]:
    """Group a run's spans into its graph steps, in start order."""
    spans = list(spans)
    agents = sorted((s for s in spans if s.span_type == "agent" and s.node), key=lambda s: (s.start_ns, s.span_id))
    children: dict[str, list[SpanFacts]] = {}
    for s in spans:
        if s.parent_id:
            children.setdefault(s.parent_id, []).append(s)
    groups: dict[tuple[int, str], list[SpanFacts]] = {}
    for a in agents:
        groups.setdefault((a.step or 0, a.node or ""), []).append(a)
    runs: list[StepRun] = []
    for (step, node), attempts in groups.items():
        calls = sorted(
            (c for a in attempts for c in children.get(a.span_id, []) if c.span_type == "llm"),
            key=lambda c: (c.start_ns, c.span_id),
        )
        last = attempts[-1]
        ok_calls = [c for c in calls if c.ok and c.output_text]
        runs.append(
            StepRun(
                step=step,
                node=node,
                agents=tuple(dict.fromkeys(a.agent or "" for a in attempts)),
                status="ok" if last.ok else "failed",
                attempts=len(attempts),
                output=ok_calls[-1].output_text if ok_calls else "",
                input_tokens=sum(c.input_tokens for c in calls),
                output_tokens=sum(c.output_tokens for c in calls),
                cost_usd=round(sum(c.cost_usd for c in calls), 8),
                latency_ms=round((max(a.end_ns for a in attempts) - min(a.start_ns for a in attempts)) / 1e6, 3),
                served_from_record=bool(calls) and all(c.served_from_record for c in calls),
                prompt_versions=tuple(dict.fromkeys(a.prompt_version for a in attempts if a.prompt_version)),
                error="" if last.ok else last.error,
            )
        )
    return sorted(runs, key=lambda r: r.step)


def _totals(steps: Sequence[StepRun]) -> Totals:
    return Totals(
        sum(s.tokens for s in steps),
        round(sum(s.cost_usd for s in steps), 8),
        round(sum(s.latency_ms for s in steps), 3),
        sum(s.status != "ok" for s in steps),
    )


def compare(
    original: Sequence[StepRun],
    replay: Sequence[StepRun],
    *,
    from_step: int = 0,
    original_outcome: str = "",
    replay_outcome: str = "",
) -> Comparison:
    """Pair the steps the replay re-ran (those at or after `from_step`) with the original's, by node.

    Totals count only those steps on both sides, so the deltas say what the replay changed."""
    before = [s for s in original if s.step >= from_step]
    queue = list(replay)
    pairs: list[StepPair] = []
    for o in before:
        match = next((r for r in queue if r.node == o.node), None)
        if match is not None:
            queue.remove(match)
        pairs.append(StepPair(o.node, o, match))
    pairs += [StepPair(r.node, None, r) for r in queue]
    return Comparison(tuple(pairs), _totals(before), _totals(replay), original_outcome, replay_outcome)


def _attr(span: ReadableSpan, key: str) -> Any:
    return (span.attributes or {}).get(key)


def facts_from_sdk(span: ReadableSpan) -> SpanFacts:
    """SpanFacts of a span the engine just emitted (read from an in-memory exporter)."""
    op = _attr(span, sc.GEN_AI_OPERATION_NAME)
    kind = {
        sc.OP_INVOKE_AGENT: "agent",
        sc.OP_CHAT: "llm",
        sc.OP_EXECUTE_TOOL: "tool",
        sc.OP_INVOKE_WORKFLOW: "workflow",
    }.get(str(op), "other")
    step = _attr(span, sc.LANGGRAPH_STEP)
    return SpanFacts(
        span_id=format(span.context.span_id, "016x"),
        parent_id=format(span.parent.span_id, "016x") if span.parent else None,
        span_type=kind,
        agent=_attr(span, sc.GEN_AI_AGENT_NAME),
        node=_attr(span, sc.LANGGRAPH_NODE),
        step=int(step) if step is not None else None,
        ok=span.status.status_code != StatusCode.ERROR,
        error=str(_attr(span, sc.ERROR_TYPE) or span.status.description or ""),
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        input_tokens=int(_attr(span, sc.GEN_AI_USAGE_INPUT_TOKENS) or 0),
        output_tokens=int(_attr(span, sc.GEN_AI_USAGE_OUTPUT_TOKENS) or 0),
        cost_usd=float(_attr(span, sc.GEN_AI_USAGE_COST) or 0.0),
        output_text=output_text(_attr(span, sc.GEN_AI_OUTPUT_MESSAGES)),
        served_from_record=bool(_attr(span, sc.AD_REPLAY_SERVED_FROM_RECORD)),
        prompt_version=_attr(span, sc.AD_PROMPT_VERSION),
    )
