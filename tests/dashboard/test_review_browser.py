"""The Review page in a real Chromium: approve, edit (a wrong edit refused with the schema's message)
and reject waiting support_mcp tasks, then the next run of the tasks takes the decisions. Also: the
page asks for the login when a password is set. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from streamlit.testing.v1 import AppTest

from agentdeck.engine.ledger import Ledger
from agentdeck.engine.review import ReviewItem, ReviewQueue
from agentdeck.engine.runner import RunSummary, run_tasks
from agentdeck.engine.telemetry import make_tracer_provider
from tests.conftest import streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TASKS = 12


def _run(db: Path) -> RunSummary:
    tp = make_tracer_provider(exporters=[InMemorySpanExporter()])
    try:
        return run_tasks("support_mcp", TASKS, checkpoint_db=db, tracer_provider=tp, latency_scale=0.0)
    finally:
        tp.shutdown()


@dataclass
class ReviewEnv:
    db: Path
    url: str
    items: list[ReviewItem]


@pytest.fixture(scope="module")
def review_env(sample_collector: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewEnv]:
    db = tmp_path_factory.mktemp("review") / "checkpoints.sqlite"
    _run(db)
    with ReviewQueue(db) as queue:
        items = queue.items()
    assert len(items) >= 3
    env: dict[str, str | None] = {
        "AGENTDECK_COLLECTOR_URL": sample_collector,
        "AGENTDECK_CHECKPOINT_DB": str(db),
        "AGENTDECK_DASHBOARD_REFRESH_S": "0",
        "AGENTDECK_DASHBOARD_PASSWORD": None,
    }
    with streamlit_server(env, db.parent / "streamlit.log") as url:
        yield ReviewEnv(db, url, items)


def _click(page: Any, selector: str) -> None:
    """Click the one element `selector` finds, once Streamlit's rerun has settled: while a rerun draws,
    the old and the new copy of a widget can both be on the page for a moment."""
    from playwright.sync_api import expect

    button = page.locator(selector)
    expect(button).to_have_count(1)
    button.click()


def test_approve_edit_and_reject_in_the_browser_then_the_tasks_resume(
    browser: Any, review_env: ReviewEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    approved, edited, rejected = review_env.items[:3]
    page = browser.new_page(viewport={"width": 1400, "height": 3000})
    try:
        page.goto(f"{review_env.url}/review")
        expect(page.get_by_role("heading", name="Review")).to_be_visible()
        expect(page.get_by_text(f"Waiting ({len(review_env.items)})")).to_be_visible()
        expect(page.get_by_text(f"#{approved.id} · classifier").first).to_be_visible()
        expect(page.get_by_text(approved.reason).first).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "review-1-pending.png"), full_page=True)
        page.locator(f".st-key-{'review_reviewer'} input").fill("Ana Souza")
        page.locator(f".st-key-{'review_reviewer'} input").press("Enter")

        _click(page, f".st-key-review_approve_{approved.id} button")
        expect(page.get_by_text(f"Item {approved.id} approved by Ana Souza.")).to_be_visible()

        answer = page.locator(f".st-key-review_output_{edited.id} textarea")
        answer.fill(json.dumps({**edited.proposed, "category": "weather"}))
        answer.press("Control+Enter")
        _click(page, f".st-key-review_approve_{edited.id} button")
        expect(page.get_by_text("does not fit classifier's schema Classification").first).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "review-2-invalid-edit.png"), full_page=True)
        fixed = {**edited.proposed, "priority": "urgent" if edited.proposed["priority"] != "urgent" else "low"}
        answer.fill(json.dumps(fixed))
        answer.press("Control+Enter")
        _click(page, f".st-key-review_approve_{edited.id} button")
        expect(page.get_by_text(f"Item {edited.id} edited by Ana Souza.")).to_be_visible()

        reason = page.locator(f".st-key-review_reason_{rejected.id} input")
        reason.fill("not a support ticket")
        reason.press("Enter")
        _click(page, f".st-key-review_reject_{rejected.id} button")
        expect(page.get_by_text(f"Item {rejected.id} rejected by Ana Souza.")).to_be_visible()
        expect(page.get_by_text(f"Waiting ({len(review_env.items) - 3})")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "review-3-decided.png"), full_page=True)
    finally:
        page.close()

    with ReviewQueue(review_env.db) as queue:
        assert queue.get(edited.id).output == fixed and queue.get(edited.id).decided_by == "Ana Souza"
        assert queue.get(rejected.id).decision_reason == "not a support ticket"
    summary = _run(review_env.db)  # the process that runs the tasks takes the decisions
    outcomes = {t.task_id: t for t in summary.tasks}
    assert (outcomes[rejected.task_id].outcome, outcomes[rejected.task_id].detail) == (
        "dead_letter",
        "classifier: rejected",
    )
    assert outcomes[approved.task_id].resumed and outcomes[edited.task_id].resumed
    with Ledger(review_env.db) as ledger:
        assert all(ledger.task(i.task_id) is not None for i in (approved, edited, rejected))


def test_the_review_page_asks_for_the_login_when_a_password_is_set(
    monkeypatch: pytest.MonkeyPatch, review_env: ReviewEnv
) -> None:
    monkeypatch.setenv("AGENTDECK_DASHBOARD_PASSWORD", "s3cret-review")
    monkeypatch.setenv("AGENTDECK_CHECKPOINT_DB", str(review_env.db))
    monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", "http://127.0.0.1:9")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("views/review.py").run()
    shown = " ".join(str(e.value) for e in at.title) + " ".join(str(m.value) for m in at.markdown)
    assert "Review" not in [t.value for t in at.title]
    assert "classifier" not in shown and len(at.text_input) == 1  # only the password field
