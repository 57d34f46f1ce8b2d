"""An in-process event bus for event-driven workflows: topic patterns -> handler nodes.

Events nobody subscribes to go to the dead-letter queue (`dead_letter_event`), with the event, the
state snapshot and the trace id, and the workflow carries on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from langgraph.runtime import get_runtime

from agentdeck.engine import semconv as sc
from agentdeck.engine.policies import snapshot
from agentdeck.engine.step import current_context, node_event


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    payload: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "payload": self.payload}


class EventBus:
    def __init__(self) -> None:
        self._subs: list[tuple[str, str]] = []

    def subscribe(self, pattern: str, handler: str) -> EventBus:
        """Route events whose type matches `pattern` (fnmatch, e.g. "alert.*") to node `handler`."""
        self._subs.append((pattern, handler))
        return self

    def route(self, event_type: str) -> str | None:
        """The first subscribed handler for `event_type`, or None when nobody handles it."""
        return next((h for p, h in self._subs if fnmatchcase(event_type, p)), None)

    @property
    def handlers(self) -> list[str]:
        return list(dict.fromkeys(h for _, h in self._subs))


def dead_letter_event(event: Mapping[str, Any], state: Mapping[str, Any]) -> int:
    """Put an unhandled event in the dead-letter queue; returns its id."""
    ctx = current_context()
    ei = get_runtime().execution_info
    dl_id = ctx.ledger.dead_letter(
        created_ns=ctx.clock.start_ns(),
        workflow=ctx.workflow,
        task_id=ctx.task_id,
        thread_id=ctx.thread_id,
        trace_id=ctx.trace_id,
        checkpoint_id=ei.checkpoint_id if ei else None,
        agent=None,
        node="unhandled",
        error_type="unhandled_event",
        error=f"no subscriber for event type {event['type']!r}",
        attempts=0,
        failing_input=json.dumps(snapshot(dict(event)), sort_keys=True),
        state_snapshot=snapshot(dict(state)),
    )
    node_event(
        sc.AD_DEAD_LETTER,
        {sc.AD_EVENT_TYPE: str(event["type"]), sc.ERROR_TYPE: "unhandled_event", sc.AD_DEAD_LETTER_ID: dl_id},
    )
    return dl_id
