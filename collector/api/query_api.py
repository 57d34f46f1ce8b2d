"""GET /api/queries and /api/query/{name}: the named queries over HTTP, one store session per request."""

from __future__ import annotations

import base64
import datetime
import decimal
import math

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentdeck.collector.api.gate import QueryGate
from agentdeck.collector.ingest.errors import IngestError, http_headers
from agentdeck.collector.store import catalogue
from agentdeck.collector.store.base import StoreSession

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def list_queries() -> JSONResponse:
    return JSONResponse({"queries": catalogue.list_queries()})


async def run_named_query(request: Request, gate: QueryGate, timeout_s: float) -> Response:
    name = request.path_params["name"]
    params = {k: v for k, v in request.query_params.items() if k != "format"}
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "arrow"):
        return JSONResponse({"error": f"format {fmt[:40]!r} is not supported: use json or arrow"}, status_code=400)
    try:  # the answer is rendered on the read's thread too: a large JSON body never blocks ingest's loop
        return await gate.read(lambda cursor: _answer(_run(cursor, name, params, timeout_s), name, fmt))
    except IngestError as exc:
        return error_json(exc)


def _answer(table: pa.Table, name: str, fmt: str) -> Response:
    if fmt == "arrow":
        return Response(arrow_ipc(table), media_type=ARROW_STREAM)
    return JSONResponse(
        {
            "query": name,
            "columns": table.column_names,
            "rows": json_rows(table),
            "truncated": catalogue.is_truncated(table),
        }
    )


def error_json(exc: IngestError) -> JSONResponse:
    """A refusal of the query or alerts API: {"error": message}, with Retry-After when retryable."""
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=http_headers(exc))


def _run(session: StoreSession, name: str, params: dict[str, str], timeout_s: float) -> pa.Table:
    """One named query; every failure a caller can act on becomes an IngestError (the one map)."""
    try:
        return session.run_query(name, params, timeout_s=timeout_s)
    except catalogue.QueryError as exc:
        raise IngestError(exc.message, status=exc.status, retry_after_s=2) from None


def arrow_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def json_rows(table: pa.Table) -> list[list[object]]:
    columns = [[json_safe(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def json_safe(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)
