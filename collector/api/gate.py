"""The query gate: how many reads of the store run at once, and what happens to the rest.

Issue 18 item 12: with 32 heavy query clients, every query took a thread of the server's pool and
DuckDB's cores, so ingest's p50 went from 46 ms to over a second and queries failed out of memory.
Reads (named queries, alert reads, alert checks) now pass this gate: `slots` run at once, up to
`queue` more wait (without holding a thread) for at most `wait_s`, and the rest are answered 503
with Retry-After at once. Each running read has its own store session, registered here so that `drain()`
can interrupt them at shutdown before the store closes under them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from agentdeck.collector.ingest.errors import Overloaded, StoreUnavailable, store_failure
from agentdeck.collector.store.base import OutOfMemory, ReadInterrupted, SpanStore, StoreSession

T = TypeVar("T")
RETRY_AFTER_S = 2


class QueryGate:
    def __init__(self, store: SpanStore, slots: int, queue: int, wait_s: float) -> None:
        self.store = store
        self.slots = slots
        self.queue = queue
        self.wait_s = wait_s
        self.waiting = 0
        self.running = 0
        self._semaphore = asyncio.Semaphore(slots)
        self._cursors: set[StoreSession] = set()
        self._idle = threading.Condition()
        self._closed = False

    async def read(self, work: Callable[[StoreSession], T]) -> T:
        """Run `work` on a store session of its own in a thread, once a slot is free. Raises Overloaded (503)
        when the gate is full or the wait runs out, StoreUnavailable when the collector is stopping."""
        if self._closed:
            raise StoreUnavailable("the collector is stopping; retry against it once it is back")
        if self._semaphore.locked() and self.waiting >= self.queue:
            raise Overloaded(
                f"{self.slots} queries are running and {self.waiting} waiting (max_concurrent_queries, "
                f"max_queued_queries); retry in {RETRY_AFTER_S} s",
                retry_after_s=RETRY_AFTER_S,
            )
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise Overloaded(
                f"no query slot came free within {self.wait_s:g} s; retry in {RETRY_AFTER_S} s",
                retry_after_s=RETRY_AFTER_S,
            ) from None
        finally:
            self.waiting -= 1
        try:
            return await run_in_threadpool(self._run, work)
        finally:
            self._semaphore.release()

    def _run(self, work: Callable[[StoreSession], T]) -> T:
        with self._idle:
            if self._closed:
                raise StoreUnavailable("the collector is stopping; retry against it once it is back")
            cursor = self.store.session()
            self._cursors.add(cursor)
            self.running += 1
        try:
            return work(cursor)
        except ReadInterrupted as exc:
            raise StoreUnavailable(f"{exc}; retry") from None
        except OutOfMemory as exc:  # 503 with Retry-After, never a 500
            raise store_failure(exc) from None
        finally:
            with self._idle:
                self._cursors.discard(cursor)
                self.running -= 1
                cursor.close()
                self._idle.notify_all()

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Refuse new reads, interrupt the running ones and wait for them; True once none runs."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            self._closed = True
            while self._cursors:  # again and again: a check runs one query per rule
                for cursor in self._cursors:
                    cursor.interrupt()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    @property
    def closed(self) -> bool:
        return self._closed
