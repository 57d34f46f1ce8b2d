"""Ingest errors, sorted in one place: each carries the HTTP status a client should see."""

from __future__ import annotations


class IngestError(Exception):
    """A request the collector refuses; `status` is the HTTP answer, `message` says what is wrong."""

    status: int = 400
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class DecodeError(IngestError):
    """The body cannot be read as an OTLP ExportTraceServiceRequest (permanent: 400)."""

    status = 400


class UnsupportedMediaType(IngestError):
    status = 415


class PayloadTooLarge(IngestError):
    status = 413


class Overloaded(IngestError):
    """The write queue is full: retry after `retry_after_s` (OTLP retryable status)."""

    status = 503
    retryable = True

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreUnavailable(IngestError):
    """The writer failed or is shutting down; the spans were not stored (retryable)."""

    status = 503
    retryable = True
    retry_after_s = 1
