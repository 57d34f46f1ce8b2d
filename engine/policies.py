"""Production policies: budget, deadline, model routing, circuit breaker, response cache, shared state.

Each is a small thread-safe object; the agent step runtime (agentdeck.engine.step) consults them and records
every decision on its spans (routing reason, skipped agents, cache hits, circuit state, conflicts).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agentdeck.engine.agents import Tier
from agentdeck.engine.providers.base import LLMResponse

DOWNGRADE_AT = 0.7
SKIP_OPTIONAL_AT = 0.9
DEADLINE_PRESSURE_AT = 0.8


class TaskHalted(Exception):
    """Stop the task and return the best result so far, flagged incomplete."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"task stopped: {reason}")
        self.reason = reason


@dataclass
class Budget:
    """Per-task USD budget. Calls reserve their worst-case cost first, so concurrent calls cannot
    push spending past the limit by more than one call."""

    limit_usd: float | None
    spent_usd: float = 0.0  # a resumed task starts with what it spent before (Ledger.budget_spent)
    on_spend: Callable[[float], None] | None = None  # called with the new total after each call (persisted state)
    _reserved: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fraction(self) -> float:
        if not self.limit_usd:
            return 0.0
        with self._lock:
            return self.spent_usd / self.limit_usd

    def remaining(self) -> float | None:
        return None if self.limit_usd is None else self.limit_usd - self.spent_usd

    def reserve(self, worst_case_usd: float) -> bool:
        """False when the task must stop: the limit is reached, or this call could overspend while
        another call is already in flight."""
        if self.limit_usd is None:
            return True
        with self._lock:
            if self.spent_usd >= self.limit_usd:
                return False
            if self._reserved > 0 and self.spent_usd + self._reserved + worst_case_usd > self.limit_usd:
                return False
            self._reserved += worst_case_usd
            return True

    def settle(self, worst_case_usd: float, actual_usd: float) -> None:
        with self._lock:
            if self.limit_usd is not None:
                self._reserved = max(self._reserved - worst_case_usd, 0.0)
            self.spent_usd += actual_usd
            total = self.spent_usd
        if self.on_spend is not None and actual_usd:
            self.on_spend(total)


@dataclass(frozen=True, slots=True)
class Deadline:
    """Per-task deadline in simulated milliseconds since the task started. `time_scale` converts
    clock time to simulated time (1 for the virtual clock, the latency scale for the wall clock;
    0 means simulated time does not pass and the deadline never fires)."""

    total_ms: float | None
    start_ns: int
    time_scale: float = 1.0

    def _elapsed_ms(self, now_ns: int) -> float:
        return (now_ns - self.start_ns) / 1e6 / self.time_scale

    def fraction(self, now_ns: int) -> float:
        if not self.total_ms or self.time_scale <= 0:
            return 0.0
        return self._elapsed_ms(now_ns) / self.total_ms

    def remaining_s(self, now_ns: int) -> float | None:
        if not self.total_ms or self.time_scale <= 0:
            return None
        return max(self.total_ms - self._elapsed_ms(now_ns), 0.0) / 1000


@dataclass(frozen=True, slots=True)
class Routing:
    tier: Tier
    reason: str | None  # None: the agent's own tier
    skip_optional: str | None  # reason to skip an optional agent, if any


def route(tier: Tier, *, budget_fraction: float, deadline_fraction: float) -> Routing:
    """Model routing by tier under budget and deadline pressure."""
    reason = None
    if deadline_fraction >= DEADLINE_PRESSURE_AT and tier != Tier.FAST:
        tier, reason = Tier.FAST, "deadline"
    elif budget_fraction >= DOWNGRADE_AT and tier != Tier.FAST:
        tier, reason = tier.downgraded(), "budget"
    skip = None
    if budget_fraction >= SKIP_OPTIONAL_AT:
        skip = "budget"
    elif deadline_fraction >= DEADLINE_PRESSURE_AT:
        skip = "deadline"
    return Routing(tier=tier, reason=reason, skip_optional=skip)


class CircuitBreaker:
    """Per agent: opens when the error rate over the last `window` steps reaches `threshold`,
    refuses `cooldown` steps, then lets one probe through (half-open)."""

    def __init__(self, window: int = 10, threshold: float = 0.5, min_calls: int = 5, cooldown: int = 5) -> None:
        self.window, self.threshold, self.min_calls, self.cooldown = window, threshold, min_calls, cooldown
        self._results: deque[bool] = deque(maxlen=window)
        self._state = "closed"
        self._refused = 0
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return self._state

    def allow(self) -> tuple[bool, str]:
        """(allowed, state the call ran under)."""
        with self._lock:
            if self._state == "open":
                if self._refused >= self.cooldown:
                    self._state = "half_open"
                    return True, "half_open"
                self._refused += 1
                return False, "open"
            if self._state == "half_open":
                return False, "open"  # one probe at a time
            return True, "closed"

    def release(self) -> None:
        """The step ended without a verdict (its task stopped): let the next call probe again."""
        with self._lock:
            if self._state == "half_open":
                self._state, self._refused = "open", self.cooldown

    def record(self, ok: bool) -> None:
        with self._lock:
            if self._state == "half_open":
                self._state = "closed" if ok else "open"
                self._refused = 0
                self._results.clear()
                return
            self._results.append(ok)
            errors = self._results.count(False)
            if len(self._results) >= self.min_calls and errors / len(self._results) >= self.threshold:
                self._state, self._refused = "open", 0


class Breakers:
    """One circuit breaker per agent name, shared by all tasks of a run."""

    def __init__(self, factory: Callable[[], CircuitBreaker] = CircuitBreaker) -> None:
        self._factory = factory
        self._by_agent: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, agent: str) -> CircuitBreaker:
        with self._lock:
            return self._by_agent.setdefault(agent, self._factory())


class ResponseCache:
    """LRU of validated responses keyed by (model, system, prompt, schema); hits cost nothing."""

    def __init__(self, max_entries: int = 2048) -> None:
        self._data: OrderedDict[str, LLMResponse] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> LLMResponse | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: str, response: LLMResponse) -> None:
        with self._lock:
            self._data[key] = response
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)


T = TypeVar("T")


class VersionConflict(Exception):
    pass


class VersionedStore(Generic[T]):
    """Shared state with optimistic concurrency: writes name the version they read."""

    def __init__(self, initial: T) -> None:
        self._value = initial
        self._version = 0
        self._lock = threading.Lock()
        self._intervals: list[tuple[int, int]] = []
        self.conflicts = 0

    def read(self) -> tuple[T, int]:
        with self._lock:
            return self._value, self._version

    def write(self, value: T, expected_version: int) -> int:
        with self._lock:
            if self._version != expected_version:
                self.conflicts += 1
                raise VersionConflict(f"expected version {expected_version}, found {self._version}")
            self._value = value
            self._version += 1
            return self._version

    def update(
        self, change: Callable[[T], T], *, max_retries: int = 8, between: Callable[[], None] | None = None
    ) -> tuple[T, int]:
        """Read-modify-write, retried on conflict; returns (new value, conflicts this update hit).
        `between` runs between the read and the write (the time the change takes)."""
        hit = 0
        for _ in range(max_retries + 1):
            value, version = self.read()
            new = change(value)
            if between is not None:
                between()
            try:
                self.write(new, version)
                return new, hit
            except VersionConflict:
                hit += 1
        raise VersionConflict(f"gave up after {max_retries} conflicting retries")

    def update_virtual(self, change: Callable[[T], T], read_ns: int, write_ns: int) -> tuple[T, int]:
        """The same read-modify-write on a virtual clock, where parallel branches run one after the
        other: it conflicts (and is retried once) for every earlier update whose [read, write]
        interval overlaps its own, as it would have under real concurrency."""
        with self._lock:
            hit = sum(1 for a, b in self._intervals if a < write_ns and read_ns < b)
            self._intervals.append((read_ns, write_ns))
            self.conflicts += hit
            self._value = change(self._value)
            self._version += 1
            return self._value, hit


def snapshot(value: Any) -> Any:
    """A JSON-safe copy of workflow state (pydantic models dumped, the rest stringified)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [snapshot(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
