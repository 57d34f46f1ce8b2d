"""Dashboard pages at volume, in real Chromium: time to each page's main content with N spans stored.

    .venv/bin/python bench/dashboard_bench.py --traces 100000 --loads 5

Loads `--traces` x 10 spans of the ingest benchmark's generator (spread over the last ~2 hours) plus
one trace of `--big-trace` spans through the real collector (`python -m agentdeck.collector`, OTLP/HTTP),
starts the real dashboard (Streamlit) against it, and opens each page in Chromium (Playwright, the
args of tests/conftest.py). A page counts as rendered when the app's script has finished
(`data-test-script-state=notRunning`), its main element (a chart, the data grid, or for a trace the
span tree) is visible, and no exception box is shown; the median of `--loads` fresh loads is
reported (`<page>_s`). `<page>_charts_drawn_s` is the time until, in addition, every chart on the
page has drawn (plotly its SVG, ECharts its canvas). The big trace is also scrolled to its end
(median time per wheel step). The baseline measured in the same run is the same page with 1% of the
spans stored (`--skip-baseline` leaves it out). `--before DIR` also starts the dashboard of
DIR/dashboard (an earlier copy of the package) against the same collector and alternates its loads
with this one's, so the two are compared under the same machine load (keys `<page>_s_before`). `--db
FILE` keeps the full run's spans in FILE and reuses them on the next run (the load is skipped when
FILE already holds them; the generator's spans sit in the last few hours, so reuse it within the
day). `--pages` measures a subset while iterating.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest_bench import _kv, build_bodies, post_all, run_collector  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope  # noqa: E402
from opentelemetry.proto.resource.v1.resource_pb2 import Resource  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status  # noqa: E402

from agentdeck.cli.launch import CHROMIUM_ARGS, streamlit_command, wait_until_ok  # noqa: E402

MAIN = (
    "[data-testid='stPlotlyChart'], [data-testid='stEChartsChart'], [data-testid='data-grid-canvas'], "
    "[data-testid='stMetric']"
)
# Every chart on the page has drawn: plotly its SVG, ECharts its canvas (the page's script has finished).
CHARTS_DRAWN = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
    const plotly = [...document.querySelectorAll("[data-testid='stPlotlyChart']")];
    const echarts = [...document.querySelectorAll("[data-testid='stEChartsChart']")];
    return plotly.every(c => c.querySelector(".main-svg")) && echarts.every(c => c.querySelector("canvas"));
}"""


def big_trace(spans: int) -> tuple[str, bytes]:
    """One workflow with agents, each with an LLM call and a tool call: `spans` spans in all."""
    rng = random.Random(3)
    trace_id = rng.randbytes(16)
    t0 = time.time_ns() - 1_800_000_000_000
    out: list[Span] = []

    def span(name: str, parent: bytes, start: int, dur: int, attrs: list[Any]) -> bytes:
        sid = rng.randbytes(8)
        out.append(Span(trace_id=trace_id, span_id=sid, parent_span_id=parent, name=name, kind=Span.SPAN_KIND_INTERNAL,
                        start_time_unix_nano=start, end_time_unix_nano=start + dur, attributes=attrs,
                        status=Status(code=Status.STATUS_CODE_OK)))  # fmt: skip
        return sid

    wf_attrs = [_kv("gen_ai.operation.name", "invoke_workflow"), _kv("gen_ai.workflow.name", "research")]
    wf = span("invoke_workflow research", b"", t0, 600_000_000_000, wf_attrs)
    at = t0 + 1000
    while len(out) < spans:
        a = span("invoke_agent writer", wf, at, 90_000_000, [_kv("gen_ai.operation.name", "invoke_agent"),
                                                             _kv("gen_ai.agent.name", "writer")])  # fmt: skip
        span("chat claude-haiku-4-5", a, at + 1000, 60_000_000, [
            _kv("gen_ai.operation.name", "chat"), _kv("gen_ai.request.model", "claude-haiku-4-5"),
            _kv("gen_ai.usage.input_tokens", 500), _kv("gen_ai.usage.output_tokens", 80)])  # fmt: skip
        span("execute_tool search", a, at + 61_000_000, 20_000_000, [_kv("gen_ai.operation.name", "execute_tool"),
                                                                     _kv("gen_ai.tool.name", "search")])  # fmt: skip
        at += 100_000_000
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[_kv("service.name", "bench")]),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="bench"), spans=out)])])  # fmt: skip
    return trace_id.hex(), req.SerializeToString()


def start_dashboard(collector_url: str, log: Path, code: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """The dashboard of this repo, or (`code`) of a tree holding another version of `dashboard/`."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AGENTDECK_COLLECTOR_URL": collector_url, "AGENTDECK_DASHBOARD_REFRESH_S": "0"}
    cmd = streamlit_command("127.0.0.1", port)
    if code is not None:  # its `dashboard` package first, the rest (engine, ...) from this repo
        env["PYTHONPATH"] = str(REPO)
        cmd = streamlit_command("127.0.0.1", port, code / "dashboard" / "app.py")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=code or REPO)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_ok(f"{url}/_stcore/health", 90, is_alive=lambda: proc.poll() is None):
        raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
    return proc, url


def load_time(browser: Any, url: str, wait_text: str | None) -> tuple[float, float]:
    """Seconds until the page has rendered (script finished, main element visible), and until its charts drew."""
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    try:
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
        if wait_text:
            page.get_by_text(wait_text).first.wait_for(timeout=60_000)
        page.locator(MAIN).first.wait_for(timeout=60_000)
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
            state="attached", timeout=60_000
        )
        elapsed = time.perf_counter() - started
        page.wait_for_function(CHARTS_DRAWN, timeout=60_000, polling=20)
        drawn = time.perf_counter() - started
        if page.get_by_test_id("stException").count():
            raise RuntimeError(f"{url} shows an exception box")
        return elapsed, drawn
    finally:
        page.close()


def scroll_time(browser: Any, url: str, steps: int = 25) -> float:
    """Median ms per wheel step over the trace page, once it has rendered."""
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    try:
        page.goto(url)
        page.get_by_text("Span tree").first.wait_for(timeout=60_000)
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
            state="attached", timeout=60_000
        )
        page.mouse.move(750, 600)
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            page.mouse.wheel(0, 1200)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)
    finally:
        page.close()


def pages(big_id: str) -> dict[str, tuple[str, str | None]]:
    return {
        "overview": ("/", None),
        "traces": ("/traces", None),
        "agents": ("/agents", None),
        "costs": ("/costs", None),
        "graph": ("/graph?graph_wf=research", None),
        "trace_5000_spans": (f"/?trace_id={big_id}", "Span tree"),
    }


def measure(browser: Any, bases: dict[str, str], big_id: str, loads: int, only: list[str]) -> dict[str, float]:
    """Median load time per page and dashboard; the dashboards' loads alternate, so noise hits both."""
    out = {}
    for name, (path, text) in pages(big_id).items():
        if only and name not in only:
            continue
        times: dict[str, list[tuple[float, float]]] = {tag: [] for tag in bases}
        for base in bases.values():
            load_time(browser, base + path, text)  # warm-up (Streamlit session, caches)
        for _ in range(loads):
            for tag, base in bases.items():
                times[tag].append(load_time(browser, base + path, text))
        for tag, got in times.items():
            suffix = "" if tag == "now" else f"_{tag}"
            out[f"{name}_s{suffix}"] = round(statistics.median(r for r, _ in got), 2)
            out[f"{name}_charts_drawn_s{suffix}"] = round(statistics.median(d for _, d in got), 2)
        shown = [f"{t} {out[f'{name}_s{sfx}']:.2f} s (charts drawn {out[f'{name}_charts_drawn_s{sfx}']:.2f})"
                 for t, sfx in ((t, "" if t == "now" else f"_{t}") for t in times)]  # fmt: skip
        print(f"  {name}: " + ", ".join(shown), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000, help="x 10 spans")
    parser.add_argument("--big-trace", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a tree with an earlier dashboard/ package, measured alongside (ratio in the same run)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="only the full volume, not the 1%% run")
    parser.add_argument("--db", type=Path, default=None, help="keep (and reuse) the full run's DuckDB file here")
    parser.add_argument("--pages", default="", help="comma-separated page names to measure (default: all)")
    parser.add_argument(
        "--collector-tree", type=Path, default=REPO, help="run the collector of this tree (default: this repo)"
    )
    args = parser.parse_args()
    wanted = [n for n in args.pages.split(",") if n]
    unknown = set(wanted) - set(pages(""))
    if unknown:
        parser.error(f"unknown page(s) {sorted(unknown)}; choose from {sorted(pages(''))}")
    from playwright.sync_api import sync_playwright

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the servers it started

    big_id, big_body = big_trace(args.big_trace)
    built: list[bytes] = []

    def bodies() -> list[bytes]:  # built only when a run has to load them (not when --db is reused)
        if not built:
            built.extend(build_bodies(args.traces, 1000)[0])
        return built

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label in ("full",) if args.skip_baseline else ("baseline_1pct", "full"):
            db = args.db if args.db is not None and label == "full" else Path(tmp) / f"{label}.duckdb"
            marker = db.with_name(db.name + ".json")  # written once the load has finished
            wanted_load = {"traces": args.traces, "big_trace": args.big_trace}
            stored = json.loads(marker.read_text()) if db.exists() and marker.exists() else {}
            reuse = {k: stored.get(k) for k in wanted_load} == wanted_load
            if not reuse:  # a partial or different load: start from an empty file
                marker.unlink(missing_ok=True)
                for old in (db, db.with_name(db.name + ".wal")):
                    old.unlink(missing_ok=True)
            collector, curl = run_collector(db, None, args.collector_tree.resolve())
            dash = None
            before = None
            try:
                if reuse:
                    spans = int(stored["spans"])
                    print(f"{label}: reusing ~{spans} spans in {db}", flush=True)
                else:
                    sent = bodies() if label == "full" else bodies()[: max(1, len(bodies()) // 100)]
                    spans = len(sent) * 1000 + args.big_trace
                    t = time.perf_counter()
                    post_all(curl + "/v1/traces", [*sent, big_body], 4)
                    print(f"{label}: loaded ~{spans} spans in {time.perf_counter() - t:.0f} s", flush=True)
                    marker.write_text(json.dumps({**wanted_load, "spans": spans}))
                dash, url = start_dashboard(curl, Path(tmp) / f"{label}-streamlit.log")
                bases = {"now": url}
                if args.before is not None:
                    before, bases["before"] = start_dashboard(curl, Path(tmp) / f"{label}-before.log", args.before)
                results[label] = {"spans": spans, **measure(browser, bases, big_id, args.loads, wanted)}
                if not wanted or "trace_5000_spans" in wanted:
                    results[label]["trace_5000_spans_scroll_ms_per_step"] = round(
                        scroll_time(browser, url + pages(big_id)["trace_5000_spans"][0]), 1
                    )
            finally:
                for proc in (dash, before):
                    if proc is not None:
                        proc.terminate()
                        proc.wait(15)
                collector.terminate()
                collector.wait(60)
        browser.close()
    results["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
