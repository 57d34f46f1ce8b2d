"""Collector settings: each declared once (name, type, default, env var, help), validated at start.

`CollectorConfig.from_env()` reads `AGENTDECK_COLLECTOR_<NAME>`; the CLI (`python -m agentdeck.collector`)
adds a `--<name>` flag per setting from `SETTINGS`. The README documents every entry of
`SETTINGS` (checked by a test).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.collector.alerts.rules import parse_duration
from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.url import StoreURL, duckdb_url, parse_store_url

ENV_PREFIX = "AGENTDECK_COLLECTOR_"
DEFAULT_DB_PATH = ".agentdeck/agentdeck.duckdb"
_BOTH = "give the store once: --store URL or --db PATH (its shorthand for duckdb://PATH), not both"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and says what to fix."""


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    db_path: str = _setting(
        DEFAULT_DB_PATH, "DuckDB file the collector owns (created if missing); shorthand for --store duckdb://PATH"
    )
    store: str | None = _setting(
        None,
        "span store URL: duckdb://PATH (the default, PATH after // as with file://), chdb://PATH, "
        "clickhouse://[user:password@]HOST[:PORT]/DB[?settings] or clickhouses://... (ports 8123/8443); "
        "not together with --db",
    )
    retention: str | None = _setting(
        None,
        "delete spans that started longer ago than this (30d, 12h), hourly, and reuse their space; unset keeps "
        "everything",
    )
    host: str = _setting("127.0.0.1", "address to bind; a non-loopback address needs a token or allow_remote")
    port: int = _setting(4318, "OTLP/HTTP and query API port (0 picks a free port)")
    token: str | None = _setting(
        None, "bearer token required on every endpoint but /health (Authorization: Bearer <token>)"
    )
    allow_remote: bool = _setting(False, "allow binding a non-loopback address without a token")
    allowed_hosts: str | None = _setting(
        None,
        "comma-separated Host names the collector answers to besides localhost and the bound address (the name "
        "behind a load balancer; *.example.com for subdomains; * for any). Other Hosts get 403 when set, and by "
        "default on loopback without a token (DNS rebinding)",
    )
    trusted_proxies: str | None = _setting(
        None,
        "comma-separated addresses or networks (10.0.0.0/8) of load balancers whose X-Forwarded-For names the "
        "real client (per-client limits key on it)",
    )
    max_body_bytes: int = _setting(64 * 1024 * 1024, "largest request body accepted, after decompression (413)")
    body_timeout_s: float = _setting(
        30.0, "a request body not fully received within this many seconds is refused (408): stalled clients let go"
    )
    max_requests_per_client: int = _setting(
        64, "requests one client (its real address, see trusted_proxies) may have in flight; more are answered 429"
    )
    queue_max_spans: int = _setting(50_000, "spans queued or being written before ingest answers 503")
    batch_max_spans: int = _setting(10_000, "most spans committed in one DuckDB transaction")
    flush_interval_ms: int = _setting(10, "longest wait to fill a batch before committing it")
    checkpoint_mb: int = _setting(
        64,
        "DuckDB writes its WAL into the file each time the WAL passes this size: larger is faster ingest, more "
        "memory and a longer replay after a crash",
    )
    memory_limit_mb: int = _setting(
        1024,
        "DuckDB's memory for the store (its cache of the file, checkpoints, query work; larger queries spill to "
        "a .tmp folder next to the file): bounds the collector's memory, which otherwise grows with the file",
    )
    query_timeout_s: float = _setting(10.0, "a named query running longer is interrupted (503)")
    max_concurrent_queries: int = _setting(
        2,
        "queries (named queries, alert reads and checks) run at once; each may use DuckDB's whole memory_limit_mb "
        "divided by this, and ingest keeps the rest of the machine",
    )
    max_queued_queries: int = _setting(
        32, "queries waiting for a slot (at most query_timeout_s) before the API answers 503 with Retry-After"
    )
    prices_path: str | None = _setting(None, "TOML price file merged over the built-in table")
    grpc_port: int | None = _setting(None, "also serve OTLP/gRPC on this port (off when unset; 0 = free port)")
    ingest_workers: int | None = _setting(
        None,
        "processes that decode large request bodies (unset: one per core, at most 4, none on 1 core; 0: decode "
        "in the server process)",
    )
    redact_rules_path: str | None = _setting(
        None, "TOML file of extra redaction rules (secrets are always redacted before they reach disk)"
    )
    redact_pii: bool = _setting(False, "also redact e-mail addresses and phone numbers")
    alert_rules_path: str | None = _setting(
        None, "TOML file of alert rules (default: the shipped collector/alerts/default_rules.toml)"
    )
    alert_interval_s: float = _setting(15.0, "seconds between full evaluations of the alert rules")
    check_timeout_s: float = _setting(
        60.0,
        "POST /api/alerts/check stops evaluating after this many seconds (rules not reached are reported as "
        "errors); it takes at most 100 rules",
    )
    dashboard_url: str | None = _setting(None, "dashboard base URL, for trace links in alert notifications")

    def __post_init__(self) -> None:
        if not isinstance(self.db_path, str):  # accept a Path too
            object.__setattr__(self, "db_path", str(self.db_path))
        for name in ("prices_path", "redact_rules_path", "alert_rules_path"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, str(value))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> CollectorConfig:
        """Defaults, then AGENTDECK_COLLECTOR_* variables, then `overrides` (None values ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env_var)
            if raw is not None and raw != "":
                values[setting.name] = setting.parse(raw, source=setting.env_var)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("store") is not None and values.get("db_path") is not None:
            raise ConfigError(_BOTH)
        return cls(**values)

    def store_url(self) -> StoreURL:
        """The store to open: `store`, else `duckdb://<db_path>`. Raises ConfigError for a bad URL."""
        if self.store is None:
            return duckdb_url(self.db_path)
        try:
            return parse_store_url(self.store)
        except StoreError as exc:
            raise ConfigError(f"store: {exc}") from None

    def retention_ns(self) -> int | None:
        if self.retention is None:
            return None
        try:
            ns = parse_duration(self.retention)
        except ValueError as exc:
            raise ConfigError(f"retention: {exc}") from None
        if ns < 3_600_000_000_000:
            raise ConfigError(f"retention must be at least 1h, got {self.retention!r}")
        return ns

    def validate(self) -> CollectorConfig:
        """Raise ConfigError naming the setting to fix; return self when usable."""
        if self.store is not None and self.db_path != DEFAULT_DB_PATH:
            raise ConfigError(_BOTH)
        url = self.store_url()
        self.retention_ns()
        if url.scheme != "duckdb":
            return self._validate_rest()
        path = url.path
        if not path:
            raise ConfigError("db_path is empty: set AGENTDECK_COLLECTOR_DB_PATH or --db-path to a file path")
        if path != ":memory:" and Path(path).is_dir():
            raise ConfigError(f"db_path {path} is a directory: give a file path such as {path}/agentdeck.duckdb")
        return self._validate_rest()

    def _validate_rest(self) -> CollectorConfig:
        if self.ingest_workers is not None and not 0 <= self.ingest_workers <= 64:
            raise ConfigError(f"ingest_workers must be between 0 and 64, got {self.ingest_workers}")
        for name in ("port", "grpc_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 65535:
                raise ConfigError(f"{name} {value} is not a TCP port: use 0-65535 (0 picks a free port)")
        for name in ("max_body_bytes", "queue_max_spans", "batch_max_spans"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 16 <= self.checkpoint_mb <= 4096:
            raise ConfigError(f"checkpoint_mb must be between 16 and 4096 (MB), got {self.checkpoint_mb}")
        if self.memory_limit_mb < 128:
            raise ConfigError(f"memory_limit_mb must be at least 128 (MB), got {self.memory_limit_mb}")
        if self.flush_interval_ms < 0:
            raise ConfigError(f"flush_interval_ms must be 0 or more, got {self.flush_interval_ms}")
        for name in ("query_timeout_s", "body_timeout_s", "check_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive (seconds), got {getattr(self, name)}")
        for name in ("max_requests_per_client", "max_concurrent_queries"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_queued_queries < 0:
            raise ConfigError(f"max_queued_queries must be 0 or more, got {self.max_queued_queries}")
        for item in (self.trusted_proxies or "").split(","):
            try:
                if item.strip():
                    ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ConfigError(
                    f"trusted_proxies: {item.strip()[:60]!r} is not an address or network: write e.g. "
                    "10.0.0.5,192.168.0.0/16"
                ) from None
        if self.allowed_hosts is not None and not self.allowed_hosts.replace(",", "").strip():
            raise ConfigError("allowed_hosts is empty: list host names (comma-separated) or leave it unset")
        if self.token is not None and not self.token.strip():
            raise ConfigError("token is empty: set a non-empty token or leave it unset")
        if self.prices_path is not None and not Path(self.prices_path).is_file():
            raise ConfigError(f"prices_path {self.prices_path} is not a file: point it at a prices TOML file")
        if self.redact_rules_path is not None and not Path(self.redact_rules_path).is_file():
            raise ConfigError(
                f"redact_rules_path {self.redact_rules_path} is not a file: point it at a redaction rules TOML file"
            )
        if self.alert_interval_s <= 0:
            raise ConfigError(f"alert_interval_s must be positive (seconds), got {self.alert_interval_s}")
        if self.alert_rules_path is not None and not Path(self.alert_rules_path).is_file():
            raise ConfigError(
                f"alert_rules_path {self.alert_rules_path} is not a file: point it at an alert rules TOML file "
                "(start from collector/alerts/default_rules.toml)"
            )
        if not self.is_loopback() and self.token is None and not self.allow_remote:
            raise ConfigError(
                f"refusing to bind {self.host} (reachable from other machines) without a token: "
                "set AGENTDECK_COLLECTOR_TOKEN / --token, or pass --allow-remote to accept unauthenticated access"
            )
        return self

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def replace(self, **changes: Any) -> CollectorConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: str  # str | int | float | bool, with "| None" when optional
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: str, source: str) -> Any:
        base = self.type.replace(" | None", "")
        try:
            if base == "bool":
                lowered = raw.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(raw)
            if base == "int":
                return int(raw)
            if base == "float":
                return float(raw)
        except ValueError:
            raise ConfigError(f"{source}={raw!r} is not a valid {base} for {self.name}") from None
        return raw


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name=f.name, type=str(f.type), default=f.default, help=f.metadata["help"])
    for f in dataclasses.fields(CollectorConfig)
)
