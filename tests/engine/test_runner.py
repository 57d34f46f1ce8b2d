"""run_tasks: input errors, progress callbacks, and the simulator's contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from agentdeck.engine.execution import TaskResult
from agentdeck.engine.providers.base import LLMRequest, Message
from agentdeck.engine.providers.simulator import ENUM_RULE, FaultRates, SimulatedProvider
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider


class Pick(BaseModel):
    category: Literal["billing", "technical", "shipping"]
    note: str


def _req(prompt: str, nonce: int = 0) -> LLMRequest:
    return LLMRequest(
        model="claude-haiku-4-5",
        system="s",
        messages=(Message("user", prompt),),
        output_schema=Pick.model_json_schema(),
        nonce=nonce,
    )


def test_simulator_is_deterministic_schema_valid_and_prompt_sensitive() -> None:
    sim = SimulatedProvider(seed=4)
    a, b = sim.complete(_req("ticket 1: refund please")), sim.complete(_req("ticket 1: refund please"))
    assert a == b and a.usage.input_tokens >= a.usage.cache_read_tokens + a.usage.cache_creation_tokens
    assert SimulatedProvider(seed=5).complete(_req("ticket 1: refund please")) != a
    prompts = [f"ticket {i}: my parcel is late" for i in range(200)]
    weak_failures = sum(not _valid(sim.complete(_req(p)).text) for p in prompts)
    fixed_failures = sum(not _valid(sim.complete(_req(p + " Use the " + ENUM_RULE + ".")).text) for p in prompts)
    assert weak_failures > 10 and fixed_failures == 0


def _valid(text: str) -> bool:
    try:
        Pick.model_validate(json.loads(text))
        return True
    except Exception:
        return False


def test_simulator_injects_each_fault_kind() -> None:
    from agentdeck.engine.providers.base import ProviderTimeout, RateLimited, ServerError

    seen: set[str] = set()
    sim = SimulatedProvider(
        seed=1,
        faults=FaultRates(rate_limit=0.2, server_error=0.2, timeout=0.2, malformed_json=0.3, schema_violation=0.3),
    )
    for i in range(200):
        try:
            r = sim.complete(_req(f"p{i}"))
            seen.add(r.fault or "ok")
        except (RateLimited, ServerError, ProviderTimeout) as exc:
            seen.add(exc.reason)
    assert seen == {"ok", "rate_limit", "server_error", "timeout", "malformed_json", "schema_violation"}


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    with pytest.raises(ValueError, match="unknown workflow 'nope'; choose one of: code_review"):
        run_tasks("nope", 1, checkpoint_db=db)
    with pytest.raises(ValueError, match="chaos rate must be between 0 and 1"):
        run_tasks("triage", 1, checkpoint_db=db, chaos=2.0)
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        run_tasks("triage", 1, checkpoint_db=db, concurrency=0)
    # a first run makes its data directory (`agentdeck run` in an empty directory)
    assert run_tasks("triage", 1, checkpoint_db=tmp_path / "missing" / "c.sqlite", latency_scale=0).tasks
    assert (tmp_path / "missing" / "c.sqlite").is_file()


def test_progress_is_reported_once_per_task(tmp_path: Path) -> None:
    seen: list[TaskResult] = []
    summary = run_tasks(
        "content",
        5,
        seed=2,
        concurrency=3,
        checkpoint_db=tmp_path / "c.sqlite",
        latency_scale=0.0,
        on_progress=seen.append,
        tracer_provider=make_tracer_provider(),
    )
    assert sorted(t.task_id for t in seen) == [t.task_id for t in summary.tasks]
    assert sum(summary.counts.values()) == 5
    assert summary.total_cost_usd == pytest.approx(sum(t.cost_usd for t in seen))
