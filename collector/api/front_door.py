"""The checks every HTTP request meets before any endpoint: who the client really is, whether the
request may come from a web page, and how many requests that client already has in flight.

A token-less collector on loopback trusts whoever can reach it, which includes any web page the user
opens: a page can POST a form to 127.0.0.1:4318, or rebind its own DNS name to 127.0.0.1 and then
read the answers. So (issue 18, item 7):

- a `Host` that is not localhost, the bound address or one of `allowed_hosts` is refused (403) when
  the collector is bound to loopback without a token, and whenever `allowed_hosts` is set;
- POST/PUT/PATCH/DELETE with a foreign `Origin` (not the request's own host, nor an allowed host) or a
  form content type (the three a page may send without asking first) are refused (403 / 415).
  OTLP exporters send no Origin and protobuf or JSON, so they are not affected;
- each client may have `max_requests_per_client` requests in flight (429 beyond), keyed on its real
  address: the peer, or behind one of `trusted_proxies` the last untrusted X-Forwarded-For hop.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.decode import Encoding, media_type
from agentdeck.collector.ingest.errors import (
    ClientBusy,
    Forbidden,
    IngestError,
    UnsupportedMediaType,
    http_headers,
)
from agentdeck.collector.ingest.receiver import encode_message, error_status
from agentdeck.collector.self_metrics import Metrics

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCAL_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# The content types a web page may POST cross-site without a CORS preflight.
FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
UNCOUNTED_PATHS: Final = frozenset({"/health"})
OTLP_PATH: Final = "/v1/traces"


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """'10.0.0.0/8, 192.168.1.10' -> networks; raises ValueError naming the bad entry."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in split_list(text))


def split_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


@dataclass(frozen=True, slots=True)
class DoorPolicy:
    """What the front door lets in, from the collector's settings."""

    allowed_hosts: frozenset[str]  # the explicitly configured names ('*' allows any)
    check_host: bool
    trusted_proxies: tuple[Network, ...]
    max_requests_per_client: int
    bound_host: str

    @classmethod
    def from_config(cls, config: CollectorConfig) -> DoorPolicy:
        explicit = frozenset(name.lower().strip("[]") for name in split_list(config.allowed_hosts))
        return cls(
            allowed_hosts=explicit,
            check_host="*" not in explicit and (bool(explicit) or (config.is_loopback() and config.token is None)),
            trusted_proxies=parse_networks(config.trusted_proxies),
            max_requests_per_client=config.max_requests_per_client,
            bound_host=config.host.lower().strip("[]"),
        )

    def host_allowed(self, name: str) -> bool:
        if "*" in self.allowed_hosts or name in LOCAL_NAMES or name == self.bound_host:
            return True
        return name in self.allowed_hosts or any(
            pattern.startswith("*.") and name.endswith(pattern[1:]) for pattern in self.allowed_hosts
        )

    def client(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The real client address: the peer, or behind trusted proxies the last untrusted hop."""
        if not self.trusted_proxies or not self._trusted(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


def hostname(authority: str) -> str | None:
    """'Example.com:4318' -> 'example.com', '[::1]:80' -> '::1'; None when it is not a host."""
    try:
        parts = urlsplit("//" + authority)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return parts.hostname


class FrontDoor:
    """ASGI middleware applying `DoorPolicy` to every HTTP request (refusals counted in /metrics)."""

    def __init__(self, app: ASGIApp, policy: DoorPolicy, metrics: Metrics) -> None:
        self.app = app
        self.policy = policy
        self.metrics = metrics
        self.in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        problem = self._refusal(scope, headers)
        if problem is not None:
            self.metrics.rejected_request(problem.reason)
            await refusal_response(scope["path"], headers.get("content-type", [None])[0], problem)(scope, receive, send)
            return
        if scope["path"] in UNCOUNTED_PATHS:
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else "unknown"
        client = self.policy.client(peer, headers.get("x-forwarded-for", []))
        if self.in_flight[client] >= self.policy.max_requests_per_client:
            busy = ClientBusy(
                f"{client} already has {self.policy.max_requests_per_client} requests in flight "
                "(max_requests_per_client); wait for them to finish, then retry"
            )
            self.metrics.rejected_request(busy.reason)
            await refusal_response(scope["path"], headers.get("content-type", [None])[0], busy)(scope, receive, send)
            return
        self.in_flight[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[client] -= 1
            if not self.in_flight[client]:
                del self.in_flight[client]

    def _refusal(self, scope: Scope, headers: dict[str, list[str]]) -> IngestError | None:
        host = headers.get("host", [None])[0]
        if self.policy.check_host and host is not None:
            name = hostname(host)
            if name is None or not self.policy.host_allowed(name):
                return Forbidden(
                    f"Host {host[:80]!r} is not this collector: it answers to localhost and {self.policy.bound_host}; "
                    "add the name to --allowed-hosts (AGENTDECK_COLLECTOR_ALLOWED_HOSTS) if it is yours"
                )
        if scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get("origin", [None])[0]
        if origin is not None and not self._origin_allowed(origin, host):
            return Forbidden(
                f"requests from web pages at {origin[:80]!r} are refused: the collector takes writes from "
                "programs (OTLP exporters, the CLI, the dashboard's server), not from browsers"
            )
        content_type = headers.get("content-type", [None])[0]
        if scope["path"] == OTLP_PATH:  # ingest takes OTLP's two types only, and says so itself
            return None
        if content_type is not None and content_type.split(";")[0].strip().lower() in FORM_TYPES:
            return UnsupportedMediaType(
                f"Content-Type {content_type.split(';')[0][:60]!r} is a form type, refused so web pages cannot "
                "post here: send application/json (or OTLP's application/x-protobuf), or no body"
            )
        return None

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        parts = urlsplit(origin)
        if origin == "null" or not parts.netloc:
            return False
        if host is not None and parts.netloc.lower() == host.lower():
            return True  # same origin
        name = parts.hostname
        return name is not None and name in self.policy.allowed_hosts


def refusal_response(path: str, content_type: str | None, exc: IngestError) -> Response:
    """A refusal as the endpoint's clients read it: google.rpc.Status for OTLP, else {"error": ...}."""
    if path == OTLP_PATH:
        try:
            encoding = media_type(content_type)
        except IngestError:
            encoding = Encoding.JSON
        return Response(
            encode_message(error_status(exc), encoding),
            status_code=exc.status,
            media_type=encoding.value,
            headers=http_headers(exc),
        )
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=http_headers(exc))


def _headers(scope: Scope) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in scope["headers"]:
        out.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out
