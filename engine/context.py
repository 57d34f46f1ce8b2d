"""The per-task run context handed to every node through LangGraph's runtime context.

Holds what a node needs but the checkpoint must not: provider, tracer, clock, policies, prompt
overrides. A replay re-runs a checkpoint with a new RunContext (for example other prompt_overrides).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import Span, Tracer

from agentdeck.engine.clock import TaskClock
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.policies import Breakers, Budget, Deadline, ResponseCache, VersionedStore
from agentdeck.engine.pricing import PriceTable
from agentdeck.engine.providers.base import Provider
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.review import ReviewQueue
from agentdeck.engine.semantic_cache import SemanticCache


class SpanIds:
    """Deterministic span ids for one trace: a hash of (trace key, parent, name, step, ordinal)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._seen: dict[tuple[int, str, int], int] = {}
        self._lock = threading.Lock()

    def trace_id(self) -> int:
        return stable_int(self.key, "trace") << 64 | stable_int(self.key, "trace2")

    def span_id(self, parent: int, name: str, step: int) -> int:
        with self._lock:
            n = self._seen.get((parent, name, step), 0)
            self._seen[(parent, name, step)] = n + 1
        return stable_int(self.key, parent, name, step, n) or 1


@dataclass
class TaskStats:
    messages: int = 0
    state_conflicts: int = 0
    skipped: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_messages(self, n: int) -> None:
        with self._lock:
            self.messages += n

    def add_conflicts(self, n: int) -> None:
        with self._lock:
            self.state_conflicts += n

    def add_skipped(self, agent: str) -> None:
        with self._lock:
            self.skipped.append(agent)


@dataclass
class RunContext:
    workflow: str
    task_id: str
    thread_id: str
    trace_id: str  # lowercase hex
    seed: int
    provider: Provider
    tracer: Tracer
    prices: PriceTable
    clock: TaskClock
    budget: Budget
    deadline: Deadline
    ledger: Ledger
    root_span: Span
    root_context: Context
    span_ids: SpanIds | None = None
    cache: ResponseCache | None = None
    breakers: Breakers | None = None
    prompt_overrides: Mapping[str, str] = field(default_factory=dict)
    tool_failure_rate: float = 0.0
    delegation_limit: int = 3
    serve_recorded: bool = False  # replay: serve unchanged LLM steps from recorded responses
    reviews: ReviewQueue | None = None  # the human review queue (None: no step escalates)
    semantic_cache: SemanticCache | None = None  # near-duplicate requests served from earlier answers
    max_validation_retries: int = 2
    max_provider_retries: int = 4
    stats: TaskStats = field(default_factory=TaskStats)
    _shared: dict[str, VersionedStore[Any]] = field(default_factory=dict, repr=False)
    _shared_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shared_state(self, name: str, initial: Any) -> VersionedStore[Any]:
        """A task-wide store with optimistic concurrency, shared by parallel nodes of this task."""
        with self._shared_lock:
            return self._shared.setdefault(name, VersionedStore(initial))
