"""Saved prompt versions of an adapted LangGraph graph: where they live, and which are in force.

A graph's versions live where its checkpoints live: in the database of its own checkpointer (the
SQLite file of a `SqliteSaver`, the PostgreSQL of a `PostgresSaver`), keyed by the graph's
MODULE:ATTR and the names given to `agentdeck.prompt`. A version becomes the one in force for the
app's own runs when its process has `AGENTDECK_PROMPT_VERSIONS=name=v2,other=v3` in its environment
(read at each invocation, each saved text read once per process: saved versions never change), and
for a replay through `--prompt-version NAME=VERSION` or the dashboard. A name or version that is not
saved is a `PromptVersionError` saying which exist, raised before the run starts.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from agentdeck.engine.prompts import PromptStore, graph_owner

ENV_VAR = "AGENTDECK_PROMPT_VERSIONS"

_cache: dict[tuple[str, str, str, str], str] = {}
_lock = threading.Lock()


class PromptVersionError(ValueError):
    """A version that cannot be put in force; the message says which exist or where they are kept."""


def location(graph: Any, ref: str) -> str:
    """The database of `graph`'s checkpointer, where its saved prompt versions are kept."""
    saver = graph.checkpointer
    conn = getattr(saver, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        files = [str(row[2]) for row in conn.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0]:
            return files[0]
    elif conn is not None and type(saver).__name__ == "PostgresSaver":
        url = _postgres_url(conn)
        if url:
            return url
    raise PromptVersionError(
        f"the graph {ref} keeps its checkpoints in {type(saver).__name__}, not in a SQLite file or a PostgreSQL "
        "database, so it has nowhere to keep saved prompt versions: compile it with SqliteSaver on a file or "
        "PostgresSaver"
    )


def _postgres_url(conn: Any) -> str | None:
    """A postgresql:// URL for the database a psycopg connection or pool is on (password included)."""
    from psycopg.conninfo import conninfo_to_dict

    conninfo = getattr(conn, "conninfo", None)  # a psycopg_pool.ConnectionPool
    if isinstance(conninfo, str):
        if conninfo.startswith(("postgres://", "postgresql://")):
            return conninfo
        params = conninfo_to_dict(conninfo)
    else:
        info = getattr(conn, "info", None)  # a psycopg.Connection
        if info is None:
            return None
        params = conninfo_to_dict(info.dsn)
        if info.password:
            params["password"] = info.password
    return postgres_url(params)


def postgres_url(params: Mapping[str, Any]) -> str:
    """`key=value` connection parameters as a postgresql:// URL (what the record stores open)."""
    rest = {k: str(v) for k, v in params.items()}
    user, password = rest.pop("user", ""), rest.pop("password", "")
    auth = f"{quote(user)}{':' + quote(password) if password else ''}@" if user else ""
    host, port, dbname = rest.pop("host", ""), rest.pop("port", ""), rest.pop("dbname", "")
    if host and not host.startswith("/") and "," not in host:
        netloc = f"{auth}{host}{':' + port if port else ''}"
    else:  # a socket directory or several hosts: as query parameters
        netloc = auth
        rest.update({k: v for k, v in (("host", host), ("port", port)) if v})
    return f"postgresql://{netloc}/{quote(dbname)}{'?' + urlencode(rest) if rest else ''}"


def chosen(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`AGENTDECK_PROMPT_VERSIONS` as {prompt name: version}; PromptVersionError for a malformed entry."""
    text = (os.environ if environ is None else environ).get(ENV_VAR, "")
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, version = item.partition("=")
        if not sep or not name.strip() or not version.strip():
            raise PromptVersionError(f"{ENV_VAR}: {item!r} is not NAME=VERSION (e.g. {ENV_VAR}=billing=v2,writer=v3)")
        out[name.strip()] = version.strip()
    return out


def texts(graph: Any, ref: str, versions: Mapping[str, str]) -> dict[str, str]:
    """The saved texts of `versions` ({name: version}) of the graph `ref`, as prompt overrides."""
    if not versions:
        return {}
    where = location(graph, ref)
    missing = {n: v for n, v in versions.items() if (where, ref, n, v) not in _cache}
    if missing:
        try:
            with PromptStore(where) as store:
                found = store.overrides(graph_owner(ref), missing)
        except KeyError as exc:
            raise PromptVersionError(f"the graph {ref}: {str(exc).strip(chr(34))}") from None
        with _lock:
            _cache.update({(where, ref, n, missing[n]): text for n, text in found.items()})
    return {n: _cache[(where, ref, n, v)] for n, v in versions.items()}
