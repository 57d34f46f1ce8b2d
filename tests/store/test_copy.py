"""`agentdeck store copy`: DuckDB -> DuckDB through the seam, resumable after a kill, with progress;
the target answers every named query and lists the alerts as the source did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agentdeck.cli.main import main as agentdeck_main
from agentdeck.collector.alerts import evaluate, parse_rules
from agentdeck.collector.store.base import DeliveryRecord
from agentdeck.collector.store.duckdb.span_store import DuckDBStore
from tests.store.store_fixture import Fixture, close, fill

RULES = (
    '[[rules]]\nname = "spend"\nmetric = "spend"\nwindow = "30d"\ncomparison = ">"\nthreshold = 0\n'
    '[[rules]]\nname = "loops"\nmetric = "runaway_loop"\nwindow = "30d"\ncomparison = ">"\nthreshold = 2\n'
)


def _source(folder: Path, fixture_data: Fixture) -> tuple[Path, int]:
    loaded = fill("duckdb", folder, fixture_data)
    changes = evaluate(loaded.session, parse_rules(RULES), loaded.end_ns)
    assert len(changes) >= 2
    loaded.session.record_delivery(
        DeliveryRecord(changes[0].alert.id, "spend", "firing", "ops", "http://127.0.0.1:9/hook", 1, "ok", 200, None, 1)
    )
    count = loaded.store.count()
    close(loaded)
    return folder / "spans.duckdb", count


def _copy(src: Path, dst: Path, progress: Path, batch: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentdeck",
            "store",
            "copy",
            "--from",
            f"duckdb://{src}",
            "--to",
            f"duckdb://{dst}",
            "--batch",
            str(batch),
            "--progress-file",
            str(progress),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _rounded(value: object) -> object:
    """`value` with every float to 12 significant digits: DuckDB sums in parallel, so the same rows can
    add up to a different last bit in two files (seen in CI: 2.720885099999997 vs 2.7208850999999994)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_a_copy_killed_midway_resumes_and_ends_equal(tmp_path: Path, fixture_data: Fixture) -> None:
    src, spans = _source(tmp_path / "src", fixture_data)
    dst, progress = tmp_path / "dst" / "copy.duckdb", tmp_path / "progress.json"
    first = _copy(src, dst, progress, batch=100)
    assert first.stderr is not None
    line = first.stderr.readline()  # progress after each batch: kill it after the first
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    assert line.startswith("spans: 100 of ") and " read, 100 added" in line, line
    assert progress.exists()

    second = _copy(src, dst, progress, batch=5_000)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    spans_lines = [x for x in err.splitlines() if x.startswith("spans: ")]
    assert spans_lines and int(spans_lines[-1].split()[1].replace(",", "")) < spans  # resumed, not restarted
    assert f"copied into duckdb://{dst}" in out

    source, target = DuckDBStore(src), DuckDBStore(dst)
    try:
        assert target.count() == source.count() == spans  # nothing lost, nothing twice
        a, b = source.session(), target.session()
        assert [x.id for x in b.list_alerts(None, 100)] == [x.id for x in a.list_alerts(None, 100)]
        assert b.list_deliveries(None, 10).num_rows == 1
        rng = {"start_ns": str(fixture_data.start_ns), "end_ns": str(fixture_data.end_ns)}
        for name in ("overview", "agent_metrics", "traces", "cost_breakdown"):
            copied, original = (s.run_query(name, rng, timeout_s=60).to_pylist() for s in (b, a))
            assert _rounded(copied) == _rounded(original), name
        copied_ids = {x.id for x in b.list_alerts(None, 100)}
        evaluate(b, parse_rules(RULES.replace('"spend"', '"spend2"', 1)), fixture_data.end_ns)
        assert len({x.id for x in b.list_alerts(None, 100)} - copied_ids) == 1  # a new alert gets a new id
        a.close()
        b.close()
    finally:
        source.close()
        target.close()
    assert (
        agentdeck_main(
            ["store", "copy", "--from", f"duckdb://{src}", "--to", f"duckdb://{dst}", "--progress-file", str(progress)]
        )
        == 0
    )  # again: nothing added
    check = DuckDBStore(dst)
    try:
        assert check.count() == spans
    finally:
        check.close()


def test_copy_mistakes_are_one_line(tmp_path: Path, capsys: object) -> None:
    assert agentdeck_main(["store", "copy", "--from", "duckdb://a.duckdb", "--to", "duckdb://a.duckdb"]) == 2
    assert agentdeck_main(["store", "copy", "--from", "nope", "--to", f"duckdb://{tmp_path}/b.duckdb"]) == 2
