"""Bearer-token check for every endpoint except /health (when a token is configured)."""

from __future__ import annotations

import hmac

OPEN_PATHS = frozenset({"/health"})


def check_bearer(authorization: str | None, token: str | None) -> str | None:
    """None when the request may pass; otherwise the message to answer 401 with."""
    if token is None:
        return None
    if not authorization:
        return "missing Authorization header: send 'Authorization: Bearer <token>' (the collector's token)"
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "Authorization header must be 'Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return "invalid bearer token"
    return None
