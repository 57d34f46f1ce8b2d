"""`agentdeck demo`: collector + dashboard + sample traces + live simulated runs, in one command.

The collector and the dashboard run as child processes; sample traces are loaded through the
collector's own ingest path; the engine keeps running simulated workflows in this process so new
traces keep arriving. Ctrl-C (or SIGTERM) stops the live runs and then every child, cleanly.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from agentdeck.cli.launch import port_is_free, streamlit_command, wait_until_ok
from agentdeck.cli.otlp_files import LoadError, find_files, load_files
from agentdeck.cli.progress import Progress, describe_run

if TYPE_CHECKING:
    from agentdeck.engine.semantic_cache import SemanticCache

# src/agentdeck/cli/demo.py -> the repository (resolve() follows the strict editable install's links).
REPO_SAMPLES = Path(__file__).resolve().parents[3] / "sample_traces"
DEMO_RUBRIC = "Score 1 when the agent's final answer resolves the customer's request, 0 when it does not."


@dataclass
class DemoConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    collector_port: int = 4318
    dashboard_port: int = 8501
    samples: Path = REPO_SAMPLES
    live: bool = True
    interval_s: float = 4.0
    tasks_per_batch: int = 3
    latency_scale: float = 0.25
    chaos: float = 0.05
    workflows: Sequence[str] = field(default_factory=tuple)  # empty: every registered workflow
    replay_tasks: int = 12  # triage tasks run at start-up with real checkpoints, for the Replay page (0: none)


class DemoError(Exception):
    """The demo could not start; the message says what to do."""


class _Children:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append((name, proc))
        return proc

    def dead(self) -> list[str]:
        return [name for name, p in self.procs if p.poll() is not None]

    def stop(self, timeout_s: float = 15.0) -> None:
        # Dashboard first, collector last, so the collector drains whatever is still arriving.
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _live_runs(cfg: DemoConfig, endpoint: str, stop: threading.Event) -> None:
    from agentdeck.engine.runner import run_tasks
    from agentdeck.engine.workflows import WORKFLOWS

    names = list(cfg.workflows) or sorted(WORKFLOWS)
    checkpoint_db = cfg.data_dir / "checkpoints.sqlite"
    cache = _semantic_cache()  # repeated tickets are served from earlier answers
    # Task ids derive from (workflow, seed, index) and finished tasks are never re-run, so every demo
    # session needs seeds of its own for its live runs to produce new tasks.
    session = int(time.time())
    for batch, name in enumerate(itertools.cycle(names)):
        if stop.is_set():
            return
        try:
            _resume_reviewed(checkpoint_db, endpoint, cfg.latency_scale, cache)
            summary = run_tasks(
                name,
                cfg.tasks_per_batch,
                seed=session * 1000 + batch,
                concurrency=cfg.tasks_per_batch,
                chaos=cfg.chaos,
                checkpoint_db=checkpoint_db,
                endpoint=endpoint,
                latency_scale=cfg.latency_scale,
                semantic_cache=cache,
            )
            _say(f"live: {name}: {describe_run(summary)}")
        except Exception as exc:  # the demo must keep going; say what happened
            _say(f"live: {name}: run failed: {type(exc).__name__}: {exc}")
        stop.wait(cfg.interval_s)


def _semantic_cache() -> SemanticCache | None:
    from agentdeck.engine.semantic_cache import SemanticCache

    try:
        return SemanticCache()
    except RuntimeError as exc:  # the [cache] extra is not installed: run without
        _say(f"live: no semantic cache ({exc})")
        return None


def _resume_reviewed(checkpoint_db: Path, endpoint: str, latency_scale: float, cache: SemanticCache | None) -> None:
    """Tasks a reviewer decided on (Review page, `agentdeck review`) resume here, from their checkpoints."""
    from agentdeck.engine.review import resume_decided

    for task in resume_decided(checkpoint_db, endpoint=endpoint, latency_scale=latency_scale, semantic_cache=cache):
        _say(f"live: resumed {task.task_id} after its review: {task.outcome}")


def _seed_replayable(cfg: DemoConfig, checkpoint_db: Path, collector_url: str) -> None:
    """Sample traces cannot be forked (their checkpoint ids are rewritten): run a few triage tasks with
    real checkpoints, some dead-lettered by the classifier's weak prompt, so Replay has work at once."""
    from agentdeck.cli.replay_seed import seed_replayable

    try:
        summary = seed_replayable(checkpoint_db, collector_url, tasks=cfg.replay_tasks)
    except Exception as exc:  # the demo still starts; say what happened
        _say(f"replayable tasks: run failed: {type(exc).__name__}: {exc}")
        return
    _say(f"replayable tasks: {describe_run(summary)} (open the Replay page)")
    from agentdeck.cli.demo_experiment import seed_experiment

    try:
        _say(f"experiment: {seed_experiment(checkpoint_db, collector_url, summary)} (open the Experiments page)")
    except Exception as exc:  # the demo still starts; say what happened
        _say(f"experiment: run failed: {type(exc).__name__}: {exc}")


def run_demo(cfg: DemoConfig) -> int:
    for what, port in (("collector", cfg.collector_port), ("dashboard", cfg.dashboard_port)):
        if not port_is_free(cfg.host, port):
            raise DemoError(
                f"port {port} on {cfg.host} is in use, so the {what} cannot start there. Stop whatever "
                f"holds it (another agentdeck demo?) or pick another: --{what}-port N"
            )
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    logs = cfg.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    collector_url = f"http://{cfg.host}:{cfg.collector_port}"
    dashboard_url = f"http://{cfg.host}:{cfg.dashboard_port}"
    checkpoint_db = cfg.data_dir / "checkpoints.sqlite"  # the live runs and the replayable tasks write here
    env = {
        **os.environ,
        "AGENTDECK_COLLECTOR_URL": collector_url,
        "AGENTDECK_CHECKPOINT_DB": str(checkpoint_db),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }

    children = _Children()
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python would keep that.
    previous = {sig: signal.signal(sig, on_term) for sig in (signal.SIGTERM, signal.SIGINT)}
    live: threading.Thread | None = None
    try:
        _say(f"agentdeck demo: data in {cfg.data_dir}, logs in {logs}")
        collector = children.start(
            "collector",
            [sys.executable, "-m", "agentdeck", "collector",
             "--db", str(cfg.data_dir / "agentdeck.duckdb"), "--host", cfg.host, "--port", str(cfg.collector_port)],
            env, logs / "collector.log",
        )  # fmt: skip
        if not wait_until_ok(f"{collector_url}/health", 60, is_alive=lambda: collector.poll() is None):
            raise DemoError(f"the collector did not become ready; see {logs / 'collector.log'}")
        _say(f"collector ready: {collector_url} (OTLP/HTTP at {collector_url}/v1/traces)")
        dashboard = children.start(
            "dashboard", streamlit_command(cfg.host, cfg.dashboard_port), env, logs / "dashboard.log"
        )
        # online evaluators in their own process: new traces get a success score and a judge's verdict
        children.start(
            "evaluator",
            [sys.executable, "-m", "agentdeck", "evaluator", "--collector-url", collector_url,
             "--evaluator", "success", "--judge", DEMO_RUBRIC, "--sample", "0.25", "--interval", "15"],
            env, logs / "evaluator.log",
        )  # fmt: skip
        files = find_files([cfg.samples]) if cfg.samples.exists() else []
        if files:
            progress = Progress(0, "loading sample traces")

            def show(done: int, total: int) -> None:
                progress.total = total
                progress.update(done)

            result = load_files(files, f"{collector_url}/v1/traces", shift_to_now=True, on_progress=show)
            progress.finish(f"{result.files} files")
        else:
            _say(f"no sample traces found in {cfg.samples}; only live runs will show")
        if cfg.replay_tasks:
            _seed_replayable(cfg, checkpoint_db, collector_url)
        if not wait_until_ok(f"{dashboard_url}/_stcore/health", 60, is_alive=lambda: dashboard.poll() is None):
            raise DemoError(f"the dashboard did not become ready; see {logs / 'dashboard.log'}")
        _say("")
        _say(f"  Dashboard:  {dashboard_url}")
        _say(f"  Collector:  {collector_url}  (point your app at it: OTEL_EXPORTER_OTLP_ENDPOINT={collector_url})")
        _say("  Press Ctrl-C to stop.")
        _say("")
        if cfg.live:
            live = threading.Thread(
                target=_live_runs, args=(cfg, f"{collector_url}/v1/traces", stop), name="live-runs", daemon=True
            )
            live.start()
        while not stop.wait(1.0):
            dead = children.dead()
            if dead:
                raise DemoError(f"{', '.join(dead)} stopped unexpectedly; see the logs in {logs}")
        return 0
    except KeyboardInterrupt:
        _say("\nstopping...")
        return 0
    except LoadError as exc:
        raise DemoError(f"loading sample traces failed: {exc}") from None
    finally:
        stop.set()
        if live is not None:
            live.join(timeout=30)
        children.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _say("agentdeck demo stopped.")
