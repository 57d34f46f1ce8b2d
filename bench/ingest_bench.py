"""Ingest benchmark: realistic multi-agent traces through the real network path into the collector.

Reports sustained spans/s end to end (acknowledged = committed, and queryable), p50/p99 ack latency,
peak RSS of the collector process, disk bytes per span, and, in the same run, the raw DuckDB Arrow
insert rate of the same normalized rows as the ceiling.

    .venv/bin/python bench/ingest_bench.py --traces 20000 --senders 4 --spans-per-request 1000 --runs 3 --workers 0,1

Each configuration of decode worker processes (`--workers`, AGENTDECK_COLLECTOR_INGEST_WORKERS of the collector;
0 = everything in the collector's own process) runs `--runs` times, interleaved, and medians are
reported, each run with its own ceiling measured right after it. `--phoenix-venv PATH` adds the
side-by-side run against Arize Phoenix (see bench/phoenix_compare.py).

The collector runs as a subprocess (`python -m agentdeck.collector`) so its RSS and CPU are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue  # noqa: E402
from opentelemetry.proto.resource.v1.resource_pb2 import Resource  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status  # noqa: E402

from agentdeck.collector.ingest.decode import decode_protobuf  # noqa: E402
from agentdeck.collector.ingest.normalize import normalize  # noqa: E402
from agentdeck.collector.store.duckdb.ddl import create_table_sql  # noqa: E402
from agentdeck.collector.store.duckdb.store import CHECKPOINT_THRESHOLD  # noqa: E402
from agentdeck.collector.store.schema import rows_to_arrow  # noqa: E402
from agentdeck.engine.pricing import load_prices  # noqa: E402

AGENTS = ("planner", "researcher", "writer", "critic")
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o")
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "agents", "plan", "research", "critique")


def _kv(key: str, value: str | int | float) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _text(rng: random.Random, n_bytes: int) -> str:
    out: list[str] = []
    size = 0
    while size < n_bytes:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def make_trace(rng: random.Random, t0: int) -> list[tuple[str, Span]]:
    """~10 spans: workflow, 3 agents (GenAI), each with an LLM call (GenAI or OpenInference) and a tool."""
    trace_id = rng.randbytes(16)
    spans: list[tuple[str, Span]] = []

    def span(name: str, parent: bytes, start: int, dur: int, attrs: list[KeyValue]) -> bytes:
        sid = rng.randbytes(8)
        spans.append(
            (
                "genai",
                Span(
                    trace_id=trace_id,
                    span_id=sid,
                    parent_span_id=parent,
                    name=name,
                    kind=Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + dur,
                    attributes=attrs,
                    status=Status(code=Status.STATUS_CODE_OK),
                ),
            )
        )
        return sid

    wf = span(
        "invoke_workflow research",
        b"",
        t0,
        9_000_000_000,
        [_kv("gen_ai.operation.name", "invoke_workflow"), _kv("gen_ai.workflow.name", "research")],
    )
    at = t0 + 1000
    for agent in rng.sample(AGENTS, 3):
        a = span(
            f"invoke_agent {agent}",
            wf,
            at,
            2_500_000_000,
            [_kv("gen_ai.operation.name", "invoke_agent"), _kv("gen_ai.agent.name", agent)],
        )
        model = rng.choice(MODELS)
        prompt, answer = _text(rng, 300), _text(rng, 200)
        if rng.random() < 0.5:
            attrs = [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.provider.name", "anthropic"),
                _kv("gen_ai.request.model", model),
                _kv("gen_ai.usage.input_tokens", rng.randint(200, 3000)),
                _kv("gen_ai.usage.output_tokens", rng.randint(20, 800)),
                _kv(
                    "gen_ai.input.messages",
                    json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]),
                ),
                _kv(
                    "gen_ai.output.messages",
                    json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]),
                ),
            ]
        else:
            attrs = [
                _kv("openinference.span.kind", "LLM"),
                _kv("llm.model_name", model),
                _kv("llm.token_count.prompt", rng.randint(200, 3000)),
                _kv("llm.token_count.completion", rng.randint(20, 800)),
                _kv("llm.input_messages.0.message.role", "user"),
                _kv("llm.input_messages.0.message.content", prompt),
                _kv("llm.output_messages.0.message.role", "assistant"),
                _kv("llm.output_messages.0.message.content", answer),
            ]
        span(f"chat {model}", a, at + 1000, 1_500_000_000, attrs)
        span(
            "execute_tool search",
            a,
            at + 1_600_000_000,
            300_000_000,
            [_kv("gen_ai.operation.name", "execute_tool"), _kv("gen_ai.tool.name", "search")],
        )
        at += 2_600_000_000
    return spans


def build_bodies(traces: int, spans_per_request: int, seed: int = 7) -> tuple[list[bytes], int]:
    rng = random.Random(seed)
    now = time.time_ns() - 3_600_000_000_000
    bodies: list[bytes] = []
    pending: list[Span] = []
    total = 0
    resource = Resource(attributes=[_kv("service.name", "bench")])

    def flush() -> None:
        req = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=resource,
                    scope_spans=[ScopeSpans(scope=InstrumentationScope(name="bench"), spans=pending)],
                )
            ]
        )
        bodies.append(req.SerializeToString())
        pending.clear()

    for i in range(traces):
        for _, s in make_trace(rng, now + i * 1_000_000):
            pending.append(s)
            total += 1
        if len(pending) >= spans_per_request:
            flush()
    if pending:
        flush()
    return bodies, total


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by `root` and every live descendant (decode workers)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    wanted, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in wanted:
                wanted.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0.0) for pid in wanted)


def run_collector(db: Path, workers: int | None, repo: Path = REPO) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ)
    if workers is not None:
        env["AGENTDECK_COLLECTOR_INGEST_WORKERS"] = str(workers)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.collector", "--db-path", str(db), "--port", "0"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split("listening on ", 1)[1].split()[0]


def post_all(url: str, bodies: list[bytes], senders: int) -> list[float]:
    """Post every body from `senders` threads, resending on 503/429 after Retry-After; ack latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    index = iter(range(len(bodies)))

    def send() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                while True:
                    t = time.perf_counter()
                    r = client.post(url, content=bodies[i], headers={"Content-Type": "application/x-protobuf"})
                    if r.status_code == 200:
                        break
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                with lock:
                    latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sorted(latencies)


def end_to_end(
    bodies: list[bytes], total: int, senders: int, db: Path, workers: int | None, repo: Path = REPO
) -> dict[str, float]:
    proc, url = run_collector(db, workers, repo)
    # one small request first, so the decode workers are started before the clock runs
    post_all(url + "/v1/traces", bodies[-1:], 1)
    cpu0 = tree_cpu_s(proc.pid)
    started = time.perf_counter()
    latencies = post_all(url + "/v1/traces", bodies[:-1], senders)
    elapsed = time.perf_counter() - started
    cpu = tree_cpu_s(proc.pid) - cpu0
    metrics = httpx.get(url + "/metrics").json()
    peak = rss_kb(proc.pid)
    proc.terminate()
    proc.wait(60)
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = conn.execute("SELECT count(*) FROM spans").fetchone()[0]  # type: ignore[index]
    timed = total - _spans_in(bodies[-1])
    return {
        "spans": total,
        "stored": stored,
        "stored_metric": metrics["spans_stored"],
        "seconds": elapsed,
        "spans_per_s": timed / elapsed,
        "collector_cpu_us_per_span": cpu / timed * 1e6,
        "ack_p50_ms": latencies[len(latencies) // 2] * 1000,
        "ack_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "peak_rss_mb": peak / 1024,
        "bytes_per_span": db.stat().st_size / max(stored, 1),
    }


def _spans_in(body: bytes) -> int:
    req = ExportTraceServiceRequest.FromString(body)
    return sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)


def ceiling(bodies: list[bytes], db: Path) -> float:
    prices = load_prices()
    tables = []
    for body in bodies:
        decoded = decode_protobuf(body)
        tables.append(rows_to_arrow([normalize(s, prices, 0) for s in decoded.spans]))
    conn = duckdb.connect(str(db))
    conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")  # as the collector's store
    conn.execute(create_table_sql("spans"))
    total = sum(t.num_rows for t in tables)
    started = time.perf_counter()
    for table in tables:
        conn.register("_b", table)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO spans SELECT * FROM _b")
        conn.execute("COMMIT")
        conn.unregister("_b")
    elapsed = time.perf_counter() - started
    conn.close()
    return total / elapsed


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=20_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--spans-per-request", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (medians are reported)")
    parser.add_argument(
        "--workers",
        default="0,1",
        help="comma-separated AGENTDECK_COLLECTOR_INGEST_WORKERS values to compare (0 = all in-process, the baseline)",
    )
    parser.add_argument(
        "--baseline-repo",
        help="another checkout (e.g. `git archive HEAD | tar -x -C DIR`) whose collector runs first, as the 'before'",
    )
    parser.add_argument(
        "--phoenix-venv",
        default=os.environ.get("PHOENIX_VENV"),
        help="venv holding arize-phoenix (or $PHOENIX_VENV): also run the side-by-side comparison",
    )
    parser.add_argument("--phoenix-seconds", type=float, default=60.0, help="time budget of the Phoenix run")
    args = parser.parse_args()
    configs: list[tuple[str, int | None, Path]] = [(f"workers={w}", int(w), REPO) for w in args.workers.split(",")]
    if args.baseline_repo:
        configs.insert(0, ("baseline", None, Path(args.baseline_repo).resolve()))
    bodies, total = build_bodies(args.traces, args.spans_per_request)
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, w, repo in configs:  # interleaved, so background load hits every configuration alike
                db = Path(tmp) / f"e2e-{run}-{name}.duckdb"
                result = end_to_end(bodies, total, args.senders, db, w, repo)
                result["ceiling_spans_per_s"] = ceiling(bodies, Path(tmp) / f"ceiling-{run}-{name}.duckdb")
                result["ratio_to_ceiling"] = result["spans_per_s"] / result["ceiling_spans_per_s"]
                result["load_avg_1m"] = os.getloadavg()[0]
                results[name].append(result)
                print(f"run {run + 1} {name}: " + json.dumps({k: round(v, 2) for k, v in result.items()}), flush=True)
        summary = {name: {k: round(median([r[k] for r in rs]), 2) for k in rs[0]} for name, rs in results.items()}
        base = summary[configs[0][0]]["spans_per_s"]
        for name, _, _ in configs:
            summary[name]["speedup_vs_first"] = round(summary[name]["spans_per_s"] / base, 2)
        print("medians:", json.dumps(summary, indent=2))
        if args.phoenix_venv:
            from phoenix_compare import compare

            sustained = summary[configs[-1][0]]["spans_per_s"]
            print(
                "phoenix:", json.dumps(compare(Path(args.phoenix_venv), bodies, args, Path(tmp), sustained), indent=2)
            )
        else:
            print("phoenix: skipped (pass --phoenix-venv PATH or set PHOENIX_VENV to a venv with arize-phoenix)")


if __name__ == "__main__":
    main()
