"""Settings validation and the store's schema versioning."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentdeck.collector.__main__ import config_from_args
from agentdeck.collector.config import SETTINGS, CollectorConfig, ConfigError
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.duckdb.store import Store, StoreError
from agentdeck.collector.store.schema import COLUMN_NAMES, SCHEMA_VERSION


def test_defaults_match_the_documented_contract() -> None:
    c = CollectorConfig()
    assert (c.db_path, c.host, c.port, c.token, c.allow_remote) == (
        ".agentdeck/agentdeck.duckdb",
        "127.0.0.1",
        4318,
        None,
        False,
    )
    assert c.max_body_bytes == 64 * 1024 * 1024 and c.query_timeout_s == 10 and c.grpc_port is None
    assert {s.name for s in SETTINGS} == set(CollectorConfig.__dataclass_fields__)
    assert all(s.help and s.env_var.startswith("AGENTDECK_COLLECTOR_") for s in SETTINGS)


def test_env_then_flags() -> None:
    env = {"AGENTDECK_COLLECTOR_PORT": "9000", "AGENTDECK_COLLECTOR_ALLOW_REMOTE": "true"}
    c = CollectorConfig.from_env(env, token="t")
    assert (c.port, c.allow_remote, c.token) == (9000, True, "t")
    with pytest.raises(ConfigError, match="AGENTDECK_COLLECTOR_PORT='x' is not a valid int"):
        CollectorConfig.from_env({"AGENTDECK_COLLECTOR_PORT": "x"})
    c = config_from_args(["--port", "0", "--grpc-port", "0", "--query-timeout-s", "2.5", "--allow-remote"])
    assert (c.port, c.grpc_port, c.query_timeout_s, c.allow_remote) == (0, 0, 2.5, True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": "0.0.0.0"}, "refusing to bind 0.0.0.0"),
        ({"port": 70000}, "port 70000 is not a TCP port"),
        ({"queue_max_spans": 0}, "queue_max_spans must be at least 1"),
        ({"token": "  "}, "token is empty"),
        ({"prices_path": "/nonexistent/prices.toml"}, "is not a file"),
        ({"query_timeout_s": 0}, "query_timeout_s must be positive"),
        ({"memory_limit_mb": 16}, "memory_limit_mb must be at least 128"),
        ({"checkpoint_mb": 8}, "checkpoint_mb must be between 16 and 4096"),
    ],
)
def test_validate_says_what_to_fix(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CollectorConfig().replace(**changes).validate()


def test_remote_bind_needs_a_token_or_explicit_consent() -> None:
    with pytest.raises(ConfigError, match="token"):  # neither: refused (this test asserted only the yeses)
        CollectorConfig(host="0.0.0.0").validate()
    CollectorConfig(host="0.0.0.0", token="t").validate()
    CollectorConfig(host="0.0.0.0", allow_remote=True).validate()
    CollectorConfig(host="::1").validate()
    CollectorConfig(host="localhost").validate()


def test_a_new_store_records_its_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.duckdb")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    with duckdb.connect(str(tmp_path / "a.duckdb")) as conn:
        cols = [r[0] for r in conn.execute("DESCRIBE spans").fetchall()]
    assert tuple(cols) == COLUMN_NAMES


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.duckdb"
    Store(path).close()
    with duckdb.connect(str(path)) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(StoreError, match="newer than this agentdeck"):
        Store(path)


def test_an_older_file_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    older = SCHEMA_VERSION - 1
    with duckdb.connect(str(path)) as conn:  # an older layout: no usage_counted column yet
        cols = ", ".join(f"{n} VARCHAR" for n in COLUMN_NAMES if n != "usage_counted")
        conn.execute(f"CREATE TABLE spans ({cols})")
        conn.execute("INSERT INTO spans (trace_id, span_id) VALUES ('t', 's')")
        conn.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(older)])

    def add_usage_counted(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute("ALTER TABLE spans ADD COLUMN usage_counted BOOLEAN DEFAULT true")

    store = Store(path, migrations={older: add_usage_counted})
    assert store.schema_version() == SCHEMA_VERSION
    assert store.conn.execute("SELECT span_id, usage_counted FROM spans").fetchall() == [("s", True)]
    store.close()
    with pytest.raises(StoreError, match="no migration from schema version"):
        p2 = tmp_path / "older.duckdb"
        with duckdb.connect(str(p2)) as conn:
            conn.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(older)])
        Store(p2, migrations={})


def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    first = Store(tmp_path / "one.duckdb")
    with pytest.raises(StoreError, match="already open by a collector in this process"):
        Store(tmp_path / "." / "one.duckdb")
    first.close()
    Store(tmp_path / "one.duckdb").close()


def test_the_collector_bounds_duckdb_memory_and_sets_its_checkpoint_size(tmp_path: Path) -> None:
    """DuckDB's default memory limit is 80% of RAM, and its cache of the file grows toward it."""
    config = CollectorConfig(db_path=str(tmp_path / "m.duckdb"), port=0, memory_limit_mb=300, checkpoint_mb=200)
    names = ("memory_limit", "checkpoint_threshold")
    with CollectorServer(config) as server:
        conn = server.services.store.conn
        applied = [conn.execute(f"SELECT current_setting('{n}')").fetchone() for n in names]
    with duckdb.connect() as plain:  # DuckDB's own spelling of these sizes (it differs between versions)
        default = [plain.execute(f"SELECT current_setting('{n}')").fetchone() for n in names]
        plain.execute("SET memory_limit = '300MB'")
        plain.execute("SET checkpoint_threshold = '200MB'")
        expected = [plain.execute(f"SELECT current_setting('{n}')").fetchone() for n in names]
    assert applied == expected
    assert all(a != d for a, d in zip(applied, default, strict=True))
