"""Scores through the collector: written with POST /api/scores, read back by trace, name and source,
kept across a restart; a bad score is a 400 that names what is wrong and nothing of it is stored."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer

TRACE = "0123456789abcdef0123456789abcdef"
OTHER = "f" * 32


def rows(url: str, **params: str) -> list[dict[str, object]]:
    body = httpx.get(f"{url}/api/scores", params=params, timeout=10).json()
    return [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]


def test_scores_are_written_read_back_and_kept(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "c.duckdb", host="127.0.0.1", port=0)
    with CollectorServer(config) as server:
        one = httpx.post(f"{server.url}/api/scores", json={"trace_id": TRACE, "name": "helpful", "value": 1,
                         "comment": "good answer", "source": "human"}, timeout=10)  # fmt: skip
        assert one.status_code == 200, one.text
        many = httpx.post(f"{server.url}/api/scores", json={"scores": [
            {"trace_id": TRACE, "span_id": "0123456789ABCDEF", "name": "exact", "value": 0.0, "source": "code"},
            {"trace_id": OTHER, "name": "rubric", "value": 0.8, "source": "llm-judge", "comment": "clear"},
        ]}, timeout=10)  # fmt: skip
        assert many.status_code == 200 and len(many.json()["ids"]) == 2
        mine = rows(server.url, trace_id=TRACE)
        assert sorted((r["name"], r["value"], r["source"], r["span_id"]) for r in mine) == [
            ("exact", 0.0, "code", "0123456789abcdef"), ("helpful", 1.0, "human", None)
        ]  # fmt: skip
        assert [r["comment"] for r in rows(server.url, source="llm-judge")] == ["clear"]
    with CollectorServer(config) as server:  # after a restart
        assert len(rows(server.url)) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"trace_id": "abc", "name": "x", "value": 1, "source": "human"}, "trace_id 'abc' is not 32 hex"),
        ({"trace_id": TRACE, "name": "x", "value": "good", "source": "human"}, "value must be a number"),
        ({"trace_id": TRACE, "name": "x", "value": 1, "source": "robot"}, "source 'robot' is not one of human"),
        ({"trace_id": TRACE, "name": "", "value": 1, "source": "code"}, "name must be 1 to 200"),
        ([], "send a score"),
    ],
)
def test_a_bad_score_is_a_400_that_says_what_to_fix(tmp_path: Path, body: object, message: str) -> None:
    with CollectorServer(CollectorConfig(db_path=tmp_path / "c.duckdb", host="127.0.0.1", port=0)) as server:
        ok = {"trace_id": TRACE, "name": "fine", "value": 1, "source": "code"}
        resp = httpx.post(f"{server.url}/api/scores", json=[ok, body] if isinstance(body, dict) else body, timeout=10)
        assert resp.status_code == 400 and message in resp.json()["error"]
        assert rows(server.url) == []  # the good score of a refused request is not half-stored
        assert httpx.get(f"{server.url}/api/scores", params={"source": "x"}, timeout=10).status_code == 400
