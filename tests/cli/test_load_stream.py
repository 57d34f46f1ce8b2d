"""`agentdeck load` streams: bounded memory for any file size, FIFOs and devices refused, gzip
expansion bounded, and a collector that does not answer given up on with a message."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.cli.cli_helpers import CONSOLE_SCRIPT, agentdeck, cli_env, trace_count
from tests.cli.test_run_export import closed_port
from tests.conftest import SAMPLES

BIG_FIELD_MB = 150


def test_load_gives_up_on_a_collector_that_does_not_answer(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    out = agentdeck("load", str(SAMPLES / "triage.pb.gz"), "--collector-url", url, "--give-up-after", "1",
                    cwd=tmp_path, timeout=60)  # fmt: skip
    assert out.returncode == 2
    assert f"agentdeck: no collector answers at {url}/v1/traces after 1 s" in out.stderr
    assert "Traceback" not in out.stderr


def test_load_sends_where_the_OTEL_variables_say(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0, token="s3cret")
    with CollectorServer(config) as server:
        env = cli_env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{server.url}/v1/traces",
                      OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20s3cret")  # fmt: skip
        out = agentdeck("load", str(SAMPLES / "triage-over-budget.pb.gz"), cwd=tmp_path, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert trace_count(server.url, "s3cret") > 0


def test_load_refuses_a_fifo_and_a_gzip_bomb(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.pb")
    out = agentdeck("load", str(tmp_path / "pipe.pb"), cwd=tmp_path, timeout=60)
    assert out.returncode == 2 and "pipe.pb: is a FIFO" in out.stderr, out.stderr
    with gzip.open(tmp_path / "bomb.pb.gz", "wb") as f:
        f.write(bytes(64 << 20))  # 64 MiB of zeros in about 64 KiB
    out = agentdeck("load", str(tmp_path / "bomb.pb.gz"), cwd=tmp_path, timeout=60)
    assert out.returncode == 2 and "bomb.pb.gz: expands more than 100x" in out.stderr, out.stderr


def peak_rss_kb(*args: str, cwd: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run `agentdeck ARGS` as the only child of a fresh interpreter; its peak resident memory in KiB."""
    code = (
        "import resource, subprocess, sys; "
        f"p = subprocess.run([sys.executable, '-c', {CONSOLE_SCRIPT!r}, *sys.argv[1:]], "
        "capture_output=True, text=True); "
        "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                         cwd=cwd, env=cli_env())  # fmt: skip
    return int(out.stdout.strip().splitlines()[-1]), out


def test_load_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = SAMPLES / "triage-over-budget.pb.gz"
    big = tmp_path / "big.pb"
    body = gzip.decompress(small.read_bytes())
    with big.open("wb") as f:  # the same spans after a large field OTLP readers skip (an unknown field 15)
        chunk = bytes(1 << 20)
        f.write(bytes([0x7A]) + _varint(BIG_FIELD_MB << 20))
        for _ in range(BIG_FIELD_MB):
            f.write(chunk)
        f.write(body)
    with CollectorServer(CollectorConfig(db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0)) as server:
        base_kb, out = peak_rss_kb("load", str(small), "--collector-url", server.url, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        big_kb, out = peak_rss_kb("load", str(big), "--collector-url", server.url, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert trace_count(server.url) > 0
    assert big_kb - base_kb < (BIG_FIELD_MB << 10) // 3, (base_kb, big_kb)  # far below the file's size


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
