"""A local ClickHouse test server: the subset of ClickHouse's HTTP interface that clickhouse-connect
uses, executed on chdb (the ClickHouse engine in-process). No modern ClickHouse server installs on
these machines, so the HTTP store path (`clickhouse://`) is tested against this, the way the
anthropic SDK is tested against tests/engine/fake_anthropic.py.

Speaks: `GET /ping`; `GET|POST /?query=...` with the SQL in `query` and/or the body, values as
`param_NAME` (when large, the query and values come as multipart/form-data fields), settings as
other parameters (the query settings the store sends are applied to that query; the rest are
accepted and ignored: chdb inserts synchronously, so an answered insert is on disk, which is what
`wait_for_async_insert=1` promises); `INSERT ...
FORMAT X` with the data in the body (gzip, deflate, zstd or lz4 Content-Encoding). Answers are
never compressed; errors are 500 with ClickHouse's `Code: N. DB::Exception: ...` text and the
`X-ClickHouse-Exception-Code` header. Queries run one at a time (chdb holds one session).

Run it as a process (`python tests/store/clickhouse_server.py DIR`, prints its port), so several
collector processes can share it; `start_server` does that for tests.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(?P<target>.+?)\s+FORMAT\s+(?P<fmt>\w+)\s*$", re.I | re.S)
_CODE = re.compile(r"Code: (\d+)")
_FORMAT = re.compile(r"\s+FORMAT\s+\w+\s*$", re.I)
# The query settings this project's store sends, applied per query; others (clickhouse-connect's
# HTTP and insert settings) are accepted and ignored.
_APPLIED = frozenset(
    {
        "join_use_nulls",
        "prefer_column_name_to_alias",
        "do_not_merge_across_partitions_select_final",
        "max_execution_time",
    }
)


def _decode(body: bytes, encoding: str | None) -> bytes:
    if not body or not encoding:
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "lz4":
        import lz4.frame

        return bytes(lz4.frame.decompress(body))
    raise ValueError(f"Content-Encoding {encoding} is not supported by the test server")


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


class _Engine:
    def __init__(self, path: str) -> None:
        from chdb import session

        self.session = session.Session(path)
        self.lock = threading.Lock()
        self.spool = Path(tempfile.mkdtemp(prefix="chtest-spool-"))

    def run(self, sql: str, body: bytes, params: dict[str, str], settings: dict[str, str]) -> bytes:
        insert = _INSERT.match(sql) if body else None
        with self.lock:
            if insert is not None:
                data = self.spool / f"{uuid.uuid4().hex}.bin"
                data.write_bytes(body)
                try:
                    fmt = insert["fmt"]
                    self.session.query(
                        f"INSERT INTO {insert['target']} SELECT * FROM file('{data}', '{fmt}')", "CSV", params=params
                    )
                finally:
                    data.unlink()
                return b""
            text = sql + ("\n" + body.decode() if body else "") if sql else body.decode()
            if settings:  # per query, as a server applies URL settings (chdb's SET would stick to the session)
                clause = " SETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings.items())
                text, n = _FORMAT.subn(lambda m: clause + m.group(0), text, count=1)
                text = text if n else text + clause
            result: Any = self.session.query(text, "TabSeparated", params=params or None)
            return bytes(result.bytes())


class _Handler(BaseHTTPRequestHandler):
    engine: _Engine
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("X-ClickHouse-Server-Display-Name", "agentdeck-test-server")
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.send_header("X-ClickHouse-Query-Id", uuid.uuid4().hex)
        self.send_header("X-ClickHouse-Summary", json.dumps({"read_rows": "0", "written_rows": "0"}))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(length) if length else b"")

    def _handle(self, raw: bytes) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/ping":
            self._answer(200, b"Ok.\n")
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            body = _decode(raw, self.headers.get("Content-Encoding"))
            if self.headers.get_content_type() == "multipart/form-data":  # large parameters go as form fields
                query.update(_form_fields(self.headers["Content-Type"], body))
                body = b""
            params = {k.removeprefix("param_"): v for k, v in query.items() if k.startswith("param_")}
            settings = {k: v for k, v in query.items() if k in _APPLIED and re.fullmatch(r"[0-9.]+", v)}
            payload = self.engine.run(query.get("query", ""), body, params, settings)
        except Exception as exc:
            text = str(exc)
            code = _CODE.search(text)
            self._answer(500, text.encode(), {"X-ClickHouse-Exception-Code": code[1] if code else "1000"})
            return
        self._answer(200, payload)


def serve(path: str, port: int = 0) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"engine": _Engine(path)})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


@dataclass
class ClickHouseTestServer:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"clickhouse://127.0.0.1:{self.port}/default"


@contextmanager
def start_server(folder: Path, port: int = 0) -> Iterator[ClickHouseTestServer]:
    """The test server as a subprocess on 127.0.0.1 (`port`, or a free one), on the chdb folder `folder`."""
    proc = subprocess.Popen(
        [sys.executable, __file__, str(folder), str(port)], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip() or 0)
        if not port:
            raise RuntimeError("the ClickHouse test server did not start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield ClickHouseTestServer(proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


if __name__ == "__main__":
    server = serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(server.server_address[1], flush=True)
    server.serve_forever()
