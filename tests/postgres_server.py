"""A real PostgreSQL (Debian's `postgresql` package) in a temp dir on a free 127.0.0.1 port, for the
tests (tests/conftest.py's `postgres_server`) and the workers benchmark. As root, the server runs as
the `postgres` user (initdb refuses root); it is stopped by its PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries to start (the caller skips)."""


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    found = sorted(root.glob("*/bin/pg_ctl")) if root.exists() else []
    return found[-1].parent if found and (found[-1].parent / "initdb").exists() else None


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root without runuser: cannot start PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


@contextmanager
def running_postgres(*, fsync: bool = False) -> Iterator[str]:
    """The URL of the `postgres` database of a new server, stopped on exit. `fsync=False` (tests) skips
    flushing to disk; benchmarks keep it on."""
    bindir = _pg_bin()
    if bindir is None:
        raise PostgresUnavailable("PostgreSQL server binaries not found under /usr/lib/postgresql")
    prefix = _as_postgres()
    base = Path(tempfile.mkdtemp(prefix="agentdeck-pg-"))
    base.chmod(0o755)
    data = base / "data"
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = ["-c", "max_connections=300", *([] if fsync else ["-c", "fsync=off"])]
    server = subprocess.Popen(
        [
            *prefix,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(base),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None:
                raise RuntimeError("PostgreSQL exited during start-up")
            time.sleep(0.1)
        else:
            raise RuntimeError("PostgreSQL did not become ready in 60 s")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """Create database `name` on the server; its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"
