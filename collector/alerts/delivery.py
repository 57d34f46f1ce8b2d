"""Webhook delivery: generic JSON and Slack-compatible payloads, retried with exponential backoff.

`Deliverer.submit` only enqueues (a bounded queue; when full, the notification is logged as
`dropped`), so a slow or failing channel never blocks evaluation or ingest. Worker threads post,
and every attempt lands in `alert_deliveries`: `ok`, `retry` (failed, will try again), `failed`
(gave up: attempts exhausted or a permanent 4xx) or `dropped`.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from agentdeck.collector.alerts.evaluator import AlertChange
from agentdeck.collector.alerts.payloads import generic_payload, slack_payload
from agentdeck.collector.alerts.rules import Channel
from agentdeck.collector.alerts.state import Alert
from agentdeck.collector.store.base import DeliveryRecord, SessionFactory, StoreSession

log = logging.getLogger(__name__)

RETRYABLE_STATUS: Final = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class _Job:
    alert: Alert
    event: str
    channel: Channel
    body: bytes
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 5
    backoff_s: float = 1.0  # wait before attempt 2; doubles each time
    backoff_max_s: float = 60.0
    max_queue: int = 1000  # queued + waiting-for-retry notifications
    workers: int = 4

    def delay_s(self, attempt: int) -> float:
        """Wait before retrying after failed attempt number `attempt` (1-based): 1 s, 2 s, 4 s, ..."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s))


class Deliverer:
    """Posts alert notifications on background threads; `submit` never blocks on the network."""

    def __init__(
        self,
        sessions: SessionFactory,
        channels: Mapping[str, Channel],
        *,
        policy: DeliveryPolicy | None = None,
        dashboard_url: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._sessions = sessions
        self._channels = dict(channels)
        self.policy = policy or DeliveryPolicy()
        self._dashboard_url = dashboard_url
        self._clock = clock
        self._heap: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._in_flight = 0
        self._busy: set[str] = set()  # channels with a post in flight
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def set_channels(self, channels: Mapping[str, Channel]) -> None:
        with self._cv:
            self._channels = dict(channels)

    def start(self) -> None:
        with self._cv:
            if self._threads:
                return
            self._stopping = False
            self._threads = [
                threading.Thread(target=self._work, name=f"alert-delivery-{i}", daemon=True)
                for i in range(self.policy.workers)
            ]
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers; notifications still queued are logged as `dropped`."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        with self._cv:
            abandoned = [job for _, _, job in self._heap]
            self._heap.clear()
        for job in abandoned:
            self._log(
                job.alert,
                job.event,
                job.channel.name,
                job.channel.url,
                job.attempt,
                "dropped",
                None,
                "alert delivery stopped before this attempt",
            )

    def submit(self, change: AlertChange, channel_names: Sequence[str]) -> int:
        """Queue a firing/resolved change for its channels; returns how many posts were queued.

        Changes that do not notify (pending, updated) and silenced alerts are skipped.
        """
        alert = change.alert
        if not change.notifies or not channel_names or alert.silenced_at(self._clock()):
            return 0
        queued = 0
        for name in channel_names:
            channel = self._channels.get(name)
            if channel is None:
                self._log(alert, change.kind, name, "", 0, "failed", None, f"no channel named {name!r}")
                continue
            build = slack_payload if channel.kind == "slack" else generic_payload
            body = json.dumps(build(alert, change.kind, self._dashboard_url)).encode()
            job = _Job(alert=alert, event=change.kind, channel=channel, body=body)
            with self._cv:
                full = len(self._heap) + self._in_flight >= self.policy.max_queue
                if not full:
                    heapq.heappush(self._heap, (time.monotonic(), next(self._seq), job))
                    self._cv.notify()
                    queued += 1
            if full:
                self._log(
                    alert,
                    change.kind,
                    name,
                    channel.url,
                    0,
                    "dropped",
                    None,
                    f"delivery queue full ({self.policy.max_queue}); notification dropped",
                )
        return queued

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued or in flight (retries included). False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._heap or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    # --- worker side --------------------------------------------------------------------------

    def _next_job(self) -> _Job | None:
        """The earliest due job of a channel with nothing in flight (one post at a time per channel,
        so a hung channel holds one worker, never all of them)."""
        with self._cv:
            while not self._stopping:
                now = time.monotonic()
                ready = [e for e in self._heap if e[2].channel.name not in self._busy]
                if ready:
                    entry = min(ready)
                    if entry[0] <= now:
                        self._heap.remove(entry)
                        heapq.heapify(self._heap)
                        self._busy.add(entry[2].channel.name)
                        self._in_flight += 1
                        return entry[2]
                    self._cv.wait(entry[0] - now)
                else:
                    self._cv.wait()
            return None

    def _work(self) -> None:
        session = self._sessions()
        with httpx.Client() as http:
            while (job := self._next_job()) is not None:
                try:
                    self._attempt(session, http, job)
                except Exception:  # a delivery bug must not kill the worker
                    log.exception("alert delivery crashed for %s", job.channel.name)
                finally:
                    with self._cv:
                        self._in_flight -= 1
                        self._busy.discard(job.channel.name)
                        self._cv.notify_all()
        session.close()

    def _attempt(self, session: StoreSession, http: httpx.Client, job: _Job) -> None:
        status: int | None = None
        error: str | None = None
        try:
            resp = http.post(
                job.channel.url,
                content=job.body,
                timeout=job.channel.timeout_s,
                headers={"Content-Type": "application/json", "User-Agent": "agentdeck-alerts"},
            )
            status = resp.status_code
            if 200 <= status < 300:
                self._log(
                    job.alert, job.event, job.channel.name, job.channel.url, job.attempt, "ok", status, None, session
                )
                return
            error = f"HTTP {status}: {resp.text[:200]}"
            retryable = status >= 500 or status in RETRYABLE_STATUS
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
            retryable = True
        again = retryable and job.attempt < self.policy.max_attempts
        self._log(
            job.alert,
            job.event,
            job.channel.name,
            job.channel.url,
            job.attempt,
            "retry" if again else "failed",
            status,
            error,
            session,
        )
        if again:
            delay = self.policy.delay_s(job.attempt)
            retry = _Job(job.alert, job.event, job.channel, job.body, job.attempt + 1)
            with self._cv:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), retry))
                self._cv.notify()

    def _log(
        self,
        alert: Alert,
        event: str,
        channel: str,
        url: str,
        attempt: int,
        status: str,
        http_status: int | None,
        error: str | None,
        session: StoreSession | None = None,
    ) -> None:
        target = session if session is not None else self._sessions()
        try:
            target.record_delivery(
                DeliveryRecord(
                    alert_id=alert.id,
                    rule=alert.rule,
                    event=event,
                    channel=channel,
                    url=url,
                    attempt=attempt,
                    status=status,
                    http_status=http_status,
                    error=error,
                    at_ns=self._clock(),
                )
            )
        except Exception:  # the log is best effort: a delivery never fails on it
            log.exception("could not log an alert delivery attempt")
        finally:
            if session is None:
                target.close()
