"""Replay's data from the collector: a trace's rows as comparison facts, and LLM calls to re-run.

Checkpoints are read by the engine (`agentdeck.engine.replay.history`) from AGENTDECK_CHECKPOINT_DB; spans come
from the collector's `trace` query like everywhere else in the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from agentdeck.dashboard import data
from agentdeck.dashboard.messages import parse_json, parse_turns
from agentdeck.engine import semconv as sc
from agentdeck.engine.replay.compare import Comparison, SpanFacts, compare, output_text, steps_of
from agentdeck.engine.replay.history import ThreadHistory


def trace_rows(trace_id: str, *, fresh: bool = False) -> pd.DataFrame:
    """The trace's spans; `fresh` skips the few-second cache (a trace still arriving)."""
    if fresh:
        return data.fetch_table("trace", {"trace_id": trace_id}, data.settings()).to_pandas()
    return data.query("trace", {"trace_id": trace_id})


def _attrs(row: pd.Series) -> dict[str, Any]:
    value = parse_json(row.get("attributes"))
    return value if isinstance(value, dict) else {}


def _int(v: Any) -> int:
    return 0 if v is None or pd.isna(v) else int(v)


def _str(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def facts(frame: pd.DataFrame) -> list[SpanFacts]:
    out: list[SpanFacts] = []
    for _, row in frame.iterrows():
        attrs = _attrs(row)
        counted = bool(row.get("usage_counted", True))
        step = row.get("step")
        out.append(
            SpanFacts(
                span_id=str(row["span_id"]),
                parent_id=_str(row.get("parent_span_id")),
                span_type=str(row["span_type"]),
                agent=_str(row.get("agent_name")),
                node=_str(row.get("node")),
                step=None if step is None or pd.isna(step) else int(step),
                ok=row["status_code"] != "ERROR",
                error=_str(row.get("error_type")) or _str(row.get("status_message")) or "",
                start_ns=int(row["start_ns"]),
                end_ns=int(row["end_ns"]),
                input_tokens=_int(row.get("input_tokens")) if counted else 0,
                output_tokens=_int(row.get("output_tokens")) if counted else 0,
                cost_usd=float(row["cost_usd"]) if counted and not pd.isna(row.get("cost_usd")) else 0.0,
                output_text=output_text(_str(row.get("output_messages"))),
                served_from_record=bool(attrs.get(sc.AD_REPLAY_SERVED_FROM_RECORD, False)),
                prompt_version=_str(attrs.get(sc.AD_PROMPT_VERSION)),
            )
        )
    return out


def outcome(frame: pd.DataFrame) -> str:
    values = frame["outcome"].dropna() if "outcome" in frame else pd.Series(dtype=str)
    return str(values.iloc[0]) if not values.empty else ""


def replayed_from(frame: pd.DataFrame) -> str | None:
    """The checkpoint a replay trace forked from (its root span's agentdeck.replay_of.checkpoint_id)."""
    roots = frame[frame["parent_span_id"].isna()] if not frame.empty else frame
    for _, row in roots.iterrows():
        value = _attrs(row).get(sc.AD_REPLAY_OF_CHECKPOINT)
        if value:
            return str(value)
    return None


def compare_traces(original_id: str, replay_id: str, history: ThreadHistory) -> Comparison:
    """Reopen a replay: both runs read back from the collector, paired from the step after its fork point."""
    original, replay = trace_rows(original_id), trace_rows(replay_id)
    fork = history.checkpoints.get(replayed_from(replay) or "")
    replay_steps = steps_of(facts(replay))
    first = fork.step + 1 if fork is not None else min((s.step for s in replay_steps), default=0)
    return compare(
        steps_of(facts(original)),
        replay_steps,
        from_step=first,
        original_outcome=outcome(original),
        replay_outcome=outcome(replay),
    )


@dataclass(frozen=True, slots=True)
class LlmCall:
    span_id: str
    name: str
    model: str
    system: str
    messages: list[dict[str, str]]  # editable: [{role, content}]
    output: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_ms: float


def _system(attrs: dict[str, Any]) -> str:
    raw = attrs.get(sc.GEN_AI_SYSTEM_INSTRUCTIONS)
    value = parse_json(raw) if isinstance(raw, str) else raw
    if isinstance(value, list):
        return "\n".join(str(p.get("content", "")) for p in value if isinstance(p, dict))
    return str(raw or "")


def llm_calls(frame: pd.DataFrame) -> list[LlmCall]:
    """The trace's LLM calls that have input messages, oldest first."""
    calls: list[LlmCall] = []
    for _, row in frame[frame["span_type"] == "llm"].iterrows():
        turns = parse_turns(_str(row.get("input_messages")))
        messages = [
            {
                "role": t.role if t.role in ("user", "assistant") else "user",
                "content": "\n".join(p.text for p in t.parts),
            }
            for t in turns
            if t.role != "system"
        ]
        if not messages:
            continue
        out_turns = parse_turns(_str(row.get("output_messages")))
        cost = row.get("cost_usd")
        calls.append(
            LlmCall(
                span_id=str(row["span_id"]),
                name=str(row["name"]),
                model=_str(row.get("request_model")) or _str(row.get("response_model")) or "",
                system=_system(_attrs(row)) or "\n".join(p.text for t in turns if t.role == "system" for p in t.parts),
                messages=messages,
                output="\n".join(p.text for t in out_turns for p in t.parts),
                input_tokens=_int(row.get("input_tokens")),
                output_tokens=_int(row.get("output_tokens")),
                cost_usd=None if cost is None or pd.isna(cost) else float(cost),
                latency_ms=float(row["duration_ms"]),
            )
        )
    return calls


def messages_json(call: LlmCall) -> str:
    return json.dumps(call.messages, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class StepFailure:
    """Why an agent's step failed: its last attempt's error."""

    attempt: int | None
    error_type: str
    message: str


def step_failures(frame: pd.DataFrame) -> dict[str, StepFailure]:
    """Why each agent whose last attempt failed in this trace failed, by agent.

    Agents that failed and then succeeded on a retry are left out: their step did not fail."""
    if frame.empty:
        return {}
    agents = frame[(frame["span_type"] == "agent") & frame["agent_name"].notna()].sort_values("start_ns")
    out: dict[str, StepFailure] = {}
    for agent, spans in agents.groupby("agent_name"):
        last = spans.iloc[-1]
        if last["status_code"] != "ERROR":
            continue
        attempt = last.get("attempt")
        out[str(agent)] = StepFailure(
            None if attempt is None or pd.isna(attempt) else int(attempt),
            _str(last.get("error_type")) or "error",
            _str(last.get("status_message")) or "no message",
        )
    return out
