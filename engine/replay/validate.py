"""Check a replay's edits before anything runs: prompt overrides name real agents, and a state edit
fits the workflow's state schema. Errors say what is wrong and what the choices are."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError

from agentdeck.engine.workflow import Workflow


def agent_names(wf: Workflow) -> list[str]:
    names: list[str] = []
    for a in wf.agents:
        names.append(a.name)
        if a.fallback is not None:
            names.append(a.fallback.name)
    return names


def check_prompt_overrides(wf: Workflow, overrides: Mapping[str, str]) -> None:
    names = agent_names(wf)
    for agent, template in overrides.items():
        if agent not in names:
            raise ValueError(f"workflow {wf.name} has no agent {agent!r}; choose one of: {', '.join(names)}")
        if not template.strip():
            raise ValueError(f"the prompt for {agent} is empty")


def parse_state_edit(text: str | None) -> dict[str, Any] | None:
    """A state edit typed by a user (a JSON object of fields) as a dict; None when blank; ValueError else."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the state edit is not valid JSON ({exc}): write an object of state fields") from None
    if not isinstance(value, dict):
        raise ValueError('the state edit must be a JSON object of field: value, e.g. {"priority": "high"}')
    return value


def state_fields(wf: Workflow) -> dict[str, Any]:
    """The workflow state's fields and their types."""
    return get_type_hints(wf.build().state_schema)


def check_state_update(wf: Workflow, update: Mapping[str, Any], as_node: str | None) -> None:
    """ValueError when `update` has a field the state schema lacks, or a value of the wrong type."""
    graph = wf.build()
    check_state_fields(wf.name, graph.state_schema, graph.nodes, update, as_node)


def check_state_fields(
    name: str, schema: Any, nodes: Collection[str], update: Mapping[str, Any], as_node: str | None
) -> None:
    """The same check for any graph: `schema` is its state type, `nodes` its node names."""
    fields = get_type_hints(schema)
    unknown = sorted(set(update) - set(fields))
    if unknown:
        raise ValueError(
            f"the {name} state has no field {', '.join(map(repr, unknown))}; "
            f"its fields are: {', '.join(sorted(fields))}"
        )
    for key, value in update.items():
        try:
            TypeAdapter(fields[key]).validate_python(value, strict=False)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in (key, *first["loc"]))
            raise ValueError(f"state field {where}: {first['msg']}") from None
    if as_node is not None and as_node not in nodes:
        raise ValueError(f"as_node {as_node!r} is not a node of {name}; choose one of: {', '.join(sorted(nodes))}")
