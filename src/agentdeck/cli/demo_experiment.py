"""The demo's proof of a prompt fix: a dataset of its failed triage tasks and an experiment that runs
them again with the fixed classifier prompt from the failing step, so the Experiments page opens on
"N fixed, 0 broken, +$X" without anyone typing a command. A second demo start reuses both (the
experiment resumes by name and has nothing left to run)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from agentdeck.engine.runner import RunSummary

DATASET: Final = "triage-failures"
EXPERIMENT: Final = "classifier-v2-from-failing-step"


def seed_experiment(checkpoint_db: Path, collector_url: str, summary: RunSummary) -> str:
    """Make the dataset (once) and run the experiment; a one-line headline of its comparison."""
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)  # the data module caches with Streamlit; no app here
    from agentdeck.cli.replay_seed import wait_for_traces
    from agentdeck.dashboard import data
    from agentdeck.dashboard.datasets_panel import trace_rows
    from agentdeck.engine.datasets import DatasetStore, items_from_traces
    from agentdeck.engine.experiment_compare import compare, headline, originals, sides
    from agentdeck.engine.experiments import Experiment, run_experiment
    from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED

    failed = {t.trace_id for t in summary.tasks if t.outcome != "success"}
    with DatasetStore(checkpoint_db) as store:
        if DATASET not in {d.name for d in store.latest()}:
            if not failed:
                return "no failed triage task to make a dataset of"
            wait_for_traces(collector_url, sorted(failed))
            settings = data.Settings(collector_url, None, 0.0, 30.0, str(checkpoint_db))
            frame = data.fetch_table("traces", {"workflow": "triage", "start_ns": "0", "limit": "5000"}, settings)
            rows = [r for r in trace_rows(frame.to_pandas()) if r.trace_id in failed]
            workflow, items, _ = items_from_traces(rows, checkpoint_db)
            store.create(DATASET, workflow, "the demo's failed triage tasks", items)
        dataset = store.get(DATASET)
    exp = Experiment(
        EXPERIMENT,
        dataset.name,
        dataset.version,
        "triage",
        "from-failing-step",
        {"classifier": CLASSIFIER_PROMPT_FIXED},
    )
    run = run_experiment(exp, dataset, checkpoint_db=checkpoint_db, endpoint=collector_url)
    report = compare(originals(dataset), sides(run.results), baseline_name="original", candidate_name=EXPERIMENT)
    return f"{headline(report)} with the fixed classifier prompt"
