"""One small client interface over the two ways to reach ClickHouse, so the store's SQL is written once.

- `ChdbClient`: the ClickHouse engine in this process (chdb), on a folder. chdb holds one embedded
  server per process, so every client on the same folder shares one session (behind a lock), and a
  second folder is refused with a message.
- `HttpClient`: a ClickHouse server over HTTP(S) through clickhouse-connect; values are bound
  server-side (`{name:Type}` in the SQL, `param_name` on the wire), inserts go as Arrow.

Both bind values only through `{name:Type}` parameters: no value is ever formatted into SQL text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Final, Protocol

import pyarrow as pa

from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.url import StoreURL

Params = Mapping[str, object]
Settings = Mapping[str, object]

_EXTRA: Final = "install the ClickHouse extra: pip install 'agentdeck[clickhouse]'"


class ClickHouseError(StoreError):
    """ClickHouse cannot be used as configured; the message says what to fix."""


class Client(Protocol):
    """What the store needs of ClickHouse."""

    def command(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> None: ...
    def query_arrow(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> pa.Table: ...
    def insert_arrow(self, table: str, data: pa.Table, settings: Settings | None = None) -> None: ...
    def close(self) -> None: ...


def connect(url: StoreURL) -> Client:
    """A client for a `chdb://`, `clickhouse://` or `clickhouses://` store URL."""
    if url.scheme == "chdb":
        return ChdbClient(url.path)
    return HttpClient(url)


def _literal(value: object) -> str:
    """A ClickHouse literal of an array element (chdb takes array parameters as text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_literal(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _chdb_params(params: Params | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, list | tuple):
            out[name] = _literal(value)
        elif isinstance(value, bool):
            out[name] = int(value)
        else:
            out[name] = value
    return out


class _Embedded:
    """The process's one chdb session, shared by every client on its folder."""

    lock = threading.Lock()
    session: Any = None
    path: str | None = None
    users = 0


class ChdbClient:
    def __init__(self, path: str) -> None:
        try:
            from chdb import session
        except ImportError:
            raise ClickHouseError(f"chdb:// stores need chdb: {_EXTRA}") from None
        with _Embedded.lock:
            if _Embedded.session is not None and _Embedded.path != path:
                raise ClickHouseError(
                    f"chdb runs one folder per process and {_Embedded.path} is open: "
                    "use that one, or a ClickHouse server"
                )
            if _Embedded.session is None:
                try:
                    _Embedded.session = session.Session(path)
                except Exception as exc:
                    raise ClickHouseError(f"cannot open chdb folder {path}: {str(exc).splitlines()[0]}") from None
                _Embedded.path = path
            _Embedded.users += 1
        self.path = path
        self._closed = False

    def _run(self, sql: str, fmt: str, params: Params | None) -> Any:
        with _Embedded.lock:
            if self._closed:
                raise ClickHouseError("the chdb client is closed")
            return _Embedded.session.query(sql, fmt, params=_chdb_params(params))

    def command(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> None:
        self._run(sql, "CSV", params)

    def query_arrow(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> pa.Table:
        import pyarrow.ipc as ipc

        if settings:  # chdb takes settings in the query text; the values come from our code, never a request
            sql += "\nSETTINGS " + ", ".join(f"{k} = {_literal(v)}" for k, v in settings.items())
        data = self._run(sql, "ArrowStream", params).bytes()
        if not data:
            return pa.table({})
        return ipc.open_stream(data).read_all()

    def insert_arrow(self, table: str, data: pa.Table, settings: Settings | None = None) -> None:
        cols = ", ".join(data.column_names)
        with _Embedded.lock:  # chdb reads `_rows` from this frame by its name
            _rows = data
            _Embedded.session.query(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM Python(_rows)", "CSV")

    def close(self) -> None:
        with _Embedded.lock:
            if self._closed:
                return
            self._closed = True
            _Embedded.users -= 1
            if _Embedded.users == 0 and _Embedded.session is not None:
                _Embedded.session.close()
                _Embedded.session = None
                _Embedded.path = None


class HttpClient:
    def __init__(self, url: StoreURL) -> None:
        # clickhouse-connect logs a failed connection itself; where nothing configured logging (the CLI)
        # that would print before our one-line message. Its records still reach configured handlers.
        logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
        try:
            import clickhouse_connect
        except ImportError:
            raise ClickHouseError(f"clickhouse:// stores need clickhouse-connect: {_EXTRA}") from None
        try:
            self._client = clickhouse_connect.get_client(
                host=url.host,
                port=url.port,
                username=url.user or "default",
                password=url.password or "",
                database=url.database,
                secure=url.secure,
                settings=dict(url.settings),
                connect_timeout=10,
                send_receive_timeout=60,
                autogenerate_session_id=False,
            )
        except Exception as exc:
            why = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise ClickHouseError(
                f"cannot reach ClickHouse at {url.display()} "
                f"(is it running, and are the host, port and user right?): {why}"
            ) from None

    def command(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> None:
        self._client.command(sql, parameters=dict(params or {}), settings=dict(settings or {}))

    def query_arrow(self, sql: str, params: Params | None = None, settings: Settings | None = None) -> pa.Table:
        table: pa.Table = self._client.query_arrow(sql, parameters=dict(params or {}), settings=dict(settings or {}))
        return table

    def insert_arrow(self, table: str, data: pa.Table, settings: Settings | None = None) -> None:
        self._client.insert_arrow(table, data, settings=dict(settings or {}))

    def close(self) -> None:
        self._client.close()
