"""Task clocks: wall time (real runs) or virtual time (deterministic sample traces).

Wall time is the default: spans carry real timestamps. The virtual clock (deterministic sample
traces) times spans by the simulated latencies instead. A node takes a cursor at its start
(`begin_node(step, task_id)`), advances it by each call's latency and backoff, and hands it back
(`end_node`). The virtual clock starts every node of a LangGraph step at the end of the previous
step (the slowest node), so parallel branches get reproducible timestamps. `latency_scale` scales
the real sleeping (0 = never sleep).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Cursor(Protocol):
    def now_ns(self) -> int: ...

    def advance(self, ms: float) -> None: ...


class TaskClock(Protocol):
    # simulated ms per wall ms: how policies (deadlines) convert elapsed clock time to simulated time
    time_scale: float
    virtual: bool  # True: timestamps are simulated and parallel branches do not really overlap

    def start_ns(self) -> int: ...

    def begin_node(self, step: int, key: str) -> Cursor: ...

    def end_node(self, cursor: Cursor) -> None: ...

    def end_ns(self) -> int: ...


class _WallCursor:
    def __init__(self, scale: float) -> None:
        self.scale = scale

    def now_ns(self) -> int:
        return time.time_ns()

    def advance(self, ms: float) -> None:
        if self.scale > 0 and ms > 0:
            time.sleep(ms * self.scale / 1000)


class WallClock:
    """Real timestamps. Simulated latencies are slept `latency_scale` times as long, so deadlines
    (in simulated ms) compare against wall time divided by the scale; at scale 0 they never fire."""

    def __init__(self, latency_scale: float = 1.0, *, real_latency: bool = False) -> None:
        self.scale = latency_scale
        self.virtual = False
        # a real provider's latency is real: deadlines then compare against plain wall time
        self.time_scale = 1.0 if real_latency else latency_scale
        self._start = time.time_ns()

    def start_ns(self) -> int:
        return self._start

    def begin_node(self, step: int, key: str) -> Cursor:
        return _WallCursor(self.scale)

    def end_node(self, cursor: Cursor) -> None:
        return None

    def end_ns(self) -> int:
        return time.time_ns()


class _VirtualCursor:
    def __init__(self, start: int, scale: float) -> None:
        self.t = start
        self.scale = scale

    def now_ns(self) -> int:
        return self.t

    def advance(self, ms: float) -> None:
        self.t += max(int(ms * 1_000_000), 1_000)  # every event takes at least 1 us
        if self.scale > 0 and ms > 0:
            time.sleep(ms * self.scale / 1000)


class VirtualClock:
    """Virtual time from `start_ns`; reproducible for a given sequence of latencies."""

    def __init__(self, start_ns: int, latency_scale: float = 0.0) -> None:
        self.time_scale = 1.0
        self.virtual = True
        self._start = start_ns
        self.scale = latency_scale
        self._frontier = start_ns + 1_000_000  # root span opens 1 ms before the first node
        self._step_start: dict[int, int] = {}
        self._cursors: dict[str, _VirtualCursor] = {}
        self._lock = threading.Lock()

    def start_ns(self) -> int:
        return self._start

    def begin_node(self, step: int, key: str) -> Cursor:
        """The cursor of node run `key` (a LangGraph task id): several agents in one node continue
        where the previous one ended."""
        with self._lock:
            cursor = self._cursors.get(key)
            if cursor is None:
                cursor = _VirtualCursor(self._step_start.setdefault(step, self._frontier), self.scale)
                self._cursors[key] = cursor
            return cursor

    def end_node(self, cursor: Cursor) -> None:
        with self._lock:
            self._frontier = max(self._frontier, cursor.now_ns())

    def end_ns(self) -> int:
        with self._lock:
            return self._frontier + 500_000
