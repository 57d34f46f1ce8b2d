"""What a queued task carries from `agentdeck run --postgres` to a worker, and how a worker finds its workflow.

A task is (workflow reference, index, run options); its input is regenerated on the worker from the
seed and index, as a local run makes it, so the queue holds a few hundred bytes per task. The task id
is the local run's (`task_id_for`), so a task finished by any worker, or locally against the same
PostgreSQL, is never run again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agentdeck.engine.runner import EngineOptions, task_id_for
from agentdeck.engine.workflows import get_workflow


@dataclass(frozen=True)
class TaskSpec:
    workflow: str  # an example workflow's name, or MODULE:ATTR / path.py:ATTR of a user's Workflow
    index: int
    task_id: str
    options: EngineOptions = field(default_factory=EngineOptions)

    def payload(self) -> dict[str, Any]:
        """The job's arguments (JSON)."""
        opts = asdict(self.options)
        opts["prompt_overrides"] = dict(self.options.prompt_overrides)
        return {"workflow": self.workflow, "index": self.index, "task_id": self.task_id, "options": opts}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TaskSpec:
        return cls(
            workflow=str(payload["workflow"]),
            index=int(payload["index"]),
            task_id=str(payload["task_id"]),
            options=EngineOptions(**payload.get("options", {})),
        )


def task_specs(workflow: str, tasks: int, options: EngineOptions, *, first_task: int = 0) -> list[TaskSpec]:
    """The specs of tasks `first_task .. first_task + tasks - 1` of `workflow` (resolved here, so a
    reference the enqueuing side cannot import is refused before anything is queued)."""
    wf = get_workflow(workflow)  # a name or MODULE:ATTR; RefError/ValueError saying what to fix
    if wf.make_tasks is None:
        raise ValueError(
            f"workflow {wf.name} makes no tasks of its own, and a queued task is made on the worker from the seed "
            "and its index: run its tasks file here (without --postgres)"
        )
    return [
        TaskSpec(workflow, i, task_id_for(wf.name, options.seed, i, options.prompt_overrides), options)
        for i in range(first_task, first_task + tasks)
    ]
