"""Store URLs: which span store a collector (or `alerts check`, `store copy`) opens.

One parser for every form (issue 14 item 2), so the collector, the CLI and the settings agree:

    duckdb://PATH                       the default; PATH is everything after `//`, as with file://:
                                        duckdb:///var/lib/x.duckdb is absolute, duckdb://data/x.duckdb relative
    chdb://PATH                         ClickHouse in-process (chdb), a directory
    clickhouse://[user:password@]HOST[:PORT]/DB[?setting=value&...]    HTTP, port 8123 by default
    clickhouses://...                   the same over HTTPS, port 8443 by default

Every mistake raises `StoreError` with what to write instead (`agentdeck: ...`, exit 2 at start-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from agentdeck.collector.store.base import StoreError

SCHEMES: Final = ("duckdb", "chdb", "clickhouse", "clickhouses")
DEFAULT_PORTS: Final = {"clickhouse": 8123, "clickhouses": 8443}
_DB_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_FORMS: Final = (
    "duckdb://PATH, chdb://PATH, clickhouse://[user:password@]HOST[:PORT]/DB[?settings] or clickhouses://..."
)


@dataclass(frozen=True, slots=True)
class StoreURL:
    scheme: str  # SCHEMES
    path: str = ""  # duckdb, chdb: the file or directory
    host: str = ""  # clickhouse(s)
    port: int = 0
    database: str = ""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def secure(self) -> bool:
        return self.scheme == "clickhouses"

    @property
    def is_server(self) -> bool:
        return self.scheme in DEFAULT_PORTS

    def display(self) -> str:
        """The URL for logs and messages: never the password."""
        if not self.is_server:
            return f"{self.scheme}://{self.path}"
        user = f"{self.user}:***@" if self.password is not None else (f"{self.user}@" if self.user else "")
        query = "?" + "&".join(f"{k}={v}" for k, v in self.settings) if self.settings else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}/{self.database}{query}"


def duckdb_url(path: str) -> StoreURL:
    """The store URL `--db PATH` is shorthand for."""
    return StoreURL("duckdb", path=path)


def parse_store_url(text: str) -> StoreURL:
    """Parse a store URL; raise StoreError saying what to fix."""
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise StoreError(f"store URL {raw[:200]!r} has no scheme: write one of {_FORMS}")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise StoreError(f"store URL scheme {scheme[:40]!r} is not known: write one of {_FORMS}")
    if scheme in ("duckdb", "chdb"):
        return _file_url(scheme, rest, raw)
    return _server_url(scheme, raw)


def _file_url(scheme: str, path: str, raw: str) -> StoreURL:
    what = "DuckDB file" if scheme == "duckdb" else "chdb directory"
    if not path:
        raise StoreError(f"store URL {raw[:200]!r} names no {what}: write {scheme}://PATH (e.g. {scheme}://data/x)")
    if "?" in path or "#" in path:
        raise StoreError(f"store URL {raw[:200]!r}: a {scheme} URL takes no ?settings or #fragment, only a path")
    if "\x00" in path:
        raise StoreError(f"store URL {raw[:200]!r}: the path holds a NUL character")
    return StoreURL(scheme, path=path)


def _server_url(scheme: str, raw: str) -> StoreURL:
    parts = urlsplit(raw)
    example = f"{scheme}://HOST:{DEFAULT_PORTS[scheme]}/DB"
    if parts.fragment:
        raise StoreError(f"store URL {_safe(raw)!r}: remove the #fragment")
    host = parts.hostname or ""
    if not host:
        raise StoreError(f"store URL {_safe(raw)!r} names no server: write {example}")
    try:
        port = DEFAULT_PORTS[scheme] if parts.port is None else parts.port
    except ValueError:
        raise StoreError(f"store URL {_safe(raw)!r}: the port must be a number from 1 to 65535") from None
    if not 0 < port < 65536:
        raise StoreError(f"store URL {_safe(raw)!r}: the port must be a number from 1 to 65535")
    database = parts.path.removeprefix("/")
    if not database:
        raise StoreError(f"store URL {_safe(raw)!r} names no database: write {example}")
    if not _DB_NAME.fullmatch(database):
        raise StoreError(
            f"store URL {_safe(raw)!r}: database {database[:80]!r} must be letters, digits and _ (not starting "
            "with a digit), at most 64"
        )
    try:
        settings = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise StoreError(f"store URL {_safe(raw)!r}: write settings as ?name=value&name=value") from None
    for name, _value in settings:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise StoreError(f"store URL {_safe(raw)!r}: {name[:80]!r} is not a ClickHouse setting name")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not user:
        raise StoreError(f"store URL {_safe(raw)!r}: a password needs a user (user:password@host)")
    return StoreURL(scheme, host=host, port=port, database=database, user=user, password=password, settings=settings)


def _safe(raw: str) -> str:
    """The URL as typed, password replaced, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", raw)[:200]
