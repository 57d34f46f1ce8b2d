"""Reading a request body before any decode slot is taken, so a slow client holds only itself.

Issue 18 item 2: four connections that sent headers and then stalled held all four decode slots
(taken before the body was read, with no time limit), and every other producer waited minutes.
Here the body is read first, within `body_timeout_s` in total (a trickle of one byte a second does
not extend it), capped at `max_body_bytes`; the bytes of bodies read but not yet decoded are bounded
by a shared `BodyBudget`, which answers 503 (retryable) rather than wait, so nobody queues behind a
stalled client.
"""

from __future__ import annotations

import asyncio
import threading

from starlette.requests import ClientDisconnect, Request

from agentdeck.collector.ingest.errors import BodyTimeout, ClientGone, Overloaded, PayloadTooLarge


class BodyBudget:
    """Bytes of request bodies held before decoding, across all requests."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        with self._lock:
            if self.held + size > self.limit_bytes:
                raise Overloaded(
                    f"the collector is receiving {self.held} bytes of request bodies already; retry shortly"
                )
            self.held += size

    def give_back(self, size: int) -> None:
        with self._lock:
            self.held -= size


async def read_body(request: Request, max_bytes: int, timeout_s: float, budget: BodyBudget) -> bytes:
    """The whole body, or PayloadTooLarge (413), BodyTimeout (408) or Overloaded (503). The caller
    gives `len(body)` back to the budget once the body is decoded (or dropped)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"body is {declared} bytes, over the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                if size + len(chunk) > max_bytes:
                    raise PayloadTooLarge(f"body is over the limit of {max_bytes} bytes")
                budget.take(len(chunk))
                size += len(chunk)
                chunks.append(chunk)
    except TimeoutError:
        budget.give_back(size)
        raise BodyTimeout(
            f"the body did not arrive within {timeout_s:g} s (body_timeout_s); got {size} bytes"
        ) from None
    except ClientDisconnect:
        budget.give_back(size)
        raise ClientGone(f"the client hung up after {size} bytes of its body") from None
    except BaseException:
        budget.give_back(size)
        raise
    return b"".join(chunks)
