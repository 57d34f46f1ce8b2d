"""The dashboard's only data access: the collector's query API over HTTP, answers as DataFrames.

The collector owns the DuckDB file, so the dashboard never opens it; it asks
`GET /api/query/{name}?...&format=arrow` and reads the Arrow IPC stream. Results are cached for a
few seconds (`st.cache_data`), so pages that ask the same question in one refresh share one request.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import httpx
import pandas as pd
import pyarrow as pa
import streamlit as st

DEFAULT_COLLECTOR_URL: Final = "http://127.0.0.1:4318"
DEFAULT_CHECKPOINT_DB: Final = ".agentdeck/checkpoints.sqlite"  # where `agentdeck run` writes by default
CACHE_TTL_S: Final = 5.0  # a query answer is reused this long (pages of one refresh share it)
TRUNCATED_KEY: Final = b"agentdeck.truncated"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the dashboard reads from the environment, read in one place."""

    collector_url: str  # AGENTDECK_COLLECTOR_URL
    token: str | None  # AGENTDECK_TOKEN, sent as a Bearer token
    refresh_s: float  # AGENTDECK_DASHBOARD_REFRESH_S: live pages reload their data this often (0 = off)
    timeout_s: float  # HTTP timeout per query
    # AGENTDECK_POSTGRES_URL (the workers' PostgreSQL), else AGENTDECK_CHECKPOINT_DB: where Replay reads
    # checkpoints, the ledger and prompt versions
    checkpoint_db: str = DEFAULT_CHECKPOINT_DB


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    refresh_text = env.get("AGENTDECK_DASHBOARD_REFRESH_S", "").strip() or "10"
    try:
        refresh = float(refresh_text)
    except ValueError:
        refresh = 10.0
    return Settings(
        collector_url=(env.get("AGENTDECK_COLLECTOR_URL", "").strip() or DEFAULT_COLLECTOR_URL).rstrip("/"),
        token=env.get("AGENTDECK_TOKEN", "").strip() or None,
        refresh_s=max(refresh, 0.0),
        timeout_s=15.0,
        checkpoint_db=env.get("AGENTDECK_POSTGRES_URL", "").strip()
        or env.get("AGENTDECK_CHECKPOINT_DB", "").strip()
        or DEFAULT_CHECKPOINT_DB,
    )


class DataError(Exception):
    """Data the page cannot get; `hint` says what the user can do about it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class CollectorUnavailable(DataError):
    """The collector does not answer at the configured URL."""


class QueryFailed(DataError):
    """The collector answered, but not with data (bad parameter, auth, timeout)."""


def _unavailable(url: str, detail: str) -> CollectorUnavailable:
    return CollectorUnavailable(
        f"The collector at {url} does not answer ({detail}).",
        "Start it with `agentdeck collector` (or `agentdeck demo` for sample data), then point your app at it "
        f"with `OTEL_EXPORTER_OTLP_ENDPOINT={url}`. If it runs elsewhere, set `AGENTDECK_COLLECTOR_URL`.",
    )


# One client for every request: a new httpx client per query re-reads the CA bundle and opens a new
# connection each time (about a fifth of the dashboard server's CPU on a page load). httpx clients
# are safe to share between threads (the page's prefetch threads).
_HTTP: Final = httpx.Client()


def fetch_table(name: str, params: Mapping[str, str], s: Settings) -> pa.Table:
    """One named query, uncached. Raises CollectorUnavailable or QueryFailed."""
    headers = {"Authorization": f"Bearer {s.token}"} if s.token else {}
    url = f"{s.collector_url}/api/query/{name}"
    try:
        resp = _HTTP.get(url, params={**params, "format": "arrow"}, headers=headers, timeout=s.timeout_s)
    except httpx.TimeoutException:
        raise QueryFailed(
            f"The collector took longer than {s.timeout_s:g} s to answer {name!r}.",
            "Pick a shorter time range or narrow the filters.",
        ) from None
    except httpx.TransportError as exc:
        raise _unavailable(s.collector_url, type(exc).__name__) from None
    if resp.status_code == 200:
        with pa.ipc.open_stream(resp.content) as reader:
            return reader.read_all()
    message = _error_text(resp)
    if resp.status_code == 401:
        raise QueryFailed(
            f"The collector refused the request: {message}",
            "Set AGENTDECK_TOKEN to the collector's token before starting the dashboard.",
        )
    if resp.status_code in (429, 503):
        raise QueryFailed(f"The collector is busy: {message}", "Narrow the time range or try again in a moment.")
    raise QueryFailed(f"Query {name!r} failed ({resp.status_code}): {message}", "Check the filters in the URL.")


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    return str(body.get("error", body))[:300] if isinstance(body, dict) else str(body)[:300]


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _cached(name: str, params: tuple[tuple[str, str], ...], s: Settings) -> pd.DataFrame:
    table = fetch_table(name, dict(params), s)
    frame = table.to_pandas()
    frame.attrs["truncated"] = (table.schema.metadata or {}).get(TRUNCATED_KEY) == b"true"
    return frame


Params = Mapping[str, str | int | float | bool | None]
PREFETCH_THREADS: Final = 4


def _key(params: Params | None) -> tuple[tuple[str, str], ...]:
    clean: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None or value == "":
            continue
        clean[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return tuple(sorted(clean.items()))


def query(name: str, params: Params | None = None) -> pd.DataFrame:
    """Run a named query (see docs/QUERY_API.md); None values are left out. Cached for a few seconds."""
    return _cached(name, _key(params), settings())


def prefetch(requests: Sequence[tuple[str, Params]]) -> None:
    """Ask a page's named queries at the same time, so its `query` calls that follow find them cached.

    Errors are not raised here: the `query` call that needs the answer asks again and raises them.
    """
    s = settings()
    keys = list(dict.fromkeys((name, _key(params)) for name, params in requests))

    def one(key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        with contextlib.suppress(DataError):
            _cached(key[0], key[1], s)

    if len(keys) < 2:
        return
    with ThreadPoolExecutor(max_workers=min(len(keys), PREFETCH_THREADS)) as pool:
        list(pool.map(one, keys))


def is_truncated(frame: pd.DataFrame) -> bool:
    return bool(frame.attrs.get("truncated", False))


# --- alerts: the collector's /api/alerts endpoints (docs/ALERTS.md) -----------------------------

ALERTS_TTL_S: Final = 2.0  # the banner and the Alerts page of one refresh share one answer
ALERTS_LIMIT: Final = 1000  # the most alerts the collector answers at once (GET /api/alerts pages beyond)


def api_json(method: str, path: str, s: Settings, params: Mapping[str, str] | None = None) -> dict[str, object]:
    """One JSON endpoint of the collector (GET or POST), uncached. Raises CollectorUnavailable or QueryFailed."""
    headers = {"Authorization": f"Bearer {s.token}"} if s.token else {}
    try:
        resp = _HTTP.request(method, f"{s.collector_url}{path}", params=params, headers=headers, timeout=s.timeout_s)
    except httpx.TimeoutException:
        raise QueryFailed(f"The collector took longer than {s.timeout_s:g} s to answer.", "Try again.") from None
    except httpx.TransportError as exc:
        raise _unavailable(s.collector_url, type(exc).__name__) from None
    if resp.status_code == 200:
        body = resp.json()
        return body if isinstance(body, dict) else {"value": body}
    message = _error_text(resp)
    if resp.status_code == 401:
        raise QueryFailed(
            f"The collector refused the request: {message}",
            "Set AGENTDECK_TOKEN to the collector's token before starting the dashboard.",
        )
    raise QueryFailed(f"{path} failed ({resp.status_code}): {message}", "Reload the page; the alert may be gone.")


@st.cache_data(ttl=ALERTS_TTL_S, show_spinner=False, max_entries=16)
def _alerts_cached(state: str | None, s: Settings) -> pd.DataFrame:
    params = {"limit": str(ALERTS_LIMIT), **({"state": state} if state else {})}
    body = api_json("GET", "/api/alerts", s, params)
    frame = pd.DataFrame(body["alerts"])
    frame.attrs["total"] = int(body.get("total", len(frame)))  # type: ignore[call-overload]
    return frame


def alerts(state: str | None = None) -> pd.DataFrame:
    """The collector's alerts, firing first (columns as GET /api/alerts: id, rule, state, ...), up to
    ALERTS_LIMIT; `frame.attrs["total"]` says how many there are."""
    return _alerts_cached(state, settings())


@dataclass(frozen=True, slots=True)
class AlertRules:
    source: str  # the rules file the collector runs
    interval_s: float  # seconds between full evaluations
    rules: pd.DataFrame  # name, metric, scope, window, comparison, threshold, severity, for, channels, ...
    errors: list[tuple[str, str]]  # (rule, error) of rules whose last evaluation failed
    daily_budget_usd: float | None  # the budget of the first budget_burn rule, if any


def alert_rules() -> AlertRules:
    """GET /api/alerts/rules."""
    body = api_json("GET", "/api/alerts/rules", settings())
    errors = body["errors"]
    assert isinstance(errors, list)
    return AlertRules(
        source=str(body["source"]),
        interval_s=float(body["interval_s"]),  # type: ignore[arg-type]
        rules=pd.DataFrame(body["rules"], columns=body["rule_columns"]),  # type: ignore[call-overload]
        errors=[(str(e["rule"]), str(e["error"])) for e in errors],
        daily_budget_usd=None if body.get("daily_budget_usd") is None else float(body["daily_budget_usd"]),  # type: ignore[arg-type]
    )


def acknowledge_alert(alert_id: int) -> None:
    api_json("POST", f"/api/alerts/{alert_id}/acknowledge", settings())
    _alerts_cached.clear()


def silence_alert(alert_id: int, duration: str) -> None:
    """Mute an alert's notifications for `duration` ('30m', '1h', '1d'; '0s' unmutes)."""
    api_json("POST", f"/api/alerts/{alert_id}/silence", settings(), {"duration": duration})
    _alerts_cached.clear()


# --- scores: the collector's /api/scores (human, code and llm-judge scores of traces) -------------


def scores(trace_id: str) -> pd.DataFrame:
    """The scores given to one trace, newest first (columns as GET /api/scores)."""
    body = api_json("GET", "/api/scores", settings(), {"trace_id": trace_id})
    return pd.DataFrame(body["rows"], columns=body["columns"])  # type: ignore[call-overload]


def add_score(trace_id: str, name: str, value: float, comment: str, source: str = "human") -> None:
    """POST one score; raises CollectorUnavailable or QueryFailed with the collector's message."""
    s = settings()
    headers = {"Authorization": f"Bearer {s.token}"} if s.token else {}
    body = {"trace_id": trace_id, "name": name, "value": value, "comment": comment, "source": source}
    try:
        resp = _HTTP.post(f"{s.collector_url}/api/scores", json=body, headers=headers, timeout=s.timeout_s)
    except httpx.TransportError as exc:
        raise _unavailable(s.collector_url, type(exc).__name__) from None
    if resp.status_code != 200:
        raise QueryFailed(f"The collector refused the score ({resp.status_code}): {_error_text(resp)}", "Fix it.")
