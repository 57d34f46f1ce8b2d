"""The policies a run applies to every task, as one value a user passes to `agentdeck.run`.

The policy objects themselves (budget, deadline, routing, cache, circuit breaker) live in
agentdeck.engine.policies and are made per run or per task from this description. Model routing
needs no setting: under budget pressure (70%) an agent runs one tier cheaper, under deadline pressure
(80%) on the fast tier, and optional agents are skipped at 90% of the budget or 80% of the deadline.
Per agent, `Agent(timeout_s=..., max_provider_retries=..., fallback=..., optional=...)` refine them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agentdeck.engine.policies import Breakers, CircuitBreaker, ResponseCache


@dataclass(frozen=True, slots=True)
class Retries:
    provider: int = 4  # rate limits, overload, 5xx and timeouts: retried with backoff, each attempt a span
    validation: int = 2  # an answer failing its schema: retried with the error in the prompt


@dataclass(frozen=True, slots=True)
class Policies:
    budget_usd: float | None = None  # per task; None: no budget
    deadline_ms: float | None = None  # per task; None: the workflow's deadline_ms
    retries: Retries = field(default_factory=Retries)
    cache: bool = True  # serve a repeated identical request from memory, at no cost
    circuit_breaker: Callable[[], CircuitBreaker] = CircuitBreaker  # one per agent, made by this factory

    def __post_init__(self) -> None:
        if self.budget_usd is not None and self.budget_usd <= 0:
            raise ValueError(f"budget_usd must be positive, got {self.budget_usd}")
        if self.deadline_ms is not None and self.deadline_ms <= 0:
            raise ValueError(f"deadline_ms must be positive, got {self.deadline_ms}")
        if self.retries.provider < 0 or self.retries.validation < 0:
            raise ValueError("retries must be >= 0")

    def response_cache(self) -> ResponseCache | None:
        return ResponseCache() if self.cache else None

    def breakers(self) -> Breakers:
        return Breakers(self.circuit_breaker)
