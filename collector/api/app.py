"""The Starlette app: OTLP/HTTP ingest, health, self-metrics and the named-query API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.collector.alerts import AlertService
from agentdeck.collector.api import alerts_api, query_api
from agentdeck.collector.api.auth import OPEN_PATHS, check_bearer
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.decode import Encoding, media_type
from agentdeck.collector.ingest.errors import IngestError, PayloadTooLarge
from agentdeck.collector.ingest.receiver import Receiver, encode_message, error_status, export_response
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.duckdb_store import Store


@dataclass(frozen=True, slots=True)
class Services:
    config: CollectorConfig
    store: Store
    writer: Writer
    receiver: Receiver
    metrics: Metrics
    alerts: AlertService | None = None


# Bodies read and decoded at once: bounds the memory held by requests not yet queued.
CONCURRENT_DECODES = 4


def create_app(services: Services) -> ASGIApp:
    config = services.config
    decode_slots = asyncio.Semaphore(CONCURRENT_DECODES)

    async def ingest(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        try:
            reply = media_type(content_type)
        except IngestError as exc:
            services.metrics.rejected_request("unsupported_media_type")
            return _otlp_error(exc, Encoding.JSON)
        try:
            async with decode_slots:
                body = await _read_capped(request, config.max_body_bytes)
                encoding, accepted = await run_in_threadpool(
                    services.receiver.accept_http, body, content_type, request.headers.get("content-encoding")
                )
                del body
            await asyncio.wrap_future(accepted.durable)
        except IngestError as exc:
            if isinstance(exc, PayloadTooLarge):
                services.metrics.rejected_request("too_large")
            return _otlp_error(exc, reply)
        message = export_response(accepted.request)
        return Response(encode_message(message, encoding), media_type=encoding.value)

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
        return await query_api.run_named_query(request, services.store, config.query_timeout_s)

    app = Starlette(
        routes=[
            Route("/v1/traces", ingest, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/api/queries", queries, methods=["GET"]),
            Route("/api/query/{name}", run_query, methods=["GET"]),
            *alerts_api.routes(services.store, services.alerts),
        ]
    )
    if config.token is None:
        return app
    return BearerAuth(app, config.token, services.metrics)


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


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"body is {declared} bytes, over the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _otlp_error(exc: IngestError, encoding: Encoding) -> Response:
    headers = {"Retry-After": str(getattr(exc, "retry_after_s", 1))} if exc.retryable else None
    return Response(
        encode_message(error_status(exc.status, exc.message), encoding),
        status_code=exc.status,
        media_type=encoding.value,
        headers=headers,
    )
