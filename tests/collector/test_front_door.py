"""The collector's front door against hostile clients (issue 18, items 2 and 7), on a real server:
stalled bodies hold no decode slot and are let go, each client has a cap on requests in flight
(keyed on its real address, X-Forwarded-For only from trusted proxies), and web pages can neither
post to a token-less local collector nor reach it through a rebound DNS name."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlp_payloads import S, json_body, new_trace_id, request

from agentdeck.collector.config import CollectorConfig, ConfigError
from agentdeck.collector.server import CollectorServer

PB = {"Content-Type": "application/x-protobuf"}


def _port(server: CollectorServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


@contextmanager
def stalled(
    server: CollectorServer, count: int, headers: str = "", sent: int = 1, length: int = 100_000
) -> Iterator[list[socket.socket]]:
    """`count` connections that send a POST's headers and `sent` bytes of its `length`, then nothing."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=30)
            head = (
                f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{_port(server)}\r\n"
                f"Content-Type: application/x-protobuf\r\nContent-Length: {length}\r\n{headers}\r\n"
            )
            sock.sendall(head.encode() + b"\n" * sent)
            socks.append(sock)
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200  # the server has read them
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _answer(sock: socket.socket) -> str:
    """What the server sent on `sock` until it closed it (bounded)."""
    sock.settimeout(20)
    data = b""
    for _ in range(20):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def _post(server: CollectorServer, name: str = "ok", headers: dict[str, str] | None = None) -> httpx.Response:
    body = request([S(name, new_trace_id())]).SerializeToString()
    return httpx.post(server.url + "/v1/traces", content=body, headers={**PB, **(headers or {})}, timeout=10)


def test_stalled_bodies_do_not_block_ingest_and_are_let_go(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(body_timeout_s=2, ingest_workers=0)
    with stalled(server, 8) as socks:  # twice the decode slots
        assert _post(server).status_code == 200
        answer = _answer(socks[0])
        assert answer.startswith("HTTP/1.1 408"), answer[:80]
        assert "body_timeout_s" in answer
    metrics = httpx.get(server.url + "/metrics", timeout=10).json()
    assert metrics["requests_rejected"]["body_timeout"] >= 1
    assert metrics["spans_received"] == 1


def test_bodies_held_unread_are_bounded_and_refused_not_queued(
    start_collector: Callable[..., CollectorServer],
) -> None:
    """Bytes read but not yet decoded are bounded by four full bodies; past that a request is told
    to retry (503) at once instead of waiting, and a small request still fits."""
    server = start_collector(max_body_bytes=2000, body_timeout_s=30)
    with stalled(server, 5, sent=1500, length=2000):  # 7,500 of the 8,000 bytes held
        with stalled(server, 1, sent=1500, length=2000) as [over]:
            answer = _answer(over)
            assert answer.startswith("HTTP/1.1 503") and "Retry-After: 1" in answer.replace(
                "retry-after", "Retry-After"
            )
        assert _post(server).status_code == 200
    assert httpx.get(server.url + "/metrics", timeout=10).json()["requests_rejected"]["overloaded"] == 1


def test_one_client_is_capped_and_the_cap_is_released(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(max_requests_per_client=2)
    with stalled(server, 2):
        busy = _post(server)
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
        assert "max_requests_per_client" in busy.text
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200  # monitors still get through
    for _ in range(100):  # the server notices the closed connections
        if (reply := _post(server)).status_code == 200:
            break
    assert reply.status_code == 200


def test_the_cap_keys_on_the_real_client_behind_a_trusted_proxy(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(max_requests_per_client=1, trusted_proxies="127.0.0.1/32")
    with stalled(server, 1, headers="X-Forwarded-For: 10.0.0.1\r\n"):
        assert _post(server, headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 429
        assert _post(server, headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 200
        assert _post(server, headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.3"}).status_code == 200  # last hop


def test_forwarded_for_is_ignored_from_an_untrusted_peer(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(max_requests_per_client=1)
    with stalled(server, 1, headers="X-Forwarded-For: 10.0.0.1\r\n"):
        assert _post(server, headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 429  # keyed on the peer


def test_a_rebound_host_is_refused_on_a_local_tokenless_collector(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector()
    port = _port(server)
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.2"):
        r = httpx.get(server.url + "/api/queries", headers={"Host": host}, timeout=10)
        assert r.status_code == 403 and "--allowed-hosts" in r.json()["error"], host
    r = _post(server, headers={"Host": f"attacker.test:{port}"})
    assert r.status_code == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
        assert httpx.get(server.url + "/api/queries", headers={"Host": host}, timeout=10).status_code == 200
    assert httpx.get(server.url + "/metrics", timeout=10).json()["requests_rejected"]["forbidden"] == 4


def test_allowed_hosts_let_a_load_balancer_name_in(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(allowed_hosts="collector.internal, *.corp.example")
    for host, status in (
        ("collector.internal", 200),
        ("a.corp.example:443", 200),
        ("corp.example.evil.test", 403),
        ("evil.example", 403),
    ):
        assert httpx.get(server.url + "/api/queries", headers={"Host": host}, timeout=10).status_code == status


def test_with_a_token_any_host_may_ask_but_web_pages_still_may_not_post(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(token="tok")
    auth = {"Authorization": "Bearer tok"}
    assert httpx.get(server.url + "/api/queries", headers={**auth, "Host": "lb.example"}, timeout=10).status_code == 200
    r = httpx.post(
        server.url + "/api/alerts/check", headers={**auth, "Origin": "https://evil.example"}, content=b"", timeout=10
    )
    assert r.status_code == 403 and "web pages" in r.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:8000"},  # another local site is another origin
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "text/plain;charset=UTF-8"},
    ],
)
def test_cross_site_writes_are_refused(
    start_collector: Callable[..., CollectorServer], headers: dict[str, str]
) -> None:
    server = start_collector()
    for path in ("/api/alerts/1/silence?duration=1h", "/api/alerts/1/acknowledge", "/api/alerts/check"):
        r = httpx.post(server.url + path, headers=headers, content=b"x=1", timeout=10)
        assert r.status_code in (403, 415), (path, r.status_code)
        assert "web pages" in r.json()["error"] or "form type" in r.json()["error"]
    r = _post(server, headers={"Origin": headers["Origin"]} if "Origin" in headers else {})
    assert r.status_code == (403 if "Origin" in headers else 200)


def test_exporters_and_the_cli_keep_working(start_collector: Callable[..., CollectorServer]) -> None:
    """OTLP exporters send no Origin and protobuf or JSON; the CLI posts a rules file with no type."""
    server = start_collector()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces")))
    with provider.get_tracer("t").start_as_current_span("from-the-sdk"):
        pass
    provider.shutdown()
    body = json_body(request([S("as-json", new_trace_id())]))
    json_post = httpx.post(server.url + "/v1/traces", content=body, headers={"Content-Type": "application/json"})
    assert json_post.status_code == 200
    same_origin = {"Origin": server.url, "Content-Type": "application/json"}
    assert httpx.post(server.url + "/api/alerts/check", headers=same_origin, timeout=30).status_code == 200
    assert httpx.post(server.url + "/api/alerts/check", content=b"", timeout=30).status_code == 200
    assert httpx.get(server.url + "/metrics", timeout=10).json()["spans_received"] == 2


def test_front_door_settings_are_checked_at_start_up() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies: 'not-an-ip'"):
        CollectorConfig(trusted_proxies="10.0.0.0/8,not-an-ip").validate()
    with pytest.raises(ConfigError, match="allowed_hosts is empty"):
        CollectorConfig(allowed_hosts=" , ").validate()
    with pytest.raises(ConfigError, match="body_timeout_s must be positive"):
        CollectorConfig(body_timeout_s=0).validate()
    with pytest.raises(ConfigError, match="max_requests_per_client must be at least 1"):
        CollectorConfig(max_requests_per_client=0).validate()
