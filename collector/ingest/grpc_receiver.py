"""OTLP/gRPC TraceService/Export on `grpc_port`, sharing the HTTP receiver's pipeline.

The method is registered with a generic handler that hands the raw request bytes to the same
decoder as OTLP/HTTP protobuf (`Receiver.accept_http`), so a malformed message gets
INVALID_ARGUMENT with the decoder's message (a generated servicer would let grpc's own
deserializer fail with a bare INTERNAL "Exception deserializing request!"), and large requests use
the decode worker processes like HTTP ones. Answers:

- OK, with `partial_success` counting the spans refused one by one;
- INVALID_ARGUMENT: the message is not an OTLP ExportTraceServiceRequest, or holds more spans than
  the write queue (not retryable; the message says what is wrong);
- RESOURCE_EXHAUSTED: the message (after grpc decompression) is over `max_body_bytes` (grpc core);
- UNAVAILABLE + `google.rpc.RetryInfo`: the write queue is full or the writer is stopping (retryable);
  (the codes come from the one error map, `ingest.errors.ANSWERS`, shared with OTLP/HTTP)
- UNAUTHENTICATED: a token is set and the call does not carry it.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo

from agentdeck.collector.api.auth import check_bearer
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.errors import IngestError, grpc_answer
from agentdeck.collector.ingest.receiver import Receiver, export_response

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
PROTOBUF = "application/x-protobuf"
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"  # where OTLP exporters read the server's retry delay
log = logging.getLogger(__name__)
_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}  # google.rpc code number -> grpc.StatusCode


class TraceService:
    def __init__(self, receiver: Receiver, token: str | None) -> None:
        self.receiver = receiver
        self.token = token

    def export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        """One TraceService/Export call: `body` is the serialized ExportTraceServiceRequest."""
        authorization = next((v for k, v in context.invocation_metadata() if k == "authorization"), None)
        problem = check_bearer(authorization if isinstance(authorization, str) else None, self.token)
        if problem is not None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)
        try:
            _, accepted = self.receiver.accept_http(body, PROTOBUF, None)
            accepted.durable.result()
        except IngestError as exc:
            code, message, retry_after_s = grpc_answer(exc)
            if retry_after_s is not None:
                delay = Duration(seconds=retry_after_s)
                context.set_trailing_metadata(((_RETRY_INFO_KEY, RetryInfo(retry_delay=delay).SerializeToString()),))
            context.abort(_STATUS_CODES[code], message)
        except Exception as exc:  # a bug, not bad input: say so rather than grpc's bare UNKNOWN
            log.exception("OTLP/gRPC export failed")
            context.abort(grpc.StatusCode.INTERNAL, f"the collector failed on this request: {type(exc).__name__}")
        return export_response(accepted.request).SerializeToString()


def start_grpc(receiver: Receiver, config: CollectorConfig) -> tuple[grpc.Server, int]:
    """Start the gRPC server; returns it with the bound port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentdeck-grpc"),
        options=[("grpc.max_receive_message_length", config.max_body_bytes)],
    )
    service = TraceService(receiver, config.token)
    # no (de)serializers: the method sees and returns raw bytes
    export = grpc.unary_unary_rpc_method_handler(service.export)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {"Export": export}),))
    host = f"[{config.host}]" if ":" in config.host else config.host
    port = server.add_insecure_port(f"{host}:{config.grpc_port or 0}")
    if port == 0:
        raise RuntimeError(f"cannot listen for OTLP/gRPC on {config.host}:{config.grpc_port}")
    server.start()
    return server, port
