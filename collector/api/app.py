"""The Starlette app: OTLP/HTTP ingest, health, self-metrics and the named-query API, behind the
front door (`front_door`: Host, Origin, per-client limits) and the bearer token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.collector.alerts import AlertService
from agentdeck.collector.api import alerts_api, query_api, scores_api
from agentdeck.collector.api.auth import OPEN_PATHS, check_bearer
from agentdeck.collector.api.body import BodyBudget, read_body
from agentdeck.collector.api.front_door import DoorPolicy, FrontDoor, refusal_response
from agentdeck.collector.api.gate import QueryGate
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.decode import media_type
from agentdeck.collector.ingest.errors import IngestError
from agentdeck.collector.ingest.receiver import Receiver, encode_message, export_response
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.base import SpanStore


@dataclass(frozen=True, slots=True)
class Services:
    config: CollectorConfig
    store: SpanStore
    writer: Writer
    receiver: Receiver
    metrics: Metrics
    alerts: AlertService | None = None
    gate: QueryGate = field(init=False)  # every read of the store passes it (see api.gate)

    def __post_init__(self) -> None:
        config = self.config
        gate = QueryGate(
            self.store, config.max_concurrent_queries, config.max_queued_queries, wait_s=config.query_timeout_s
        )
        object.__setattr__(self, "gate", gate)


# Bodies decoded at once: bounds the memory of decoding. Bodies are read before a slot is taken,
# so a client that stalls its body holds no slot; the bytes read but not yet decoded are bounded
# by a budget of as many full-size bodies.
CONCURRENT_DECODES = 4


def create_app(services: Services) -> ASGIApp:
    config = services.config
    decode_slots = asyncio.Semaphore(CONCURRENT_DECODES)
    budget = BodyBudget(CONCURRENT_DECODES * config.max_body_bytes)

    async def ingest(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        try:
            media_type(content_type)
            body = await read_body(request, config.max_body_bytes, config.body_timeout_s, budget)
        except IngestError as exc:  # refused here, before the receiver: counted here
            services.metrics.rejected_request(exc.reason)
            return refusal_response(request.url.path, content_type, exc)
        try:
            async with decode_slots:
                encoding, accepted = await run_in_threadpool(
                    services.receiver.accept_http, body, content_type, request.headers.get("content-encoding")
                )
        except IngestError as exc:  # counted by the receiver
            return refusal_response(request.url.path, content_type, exc)
        finally:
            budget.give_back(len(body))
            del body
        try:
            await asyncio.wrap_future(accepted.durable)
        except IngestError as exc:
            return refusal_response(request.url.path, content_type, exc)
        return Response(encode_message(export_response(accepted.request), encoding), media_type=encoding.value)

    async def health(request: Request) -> Response:
        if not services.writer.running:
            return JSONResponse({"status": "stopping"}, status_code=503)
        problem = services.writer.problem
        if problem is not None:  # ingest answers 503 until the writer has recovered the store
            return JSONResponse(
                {"status": "unavailable", "reason": problem}, status_code=503, headers={"Retry-After": "1"}
            )
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return JSONResponse(services.metrics.snapshot())

    async def queries(request: Request) -> Response:
        return query_api.list_queries()

    async def run_query(request: Request) -> Response:
        return await query_api.run_named_query(request, services.gate, config.query_timeout_s)

    app: ASGIApp = Starlette(
        routes=[
            Route("/v1/traces", ingest, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/api/queries", queries, methods=["GET"]),
            Route("/api/query/{name}", run_query, methods=["GET"]),
            *alerts_api.routes(services.gate, services.alerts, config),
            *scores_api.routes(services.gate, config),
        ]
    )
    if config.token is not None:
        app = BearerAuth(app, config.token, services.metrics)
    return FrontDoor(app, DoorPolicy.from_config(config), services.metrics)


class BearerAuth:
    """ASGI middleware: 401 with a message unless the request carries the configured token."""

    def __init__(self, app: ASGIApp, token: str, metrics: Metrics) -> None:
        self.app = app
        self.token = token
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            headers = dict(scope["headers"])
            raw = headers.get(b"authorization")
            problem = check_bearer(raw.decode("latin-1") if raw is not None else None, self.token)
            if problem is not None:
                self.metrics.rejected_request("unauthorized")
                response = JSONResponse(
                    {"error": problem}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="agentdeck"'}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
