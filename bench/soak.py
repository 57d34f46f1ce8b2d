"""Soak, overload and crash test of the collector through the real network path, producers in processes.

    .venv/bin/python bench/soak.py --minutes 4 --producers 3 --samples-csv soak-rss.csv

Three phases, each against a fresh `python -m agentdeck.collector` subprocess and DuckDB file, with
`--producers` producer processes (bench/soak_producers.py; `--mode bodies` posts the ingest
benchmark's protobuf requests of `--spans-per-request` spans with fresh ids, `--mode sdk` runs the
real OTel SDK exporter in each process):

1. soak: producers send for `--minutes`; every `--sample-s` the collector's RSS (and its peak
   VmHWM, its decode workers' RSS, the write queue depth from /metrics and the DuckDB WAL and file
   sizes, whose drop marks a checkpoint) is sampled. Then every span a producer had acknowledged
   must be stored exactly once: checked by (trace_id, span_id) in the DuckDB file.
2. overload: the same producers against a collector with a queue of two requests: it must answer
   503 + Retry-After, and the producers' retries must still land every span.
3. SIGKILL: the collector is killed with SIGKILL mid-stream and restarted on the same file and
   port; the producers' retries carry on. Every span acknowledged before or after the crash must be
   stored exactly once, and the file must open.

Prints one JSON document with the figures (docs/RELIABILITY.md quotes them). Exit status 1 when an
acknowledged span is missing or stored twice.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import tree_cpu_s
from soak_producers import ProducerReport, ProducerSpec, run_producer

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Collector:
    db: Path
    port: int
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Collector:
        env = dict(os.environ)
        argv = [
            sys.executable,
            "-m",
            "agentdeck.collector",
            "--db-path",
            str(self.db),
            "--port",
            str(self.port),
            *self.extra,
        ]
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            raise SystemExit(f"collector did not start: {line!r}")
        return self

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)


# --- memory sampling -------------------------------------------------------------------------------


@dataclass
class Sample:
    t_s: float
    rss_mib: float  # collector process
    hwm_mib: float  # its peak RSS so far (catches a spike between two samples)
    workers_rss_mib: float  # its child processes (decode workers)
    queue_depth: int  # spans queued or being written (/metrics)
    wal_mib: float
    db_mib: float
    spans_stored: int
    load_1m: float


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, whichever of its threads started them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0


def sample(c: Collector, client: httpx.Client, started: float) -> Sample:
    assert c.proc is not None
    pid = c.proc.pid
    try:
        metrics = client.get(c.url + "/metrics").json()
    except httpx.HTTPError:
        metrics = {}
    return Sample(
        t_s=round(time.monotonic() - started, 1),
        rss_mib=round(_status_kib(pid, "VmRSS:") / 1024, 1),
        hwm_mib=round(_status_kib(pid, "VmHWM:") / 1024, 1),
        workers_rss_mib=round(sum(_status_kib(k, "VmRSS:") for k in _children(pid)) / 1024, 1),
        queue_depth=int(metrics.get("queue_depth", -1)),
        wal_mib=_mib(c.db.with_name(c.db.name + ".wal")),
        db_mib=_mib(c.db),
        spans_stored=int(metrics.get("spans_stored", -1)),
        load_1m=round(os.getloadavg()[0], 2),
    )


def memory_summary(samples: list[Sample], warmup_s: float = 30.0) -> dict[str, object]:
    """Peak, steady level, thirds, and every spike (a sample 100 MiB and 30% over the median of the
    previous 30 s, or a VmHWM jump between two samples) with what the collector was doing then."""
    warm = [s for s in samples if s.t_s >= warmup_s] or samples
    third = max(len(warm) // 3, 1)
    spikes: list[dict[str, object]] = []
    for i, s in enumerate(samples):
        if s.t_s < warmup_s:
            continue
        before = [p.rss_mib for p in samples[max(0, i - 30) : i]]
        level = statistics.median(before) if before else s.rss_mib
        prev = samples[i - 1] if i else s
        hwm_jump = s.hwm_mib - max(prev.hwm_mib, s.rss_mib)
        if (s.rss_mib > level + 100 and s.rss_mib > 1.3 * level) or hwm_jump > 100:
            spikes.append(
                {
                    "t_s": s.t_s,
                    "rss_mib": s.rss_mib,
                    "hwm_mib": s.hwm_mib,
                    "level_before_mib": level,
                    "queue_depth": s.queue_depth,
                    "queue_depth_before": prev.queue_depth,
                    "wal_mib_before_after": [prev.wal_mib, s.wal_mib],
                    "checkpoint_in_interval": s.wal_mib < prev.wal_mib,
                }
            )
    return {
        "rss_mib_peak_hwm": max(s.hwm_mib for s in samples),
        "rss_mib_max_sampled": max(s.rss_mib for s in samples),
        "rss_mib_steady_median_last_half": statistics.median(s.rss_mib for s in warm[len(warm) // 2 :]),
        "rss_mib_max_first_third": max(s.rss_mib for s in warm[:third]),
        "rss_mib_max_last_third": max(s.rss_mib for s in warm[-third:]),
        "workers_rss_mib_max": max(s.workers_rss_mib for s in samples),
        "queue_depth_max": max(s.queue_depth for s in samples),
        "checkpoints_seen": sum(1 for a, b in itertools.pairwise(samples) if b.wal_mib < a.wal_mib),
        "spikes": spikes,
        "load_1m_median": statistics.median(s.load_1m for s in samples),
    }


def _rate_after(samples: list[Sample], warmup_s: float) -> int:
    """Spans stored per second between the end of the warm-up and the last sample that still grew."""
    warm = [s for s in samples if s.t_s >= warmup_s and s.spans_stored >= 0]
    if len(warm) < 2:
        return 0
    last = max(warm, key=lambda s: (s.spans_stored, -s.t_s))
    return round((last.spans_stored - warm[0].spans_stored) / max(last.t_s - warm[0].t_s, 1e-9))


# --- producers and the verdict ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Phase:
    name: str
    args: argparse.Namespace
    tmp: Path
    seconds: float
    specs: list[ProducerSpec] = field(default_factory=list)
    procs: list[mp.process.BaseProcess] = field(default_factory=list)

    def start(self, c: Collector) -> None:
        until = time.time() + self.seconds
        ctx = mp.get_context("spawn")
        for i in range(self.args.producers):
            spec = ProducerSpec(
                i, self.args.mode, c.url + "/v1/traces", until, str(self.tmp / f"{self.name}-{i}"),
                self.args.spans_per_request,
            )  # fmt: skip
            self.specs.append(spec)
            self.procs.append(ctx.Process(target=run_producer, args=(spec,), name=f"soak-{self.name}-{i}"))
        for p in self.procs:
            p.start()

    def running(self) -> bool:
        return any(p.is_alive() for p in self.procs)

    def join(self) -> list[ProducerReport]:
        for p in self.procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit(f"producer {p.name} failed (exit {p.exitcode})")
        return [ProducerReport.read(s.out) for s in self.specs]


def verdict(reports: list[ProducerReport], specs: list[ProducerSpec], db: Path, seconds: float) -> dict[str, object]:
    """Sent = stored, by (trace_id, span_id): every acknowledged id is in the file, once."""
    files = [s.out + ".csv" for s in specs if Path(s.out + ".csv").stat().st_size]
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{db}' AS c (READ_ONLY)")
        conn.execute(
            "CREATE TABLE acked AS SELECT * FROM read_csv(?, header = false, "
            "columns = {'trace_id': 'VARCHAR', 'span_id': 'VARCHAR'})",
            [files or ["/dev/null"]],
        )
        counts = "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM "
        acked, acked_distinct = conn.execute(counts + "acked").fetchone()  # type: ignore[misc]
        rows, distinct = conn.execute(counts + "c.spans").fetchone()  # type: ignore[misc]
        missing = conn.execute(
            "SELECT count(*) FROM acked a ANTI JOIN c.spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id"
        ).fetchone()[0]  # type: ignore[index]
    statuses: dict[str, int] = {}
    for r in reports:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    produced = sum(r.produced for r in reports)
    return {
        "sent": produced,
        "acknowledged": acked,
        "acknowledged_ids_distinct": acked_distinct,
        "export_failed_after_retries": sum(r.failed for r in reports),
        "stored_rows": rows,
        "acknowledged_missing": missing,
        "duplicates": rows - distinct,
        "stored_not_acknowledged": rows - (acked - missing),
        "spans_per_s": round(acked / seconds),
        "http_statuses": statuses,
        "retry_after_values": sorted({v for r in reports for v in r.retry_after}, key=float),
        "connection_errors": sum(r.connection_errors for r in reports),
        "producers_cpu_s": round(sum(r.cpu_s for r in reports), 1),
        "ok": missing == 0 and rows == distinct and acked == acked_distinct,
    }


def soak(tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    c = Collector(tmp / "soak.duckdb", free_port()).start()
    phase = Phase("soak", args, tmp, args.minutes * 60)
    assert c.proc is not None
    cpu0 = tree_cpu_s(c.proc.pid)
    started = time.monotonic()
    phase.start(c)
    samples: list[Sample] = []
    with httpx.Client(timeout=10) as client:
        while phase.running():
            samples.append(sample(c, client, started))
            s = samples[-1]
            if len(samples) % max(int(10 / args.sample_s), 1) == 1:
                print(
                    f"soak t={s.t_s:6.1f}s RSS {s.rss_mib:6.1f} MiB (peak {s.hwm_mib:6.1f}, workers "
                    f"{s.workers_rss_mib:6.1f}) queue {s.queue_depth:6d} WAL {s.wal_mib:5.1f} MiB "
                    f"stored {s.spans_stored:9d} load {s.load_1m}",
                    file=sys.stderr,
                    flush=True,
                )
            deadline = time.monotonic() + args.sample_s
            while phase.running() and time.monotonic() < deadline:
                time.sleep(0.05)
        samples.append(sample(c, client, started))
        metrics = client.get(c.url + "/metrics").json()
        collector_cpu = tree_cpu_s(c.proc.pid) - cpu0
    reports = phase.join()
    elapsed = time.monotonic() - started
    c.stop()
    if args.samples_csv:
        with open(args.samples_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([fl.name for fl in fields(Sample)])
            w.writerows(astuple(s) for s in samples)
    out = verdict(reports, phase.specs, c.db, elapsed)
    out |= {
        "seconds": round(elapsed),
        "requests_rejected": metrics.get("requests_rejected"),
        "db_bytes_per_span": round(c.db.stat().st_size / max(int(str(out["stored_rows"])), 1)),
        "stored_per_s_after_warmup": _rate_after(samples, 30.0),
        "collector_cpu_s": round(collector_cpu, 1),  # with its decode workers
        "collector_cpu_us_per_span": round(collector_cpu / max(int(str(out["acknowledged"])), 1) * 1e6),
        "memory": memory_summary(samples),
        "rss_mib_every_10_s": [s.rss_mib for s in samples[:: max(int(10 / args.sample_s), 1)]],
    }
    return out


def overload(tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    queue = str(args.spans_per_request) if args.mode == "bodies" else "1000"  # one request at a time
    tiny = ["--queue-max-spans", queue, "--batch-max-spans", "500", "--flush-interval-ms", "50"]
    c = Collector(tmp / "overload.duckdb", free_port(), tiny).start()
    phase = Phase("overload", args, tmp, args.phase_s)
    started = time.monotonic()
    phase.start(c)
    reports = phase.join()
    elapsed = time.monotonic() - started
    metrics = httpx.get(c.url + "/metrics").json()
    c.stop()
    out = verdict(reports, phase.specs, c.db, elapsed)
    rejected = metrics.get("requests_rejected") or {}
    out |= {"seconds": round(elapsed), "queue_max_spans": int(queue), "requests_rejected": rejected}
    out["ok"] = bool(out["ok"]) and rejected.get("overloaded", 0) > 0 and out["export_failed_after_retries"] == 0
    return out


def crash(tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    c = Collector(tmp / "crash.duckdb", free_port()).start()
    phase = Phase("crash", args, tmp, args.phase_s)
    started = time.monotonic()
    phase.start(c)
    with httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + args.phase_s
        stored_before = 0
        while stored_before < 20_000 and time.monotonic() < deadline:
            time.sleep(0.05)
            stored_before = int(client.get(c.url + "/metrics").json()["spans_stored"])
    c.kill()  # SIGKILL mid-stream
    killed_at = round(time.monotonic() - started, 1)
    c.start()  # same file, same port: the producers' retries find it again
    reports = phase.join()
    elapsed = time.monotonic() - started
    c.stop()
    out = verdict(reports, phase.specs, c.db, elapsed)
    out |= {"seconds": round(elapsed), "killed_at_s": killed_at, "stored_before_kill_at_least": stored_before}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="length of the soak phase")
    parser.add_argument("--producers", type=int, default=3, help="producer processes")
    parser.add_argument("--mode", choices=("bodies", "sdk"), default="bodies", help="what each producer runs")
    parser.add_argument("--spans-per-request", type=int, default=1000, help="spans per request (bodies mode)")
    parser.add_argument("--sample-s", type=float, default=1.0, help="seconds between memory samples")
    parser.add_argument("--samples-csv", help="also write every memory sample to this CSV file")
    parser.add_argument("--phase-s", type=float, default=30.0, help="length of the overload and crash phases")
    parser.add_argument("--phases", default="soak,overload,sigkill", help="which phases to run")
    args = parser.parse_args(argv)
    if not 1 <= args.producers <= 255:
        parser.error("--producers must be between 1 and 255")
    runs = {"soak": soak, "overload": overload, "sigkill": crash}
    chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := [p for p in chosen if p not in runs]:
        parser.error(f"unknown phase(s) {unknown}: choose from {sorted(runs)}")
    result: dict[str, object] = {"args": vars(args), "load_1m_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            result[name] = runs[name](Path(tmp), args)
            print(f"{name} done: ok={result[name]['ok']}", file=sys.stderr, flush=True)  # type: ignore[index]
    result["load_1m_at_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    return 0 if all(bool(result[n]["ok"]) for n in chosen) else 1  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
