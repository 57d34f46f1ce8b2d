"""Webhook delivery against a real HTTP receiver on 127.0.0.1: payloads, retry with backoff, the
delivery log, and channels that fail or hang without holding up evaluation; plus the background
service reacting to new spans."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from alerts_spans import HOUR, MIN, T0, Store, Task, list_alerts, rules_toml, simple_task

from agentdeck.collector.alerts import (
    AlertService,
    Deliverer,
    DeliveryPolicy,
    evaluate,
    parse_rules,
)

FAST = DeliveryPolicy(max_attempts=4, backoff_s=0.01, backoff_max_s=0.05, workers=2)


class Receiver:
    """A webhook endpoint: answers the scripted statuses in order (then 200), records every body,
    and, while `hold` is clear, keeps requests waiting (a hung channel)."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, object]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.waiting = threading.Semaphore(0)
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.waiting.release()
                receiver.hold.wait(20)
                with lock:
                    receiver.bodies.append(body)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "spans.duckdb")
    yield s
    s.close()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        r = Receiver(statuses)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def channel(name: str, url: str, kind: str = "generic") -> str:
    return f'[channels.{name}]\nurl = "{url}"\nkind = "{kind}"\ntimeout_s = 5\n'


def deliveries(store: Store) -> list[tuple[str, int, str, int | None]]:
    rows = store.s.list_deliveries(None, 1000).to_pylist()
    return [(r["channel"], r["attempt"], r["status"], r["http_status"]) for r in reversed(rows)]


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_generic_webhook_is_retried_with_backoff_and_every_attempt_logged(
    store: Store, receiver_factory: Callable[..., Receiver]
) -> None:
    hook = receiver_factory(500, 503)
    rules = parse_rules(channel("audit", hook.url) + rules_toml("spend", 1.0, channels=["audit"]))
    store.add(simple_task(T0, cost_usd=1.0))
    deliverer = Deliverer(store.session, rules.channels, policy=FAST, dashboard_url="http://127.0.0.1:8501")
    deliverer.start()
    try:
        [change] = evaluate(store.s, rules, T0 + MIN)
        assert deliverer.submit(change, rules.rules[0].channels) == 1
        assert deliverer.wait_idle(10)
    finally:
        deliverer.stop()
    assert deliveries(store) == [("audit", 1, "retry", 500), ("audit", 2, "retry", 503), ("audit", 3, "ok", 200)]
    assert len(hook.bodies) == 3 and hook.bodies[0] == hook.bodies[2]  # the same notification each time
    body = hook.bodies[0]
    assert body["event"] == "firing" and body["dedupe_key"] == f"agentdeck-alert-{change.alert.id}-firing"
    alert = body["alert"]
    assert isinstance(alert, dict)
    assert (alert["rule"], alert["value"], alert["threshold"]) == ("spend", 2.0, 1.0)
    assert alert["trace_ids"] == list(change.alert.trace_ids)
    assert alert["trace_links"] == [f"http://127.0.0.1:8501/?trace_id={t}" for t in change.alert.trace_ids]


def test_slack_payload_has_text_and_blocks_with_trace_links(
    store: Store, receiver_factory: Callable[..., Receiver]
) -> None:
    hook = receiver_factory()
    rules = parse_rules(
        channel("oncall", hook.url, "slack")
        + rules_toml("runaway_loop", 3, name="loop", severity="critical", channels=["oncall"])
    )
    loop = Task(T0)
    for _ in range(5):
        loop.agent("researcher")
    store.add(loop)
    deliverer = Deliverer(store.session, rules.channels, policy=FAST, dashboard_url="http://dash:8501/")
    deliverer.start()
    try:
        [change] = evaluate(store.s, rules, T0 + MIN)
        deliverer.submit(change, ("oncall",))
        assert deliverer.wait_idle(10)
    finally:
        deliverer.stop()
    [body] = hook.bodies
    assert set(body) == {"text", "blocks"}
    assert body["text"] == ":rotating_light: [CRITICAL] FIRING loop: runaway_loop = 5 (> 3) for 1 task"
    blocks = body["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "section"
    section = blocks[0]["text"]["text"]
    assert "agent researcher ran 5 times in one task" in section
    assert f"<http://dash:8501/?trace_id={loop.trace_id}|{loop.trace_id[:12]}>" in section


def test_gives_up_after_max_attempts_and_at_once_on_a_permanent_4xx(
    store: Store, receiver_factory: Callable[..., Receiver]
) -> None:
    down = receiver_factory(500, 500, 500, 500)
    wrong = receiver_factory(404)
    rules = parse_rules(
        channel("down", down.url) + channel("wrong", wrong.url) + rules_toml("spend", 1.0, channels=["down", "wrong"])
    )
    store.add(simple_task(T0, cost_usd=1.0))
    deliverer = Deliverer(store.session, rules.channels, policy=DeliveryPolicy(max_attempts=3, backoff_s=0.01))
    deliverer.start()
    try:
        [change] = evaluate(store.s, rules, T0 + MIN)
        assert deliverer.submit(change, rules.rules[0].channels) == 2
        assert deliverer.wait_idle(10)
    finally:
        deliverer.stop()
    log = deliveries(store)
    assert [d for d in log if d[0] == "down"] == [
        ("down", 1, "retry", 500),
        ("down", 2, "retry", 500),
        ("down", 3, "failed", 500),
    ]
    assert [d for d in log if d[0] == "wrong"] == [("wrong", 1, "failed", 404)]


def test_a_hung_or_dead_channel_never_blocks_evaluation(
    store: Store, receiver_factory: Callable[..., Receiver]
) -> None:
    hung = receiver_factory()
    hung.hold.clear()  # answers nothing until released
    dead_url = "http://127.0.0.1:9/nobody-listens"
    rules = parse_rules(
        channel("hung", hung.url) + channel("dead", dead_url) + rules_toml("spend", 1.0, channels=["hung", "dead"])
    )
    policy = DeliveryPolicy(max_attempts=2, backoff_s=0.01, workers=2)
    service = AlertService(store.session, rules, interval_s=3600, delivery_policy=policy)
    service.deliverer.start()
    try:
        store.add(simple_task(T0, cost_usd=1.0))
        [fired] = service.run_once(T0 + MIN)
        assert fired.kind == "firing"
        assert hung.waiting.acquire(timeout=10)  # the webhook is now stuck in flight ...
        [resolved] = service.run_once(T0 + 2 * HOUR)  # ... and evaluation carries on regardless
        assert resolved.kind == "resolved"
        assert list_alerts(store.s, state="resolved").num_rows == 1
        assert hung.bodies == []  # both evaluations finished while the first post was still unanswered
        assert wait_for(lambda: ("dead", 2, "failed", None) in deliveries(store))
        hung.hold.set()
        assert service.deliverer.wait_idle(10)
    finally:
        service.stop()
    log = deliveries(store)
    assert log.count(("hung", 1, "ok", 200)) == 2  # the firing and the resolution both went out
    dead = [r for r in store.s.list_deliveries(None, 1000).to_pylist() if r["channel"] == "dead"]
    assert all(r["error"].startswith("ConnectError") for r in dead)


def test_full_queue_drops_and_logs_instead_of_blocking(store: Store, receiver_factory: Callable[..., Receiver]) -> None:
    hung = receiver_factory()
    hung.hold.clear()
    rules = parse_rules(channel("hung", hung.url) + rules_toml("spend", 1.0, scope="workflow", channels=["hung"]))
    store.add(*[simple_task(T0, workflow=f"wf{i}", cost_usd=1.0) for i in range(3)])
    deliverer = Deliverer(store.session, rules.channels, policy=DeliveryPolicy(max_queue=1, workers=1))
    deliverer.start()
    try:
        changes = evaluate(store.s, rules, T0 + MIN)
        assert [deliverer.submit(c, ("hung",)) for c in changes] == [1, 0, 0]
        assert [d[2] for d in deliveries(store)] == ["dropped", "dropped"]
        hung.hold.set()
        assert deliverer.wait_idle(10)
    finally:
        deliverer.stop()
    assert len(hung.bodies) == 1


def test_silenced_alert_is_not_delivered(store: Store, receiver_factory: Callable[..., Receiver]) -> None:
    hook = receiver_factory()
    rules = parse_rules(channel("audit", hook.url) + rules_toml("spend", 1.0, channels=["audit"]))
    store.add(simple_task(T0, cost_usd=1.0))
    clock_ns = [T0 + MIN]
    service = AlertService(store.session, rules, interval_s=3600, delivery_policy=FAST, clock=lambda: clock_ns[0])
    service.deliverer.start()
    try:
        [fired] = service.run_once()
        store.s.silence(fired.alert.id, T0 + 3 * HOUR)
        clock_ns[0] = T0 + 2 * HOUR
        [resolved] = service.run_once()
        assert resolved.kind == "resolved" and resolved.alert.silenced_at(T0 + 2 * HOUR)
        assert service.deliverer.wait_idle(10)
    finally:
        service.stop()
    assert [b["event"] for b in hook.bodies] == ["firing"]  # the resolution was silenced


def test_service_fires_within_moments_of_new_spans(store: Store, receiver_factory: Callable[..., Receiver]) -> None:
    hook = receiver_factory()
    rules = parse_rules(
        channel("oncall", hook.url, "slack")
        + rules_toml("task_budget_breach", 1.0, ">=", name="over-budget", channels=["oncall"])
        + rules_toml("spend", 1000.0, name="spend")
    )
    service = AlertService(store.session, rules, interval_s=3600, delivery_policy=FAST, clock=lambda: T0 + 5 * MIN)
    service.start()
    try:
        assert wait_for(lambda: service.evaluations == 1)  # the start-up evaluation; the next is an hour away
        burner = Task(T0, budget_limit_usd=0.5)
        burner.agent("researcher", cost_usd=0.4).agent("researcher", cost_usd=0.4).finish("incomplete")
        store.add(burner)  # what the writer commits ...
        service.notify_spans_arrived([burner.trace_id])  # ... and then reports
        assert wait_for(lambda: len(hook.bodies) == 1)
    finally:
        service.stop()
    assert service.evaluations == 1 and service.fast_checks >= 1
    [row] = list_alerts(store.s, state="firing").to_pylist()
    assert (row["rule"], row["group_value"], row["trace_ids"]) == ("over-budget", "", [burner.trace_id])
    assert "spent $0.8000 of a $0.5000 task budget" in str(hook.bodies[0]["text"]) + json.dumps(hook.bodies[0])


def test_service_evaluates_on_its_interval(store: Store) -> None:
    rules = parse_rules(rules_toml("spend", 1.0))
    service = AlertService(store.session, rules, interval_s=0.05, clock=lambda: T0 + MIN)
    service.start()
    try:
        assert wait_for(lambda: service.evaluations >= 1)
        store.add(simple_task(T0, cost_usd=1.0))  # no notification: the next tick finds it
        assert wait_for(lambda: list_alerts(store.s, state="firing").num_rows == 1)
        assert wait_for(lambda: service.evaluations >= 3)
    finally:
        service.stop()
    assert list_alerts(store.s).num_rows == 1  # many ticks, one alert


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = DeliveryPolicy(backoff_s=1.0, backoff_max_s=5.0)
    assert [policy.delay_s(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
