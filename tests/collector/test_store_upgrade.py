"""A store written by an older DuckDB opens in this agentdeck, serves its data and takes new spans.

The fixture was made by DuckDB 1.1.3, the oldest version pyproject.toml allows, with
tests/collector/fixtures/make_old_store.py (its docstring has the command).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer

FIXTURE = Path(__file__).parent / "fixtures" / "store-duckdb-1.1.3.duckdb"
OLD_TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_a_store_from_duckdb_1_1_opens_serves_and_grows(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, db)
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        body = httpx.get(f"{server.url}/api/query/trace", params={"trace_id": OLD_TRACE}, timeout=10).json()
        names = [row[body["columns"].index("name")] for row in body["rows"]]
        assert names == ["invoke_workflow triage", "invoke_agent classifier", "chat claude-haiku-4-5"]
        provider = TracerProvider(resource=Resource.create({"service.name": "after-upgrade"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")))
        with provider.get_tracer("t").start_as_current_span("new span"):
            pass
        provider.shutdown()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM spans WHERE trace_id = ?", [OLD_TRACE]).fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM spans WHERE name = 'new span'").fetchone() == (1,)
        written_by = con.execute("SELECT attributes FROM spans WHERE trace_id = ? LIMIT 1", [OLD_TRACE]).fetchone()
        assert written_by is not None and "duckdb 1.1.3" in written_by[0]
    finally:
        con.close()
