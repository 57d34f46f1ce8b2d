"""`agentdeck run` on a new user's machine: an empty directory, the standard OTEL_* export variables,
and a collector that is missing or refuses the spans (an error, never a silent loss)."""

from __future__ import annotations

import socket
from pathlib import Path

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.cli.cli_helpers import agentdeck, cli_env, trace_count

RUN = ("run", "triage", "--tasks", "2", "--latency-scale", "0")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_run_in_an_empty_directory_creates_its_data_directory(tmp_path: Path) -> None:
    out = agentdeck(*RUN, "--no-export", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("2 tasks (")
    assert (tmp_path / ".agentdeck" / "checkpoints.sqlite").is_file()


def test_a_saved_prompt_version_in_an_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    out = agentdeck(*RUN, "--no-export", "--prompt-version", "classifier=v2", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "agentdeck: no saved prompt versions: .agentdeck/checkpoints.sqlite does not exist" in out.stderr


def test_run_honours_AGENTDECK_CHECKPOINT_DB(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "cp.sqlite"
    out = agentdeck(*RUN, "--no-export", cwd=tmp_path, env=cli_env(AGENTDECK_CHECKPOINT_DB=str(db)))
    assert out.returncode == 0, out.stderr
    assert db.is_file() and not (tmp_path / ".agentdeck").exists()


def test_run_exports_where_the_OTEL_variables_say(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0, token="s3cret")
    with CollectorServer(config) as server:
        headers = "Authorization=Bearer%20s3cret"
        base = cli_env(OTEL_EXPORTER_OTLP_ENDPOINT=server.url, OTEL_EXPORTER_OTLP_HEADERS=headers)
        out = agentdeck(*RUN, "--seed", "1", cwd=tmp_path, env=base)
        assert out.returncode == 0, out.stderr
        assert trace_count(server.url, "s3cret") == 2
        # the traces endpoint is used as given (no second /v1/traces), and wins over the base
        given = cli_env(
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{server.url}/v1/traces",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}",
            OTEL_EXPORTER_OTLP_HEADERS=headers,
        )
        out = agentdeck(*RUN, "--seed", "2", cwd=tmp_path, env=given)
        assert out.returncode == 0, out.stderr
        assert trace_count(server.url, "s3cret") == 4


def test_run_without_a_collector_stops_before_running_anything(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    out = agentdeck(*RUN, cwd=tmp_path, env=cli_env(OTEL_EXPORTER_OTLP_ENDPOINT=url))
    assert out.returncode == 2
    assert f"agentdeck: no collector answers at {url}/v1/traces" in out.stderr
    assert "--no-export" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".agentdeck").exists()  # no task ran


def test_run_says_how_many_spans_the_collector_refused(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0, max_body_bytes=1024)
    with CollectorServer(config) as server:
        out = agentdeck(*RUN, "--collector-url", server.url, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stdout.startswith("2 tasks (")  # the run's own result is still reported
    assert "span(s) of this run could not be delivered to" in out.stderr and "Traceback" not in out.stderr
