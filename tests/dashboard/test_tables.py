"""Every page's tables (issue 13 item 8; issue 18 item 6) through AppTest against a real collector: each
column is given a width that fits its header and its text, one name column is pinned, and text that a
spreadsheet would run as a formula reaches the table (and so its CSV download) quoted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentdeck.dashboard.components import formula_safe
from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import TRIAGE_FAILED

CHAR_PX = 7  # at least what one character of the table's 14 px font takes


def _configs(at: Any) -> list[tuple[Any, dict[str, Any]]]:
    return [(d.value, json.loads(d.proto.columns)) for d in at.dataframe]


@pytest.mark.parametrize(
    ("page", "query", "pinned"),
    [
        ("traces", {}, ["Workflow"]),
        ("traces", {"trace_id": TRIAGE_FAILED}, ["Span"]),
        ("agents", {}, ["Agent"]),
        ("costs", {}, ["Workflow", "Workflow"]),
        ("graph", {"workflow": "due_diligence"}, ["Agent"]),
    ],
    ids=["traces", "span-tree", "agents", "costs", "graph"],
)
def test_columns_fit_their_text_and_the_name_is_pinned(
    app: AppRunner, page: str, query: dict[str, str], pinned: list[str]
) -> None:
    at = app(page, **query)
    tables = _configs(at)
    assert [next(n for n, c in cfg.items() if c.get("pinned")) for _, cfg in tables] == pinned
    for frame, cfg in tables:
        for name in frame.columns:
            text = [str(v) for v in frame[name]] if frame[name].dtype == object else []
            needed = CHAR_PX * max([len(name) + 1, *map(len, text)]) + 16
            width = cfg[name]["width"]
            assert width >= min(needed, 320), (page, name, width, needed)  # no "Tok…", "incomp", "Repl…"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_text_is_quoted(text: str) -> None:
    assert formula_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["ok", "a=b", "", -1, -0.5, None])
def test_other_values_are_unchanged(value: object) -> None:
    assert formula_safe(value) == value
