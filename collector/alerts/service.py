"""`AlertService`: evaluates the rules on an interval in a background thread, and re-checks the
per-task rules (budget breach, runaway loops) as soon as the writer reports new spans.

The thread uses its own store session. `notify_spans_arrived` only records trace ids and wakes the
thread, so the writer never waits on alert evaluation; notifications go out through a `Deliverer`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable

from agentdeck.collector.alerts.delivery import Deliverer, DeliveryPolicy
from agentdeck.collector.alerts.evaluator import AlertChange, RuleFailure, evaluate_all
from agentdeck.collector.alerts.rules import RuleSet
from agentdeck.collector.store.base import SessionFactory, StoreSession

log = logging.getLogger(__name__)

MAX_PENDING_TRACES = 10_000  # beyond this, the fast path waits for the next full evaluation


class AlertService:
    def __init__(
        self,
        sessions: SessionFactory,
        rules: RuleSet,
        *,
        interval_s: float = 15.0,
        fast_check_gap_s: float = 1.0,
        deliverer: Deliverer | None = None,
        delivery_policy: DeliveryPolicy | None = None,
        dashboard_url: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"alert evaluation interval must be > 0 seconds, got {interval_s}")
        self._sessions = sessions
        self._rules = rules
        self.interval_s = interval_s
        self.fast_check_gap_s = fast_check_gap_s
        self._clock = clock
        self.deliverer = deliverer or Deliverer(
            sessions, rules.channels, policy=delivery_policy, dashboard_url=dashboard_url, clock=clock
        )
        self._cv = threading.Condition()
        self._pending_traces: set[str] = set()
        self._full_due = True
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._eval_lock = threading.Lock()  # one evaluation at a time (thread or run_once)
        self.evaluations = 0
        self.fast_checks = 0
        self.last_failures: list[RuleFailure] = []

    @property
    def rules(self) -> RuleSet:
        return self._rules

    def set_rules(self, rules: RuleSet) -> None:
        """Swap in a new (already validated) rule set; takes effect at the next evaluation."""
        with self._cv:
            self._rules = rules
            self._full_due = True
            self._cv.notify()
        self.deliverer.set_channels(rules.channels)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self.deliverer.start()
        self._thread = threading.Thread(target=self._run, name="alert-evaluator", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.deliverer.stop(timeout_s)

    def notify_spans_arrived(self, trace_ids: Iterable[str]) -> None:
        """Called by the writer after a batch commits: re-check these tasks' per-task rules now."""
        if not self._rules.task_check_rules:
            return
        with self._cv:
            if len(self._pending_traces) < MAX_PENDING_TRACES:
                self._pending_traces.update(trace_ids)
                self._cv.notify()

    def run_once(self, now_ns: int | None = None, trace_ids: Iterable[str] | None = None) -> list[AlertChange]:
        """Evaluate now on the caller's thread (all rules, or the per-task checks of `trace_ids`)."""
        session = self._sessions()
        try:
            return self._evaluate(session, now_ns, None if trace_ids is None else sorted(trace_ids))
        finally:
            session.close()

    def _evaluate(self, session: StoreSession, now_ns: int | None, trace_ids: list[str] | None) -> list[AlertChange]:
        with self._eval_lock:
            result = evaluate_all(session, self._rules, self._clock() if now_ns is None else now_ns, trace_ids)
            if trace_ids is None:
                self.evaluations += 1
                self.last_failures = result.failures
            else:
                self.fast_checks += 1
        for change in result.changes:
            with contextlib.suppress(KeyError):  # KeyError: the rule was removed by a reload
                self.deliverer.submit(change, self._rules.rule(change.alert.rule).channels)
        return result.changes

    def _run(self) -> None:
        session = self._sessions()
        next_full = time.monotonic()
        next_fast = 0.0  # fast checks at most every fast_check_gap_s, so a busy writer batches them
        try:
            while True:
                with self._cv:
                    while True:
                        if self._stopping:
                            return
                        now = time.monotonic()
                        if now >= next_full:
                            self._full_due = True
                        if self._full_due or (self._pending_traces and now >= next_fast):
                            break
                        wake = min(next_full, next_fast) if self._pending_traces else next_full
                        self._cv.wait(max(wake - now, 0.001))
                    traces = sorted(self._pending_traces)
                    self._pending_traces.clear()
                    full = self._full_due
                    self._full_due = False
                try:
                    if full:  # the full run covers the pending tasks too
                        next_full = time.monotonic() + self.interval_s
                        self._evaluate(session, None, None)
                    else:
                        next_fast = time.monotonic() + self.fast_check_gap_s
                        self._evaluate(session, None, traces)
                except Exception:  # keep evaluating on the next tick whatever happened
                    log.exception("alert evaluation failed")
        finally:
            session.close()
