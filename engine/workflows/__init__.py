"""The example workflows, by name (`agentdeck run NAME`)."""

from __future__ import annotations

from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import code_review, content, due_diligence, earnings, incident, support_mcp, triage

WORKFLOWS: dict[str, Workflow] = {
    w.name: w
    for w in (
        triage.WORKFLOW,
        due_diligence.WORKFLOW,
        earnings.WORKFLOW,
        code_review.WORKFLOW,
        content.WORKFLOW,
        incident.WORKFLOW,
        support_mcp.WORKFLOW,
    )
}


def get_workflow(name: str) -> Workflow:
    """The workflow called `name`; a ValueError naming the choices otherwise."""
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise ValueError(f"unknown workflow {name!r}; choose one of: {', '.join(sorted(WORKFLOWS))}") from None
