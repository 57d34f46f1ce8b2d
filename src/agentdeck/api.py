"""`agentdeck.run`, `agentdeck.arun`, `agentdeck.replay` and `agentdeck.setup_telemetry`: the engine's
entry points for a user's own workflow, with the defaults `agentdeck run` and `agentdeck replay` use.

Spans go to `endpoint` (a collector's base URL), else to `OTEL_EXPORTER_OTLP_ENDPOINT`, else to the
tracer provider `setup_telemetry` installed, else nowhere. Checkpoints go to `checkpoint_db` (SQLite
file, or a postgresql:// URL), `.agentdeck/checkpoints.sqlite` by default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from agentdeck.engine.execution import TaskResult
from agentdeck.engine.policy_set import Policies
from agentdeck.engine.runner import RunSummary, TaskInput, run_tasks
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflow import Workflow

DEFAULT_CHECKPOINT_DB = Path(".agentdeck") / "checkpoints.sqlite"
TaskSpec = Mapping[str, Any] | TaskInput


def setup_telemetry(endpoint: str | None = None, *, service_name: str = "agentdeck-engine") -> TracerProvider:
    """Make the OpenTelemetry SDK provider that exports spans over OTLP/HTTP to `endpoint` (a base URL
    such as http://127.0.0.1:4318; default $OTEL_EXPORTER_OTLP_ENDPOINT), install it as the global
    provider, and return it. `run` and `replay` use it from then on; call `.shutdown()` at exit."""
    provider = make_tracer_provider(endpoint, service_name=service_name)
    trace.set_tracer_provider(provider)
    return provider


def _installed_provider() -> TracerProvider | None:
    provider = trace.get_tracer_provider()
    return provider if isinstance(provider, TracerProvider) else None


def _task_inputs(tasks: Iterable[TaskSpec]) -> list[TaskInput]:
    """Each task's id is its `id` field, else its position from 1 (a tasks file's line number)."""
    out: list[TaskInput] = []
    for number, task in enumerate(tasks, start=1):
        if isinstance(task, TaskInput):
            out.append(task)
            continue
        state = dict(task)
        out.append(TaskInput(str(state.pop("id", "") or number), state))
    return out


def run(
    workflow: Workflow | str,
    tasks: int | Iterable[TaskSpec],
    *,
    checkpoint_db: str | Path = DEFAULT_CHECKPOINT_DB,
    endpoint: str | None = None,
    policies: Policies | None = None,
    prompts: Mapping[str, str] | None = None,
    concurrency: int = 4,
    seed: int = 0,
    latency_scale: float = 1.0,
) -> RunSummary:
    """Run tasks of `workflow` (a Workflow, an example's name or `MODULE:ATTR`), traced and checkpointed.

    `tasks`: the task inputs (dicts of the workflow's input fields, with an optional `id`), or a number
    of tasks for a workflow that makes its own. Tasks already finished in `checkpoint_db` are not re-run
    and a killed run resumes from its checkpoints. `prompts` overrides prompts by name ({agent: template}).
    """
    chosen = policies or Policies()
    if "://" not in str(checkpoint_db):
        Path(checkpoint_db).parent.mkdir(parents=True, exist_ok=True)
    return run_tasks(
        workflow,
        tasks if isinstance(tasks, int) else _task_inputs(tasks),
        checkpoint_db=checkpoint_db,
        endpoint=endpoint,
        tracer_provider=None if endpoint else _installed_provider(),
        budget_usd=chosen.budget_usd,
        deadline_ms=chosen.deadline_ms,
        policies=chosen,
        prompt_overrides=prompts,
        concurrency=concurrency,
        seed=seed,
        latency_scale=latency_scale,
    )


async def arun(
    workflow: Workflow | str,
    tasks: int | Iterable[TaskSpec],
    *,
    checkpoint_db: str | Path = DEFAULT_CHECKPOINT_DB,
    endpoint: str | None = None,
    policies: Policies | None = None,
    prompts: Mapping[str, str] | None = None,
    concurrency: int = 4,
    seed: int = 0,
    latency_scale: float = 1.0,
) -> RunSummary:
    """`run` for asyncio code: the tasks run on worker threads while the event loop stays free."""
    return await asyncio.to_thread(
        run,
        workflow,
        tasks if isinstance(tasks, int) else list(tasks),
        checkpoint_db=checkpoint_db,
        endpoint=endpoint,
        policies=policies,
        prompts=prompts,
        concurrency=concurrency,
        seed=seed,
        latency_scale=latency_scale,
    )


def replay(
    thread_id: str,
    *,
    checkpoint_id: str | None = None,
    prompts: Mapping[str, str] | None = None,
    state: Mapping[str, Any] | None = None,
    checkpoint_db: str | Path = DEFAULT_CHECKPOINT_DB,
    endpoint: str | None = None,
    workflow: str | None = None,
    serve_recorded: bool = True,
) -> TaskResult:
    """Re-run task `thread_id` from `checkpoint_id` (default: resume its latest checkpoint, re-running a
    failed step) as a new traced branch, with prompts replaced by name and/or `state` fields edited.
    The workflow's code is found from the reference its checkpoints record; `workflow` overrides it.
    Unchanged steps are served from the recording at zero tokens unless `serve_recorded=False`."""
    from agentdeck.engine.replay.fork import replay as fork

    return fork(
        thread_id,
        checkpoint_db=checkpoint_db,
        checkpoint_id=checkpoint_id,
        prompt_overrides=prompts,
        state_update=state,
        endpoint=endpoint,
        tracer_provider=None if endpoint else _installed_provider(),
        workflow=workflow,
        serve_recorded=serve_recorded,
    )
