"""Replay benchmark: from the click on "Run replay" to the comparison being ready, triage pipeline.

A real collector (in-process server, real DuckDB file) and a real checkpoint file hold the demo's
replayable batch (12 triage tasks, zero-latency simulator, some dead-lettered by the weak classifier
prompt). Two figures, medians over `--runs`:

* page: the Replay page (Streamlit AppTest, the same script a browser runs) with the failed task open
  and the classifier prompt fixed; timed from the button click to the rerun that renders the
  comparison (fork + traced run + export + comparison + the page drawn), browser paint excluded;
* engine: `run_replay` alone (fork, run, in-process capture, comparison), once with a new prompt
  each time (every step paid for) and once repeating the same prompt (unchanged steps served from
  the recorded outputs).

    .venv/bin/python bench/replay_bench.py --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from streamlit import config
    from streamlit.testing.v1 import AppTest

    from agentdeck.cli.replay_seed import seed_replayable, wait_for_traces
    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer
    from agentdeck.dashboard.replay import data as replay_data
    from agentdeck.engine.replay.history import checkpoint_tree
    from agentdeck.engine.replay.session import run_replay
    from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED

    tmp = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    db = tmp / "checkpoints.sqlite"
    with CollectorServer(CollectorConfig(db_path=str(tmp / "agentdeck.duckdb"), host="127.0.0.1", port=0)) as server:
        summary = seed_replayable(db, server.url)
        assert wait_for_traces(server.url, [t.trace_id for t in summary.tasks])
        dead = next(t for t in summary.tasks if t.detail.startswith("classifier"))
        os.environ.update(
            AGENTDECK_COLLECTOR_URL=server.url, AGENTDECK_CHECKPOINT_DB=str(db), AGENTDECK_DASHBOARD_REFRESH_S="0"
        )
        config.set_option("server.address", "127.0.0.1")

        page: list[float] = []
        for i in range(args.runs):
            at = AppTest.from_file(APP, default_timeout=120)
            at.run()
            at.switch_page("views/replay.py")
            at.query_params["trace_id"] = dead.trace_id
            at.run()
            at.text_area(key="replay_prompt_classifier").input(f"{CLASSIFIER_PROMPT_FIXED} (page run {i})").run()
            started = time.perf_counter()
            at.button(key="replay_run").click().run()
            page.append(time.perf_counter() - started)
            assert not at.exception and any(m.label == "Outcome" for m in at.metric), "no comparison rendered"

        at_cp = max(checkpoint_tree(db, dead.thread_id).for_trace(dead.trace_id), key=lambda c: c.checkpoint_id)
        original = replay_data.facts(replay_data.trace_rows(dead.trace_id, fresh=True))
        fresh: list[float] = []
        served: list[float] = []
        for i in range(args.runs):
            new = f"{CLASSIFIER_PROMPT_FIXED} (engine run {i})"
            for prompt, out in ((new, fresh), (CLASSIFIER_PROMPT_FIXED, served)):
                started = time.perf_counter()
                run_replay(
                    dead.thread_id,
                    checkpoint_db=db,
                    original=original,
                    original_trace_id=dead.trace_id,
                    checkpoint_id=at_cp.checkpoint_id,
                    prompt_overrides={"classifier": prompt},
                    endpoint=server.url,
                )
                out.append(time.perf_counter() - started)

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1000:,.0f} ms (min {min(xs) * 1000:,.0f}, max {max(xs) * 1000:,.0f})"

    load = os.getloadavg()[0]
    print(f"runs: {args.runs}, load average {load:.1f}")
    print(f"page, click -> comparison rendered: {fmt(page)}")
    print(f"engine, new prompt (every step paid):  {fmt(fresh)}")
    print(f"engine, same prompt (recorded served): {fmt(served)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
