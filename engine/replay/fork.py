"""Replay (time travel): re-run a task's thread from one of its checkpoints, as a new branch.

The original history is never changed: LangGraph forks from the chosen checkpoint. The replay can
override prompts (per agent name) and edit state first (`state_update`, applied as `as_node`). It is
traced like any run, with `agentdeck.replay_of` (+ checkpoint) on its root span and a span link to
the original root, found through the checkpoint metadata. Without `checkpoint_id` it resumes the
latest checkpoint, which for a failed task re-runs just the failed step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanContext, TraceFlags

from agentdeck.engine import semconv as sc
from agentdeck.engine.checkpoints import open_checkpointer
from agentdeck.engine.clock import WallClock
from agentdeck.engine.execution import (
    META_PROMPTS,
    META_ROOT_SPAN_ID,
    META_RUN,
    META_SEED,
    META_TASK_ID,
    META_TRACE_ID,
    Engine,
    TaskResult,
    execute,
)
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.pricing import load_prices
from agentdeck.engine.providers.base import Provider
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.replay.validate import check_prompt_overrides, check_state_update
from agentdeck.engine.runner import default_provider
from agentdeck.engine.semconv import PROVIDER_SIMULATED
from agentdeck.engine.telemetry import engine_tracer, make_tracer_provider
from agentdeck.engine.telemetry import release as release_provider
from agentdeck.engine.workflows import get_workflow, ref_in, ref_of


def replay(
    thread_id: str,
    *,
    checkpoint_db: str | Path,
    checkpoint_id: str | None = None,
    prompt_overrides: Mapping[str, str] | None = None,
    state_update: Mapping[str, Any] | None = None,
    as_node: str | None = None,
    tracer_provider: TracerProvider | None = None,
    endpoint: str | None = None,
    latency_scale: float = 0.0,
    provider: Provider | None = None,
    faults: FaultRates | None = None,
    budget_usd: float | None = None,
    dead_letter_db: str | Path | None = None,
    serve_recorded: bool = True,
    workflow: str | None = None,
    root_attributes: Mapping[str, Any] | None = None,
) -> TaskResult:
    """Re-run `thread_id` from `checkpoint_id` (default: its latest checkpoint) as a new traced branch.

    With `serve_recorded`, a step whose request (model, prompt, inputs) is unchanged is answered from
    the recorded response at zero tokens (`agentdeck.replay.served_from_record` on its chat span).
    The workflow's code is found from the reference the thread's checkpoints record; `workflow` (a name
    or `MODULE:ATTR`) overrides it, e.g. when the code moved. `root_attributes` go on its workflow span."""
    owned = tracer_provider is None
    tp = tracer_provider or make_tracer_provider(endpoint)
    ledger = Ledger(dead_letter_db if dead_letter_db is not None else checkpoint_db)
    try:
        with open_checkpointer(checkpoint_db) as saver:
            config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            if checkpoint_id:
                config["configurable"]["checkpoint_id"] = checkpoint_id
            found = saver.get_tuple(config)  # type: ignore[arg-type]
            if found is None:
                where = f"checkpoint {checkpoint_id} of thread {thread_id}" if checkpoint_id else f"thread {thread_id}"
                raise LookupError(f"no {where} in {checkpoint_db}")
            meta = dict(found.metadata or {})
            ref = workflow or ref_in(meta)
            if not ref:
                raise LookupError(f"thread {thread_id} was not written by the agentdeck engine (no workflow name)")
            wf = get_workflow(ref)
            check_prompt_overrides(wf, prompt_overrides or {})
            if state_update:
                check_state_update(wf, state_update, as_node)
            seed = int(str(meta.get(META_SEED, 0)))
            rates = faults if faults is not None else FaultRates.realistic()
            engine = Engine(
                workflow=wf,
                graph=wf.build().compile(checkpointer=saver),
                ledger=ledger,
                provider=provider or default_provider(seed, rates),
                prices=load_prices(),
                tracer=engine_tracer(tp),
                seed=seed,
                budget_usd=budget_usd,
                deadline_ms=None,
                latency_scale=latency_scale,
                tool_failure_rate=0.0,
                deterministic=False,
                start_time_ns=0,
                prompt_overrides=dict(prompt_overrides or {}),
                delegation_limit=3,
                serve_recorded=serve_recorded,
                workflow_ref=ref_of(wf),
                root_attributes=dict(root_attributes or {}),
            )
            # a bare thread id resumes (only a failed step's failed tasks re-run); an explicit
            # checkpoint re-runs every task of its next step, as a new branch
            at = (
                {"checkpoint_ns": "", **found.config["configurable"]}
                if checkpoint_id or state_update
                else {"thread_id": thread_id, "checkpoint_ns": ""}
            )
            run_config: dict[str, Any] = {"configurable": at, "recursion_limit": 60}
            if prompt_overrides:  # the checkpoints of this branch say which prompts were in force
                run_config["metadata"] = {META_PROMPTS: json.dumps(dict(prompt_overrides), sort_keys=True)}
            if state_update:
                forked = engine.graph.update_state(run_config, dict(state_update), as_node=as_node)  # type: ignore[arg-type]
                run_config["configurable"] = dict(forked["configurable"])
            links = []
            original = str(meta.get(META_TRACE_ID, ""))
            root_span = str(meta.get(META_ROOT_SPAN_ID, ""))
            if original and root_span:
                links.append(
                    Link(
                        SpanContext(
                            int(original, 16),
                            int(root_span, 16),
                            is_remote=True,
                            trace_flags=TraceFlags(TraceFlags.SAMPLED),
                        ),
                        {sc.AD_REPLAY_OF: original},
                    )
                )
            clock = WallClock(latency_scale, real_latency=engine.provider.name != PROVIDER_SIMULATED)
            return execute(
                engine,
                task_id=str(meta.get(META_TASK_ID, thread_id)),
                thread_id=thread_id,
                config=run_config,
                graph_input=None,
                clock=clock,
                span_ids=None,
                run_no=int(str(meta.get(META_RUN, 1))) + 1,
                root_attributes={
                    sc.AD_REPLAY_OF: original,
                    sc.AD_REPLAY_OF_CHECKPOINT: str(found.config["configurable"]["checkpoint_id"]),
                },
                links=links,
            )
    finally:
        ledger.close()
        release_provider(tp, owned)
