"""Refusals of the collector's front door, sorted in one place (the OTel Collector's `errors.go`).

Every request the collector refuses, over OTLP/HTTP, OTLP/gRPC or the query and alerts API, is an
`IngestError` carrying its HTTP status and a message saying what to do. `ANSWERS` maps that status to
everything else a client sees: the gRPC code, whether it may retry (permanent 4xx vs retryable
429/503), and `Retry-After`. `store_failure` sorts an exception raised while storing or reading
into data (permanent: 400) vs store (retryable: 503); `http_headers` and `grpc_answer` are the
only places that turn a refusal into wire headers or gRPC codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa
from google.rpc import code_pb2

from agentdeck.collector.store.base import DataRejected, OutOfMemory


@dataclass(frozen=True, slots=True)
class Answer:
    """What a client sees for an HTTP status: the gRPC code, and whether retrying can help."""

    grpc_code: int
    retryable: bool


ANSWERS: Final[dict[int, Answer]] = {
    400: Answer(code_pb2.INVALID_ARGUMENT, retryable=False),
    401: Answer(code_pb2.UNAUTHENTICATED, retryable=False),
    403: Answer(code_pb2.PERMISSION_DENIED, retryable=False),
    404: Answer(code_pb2.NOT_FOUND, retryable=False),
    408: Answer(code_pb2.DEADLINE_EXCEEDED, retryable=False),
    413: Answer(code_pb2.INVALID_ARGUMENT, retryable=False),
    415: Answer(code_pb2.INVALID_ARGUMENT, retryable=False),
    429: Answer(code_pb2.RESOURCE_EXHAUSTED, retryable=True),  # OTLP: retryable with RetryInfo
    503: Answer(code_pb2.UNAVAILABLE, retryable=True),
}
_UNKNOWN: Final = Answer(code_pb2.INTERNAL, retryable=False)

# Failures caused by the data itself (answered 400, never retried), as opposed to the store (503).
DATA_ERRORS: Final = (
    OverflowError,
    UnicodeError,
    pa.ArrowException,
    DataRejected,
)


class IngestError(Exception):
    """A request the collector refuses; `status` is the HTTP answer, `message` says what is wrong,
    `reason` is its key under `requests_rejected` in /metrics."""

    status: int = 400
    reason: str = "error"
    retry_after_s: int = 1

    def __init__(self, message: str, status: int | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return answer(self.status).retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class DecodeError(IngestError):
    """The body cannot be read as an OTLP ExportTraceServiceRequest (permanent: 400)."""

    status = 400
    reason = "undecodable"


class UnsupportedMediaType(IngestError):
    status = 415
    reason = "unsupported_media_type"


class PayloadTooLarge(IngestError):
    status = 413
    reason = "too_large"


class BodyTimeout(IngestError):
    """The client did not send its whole body within `body_timeout_s` (a slow or stalled client)."""

    status = 408
    reason = "body_timeout"


class ClientGone(IngestError):
    """The client closed the connection before its body was complete (nobody reads the answer)."""

    status = 400
    reason = "client_disconnected"


class Forbidden(IngestError):
    """A cross-site or DNS-rebinding request: a foreign Origin, or a Host the collector is not."""

    status = 403
    reason = "forbidden"


class ClientBusy(IngestError):
    """One client has too many requests in flight (retryable: 429)."""

    status = 429
    reason = "client_busy"


class Overloaded(IngestError):
    """The write queue (or the query slots) are full: retry after `retry_after_s` (retryable)."""

    status = 503
    reason = "overloaded"


class StoreUnavailable(IngestError):
    """The writer failed or is shutting down; the spans were not stored (retryable)."""

    status = 503
    reason = "unavailable"


def answer(status: int) -> Answer:
    """The gRPC code and retryability of an HTTP status (unknown statuses: INTERNAL, permanent)."""
    return ANSWERS.get(status, _UNKNOWN)


def http_headers(exc: IngestError) -> dict[str, str]:
    """The headers of a refusal: `Retry-After` when retrying can help."""
    return {"Retry-After": str(exc.retry_after_s)} if exc.retryable else {}


def grpc_answer(exc: IngestError) -> tuple[int, str, int | None]:
    """(gRPC code, message, retry delay in seconds or None) for a refusal."""
    found = answer(exc.status)
    return found.grpc_code, exc.message, exc.retry_after_s if found.retryable else None


def store_failure(exc: BaseException) -> IngestError:
    """An exception raised while storing or reading, as the refusal to answer: the data's fault
    (400, permanent), the store out of memory (503, retryable), anything else the store's (503)."""
    if isinstance(exc, IngestError):
        return exc
    if isinstance(exc, DATA_ERRORS):
        return DecodeError(f"the spans cannot be stored: {type(exc).__name__}: {exc}")
    if isinstance(exc, OutOfMemory):
        return Overloaded("the collector is out of memory for this request; retry later or narrow it", retry_after_s=5)
    return StoreUnavailable(f"the spans could not be stored ({type(exc).__name__}: {exc}); retry")
