"""OTLP/gRPC TraceService/Export on `grpc_port`, sharing the HTTP receiver's pipeline."""

from __future__ import annotations

from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from collector.auth import check_bearer
from collector.config import CollectorConfig
from collector.errors import IngestError
from collector.receiver import Receiver, export_response

_CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 413: grpc.StatusCode.INVALID_ARGUMENT}


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: Receiver, token: str | None) -> None:
        self.receiver = receiver
        self.token = token

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        metadata = dict(context.invocation_metadata())
        problem = check_bearer(metadata.get("authorization"), self.token)  # type: ignore[arg-type]
        if problem is not None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)
        try:
            accepted = self.receiver.accept_proto(request)
            accepted.durable.result()
        except IngestError as exc:
            code = grpc.StatusCode.UNAVAILABLE if exc.retryable else _CODES.get(exc.status, grpc.StatusCode.INTERNAL)
            context.abort(code, exc.message)
        return export_response(accepted.request)


def start_grpc(receiver: Receiver, config: CollectorConfig) -> tuple[grpc.Server, int]:
    """Start the gRPC server; returns it with the bound port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentdeck-grpc"),
        options=[("grpc.max_receive_message_length", config.max_body_bytes)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(receiver, config.token), server)
    host = f"[{config.host}]" if ":" in config.host else config.host
    port = server.add_insecure_port(f"{host}:{config.grpc_port or 0}")
    if port == 0:
        raise RuntimeError(f"cannot listen for OTLP/gRPC on {config.host}:{config.grpc_port}")
    server.start()
    return server, port
