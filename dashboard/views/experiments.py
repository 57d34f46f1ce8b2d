"""Experiments: run a dataset again with an edited prompt, and see what it fixed, broke and cost against
what happened (or against another experiment), item by item with the two traces side by side.

Datasets come from the Traces page ("Save these traces as a dataset") or `agentdeck dataset create`;
running needs the login when one is in force, as Replay does. The picked experiment is in the URL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from agentdeck.dashboard import auth, components, data

ORIGINAL = "original"


def _stores(db: str) -> tuple[Any, Any] | None:
    from agentdeck.engine.datasets import DatasetStore
    from agentdeck.engine.experiments import ExperimentStore

    if "://" not in db and not Path(db).exists():
        return None
    return DatasetStore(db), ExperimentStore(db)


def _run_form(db: str, dataset: Any) -> None:
    from agentdeck.engine.replay.validate import agent_names
    from agentdeck.engine.workflows import get_workflow

    st.subheader("Run an experiment")
    if not auth.can_edit():
        st.warning("Sign in to run experiments.")
        return
    if not dataset.workflow:
        st.info("This dataset does not say its workflow; run it with `agentdeck experiment run --workflow W`.")
        return
    wf = get_workflow(dataset.workflow)
    c = st.columns([1, 3])
    agent = c[0].selectbox("Agent", agent_names(wf), key="exp_agent")
    prompt = c[1].text_area(f"Prompt: {agent}", wf.agent(agent).prompt.template, key=f"exp_prompt_{agent}", height=120)
    c = st.columns([2, 1, 1])
    name = c[0].text_input("Experiment name", key="exp_name", placeholder="e.g. classifier-v2")
    max_cost = c[1].number_input("Max cost ($)", min_value=0.0, value=None, step=0.01, format="%.4f", key="exp_cap")
    forked = c[2].toggle("From the failing step", value=True, key="exp_fork")
    if not st.button("Run experiment", key="exp_run", type="primary"):
        return
    if not name.strip():
        st.error("Give the experiment a name (the same name resumes it).")
        return
    from agentdeck.engine.experiments import Experiment, run_experiment

    changed = {agent: prompt} if prompt != wf.agent(agent).prompt.template else {}
    mode = "from-failing-step" if forked else "fresh"
    s = data.settings()
    bar = st.progress(0.0, text="running")
    done = [0]

    def tick(_: object) -> None:
        done[0] += 1
        bar.progress(done[0] / len(dataset.items), text=f"{done[0]} of {len(dataset.items)} items")

    try:
        run = run_experiment(
            Experiment(name.strip(), dataset.name, dataset.version, dataset.workflow, mode, changed),
            dataset,
            checkpoint_db=db,
            endpoint=s.collector_url,
            headers={"Authorization": f"Bearer {s.token}"} if s.token else None,
            max_cost_usd=max_cost or None,
            on_item=tick,
        )
    except (LookupError, ValueError) as exc:
        st.error(components.inert(exc))
        return
    st.query_params["experiment"] = run.experiment.name
    st.rerun()


def _metrics(report: dict[str, Any]) -> None:
    totals = report["totals"]
    c = st.columns(5)
    c[0].metric("Fixed", report["fixed"])
    c[1].metric("Broken", report["broken"])
    c[2].metric("Unchanged", report["unchanged"])
    c[3].metric("Cost delta", f"{'+' if report['cost_delta_usd'] >= 0 else '-'}${abs(report['cost_delta_usd']):.4f}")
    c[4].metric("p95 latency delta", f"{totals['p95_latency_delta_ms']:+.0f} ms")


def _items_table(report: dict[str, Any]) -> str | None:
    rows = []
    for i in report["items"]:
        a, b = i["baseline"] or {}, i["candidate"] or {}
        rows.append(
            {
                "Item": i["item_id"],
                "Verdict": i["verdict"],
                "Before": a.get("outcome", "-"),
                "After": b.get("outcome", "-"),
                "Cost before ($)": a.get("cost_usd"),
                "Cost after ($)": b.get("cost_usd"),
                "Tokens after": b.get("tokens"),
                "Scores": ", ".join(f"{s['name']}={s['value']:g}" for s in b.get("scores", [])),
            }
        )
    frame = pd.DataFrame(rows)
    picked = components.table(frame, pinned="Item", key="exp_items", on_select="rerun", selection_mode="single-row")
    chosen = list(getattr(getattr(picked, "selection", None), "rows", []) or [])
    return str(frame["Item"].iloc[chosen[0]]) if chosen else None


def _side_by_side(report: dict[str, Any], item_id: str) -> None:
    item = next(i for i in report["items"] if i["item_id"] == item_id)
    st.subheader(f"Item {item_id}: {item['verdict']}")
    cols = st.columns(2)
    for col, side, title in ((cols[0], "baseline", report["baseline"]), (cols[1], "candidate", report["candidate"])):
        run = item[side]
        with col:
            st.markdown(f"**{components.inert(title)}**")
            if run is None:
                st.caption("Not run.")
                continue
            st.text(f"{run['outcome']} · ${run['cost_usd']:.4f} · {run['tokens']} tokens · {run['latency_ms']:.0f} ms")
            if run["trace_id"]:
                st.markdown(f"[Open trace {run['trace_id'][:12]}…](/traces?trace_id={run['trace_id']})")
            shown = "(no output)" if run["output"] is None else json.dumps(run["output"], indent=2, default=str)
            st.code(shown, language="json")
    a, b = item["baseline"], item["candidate"]
    if a and b and a["trace_id"] and b["trace_id"]:
        st.markdown(f"[Open the two traces side by side](/traces?trace_id={a['trace_id']}&compare={b['trace_id']})")
    if item["output_diff"]:
        st.markdown("**Output diff**")
        st.code(item["output_diff"], language="diff")


def _compare(stores: tuple[Any, Any], dataset: Any) -> None:
    from agentdeck.engine.experiment_compare import compare, originals, sides

    datasets, experiments = stores
    mine = [e.name for e in experiments.all() if e.dataset == dataset.name]
    if not mine:
        st.info("No experiment has run this dataset yet.")
        return
    wanted = st.query_params.get("experiment")
    candidate = st.selectbox("Experiment", mine, index=mine.index(wanted) if wanted in mine else len(mine) - 1)
    st.query_params["experiment"] = candidate
    baseline = st.selectbox("Compared with", [ORIGINAL, *[m for m in mine if m != candidate]], key="exp_baseline")
    exp = experiments.get(candidate)
    ds = datasets.get(exp.dataset, exp.dataset_version)
    base = originals(ds) if baseline == ORIGINAL else sides(experiments.results(baseline))
    report = compare(base, sides(experiments.results(candidate)), baseline_name=baseline, candidate_name=candidate)
    _metrics(report)
    picked = _items_table(report)
    if picked is not None:
        _side_by_side(report, picked)
    else:
        st.caption("Pick an item to see its two runs side by side.")


def _page() -> None:
    st.title("Experiments")
    db = data.settings().checkpoint_db
    stores = _stores(db)
    found = stores[0].latest() if stores else []
    if stores is None or not found:
        components.empty_state(
            "No dataset yet",
            "Save traces as a dataset on the Traces page (filter them, then “Save these traces as a dataset”), "
            f"or run `agentdeck dataset create`. Datasets are kept in the checkpoint file ({db}).",
        )
        return
    try:
        names = [d.name for d in found]
        wanted = st.query_params.get("dataset")
        chosen = st.selectbox("Dataset", names, index=names.index(wanted) if wanted in names else 0, key="exp_dataset")
        dataset = stores[0].get(chosen)
        st.caption(f"v{dataset.version} · {len(dataset.items)} items · {dataset.workflow or 'no workflow'} · "
                   f"{components.inert(dataset.source)}")  # fmt: skip
        _compare(stores, dataset)
        _run_form(db, dataset)
    finally:
        stores[0].close()
        stores[1].close()


components.guarded(_page)
