"""The example workflows by name, and the one place a workflow reference is turned into a `Workflow`.

A workflow is named by its reference: an example's name (`triage`), or `MODULE:ATTR` /
`path/to/file.py:ATTR` for any other (agentdeck.refs). The reference is recorded on each task's root
span and in its checkpoint metadata, so a thread alone leads back to its code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentdeck.engine.execution import META_WORKFLOW
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import code_review, content, due_diligence, earnings, incident, support_mcp, triage
from agentdeck.refs import CHECKPOINT_METADATA_KEY, RefError, load_ref, split_ref

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


def get_workflow(ref: str) -> Workflow:
    """The workflow an example name or a `MODULE:ATTR` / `path.py:ATTR` reference names.

    ValueError naming the examples for an unknown name; RefError (a ValueError) saying what to fix for
    a reference that does not load or does not name a Workflow."""
    if ref in WORKFLOWS:
        return WORKFLOWS[ref]
    if ":" not in ref:
        raise ValueError(
            f"unknown workflow {ref!r}; choose one of: {', '.join(sorted(WORKFLOWS))}, "
            "or name your own as MODULE:ATTR or path/to/file.py:ATTR"
        )
    value = load_ref(ref)
    if not isinstance(value, Workflow):
        what = f"the class {value.__name__}" if isinstance(value, type) else f"a {type(value).__name__}"
        raise RefError(
            f"{ref!r} is {what}, not a workflow: point it at an agentdeck.Workflow "
            "(build one with agentdeck.sequential, agentdeck.fan_out, ... or agentdeck.Workflow)"
        )
    return value if value.ref is not None else replace(value, ref=absolute_ref(ref))


def ref_of(workflow: Workflow) -> str:
    """The reference recorded for `workflow`: its own `ref`, an example's name, or where it is found
    among the loaded modules: `MODULE:ATTR` in an imported module first, then `path.py:ATTR` for a
    file loaded by path or a script run as `__main__`. Its name when it is found nowhere (replay then
    needs the workflow named again)."""
    if workflow.ref is not None:
        return workflow.ref
    if WORKFLOWS.get(workflow.name) is workflow:
        return workflow.name
    by_path: list[str] = []
    for module_name, module in list(sys.modules.items()):
        attrs = getattr(module, "__dict__", None)
        if not isinstance(attrs, dict):
            continue
        attr = next((k for k, v in list(attrs.items()) if v is workflow and not k.startswith("_")), None)
        if attr is None:
            continue
        if not module_name.startswith(("__", "agentdeck_user_")):  # not __main__ (nor its __mp_main__ alias)
            return f"{module_name}:{attr}"
        path = getattr(module, "__file__", None)
        if path:
            by_path.append(f"{Path(path).resolve()}:{attr}")
    return by_path[-1] if by_path else workflow.name


def absolute_ref(ref: str) -> str:
    """`ref` with a file path made absolute, so it loads from any working directory later."""
    target, attr = split_ref(ref)
    return f"{Path(target).expanduser().resolve()}:{attr}" if target.endswith(".py") else ref


def ref_in(metadata: Mapping[str, Any]) -> str:
    """The workflow reference a checkpoint's metadata records ("" when the engine did not write it).
    Threads written before references were recorded carry only the example's name, which is its ref."""
    return str(metadata.get(CHECKPOINT_METADATA_KEY) or metadata.get(META_WORKFLOW) or "")
