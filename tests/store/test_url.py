"""Store URLs: every form the collector, `alerts check` and `store copy` accept, and every mistake
answered with what to write instead (at start-up: `agentdeck collector: ...`, exit 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentdeck.collector.__main__ import main as collector_main
from agentdeck.collector.config import DEFAULT_DB_PATH, CollectorConfig, ConfigError
from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.url import StoreURL, parse_store_url


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("duckdb:///var/lib/agentdeck.duckdb", StoreURL("duckdb", path="/var/lib/agentdeck.duckdb")),
        ("duckdb://data/x.duckdb", StoreURL("duckdb", path="data/x.duckdb")),
        ("DuckDB://x.duckdb", StoreURL("duckdb", path="x.duckdb")),
        ("chdb:///srv/ch", StoreURL("chdb", path="/srv/ch")),
        ("chdb://ch", StoreURL("chdb", path="ch")),
        (
            "clickhouse://db.internal/agentdeck",
            StoreURL("clickhouse", host="db.internal", port=8123, database="agentdeck"),
        ),
        (
            "clickhouses://db.internal/agentdeck",
            StoreURL("clickhouses", host="db.internal", port=8443, database="agentdeck"),
        ),
        ("clickhouse://127.0.0.1:9000/spans", StoreURL("clickhouse", host="127.0.0.1", port=9000, database="spans")),
        (
            "clickhouse://ad:p%40ss@h:8123/db?async_insert=1&wait_for_async_insert=1",
            StoreURL(
                "clickhouse",
                host="h",
                port=8123,
                database="db",
                user="ad",
                password="p@ss",
                settings=(("async_insert", "1"), ("wait_for_async_insert", "1")),
            ),
        ),
        ("clickhouse://reader@h/db", StoreURL("clickhouse", host="h", port=8123, database="db", user="reader")),
        ("clickhouse://[::1]:8123/db", StoreURL("clickhouse", host="::1", port=8123, database="db")),
    ],
)
def test_every_form_parses(text: str, want: StoreURL) -> None:
    got = parse_store_url(text)
    assert got == want and got.password == want.password


def test_a_password_is_never_shown() -> None:
    url = parse_store_url("clickhouses://ad:s3cret@h/db")
    assert "s3cret" not in url.display() and "s3cret" not in repr(url)
    assert url.display() == "clickhouses://ad:***@h:8443/db" and url.secure
    with pytest.raises(StoreError) as err:
        parse_store_url("clickhouse://ad:s3cret@h:99999/db")
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/var/lib/x.duckdb", "has no scheme"),
        ("sqlite://x.db", "scheme 'sqlite' is not known"),
        ("duckdb://", "names no DuckDB file"),
        ("chdb://", "names no chdb directory"),
        ("duckdb://x.duckdb?threads=2", "takes no ?settings"),
        ("clickhouse:///db", "names no server"),
        ("clickhouse://h", "names no database"),
        ("clickhouse://h:8123/", "names no database"),
        ("clickhouse://h:port/db", "port must be a number"),
        ("clickhouse://h:0/db", "port must be a number"),
        ("clickhouse://h:70000/db", "port must be a number"),
        ("clickhouse://h/db/more", "must be letters, digits and _"),
        ("clickhouse://h/1db", "must be letters, digits and _"),
        ("clickhouse://h/db#frag", "remove the #fragment"),
        ("clickhouse://h/db?async_insert", "write settings as ?name=value"),
        ("clickhouse://h/db?=1", "is not a ClickHouse setting name"),
        ("clickhouse://h/db?Bad-Name=1", "is not a ClickHouse setting name"),
        ("clickhouse://:pw@h/db", "a password needs a user"),
    ],
)
def test_every_mistake_says_what_to_write(text: str, says: str) -> None:
    with pytest.raises(StoreError, match=re.escape(says)):
        parse_store_url(text)


def test_db_is_the_shorthand_and_both_is_an_error(tmp_path: Path) -> None:
    assert CollectorConfig(db_path=str(tmp_path / "a.duckdb")).store_url() == StoreURL(
        "duckdb", path=str(tmp_path / "a.duckdb")
    )
    assert CollectorConfig().store_url() == StoreURL("duckdb", path=DEFAULT_DB_PATH)
    url = f"duckdb://{tmp_path}/b.duckdb"
    assert CollectorConfig(store=url).validate().store_url().path == f"{tmp_path}/b.duckdb"
    with pytest.raises(ConfigError, match="not both"):
        CollectorConfig.from_env({}, store=url, db_path=DEFAULT_DB_PATH)  # even --db with its default value
    with pytest.raises(ConfigError, match="not both"):
        CollectorConfig.from_env({"AGENTDECK_COLLECTOR_STORE": url}, db_path=str(tmp_path / "c.duckdb"))
    assert CollectorConfig.from_env({"AGENTDECK_COLLECTOR_STORE": url}).store_url().path == f"{tmp_path}/b.duckdb"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--store", "mysql://h/db"], "scheme 'mysql' is not known"),
        (["--store", "duckdb://x.duckdb", "--db", "y.duckdb"], "not both"),
        (
            ["--store", "clickhouse://127.0.0.1:1/agentdeck"],
            "cannot reach ClickHouse at clickhouse://127.0.0.1:1/agentdeck",
        ),
        (["--retention", "30"], "retention: '30' is not a duration"),
        (["--retention", "10m"], "retention must be at least 1h"),
    ],
)
def test_the_collector_refuses_a_bad_store_at_start_up(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative duckdb:// path lands here, if anything is created at all
    assert collector_main([*argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentdeck collector: ") and says in err and "Traceback" not in err
    assert not (tmp_path / "x.duckdb").exists()
