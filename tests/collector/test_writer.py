"""The writer on a real DuckDB file: group commit, and one bad request never sinks the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.ingest.decode import from_proto
from agentdeck.collector.ingest.errors import DecodeError, Overloaded
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.duckdb.store import Store
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine.pricing import load_prices


def rows(*names: str) -> list[SpanRow]:
    t = new_trace_id()
    decoded = from_proto(request([S(n, t) for n in names]))
    return [normalize(s, load_prices(), 1) for s in decoded.spans]


def test_a_request_the_store_cannot_take_fails_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb")
    writer = Writer(store, Metrics(), queue_max_spans=100, batch_max_spans=100, flush_interval_ms=200)
    good1, good2 = rows("a", "b"), rows("c")
    (bad,) = rows("bad")
    bad = bad._replace(name="\ud800 not encodable")  # a lone surrogate cannot become UTF-8
    writer.start()
    futures = [writer.submit(good1), writer.submit([bad]), writer.submit(good2)]  # one group commit
    assert futures[0].result(10).accepted == 2 and futures[2].result(10).accepted == 1
    with pytest.raises(DecodeError, match="cannot be stored"):
        futures[1].result(10)
    writer.stop()
    assert sorted(r[0] for r in store.conn.execute("SELECT name FROM spans").fetchall()) == ["a", "b", "c"]
    store.close()


def test_the_queue_bound_counts_spans_in_flight(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb")
    writer = Writer(store, Metrics(), queue_max_spans=3, batch_max_spans=3, flush_interval_ms=10_000)
    writer.start()
    first = writer.submit(rows("a", "b"))
    with pytest.raises(Overloaded, match="write queue is full"):
        writer.submit(rows("c", "d"))
    writer.stop()  # stopping commits what is queued without waiting out the flush interval
    assert first.result(10).accepted == 2
    assert store.count() == 2
    store.close()


def test_trace_filter_never_forgets_and_rarely_guesses() -> None:
    from agentdeck.collector.ingest.trace_bloom import TraceFilter

    f = TraceFilter(bits=1 << 16)
    stored = [new_trace_id() for _ in range(2000)]
    f.update(stored)
    assert all(t in f for t in stored)
    strangers = [new_trace_id() for _ in range(2000)]
    assert sum(t in f for t in strangers) < 200  # ~2% expected at this size; a filter that says yes fails
