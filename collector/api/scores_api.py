"""Scores over HTTP: `POST /api/scores` writes one score or a list of them, `GET /api/scores` reads
them (by trace, name, source, since). Written by people on the trace page, by `agentdeck evaluator`
and by experiments' evaluators; the collector never imports the engine to compute one.

Work runs through the query gate like every read; errors are `{"error": message}`: 400 for a bad
score (the message names the field), 503 with Retry-After when busy.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentdeck.collector.api import query_api
from agentdeck.collector.api.body import BodyBudget, read_body
from agentdeck.collector.api.gate import QueryGate
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.errors import IngestError
from agentdeck.collector.store.base import StoreSession
from agentdeck.collector.store.scores import COLUMNS, SOURCES, NewScore, check

MAX_BODY_BYTES: Final = 1024 * 1024
MAX_SCORES: Final = 1000  # per request
MAX_LIMIT: Final = 10_000


def parse_scores(raw: bytes, now_ns: int) -> list[NewScore]:
    """A JSON score or list of scores; IngestError(400) naming what is wrong."""
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise IngestError(status=400, message="the body is not JSON") from None
    items = body.get("scores") if isinstance(body, dict) and "scores" in body else body
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not items:
        raise IngestError(status=400, message='send a score {"trace_id", "name", "value", "source", ...} or a list')
    if len(items) > MAX_SCORES:
        raise IngestError(status=400, message=f"at most {MAX_SCORES} scores per request, got {len(items)}")
    out: list[NewScore] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise IngestError(status=400, message=f"score {n}: not an object")
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise IngestError(status=400, message=f"score {n}: value must be a number (thumbs: 1 or 0)")
        span = item.get("span_id")
        score = NewScore(
            str(item.get("trace_id", "")).lower(),
            str(span).lower() if span else None,
            str(item.get("name", "")),
            float(value),
            str(item.get("comment") or ""),
            str(item.get("source", "")),
            now_ns,
        )
        problem = check(score)
        if problem is not None:
            raise IngestError(status=400, message=f"score {n}: {problem}")
        out.append(score)
    return out


def routes(gate: QueryGate, config: CollectorConfig) -> list[Route]:
    bodies = BodyBudget(8 * MAX_BODY_BYTES)

    async def guarded(work: Any) -> Response:
        try:
            return await gate.read(lambda cursor: JSONResponse(work(cursor)))
        except IngestError as exc:
            return query_api.error_json(exc)

    async def post(request: Request) -> Response:
        try:
            raw = await read_body(request, MAX_BODY_BYTES, config.body_timeout_s, bodies)
        except IngestError as exc:
            return query_api.error_json(exc)
        bodies.give_back(len(raw))
        try:
            new = parse_scores(raw, time.time_ns())
        except IngestError as exc:
            return query_api.error_json(exc)
        return await guarded(lambda session: {"ids": session.add_scores(new)})

    async def get(request: Request) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit") or 1000)
            since = int(q["since_ns"]) if q.get("since_ns") else None
        except ValueError:
            return JSONResponse({"error": "limit and since_ns are whole numbers"}, status_code=400)
        if not 1 <= limit <= MAX_LIMIT:
            return JSONResponse({"error": f"limit is 1 to {MAX_LIMIT}"}, status_code=400)
        source = q.get("source") or None
        if source is not None and source not in SOURCES:
            return JSONResponse({"error": f"source is one of {', '.join(SOURCES)}"}, status_code=400)
        trace_id = (q.get("trace_id") or "").lower() or None

        def work(session: StoreSession) -> dict[str, Any]:
            table = session.read_scores(trace_id=trace_id, name=q.get("name") or None, source=source,
                                        since_ns=since, limit=limit)  # fmt: skip
            return {"columns": list(COLUMNS), "rows": [list(r.values()) for r in table.to_pylist()]}

        return await guarded(work)

    return [Route("/api/scores", post, methods=["POST"]), Route("/api/scores", get, methods=["GET"])]
