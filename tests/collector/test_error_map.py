"""One error map for the front door (`ingest.errors`): each refusal's HTTP status, gRPC code,
retryability and Retry-After come from one table, and each refused request is counted once."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import duckdb
import httpx
import pytest
from google.rpc import code_pb2

from agentdeck.collector.ingest.errors import (
    BodyTimeout,
    ClientBusy,
    DecodeError,
    Forbidden,
    IngestError,
    Overloaded,
    PayloadTooLarge,
    StoreUnavailable,
    UnsupportedMediaType,
    grpc_answer,
    http_headers,
    store_failure,
)
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.base import DataRejected, OutOfMemory


@pytest.mark.parametrize(
    "error, status, code, retry_after",
    [
        (DecodeError("x"), 400, code_pb2.INVALID_ARGUMENT, None),
        (UnsupportedMediaType("x"), 415, code_pb2.INVALID_ARGUMENT, None),
        (PayloadTooLarge("x"), 413, code_pb2.INVALID_ARGUMENT, None),
        (BodyTimeout("x"), 408, code_pb2.DEADLINE_EXCEEDED, None),
        (Forbidden("x"), 403, code_pb2.PERMISSION_DENIED, None),
        (ClientBusy("x"), 429, code_pb2.RESOURCE_EXHAUSTED, 1),
        (Overloaded("x", retry_after_s=6), 503, code_pb2.UNAVAILABLE, 6),
        (StoreUnavailable("x"), 503, code_pb2.UNAVAILABLE, 1),
        (IngestError("x", status=404), 404, code_pb2.NOT_FOUND, None),
    ],
)
def test_each_refusal_answers_the_same_over_http_and_grpc(
    error: IngestError, status: int, code: int, retry_after: int | None
) -> None:
    assert error.status == status
    assert grpc_answer(error) == (code, "x", retry_after)
    assert http_headers(error) == ({} if retry_after is None else {"Retry-After": str(retry_after)})


def test_failures_while_storing_are_sorted_into_data_and_store() -> None:
    assert store_failure(OverflowError("int too big")).status == 400
    assert not store_failure(DataRejected("ConversionException: bad")).retryable  # how a store says "the data"
    out_of_memory = store_failure(OutOfMemory("Out of Memory Error: could not allocate"))
    assert out_of_memory.status == 503 and out_of_memory.retryable and "out of memory" in out_of_memory.message
    assert store_failure(duckdb.IOException("disk")).status == 503
    given = PayloadTooLarge("x")
    assert store_failure(given) is given


def test_an_over_limit_gzip_body_is_counted_once(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(max_body_bytes=64 * 1024, ingest_workers=0)
    bomb = gzip.compress(b"\0" * (1024 * 1024))  # 1 KiB on the wire, 1 MiB inflated
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    r = httpx.post(server.url + "/v1/traces", content=bomb, headers=headers, timeout=10)
    assert r.status_code == 413
    assert httpx.get(server.url + "/metrics", timeout=10).json()["requests_rejected"] == {"too_large": 1}
    big = httpx.post(server.url + "/v1/traces", content=b"\0" * (65 * 1024), headers=headers, timeout=10)
    assert big.status_code == 413
    assert httpx.get(server.url + "/metrics", timeout=10).json()["requests_rejected"] == {"too_large": 2}
